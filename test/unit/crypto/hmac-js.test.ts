import { describe, expect, it } from 'vitest';
import { bytesToHex, hmacBlake2s, kdf1, kdf2, kdf3, setCryptoBackend } from '../../../src/crypto/index.js';

/**
 * The node backend's word-level HMAC/KDF (hmac.ts) against the noble backend's @noble/hashes
 * HMAC, across the cases that take different paths: empty message (the key block is the inner
 * hash's last block), 1..64-byte messages, multi-block messages, keys of 0..64 bytes and keys
 * longer than a block (hashed first).
 */
function both<T>(f: () => T): [T, T] {
  setCryptoBackend('node');
  const a = f();
  setCryptoBackend('noble');
  try {
    return [a, f()];
  } finally {
    setCryptoBackend('node');
  }
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 29 + seed) & 0xff);

describe('HMAC-BLAKE2s / KDF: node (JS words) = noble', () => {
  it('HMAC for key lengths 0..100 and message lengths 0..200, also split in parts', () => {
    for (const kl of [0, 1, 16, 31, 32, 33, 63, 64, 65, 100]) {
      for (const ml of [0, 1, 12, 32, 33, 55, 56, 63, 64, 65, 127, 128, 129, 200]) {
        const k = bytes(kl, kl);
        const msg = bytes(ml, ml + 7);
        const [a, b] = both(() => bytesToHex(hmacBlake2s(k, msg)));
        expect(a, `key ${kl} msg ${ml}`).toBe(b);
        const [c] = both(() => bytesToHex(hmacBlake2s(k, msg.subarray(0, ml >> 1), new Uint8Array(0), msg.subarray(ml >> 1))));
        expect(c, `key ${kl} msg ${ml} in parts`).toBe(b);
      }
    }
  });

  it('KDF1/2/3 with empty, short and long inputs, interleaved with other HMACs', () => {
    for (const il of [0, 1, 32, 64, 65, 200]) {
      const key = bytes(32, il);
      const input = bytes(il, 3);
      const [a, b] = both(() => {
        const r1 = kdf1(key, input).map(bytesToHex);
        const other = bytesToHex(hmacBlake2s(input, key));
        const r3 = kdf3(key, input).map(bytesToHex);
        const r2 = kdf2(r1[0] ? Uint8Array.from(Buffer.from(r1[0], 'hex')) : key, input).map(bytesToHex);
        return { r1, other, r2, r3 };
      });
      expect(a, `input ${il}`).toEqual(b);
      expect(a.r3.slice(0, 1)).toEqual(a.r1);
    }
  });
});
