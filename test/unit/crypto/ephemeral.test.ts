import { describe, expect, it } from 'vitest';
import { bytesToHex, clampPrivateKey, generateEphemeral, nobleX25519, nodeX25519 } from '../../../src/crypto/index.js';
import { cryptoRandom } from '../../../src/crypto/random.js';
import { fixedRandom } from './helpers.js';

describe('generateEphemeral', () => {
  it('node backend, system RNG: clamped scalar whose public key and DH match the noble backend', () => {
    const peer = nobleX25519.importPrivate(nobleX25519.generatePrivateKey());
    const seen = new Set<string>();
    for (const rng of [undefined, cryptoRandom, undefined]) {
      const k = generateEphemeral(nodeX25519, rng);
      expect(k.raw.length).toBe(32);
      expect(k.raw[0] & 7).toBe(0);
      expect(k.raw[31] & 0xc0).toBe(0x40);
      expect(bytesToHex(k.publicKey)).toBe(bytesToHex(nobleX25519.publicKey(k.raw)));
      const viaNode = nodeX25519.dh(k, nodeX25519.importPublic(peer.publicKey));
      const viaNoble = nobleX25519.dh(nobleX25519.importPrivate(k.raw), nobleX25519.importPublic(peer.publicKey));
      expect(viaNode && bytesToHex(viaNode)).toBe(viaNoble && bytesToHex(viaNoble));
      seen.add(bytesToHex(k.raw));
    }
    expect(seen.size).toBe(3);
  });

  it('honours a custom RandomSource on both backends (deterministic: clamp + import)', () => {
    const raw = fixedRandom(0x40).fill(new Uint8Array(32));
    const want = clampPrivateKey(raw);
    for (const b of [nodeX25519, nobleX25519]) {
      const k = generateEphemeral(b, fixedRandom(0x40));
      expect(bytesToHex(k.raw)).toBe(bytesToHex(want));
      expect(bytesToHex(k.publicKey)).toBe(bytesToHex(nobleX25519.publicKey(want)));
    }
  });
});
