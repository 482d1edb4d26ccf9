import { describe, expect, it } from 'vitest';
import { aeadSeal, bytesToHex, createTransportCipher, getCryptoBackend } from '../../../src/crypto/index.js';
import { nobleTransportCipher, nodeTransportCipher, type TransportCipherFactory } from '../../../src/crypto/aead.js';
import { BACKENDS, h, loadVectors, useBackend } from './helpers.js';

const KERNEL = loadVectors('chacha20poly1305_kernel_selftest.json');
const factories: Record<string, TransportCipherFactory> = { node: nodeTransportCipher, noble: nobleTransportCipher };
const EMPTY = new Uint8Array(0);
const KEY = new Uint8Array(32).map((_, i) => 0x80 + i);

function payload(len: number, seed = 1): Uint8Array {
  return new Uint8Array(len).map((_, i) => (i * 31 + seed) & 0xff);
}

/** u64 from the two halves. */
const ctr = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

describe.each(BACKENDS)('TransportCipher (%s)', (name) => {
  const make = factories[name];
  useBackend(name);

  it('createTransportCipher follows the selected backend', () => {
    expect(getCryptoBackend()).toBe(name);
    const a = createTransportCipher(KEY);
    const b = make(KEY);
    const x = payload(40);
    const y = Uint8Array.from(x);
    const bx = new Uint8Array(56);
    const by = new Uint8Array(56);
    bx.set(x);
    by.set(y);
    a.seal(3, 0, bx, 0, 40);
    b.seal(3, 0, by, 0, 40);
    expect(bytesToHex(bx)).toBe(bytesToHex(by));
  });

  it('seals and opens in place at an offset; bytes outside the range are untouched', () => {
    const c = make(KEY);
    for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 1420]) {
      const off = 16 + (len % 7);
      const buf = new Uint8Array(off + len + 16 + 32).fill(0xee);
      const pt = payload(len, len);
      buf.set(pt, off);
      c.seal(42, 0, buf, off, len);
      const expected = aeadSeal(KEY, 42n, pt, EMPTY);
      expect(bytesToHex(buf.subarray(off, off + len + 16)), `len ${len}`).toBe(bytesToHex(expected));
      expect(buf.subarray(0, off).every((b) => b === 0xee)).toBe(true);
      expect(buf.subarray(off + len + 16).every((b) => b === 0xee)).toBe(true);
      expect(c.open(42, 0, buf, off, len + 16)).toBe(true);
      expect(bytesToHex(buf.subarray(off, off + len))).toBe(bytesToHex(pt));
      expect(buf.subarray(0, off).every((b) => b === 0xee)).toBe(true);
      expect(buf.subarray(off + len + 16).every((b) => b === 0xee)).toBe(true);
    }
  });

  it('kernel selftest vectors with a 64-bit counter and no AAD', () => {
    const c0 = KERNEL.encrypt.filter((v: { nonce: string; aad: string }) => v.nonce.length === 16 && v.aad === '');
    expect(c0.length).toBe(4);
    for (const v of c0) {
      const n = Buffer.from(h(v.nonce));
      const lo = n.readUInt32LE(0);
      const hi = n.readUInt32LE(4);
      const c = make(h(v.key));
      const pt = h(v.plaintext);
      const buf = new Uint8Array(pt.length + 16 + 5);
      buf.set(pt, 5);
      c.seal(lo, hi, buf, 5, pt.length);
      expect(bytesToHex(buf.subarray(5)), `encrypt ${v.index}`).toBe(v.ciphertext_and_tag);
      expect(c.open(lo, hi, buf, 5, pt.length + 16)).toBe(true);
      expect(bytesToHex(buf.subarray(5, 5 + pt.length))).toBe(v.plaintext);
    }
  });

  it('counter halves map to the u64 counter, including values ≥ 2^32', () => {
    const c = make(KEY);
    const pt = payload(33);
    const cases: Array<[number, number]> = [
      [0, 0], [1, 0], [0xffffffff, 0], [0, 1], [0xffffffff, 1], [0x89abcdef, 0x01234567], [0xffffffff, 0xffffffff],
    ];
    for (const [lo, hi] of cases) {
      const buf = new Uint8Array(pt.length + 16);
      buf.set(pt);
      c.seal(lo, hi, buf, 0, pt.length);
      expect(bytesToHex(buf), `${lo}/${hi}`).toBe(bytesToHex(aeadSeal(KEY, ctr(lo, hi), pt, EMPTY)));
    }
  });

  it('open returns false on any tampered byte, wrong counter, short input', () => {
    const c = make(KEY);
    const pt = payload(48);
    const sealed = aeadSeal(KEY, ctr(0xffffffff, 1), pt, EMPTY);
    for (let i = 0; i < sealed.length; i++) {
      const buf = new Uint8Array(sealed.length + 8);
      buf.set(sealed, 4);
      buf[4 + i] ^= 0x01;
      expect(c.open(0xffffffff, 1, buf, 4, sealed.length), `byte ${i}`).toBe(false);
    }
    const buf = Uint8Array.from(sealed);
    expect(c.open(0xffffffff, 0, buf, 0, sealed.length)).toBe(false);
    buf.set(sealed);
    expect(c.open(0, 2, buf, 0, sealed.length)).toBe(false);
    buf.set(sealed);
    expect(c.open(0xffffffff, 1, buf, 0, 15)).toBe(false);
    buf.set(sealed);
    expect(c.open(0xffffffff, 1, buf, 0, sealed.length - 1)).toBe(false);
    buf.set(sealed);
    expect(c.open(0xffffffff, 1, buf, 0, sealed.length)).toBe(true);
    expect(bytesToHex(buf.subarray(0, 48))).toBe(bytesToHex(pt));
  });

  it('refuses ranges outside the buffer', () => {
    const c = make(KEY);
    const buf = new Uint8Array(32);
    expect(() => c.seal(0, 0, buf, 0, 17)).toThrow(RangeError); // 17 + 16 > 32
    expect(() => c.seal(0, 0, buf, -1, 0)).toThrow(RangeError);
    expect(() => c.open(0, 0, buf, 1, 32)).toThrow(RangeError);
  });

  it('does not keep a reference to the caller key; destroy() disables it', () => {
    const key = Uint8Array.from(KEY);
    const c = make(key);
    key.fill(0);
    const buf = new Uint8Array(16 + 16);
    c.seal(9, 0, buf, 0, 16);
    expect(bytesToHex(buf)).toBe(bytesToHex(aeadSeal(KEY, 9n, new Uint8Array(16), EMPTY)));
    c.destroy();
    expect(() => c.seal(9, 0, buf, 0, 16)).toThrow();
    expect(() => c.open(9, 0, buf, 0, 32)).toThrow();
  });
});

describe('TransportCipher backends interoperate', () => {
  it('node seals what noble opens and vice versa, byte-identical', () => {
    const n = nodeTransportCipher(KEY);
    const b = nobleTransportCipher(KEY);
    for (const len of [0, 1, 100, 1420]) {
      const pt = payload(len, 7);
      const b1 = new Uint8Array(len + 16);
      const b2 = new Uint8Array(len + 16);
      b1.set(pt);
      b2.set(pt);
      n.seal(len, 3, b1, 0, len);
      b.seal(len, 3, b2, 0, len);
      expect(bytesToHex(b1)).toBe(bytesToHex(b2));
      expect(b.open(len, 3, b1, 0, len + 16)).toBe(true);
      expect(n.open(len, 3, b2, 0, len + 16)).toBe(true);
      expect(bytesToHex(b1.subarray(0, len))).toBe(bytesToHex(pt));
      expect(bytesToHex(b2.subarray(0, len))).toBe(bytesToHex(pt));
    }
  });
});
