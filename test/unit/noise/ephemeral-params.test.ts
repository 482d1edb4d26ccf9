import { describe, expect, it } from 'vitest';
import { nodeX25519, nobleX25519, setCryptoBackend, type X25519Backend } from '../../../src/crypto/index.js';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createLocalIdentity,
  createRemoteIdentity,
  createResponse,
  tai64n,
  type ResponderState,
} from '../../../src/noise/index.js';
import { bytes, hex, loadVector, type TranscriptVector } from './helpers.js';

const V = loadVector<TranscriptVector>('wireguard_handshake_transcript.json');
const I = V.inputs;

/** The transcript handshake, with ephemerals passed as pre-imported keys instead of bytes. */
describe.each<[string, X25519Backend]>([['node', nodeX25519], ['noble', nobleX25519]])(
  'pre-imported ephemerals and the cached remote ephemeral (%s backend)',
  (name, backend) => {
    const setup = () => {
      setCryptoBackend(name as 'node' | 'noble');
      const localI = createLocalIdentity(bytes(I.initiator_static_private), backend);
      const localR = createLocalIdentity(bytes(I.responder_static_private), backend);
      const psk = bytes(I.preshared_key);
      const remoteR = createRemoteIdentity(localI, localR.publicKey, psk);
      const remoteI = createRemoteIdentity(localR, localI.publicKey, psk);
      const wallNs = BigInt(I.timestamp_unix_seconds) * 1_000_000_000n + BigInt(I.timestamp_nanoseconds);
      return { localI, localR, remoteR, remoteI, timestamp: tai64n(wallNs) };
    };

    it('gives the transcript messages byte for byte (mac fields are zero here)', () => {
      const s = setup();
      try {
        const init = createInitiation(s.localI, s.remoteR, {
          senderIndex: I.initiator_sender_index,
          ephemeral: backend.importPrivate(bytes(I.initiator_ephemeral_private)),
          timestamp: s.timestamp,
        })!;
        // Bytes before mac1 (offset 116) are the Noise part; the vector's macs are stamped later.
        expect(hex(init.message.subarray(0, 116))).toBe(V.messages.initiation.slice(0, 232));
        const c = consumeInitiation(s.localR, init.message, () => s.remoteI)!;
        expect(c.state.remoteEphemeralKey).toBeDefined();
        const resp = createResponse(s.localR, c.remote, c.state, {
          senderIndex: I.responder_sender_index,
          ephemeral: backend.importPrivate(bytes(I.responder_ephemeral_private)),
        })!;
        expect(hex(resp.message.subarray(0, 60))).toBe(V.messages.response.slice(0, 120));
        const keysI = consumeResponse(s.localI, s.remoteR, init.state, resp.message)!;
        expect(hex(keysI.sendKey)).toBe(hex(resp.keys.receiveKey));
      } finally {
        setCryptoBackend('node');
      }
    });

    it('createResponse re-imports the remote ephemeral when the state has no cached key', () => {
      const s = setup();
      try {
        const init = createInitiation(s.localI, s.remoteR, {
          senderIndex: 1, ephemeralPrivate: bytes(I.initiator_ephemeral_private), timestamp: s.timestamp,
        })!;
        const c1 = consumeInitiation(s.localR, init.message, () => s.remoteI)!;
        const c2 = consumeInitiation(s.localR, init.message, () => s.remoteI)!;
        const bare: ResponderState = {
          noise: c2.state.noise, remoteEphemeral: c2.state.remoteEphemeral, remoteIndex: c2.state.remoteIndex, consumed: false,
        };
        const eph = bytes(I.responder_ephemeral_private);
        const a = createResponse(s.localR, c1.remote, c1.state, { senderIndex: 2, ephemeralPrivate: eph.slice() })!;
        const b = createResponse(s.localR, c2.remote, bare, { senderIndex: 2, ephemeralPrivate: eph.slice() })!;
        expect(hex(b.message)).toBe(hex(a.message));
        expect(hex(b.keys.sendKey)).toBe(hex(a.keys.sendKey));
      } finally {
        setCryptoBackend('node');
      }
    });

    it('throws without an ephemeral of either kind', () => {
      const s = setup();
      try {
        expect(() => createInitiation(s.localI, s.remoteR, { senderIndex: 1, timestamp: s.timestamp })).toThrow(TypeError);
      } finally {
        setCryptoBackend('node');
      }
    });
  },
);
