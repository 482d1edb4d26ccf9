import { describe, expect, it } from 'vitest';
import { MESSAGE_INITIATION, MESSAGE_INITIATION_SIZE, MESSAGE_RESPONSE_SIZE } from '../../../src/constants.js';
import { x25519 } from '../../../src/crypto/index.js';
import {
  CookieChecker,
  CookieGenerator,
  INIT_EPHEMERAL,
  INIT_SENDER,
  RESP_EPHEMERAL,
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createLocalIdentity,
  createRemoteIdentity,
  createResponse,
  isUsable,
  tai64n,
  writeMessage1,
  writeMessageType,
  writeU32LE,
  type HandshakeTrace,
  type LocalIdentity,
  type RemoteIdentity,
} from '../../../src/noise/index.js';
import { ScriptedRandom, bytes, hex, loadVector, type TranscriptVector } from './helpers.js';

const I = loadVector<TranscriptVector>('wireguard_handshake_transcript.json').inputs;
const ZERO_PSK = new Uint8Array(32);
const LOW_ORDER = [
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=',
  'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=',
  '7P///////////////////////////////////////38=',
  '7f///////////////////////////////////////38=',
  '7v///////////////////////////////////////38=',
].map((s) => new Uint8Array(Buffer.from(s, 'base64')));

const localI = createLocalIdentity(bytes(I.initiator_static_private));
const localR = createLocalIdentity(bytes(I.responder_static_private));
const timestamp = tai64n(1_700_000_000n * 1_000_000_000n);
const ephI = bytes(I.initiator_ephemeral_private);
const ephR = bytes(I.responder_ephemeral_private);

function pair(pskI: Uint8Array = ZERO_PSK, pskR: Uint8Array = pskI) {
  const remoteR = createRemoteIdentity(localI, localR.publicKey, pskI);
  const remoteI = createRemoteIdentity(localR, localI.publicKey, pskR);
  const init = createInitiation(localI, remoteR, { senderIndex: 7, ephemeralPrivate: ephI, timestamp })!;
  new CookieGenerator(remoteR).stamp(init.message, MESSAGE_INITIATION_SIZE, 0);
  const lookup = (pub: Uint8Array) => (hex(pub) === hex(localI.publicKey) ? remoteI : undefined);
  return { remoteR, remoteI, init, lookup };
}

function respond(p: ReturnType<typeof pair>) {
  const c = consumeInitiation(localR, p.init.message, p.lookup)!;
  const resp = createResponse(localR, c.remote, c.state, { senderIndex: 9, ephemeralPrivate: ephR })!;
  new CookieGenerator(p.remoteI).stamp(resp.message, MESSAGE_RESPONSE_SIZE, 0);
  return resp;
}

function flip(m: Uint8Array, bit: number): Uint8Array {
  const c = m.slice();
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
}

describe('handshake round trips', () => {
  it('completes without PSK (all-zero PSK = none) and the keys agree', () => {
    const p = pair();
    const resp = respond(p);
    const keys = consumeResponse(localI, p.remoteR, p.init.state, resp.message)!;
    expect(keys).not.toBeNull();
    expect(hex(keys.sendKey)).toBe(hex(resp.keys.receiveKey));
    expect(hex(keys.receiveKey)).toBe(hex(resp.keys.sendKey));
    expect(hex(keys.sendKey)).not.toBe(hex(keys.receiveKey));
    expect([keys.localIndex, keys.remoteIndex, resp.keys.localIndex, resp.keys.remoteIndex]).toEqual([7, 9, 9, 7]);
  });

  it('works with random ephemerals and u32 indices with the top bit set', () => {
    const remoteR = createRemoteIdentity(localI, localR.publicKey);
    const remoteI = createRemoteIdentity(localR, localI.publicKey);
    const init = createInitiation(localI, remoteR, { senderIndex: 0xfedcba98, ephemeralPrivate: x25519.generatePrivateKey(), timestamp })!;
    const c = consumeInitiation(localR, init.message, () => remoteI)!;
    expect(c.state.remoteIndex).toBe(0xfedcba98);
    const resp = createResponse(localR, remoteI, c.state, { senderIndex: 0x80000001, ephemeralPrivate: x25519.generatePrivateKey() })!;
    const keys = consumeResponse(localI, remoteR, init.state, resp.message)!;
    expect(keys.remoteIndex).toBe(0x80000001);
    expect(hex(keys.sendKey)).toBe(hex(resp.keys.receiveKey));
  });

  it('consumes a response at most once and responds to an initiation at most once', () => {
    const p = pair();
    const c = consumeInitiation(localR, p.init.message, p.lookup)!;
    const resp = createResponse(localR, c.remote, c.state, { senderIndex: 9, ephemeralPrivate: ephR })!;
    expect(createResponse(localR, c.remote, c.state, { senderIndex: 10, ephemeralPrivate: ephR })).toBeNull();
    expect(consumeResponse(localI, p.remoteR, p.init.state, resp.message)).not.toBeNull();
    expect(consumeResponse(localI, p.remoteR, p.init.state, resp.message)).toBeNull();
  });
});

