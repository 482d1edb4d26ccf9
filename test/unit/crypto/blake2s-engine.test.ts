import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { describe, expect, it } from 'vitest';
import { Blake2s } from '../../../src/crypto/blake2s-engine.js';
import { bytesToHex } from '../../../src/crypto/index.js';
import { h, loadVectors } from './helpers.js';

const V = loadVectors('blake2s.json');

/** The JS engine directly (blake2s.test.ts covers it through blake2s/hash/mac on the node backend). */
describe('Blake2s engine (allocation-free JS)', () => {
  const e = new Blake2s();

  it('BLAKE2 reference KATs, keyed and unkeyed 256, with one instance reused throughout', () => {
    for (const v of V.blake2_reference_unkeyed_256.vectors) expect(bytesToHex(e.init(32).update(h(v.input)).digest())).toBe(v.hash);
    for (const v of V.blake2_reference_keyed_256.vectors) expect(bytesToHex(e.init(32, h(v.key)).update(h(v.input)).digest())).toBe(v.hash);
  });

  it('keyed 128 (x/crypto) for every split point of the input into two updates', () => {
    const g = V.golang_x_crypto_keyed_128;
    const key = h(g.key);
    for (const v of g.vectors.filter((_: unknown, i: number) => i % 17 === 0 || (i >= 60 && i <= 70) || (i >= 124 && i <= 132))) {
      const input = h(v.input);
      for (let cut = 0; cut <= input.length; cut++) {
        const d = e.init(16, key).update(input.subarray(0, cut)).update(input.subarray(cut)).digest();
        expect(bytesToHex(d)).toBe(v.hash);
      }
    }
  });

  it('matches @noble/hashes byte-at-a-time across block boundaries, all output lengths, into an offset', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    for (const n of [0, 1, 63, 64, 65, 127, 128, 129, 192, 300]) {
      for (const outLen of [1, 16, 31, 32]) {
        for (const kl of [0, 1, 32]) {
          const k = kl > 0 ? key.subarray(0, kl) : undefined;
          e.init(outLen, k);
          for (let i = 0; i < n; i++) e.update(data.subarray(i, i + 1));
          const out = new Uint8Array(outLen + 5).fill(0xee);
          e.digestInto(out, 3);
          const want = nobleBlake2s(data.subarray(0, n), k ? { dkLen: outLen, key: k } : { dkLen: outLen });
          expect(bytesToHex(out.subarray(3, 3 + outLen))).toBe(bytesToHex(want));
          expect([out[0], out[1], out[2], out[outLen + 3], out[outLen + 4]]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
        }
      }
    }
  });

  it('resume continues from a saved chaining value; digestWords gives the digest as words', () => {
    const prefix = Uint8Array.from({ length: 128 }, (_, i) => i ^ 0x36);
    // digestWords: the same digest as 8 words (read back as bytes on a little-endian host).
    const words = new Int32Array(8);
    for (const n of [1, 32, 64, 65, 200]) {
      const msg = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
      const whole = new Uint8Array(128 + n);
      whole.set(prefix);
      whole.set(msg, 128);
      e.init(32).update(whole).digestWords(words);
      const bytes = new Uint8Array(words.buffer.slice(0));
      expect(bytesToHex(bytes)).toBe(bytesToHex(nobleBlake2s(whole)));
    }
    // resume(h, t): the IV-derived state after zero bytes is the parameter block itself, so
    // resuming from it at t = 0 must equal a plain init.
    const h0 = Int32Array.from([0x6a09e667 ^ 0x01010020, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    expect(bytesToHex(e.resume(h0, 0, 32).update(prefix).digest())).toBe(bytesToHex(nobleBlake2s(prefix)));
  });

  it('RFC 7693 Appendix B ("abc")', () => {
    const v = V.rfc7693_appendix_b[0];
    expect(bytesToHex(e.init(v.outlen).update(h(v.input)).digest())).toBe(v.hash);
  });
});
