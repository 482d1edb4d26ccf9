import { describe, expect, it } from 'vitest';
import { aeadOpen, aeadSeal, x25519 } from '../../../src/crypto/index.js';
import {
  initialState,
  message1Size,
  message2Size,
  mixHash,
  readMessage1,
  readMessage2,
  split,
  writeMessage1,
  writeMessage2,
} from '../../../src/noise/index.js';
import { bytes, hex, loadVector, type NoiseVectorFile } from './helpers.js';

/**
 * The cacophony Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s vector, driven through the same
 * IKpsk2 core (ikpsk2.ts) that WireGuard's handshake uses, with the vector's own protocol
 * name and prologue and its (non-empty) payloads. Transport messages use Split() keys
 * with nonces counting from 0 per direction.
 */
const F = loadVector<NoiseVectorFile>('noise_IKpsk2_25519_ChaChaPoly_BLAKE2s.json');

describe('Noise IKpsk2 vector', () => {
  expect(F.vectors.length).toBeGreaterThan(0);
  for (const v of F.vectors) {
    it(`${v.protocol_name}: all messages and the handshake hash`, () => {
      expect(v.protocol_name).toBe('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
      const iStatic = x25519.importPrivate(bytes(v.init_static));
      const rStatic = x25519.importPrivate(bytes(v.resp_static));
      expect(hex(rStatic.publicKey)).toBe(v.init_remote_static);
      const iEph = x25519.importPrivate(bytes(v.init_ephemeral));
      const rEph = x25519.importPrivate(bytes(v.resp_ephemeral));
      const rStaticPub = x25519.importPublic(rStatic.publicKey);
      const iStaticPub = x25519.importPublic(iStatic.publicKey);

      // Pre-message "<- s" on both sides.
      let iState = mixHash(initialState(v.protocol_name, bytes(v.init_prologue)), rStatic.publicKey);
      let rState = mixHash(initialState(v.protocol_name, bytes(v.resp_prologue)), rStatic.publicKey);

      // Message 1: initiator -> responder.
      const p1 = bytes(v.messages[0].payload);
      const m1 = new Uint8Array(message1Size(p1.length));
      const ss = x25519.dh(iStatic, rStaticPub)!;
      const i1 = writeMessage1(
        iState,
        { backend: x25519, ephemeral: iEph, localStaticPublic: iStatic.publicKey, remoteStatic: rStaticPub, staticStatic: ss, payload: p1 },
        m1,
        0,
      );
      expect(i1).not.toBeNull();
      iState = i1!;
      expect(hex(m1)).toBe(v.messages[0].ciphertext);

      const c1 = bytes(v.messages[0].ciphertext);
      const r1 = readMessage1(
        rState,
        {
          backend: x25519,
          localStatic: rStatic,
          payloadLen: c1.length - message1Size(0),
          resolveStaticStatic: (pub) => (hex(pub) === hex(iStatic.publicKey) ? x25519.dh(rStatic, x25519.importPublic(pub)) : null),
        },
        c1,
        0,
      );
      expect(r1).not.toBeNull();
      expect(hex(r1!.payload)).toBe(v.messages[0].payload);
      expect(hex(r1!.remoteStatic)).toBe(hex(iStatic.publicKey));
      expect(hex(r1!.state.h)).toBe(hex(iState.h));
      expect(hex(r1!.state.ck)).toBe(hex(iState.ck));
      rState = r1!.state;

      // Message 2: responder -> initiator (psk2).
      const psk = bytes(v.resp_psks[0]);
      expect(v.init_psks).toEqual(v.resp_psks);
      const p2 = bytes(v.messages[1].payload);
      const m2 = new Uint8Array(message2Size(p2.length));
      const r2 = writeMessage2(
        rState,
        { backend: x25519, ephemeral: rEph, remoteEphemeral: x25519.importPublic(r1!.remoteEphemeral), remoteStatic: iStaticPub, presharedKey: psk, payload: p2 },
        m2,
        0,
      );
      expect(r2).not.toBeNull();
      rState = r2!;
      expect(hex(m2)).toBe(v.messages[1].ciphertext);

      const c2 = bytes(v.messages[1].ciphertext);
      const i2 = readMessage2(
        iState,
        { backend: x25519, ephemeral: iEph, localStatic: iStatic, presharedKey: bytes(v.init_psks[0]), payloadLen: c2.length - message2Size(0) },
        c2,
        0,
      );
      expect(i2).not.toBeNull();
      expect(hex(i2!.payload)).toBe(v.messages[1].payload);
      iState = i2!.state;

      expect(hex(iState.h)).toBe(v.handshake_hash);
      expect(hex(rState.h)).toBe(v.handshake_hash);

      // Transport: Split() on both sides, then alternate directions.
      const [iSend, iRecv] = split(iState);
      const [rRecv, rSend] = split(rState);
      expect(hex(iSend)).toBe(hex(rRecv));
      expect(hex(iRecv)).toBe(hex(rSend));
      const nonces = [0n, 0n];
      for (let i = 2; i < v.messages.length; i++) {
        const fromInitiator = i % 2 === 0;
        const dir = fromInitiator ? 0 : 1;
        const n = nonces[dir]++;
        const sealed = aeadSeal(fromInitiator ? iSend : rSend, n, bytes(v.messages[i].payload), new Uint8Array(0));
        expect(hex(sealed), `message ${i}`).toBe(v.messages[i].ciphertext);
        const opened = aeadOpen(fromInitiator ? rRecv : iRecv, n, sealed, new Uint8Array(0));
        expect(opened && hex(opened)).toBe(v.messages[i].payload);
      }
      expect(v.messages.length).toBe(6);
    });
  }

  it('pads protocol names of at most 32 bytes instead of hashing them', () => {
    const s = initialState('Noise_NN_25519_AESGCM_SHA256', new Uint8Array(0));
    const padded = new Uint8Array(32);
    padded.set(new TextEncoder().encode('Noise_NN_25519_AESGCM_SHA256'));
    expect(hex(s.ck)).toBe(hex(padded));
  });
});