describe('handshake rejections', () => {
  it('every bit flip of an initiation fails mac1, and every flip of the Noise part or type fails consume', () => {
    const p = pair();
    const checker = new CookieChecker(localR, new ScriptedRandom());
    const m = p.init.message;
    expect(checker.checkMac1(m, 148)).toBe(true);
    expect(consumeInitiation(localR, m, p.lookup)).not.toBeNull();
    let consumeChecked = 0;
    for (let bit = 0; bit < 132 * 8; bit++) {
      const f = flip(m, bit);
      expect(checker.checkMac1(f, 148), `bit ${bit}`).toBe(false);
      const byte = bit >> 3;
      if (byte < 4 || (byte >= INIT_EPHEMERAL && byte < 116)) {
        expect(consumeInitiation(localR, f, p.lookup), `bit ${bit}`).toBeNull();
        consumeChecked++;
      } else if (byte >= 116) {
        // mac1 is not the handshake's business: consume still works (the device checks mac1 first).
        expect(consumeInitiation(localR, f, p.lookup)).not.toBeNull();
      }
    }
    expect(consumeChecked).toBe((4 + 108) * 8);
    // The sender index is outside the Noise transcript: only mac1 protects it.
    const f = flip(m, INIT_SENDER * 8);
    expect(consumeInitiation(localR, f, p.lookup)?.state.remoteIndex).toBe(7 ^ 1);
  });

  it('every bit flip of a response fails mac1; flips of type, receiver and Noise part fail consume', () => {
    const p = pair();
    const resp = respond(p);
    const checker = new CookieChecker(localI, new ScriptedRandom());
    const m = resp.message;
    expect(checker.checkMac1(m, 92)).toBe(true);
    for (let bit = 0; bit < 60 * 8; bit++) {
      const f = flip(m, bit);
      expect(checker.checkMac1(f, 92), `bit ${bit}`).toBe(false);
      const byte = bit >> 3;
      if (byte >= 4 && byte < 8) continue; // sender index: mac1 only (checking would consume the state)
      expect(consumeResponse(localI, p.remoteR, p.init.state, f), `bit ${bit}`).toBeNull();
    }
    // Failed attempts left the pending handshake intact.
    expect(consumeResponse(localI, p.remoteR, p.init.state, m)).not.toBeNull();
  });

  it('rejects truncated or oversized messages', () => {
    const p = pair();
    const m = p.init.message;
    expect(consumeInitiation(localR, m.subarray(0, 147), p.lookup)).toBeNull();
    const big = new Uint8Array(149);
    big.set(m);
    expect(consumeInitiation(localR, big, p.lookup)).toBeNull();
    const resp = respond(p);
    const bigR = new Uint8Array(93);
    bigR.set(resp.message);
    expect(consumeResponse(localI, p.remoteR, p.init.state, resp.message.subarray(0, 91))).toBeNull();
    expect(consumeResponse(localI, p.remoteR, p.init.state, bigR)).toBeNull();
    expect(consumeResponse(localI, p.remoteR, p.init.state, resp.message)).not.toBeNull();
  });

  it('a PSK mismatch fails consumeResponse (and only there)', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    for (const [pskI, pskR] of [[a, b], [a, ZERO_PSK], [ZERO_PSK, b]]) {
      const p = pair(pskI, pskR);
      const resp = respond(p);
      expect(resp).not.toBeNull();
      expect(consumeResponse(localI, p.remoteR, p.init.state, resp.message)).toBeNull();
    }
    const ok = pair(a, a);
    expect(consumeResponse(localI, ok.remoteR, ok.init.state, respond(ok).message)).not.toBeNull();
  });

  it('rejects an unknown initiator, a wrong responder and a response to another initiation', () => {
    const p = pair();
    expect(consumeInitiation(localR, p.init.message, () => undefined)).toBeNull();
    const other = createLocalIdentity(new Uint8Array(32).fill(9));
    expect(consumeInitiation(other, p.init.message, () => p.remoteI)).toBeNull();
    const resp = respond(p);
    const q = pair();
    const stateOther = createInitiation(localI, q.remoteR, { senderIndex: 7, ephemeralPrivate: x25519.generatePrivateKey(), timestamp })!.state;
    expect(consumeResponse(localI, p.remoteR, stateOther, resp.message)).toBeNull(); // same index, other ephemeral
    const wrongIndex = createInitiation(localI, q.remoteR, { senderIndex: 8, ephemeralPrivate: ephI, timestamp })!.state;
    expect(consumeResponse(localI, p.remoteR, wrongIndex, resp.message)).toBeNull(); // receiver index mismatch
  });
});

