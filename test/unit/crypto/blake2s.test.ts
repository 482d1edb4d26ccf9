import { describe, expect, it } from 'vitest';
import { blake2s, bytesToHex, hash, mac } from '../../../src/crypto/index.js';
import { BACKENDS, h, loadVectors, useBackend } from './helpers.js';

const V = loadVectors('blake2s.json');

/** RFC 7693 Appendix E: selftest_seq. */
function selftestSeq(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let a = Math.imul(0xdead4bad, seed) >>> 0;
  let b = 1;
  for (let i = 0; i < len; i++) {
    const t = (a + b) >>> 0;
    a = b;
    b = t;
    out[i] = t >>> 24;
  }
  return out;
}

describe.each(BACKENDS)('BLAKE2s (%s backend)', (backend) => {
  useBackend(backend);

  it('RFC 7693 Appendix B ("abc")', () => {
    for (const v of V.rfc7693_appendix_b) {
      expect(bytesToHex(blake2s(h(v.input), v.outlen, v.key ? h(v.key) : undefined))).toBe(v.hash);
    }
  });

  it('RFC 7693 Appendix E self-test procedure gives the grand hash', () => {
    const digests: Uint8Array[] = [];
    for (const outlen of [16, 20, 28, 32]) {
      for (const inlen of [0, 3, 64, 65, 255, 1024]) {
        const input = selftestSeq(inlen, inlen);
        digests.push(blake2s(input, outlen));
        digests.push(blake2s(input, outlen, selftestSeq(outlen, outlen)));
      }
    }
    expect(digests.length).toBe(48);
    expect(bytesToHex(blake2s(digests))).toBe(V.rfc7693_appendix_e_selftest.grand_hash);
    // And every intermediate digest matches the expanded list.
    const expanded = V.rfc7693_appendix_e_selftest.expanded_digests_generated_with_python_hashlib;
    expect(expanded.length).toBe(48);
    expanded.forEach((v: { input: string; key: string; outlen: number; hash: string }, i: number) => {
      expect(bytesToHex(digests[i])).toBe(v.hash);
      expect(bytesToHex(blake2s(h(v.input), v.outlen, v.key ? h(v.key) : undefined))).toBe(v.hash);
    });
  });

  it('BLAKE2 reference KAT, unkeyed 256 (via blake2s and hash)', () => {
    const vs = V.blake2_reference_unkeyed_256.vectors;
    expect(vs.length).toBe(256);
    for (const v of vs) {
      expect(bytesToHex(blake2s(h(v.input)))).toBe(v.hash);
      expect(bytesToHex(hash(h(v.input)))).toBe(v.hash);
    }
  });

  it('BLAKE2 reference KAT, keyed 256', () => {
    const vs = V.blake2_reference_keyed_256.vectors;
    expect(vs.length).toBe(256);
    for (const v of vs) expect(bytesToHex(blake2s(h(v.input), 32, h(v.key)))).toBe(v.hash);
  });

  it('x/crypto keyed BLAKE2s-128 = WireGuard MAC', () => {
    const g = V.golang_x_crypto_keyed_128;
    expect(g.vectors.length).toBe(256);
    const key = h(g.key);
    g.vectors.forEach((v: { input: string; hash: string }, i: number) => {
      const input = h(v.input);
      expect(input.length).toBe(i);
      expect(bytesToHex(mac(key, input))).toBe(v.hash);
      // MAC over parts = MAC over the concatenation.
      expect(bytesToHex(mac(key, input.subarray(0, i >> 1), input.subarray(i >> 1)))).toBe(v.hash);
    });
  });

  it('hash(...parts) equals the hash of the concatenation; array input to blake2s too', () => {
    const v = V.blake2_reference_unkeyed_256.vectors[200];
    const m = h(v.input);
    expect(bytesToHex(hash(m.subarray(0, 7), m.subarray(7, 100), new Uint8Array(0), m.subarray(100)))).toBe(v.hash);
    expect(bytesToHex(blake2s([m.subarray(0, 64), m.subarray(64)]))).toBe(v.hash);
    expect(bytesToHex(hash())).toBe(V.blake2_reference_unkeyed_256.vectors[0].hash);
  });

  it('returns plain Uint8Arrays and rejects bad parameters', () => {
    expect(Object.getPrototypeOf(hash(Uint8Array.of(1)))).toBe(Uint8Array.prototype);
    expect(() => blake2s(Uint8Array.of(1), 33)).toThrow(RangeError);
    expect(() => blake2s(Uint8Array.of(1), 0)).toThrow(RangeError);
    expect(() => blake2s(Uint8Array.of(1), 32, new Uint8Array(33))).toThrow(RangeError);
  });
});