describe('low-order keys (B11)', () => {
  /** An initiation claiming `claimedStatic`, built with the Noise core directly. */
  function craftInitiation(claimedStatic: Uint8Array, ss: Uint8Array): Uint8Array {
    const toR = createRemoteIdentity(null, localR.publicKey);
    const msg = new Uint8Array(MESSAGE_INITIATION_SIZE);
    writeMessageType(msg, 0, MESSAGE_INITIATION);
    writeU32LE(msg, INIT_SENDER, 1);
    const st = writeMessage1(
      toR.initiatorStart,
      {
        backend: x25519,
        ephemeral: x25519.importPrivate(ephI),
        localStaticPublic: claimedStatic,
        remoteStatic: x25519.importPublic(localR.publicKey),
        staticStatic: ss,
        payload: timestamp,
      },
      msg,
      INIT_EPHEMERAL,
    );
    expect(st).not.toBeNull();
    return msg;
  }

  it('the crafting helper makes valid initiations for a normal key (control)', () => {
    const remoteI = createRemoteIdentity(localR, localI.publicKey);
    const msg = craftInitiation(localI.publicKey, remoteI.staticStatic!);
    expect(consumeInitiation(localR, msg, () => remoteI)).not.toBeNull();
  });

  it('marks the seven keys unusable, never initiates, and rejects initiations claiming them', () => {
    for (const key of LOW_ORDER) {
      const remote = createRemoteIdentity(localR, key);
      expect(isUsable(remote)).toBe(false);
      expect(remote.staticStatic).toBeNull();
      expect(createInitiation(localR, remote, { senderIndex: 1, ephemeralPrivate: ephI, timestamp })).toBeNull();

      const msg = craftInitiation(key, new Uint8Array(32)); // the all-zero DH an attacker would use
      const seen: string[] = [];
      const r = consumeInitiation(localR, msg, (pub) => {
        seen.push(hex(pub));
        return remote;
      });
      expect(r).toBeNull();
      expect(seen).toEqual([hex(key)]); // decryption worked; the zero DH was refused
    }
  });

  it('rejects initiations and responses whose ephemeral key is low order', () => {
    const p = pair();
    const resp = respond(p);
    for (const key of LOW_ORDER) {
      const m = p.init.message.slice();
      m.set(key, INIT_EPHEMERAL);
      let looked = false;
      expect(consumeInitiation(localR, m, () => ((looked = true), p.remoteI))).toBeNull();
      expect(looked).toBe(false);

      const r = resp.message.slice();
      r.set(key, RESP_EPHEMERAL);
      const trace: HandshakeTrace = {};
      expect(consumeResponse(localI, p.remoteR, p.init.state, r, trace)).toBeNull();
      expect(trace.ck_after_e).toBeDefined();
      expect(trace.dh_ee).toBeUndefined(); // stopped at the DH, before any AEAD
    }
    expect(consumeResponse(localI, p.remoteR, p.init.state, resp.message)).not.toBeNull();
  });

  it('a peer without a local key is unusable', () => {
    const remote: RemoteIdentity = createRemoteIdentity(null, localI.publicKey);
    expect(isUsable(remote)).toBe(false);
    expect(hex(remote.mac1Key)).toBe(hex(createRemoteIdentity(localR, localI.publicKey).mac1Key));
  });

  it('recomputes static-static for a new local key', () => {
    const other: LocalIdentity = createLocalIdentity(new Uint8Array(32).fill(3));
    const a = createRemoteIdentity(localR, localI.publicKey);
    const b = createRemoteIdentity(other, localI.publicKey);
    expect(hex(a.staticStatic!)).not.toBe(hex(b.staticStatic!));
    expect(hex(b.staticStatic!)).toBe(hex(x25519.dh(other.key, x25519.importPublic(localI.publicKey))!));
  });
});
