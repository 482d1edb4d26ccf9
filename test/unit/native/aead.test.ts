import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNativeTransportCipher } from '../../../src/crypto/native-aead.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8'));

interface KernelVector { index: number; key: string; nonce: string; aad: string; plaintext: string; ciphertext_and_tag: string; expect_failure?: boolean }

/** 8-byte kernel nonces are the little-endian u64 counter. */
function counterHalves(nonce8: Uint8Array): [number, number] {
  const dv = new DataView(nonce8.buffer, nonce8.byteOffset, 8);
  return [dv.getUint32(0, true), dv.getUint32(4, true)];
}

function nodeSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): string {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  if (aad && aad.length) c.setAAD(aad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]).toString('hex');
}

describe('native ChaCha20-Poly1305', () => {
  it('matches the RFC 8439 vectors (any nonce, AAD), seal and open', () => {
    for (const v of vectors('chacha20poly1305_rfc8439.json').vectors) {
      const c = createNativeTransportCipher(hex(v.key));
      const pt = hex(v.plaintext);
      const buf = new Uint8Array(pt.length + 16 + 8);
      buf.set(pt, 3);
      c.sealWithNonce(hex(v.nonce), hex(v.aad), buf, 3, pt.length);
      expect(toHex(buf.subarray(3, 3 + pt.length + 16))).toBe(v.ciphertext + v.tag);
      expect(c.openWithNonce(hex(v.nonce), hex(v.aad), buf, 3, pt.length + 16)).toBe(true);
      expect(toHex(buf.subarray(3, 3 + pt.length))).toBe(v.plaintext);
      c.destroy();
    }
  });

  it('matches the kernel selftest encrypt vectors (8-byte nonces via counters, 12-byte via nonce)', () => {
    const d = vectors('chacha20poly1305_kernel_selftest.json');
    let counterForm = 0;
    for (const v of d.encrypt as KernelVector[]) {
      const c = createNativeTransportCipher(hex(v.key));
      const pt = hex(v.plaintext);
      const nonce = hex(v.nonce);
      const aad = hex(v.aad);
      const buf = new Uint8Array(pt.length + 16);
      buf.set(pt);
      if (nonce.length === 8) {
        const n12 = new Uint8Array(12);
        n12.set(nonce, 4);
        if (aad.length === 0) {
          const [lo, hi] = counterHalves(nonce);
          c.seal(lo, hi, buf, 0, pt.length);
          counterForm++;
        } else {
          c.sealWithNonce(n12, aad, buf, 0, pt.length);
        }
      } else {
        c.sealWithNonce(nonce, aad, buf, 0, pt.length);
      }
      expect(toHex(buf), `encrypt vector ${v.index}`).toBe(v.ciphertext_and_tag);
      c.destroy();
    }
    expect(counterForm).toBeGreaterThan(0);
  });

  it('handles the kernel selftest decrypt vectors, including forgeries', () => {
    const d = vectors('chacha20poly1305_kernel_selftest.json');
    for (const v of d.decrypt as KernelVector[]) {
      const c = createNativeTransportCipher(hex(v.key));
      const sealed = hex(v.ciphertext_and_tag);
      const n12 = new Uint8Array(12);
      n12.set(hex(v.nonce), 4);
      const ok = c.openWithNonce(n12, hex(v.aad), sealed, 0, sealed.length);
      expect(ok, `decrypt vector ${v.index}`).toBe(!v.expect_failure);
      if (ok) expect(toHex(sealed.subarray(0, sealed.length - 16))).toBe(v.plaintext);
      c.destroy();
    }
  });

  it('equals node:crypto for random keys, counters, lengths and offsets', () => {
    for (let t = 0; t < 200; t++) {
      const key = new Uint8Array(randomBytes(32));
      const len = t < 10 ? t : (randomBytes(2).readUInt16LE() % 2000);
      const lo = randomBytes(4).readUInt32LE();
      const hi = t % 3 === 0 ? 0 : randomBytes(4).readUInt32LE();
      const pt = new Uint8Array(randomBytes(len));
      const off = t % 17;
      const buf = new Uint8Array(off + len + 16 + 5);
      buf.set(pt, off);
      const c = createNativeTransportCipher(key);
      c.seal(lo, hi, buf, off, len);
      const nonce = Buffer.alloc(12);
      nonce.writeUInt32LE(lo, 4);
      nonce.writeUInt32LE(hi, 8);
      expect(toHex(buf.subarray(off, off + len + 16))).toBe(nodeSeal(key, nonce, pt));
      expect(c.open(lo, hi, buf, off, len + 16)).toBe(true);
      expect(toHex(buf.subarray(off, off + len))).toBe(toHex(pt));
      c.destroy();
    }
  });

  it('rejects wrong counters and tampering; reuses one context across seal/open switches', () => {
    const key = new Uint8Array(randomBytes(32));
    const c = createNativeTransportCipher(key);
    const pt = new Uint8Array(randomBytes(300));
    const buf = new Uint8Array(316);
    buf.set(pt);
    c.seal(7, 0, buf, 0, 300);
    const sealed = buf.slice();
    expect(c.open(8, 0, buf, 0, 316)).toBe(false);
    buf.set(sealed);
    buf[100] ^= 1;
    expect(c.open(7, 0, buf, 0, 316)).toBe(false);
    buf.set(sealed);
    buf[315] ^= 0x80;
    expect(c.open(7, 0, buf, 0, 316)).toBe(false);
    buf.set(sealed);
    expect(c.open(7, 0, buf, 0, 15)).toBe(false); // shorter than a tag
    expect(c.open(7, 0, buf, 0, 316)).toBe(true);
    expect(toHex(buf.subarray(0, 300))).toBe(toHex(pt));
    expect(() => c.seal(0, 0, buf, 10, 300)).toThrow(RangeError); // tag would overflow
    c.destroy();
    expect(() => c.seal(0, 0, buf, 0, 1)).toThrow(/destroyed/);
    expect(() => createNativeTransportCipher(new Uint8Array(31))).toThrow(TypeError);
  });

  it('seals and opens batches (per-packet counters, start index, status out)', () => {
    const key = new Uint8Array(randomBytes(32));
    const c = createNativeTransportCipher(key);
    const n = 64;
    const slot = 2100;
    const data = new Uint8Array(n * slot);
    const offsets = new Uint32Array(n);
    const lengths = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const hi = new Uint32Array(n);
    const plain: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const len = (i * 37) % 2000;
      plain.push(new Uint8Array(randomBytes(len)));
      offsets[i] = i * slot + 16;
      lengths[i] = len;
      lo[i] = 0xffffff00 + i; // crosses into hi below
      hi[i] = i;
      data.set(plain[i], offsets[i]);
    }
    expect(c.sealBatch(data, offsets, lengths, lo, hi, n)).toBe(n);
    for (let i = 0; i < n; i++) {
      const nonce = Buffer.alloc(12);
      nonce.writeUInt32LE(lo[i], 4);
      nonce.writeUInt32LE(hi[i], 8);
      expect(toHex(data.subarray(offsets[i], offsets[i] + lengths[i] + 16))).toBe(nodeSeal(key, nonce, plain[i]));
    }
    const sealedLen = new Uint32Array(n);
    for (let i = 0; i < n; i++) sealedLen[i] = lengths[i] + 16;
    data[offsets[5] + 1] ^= 1; // corrupt packet 5
    hi[9] ^= 1; // wrong counter for packet 9
    const status = new Uint8Array(n).fill(7);
    expect(c.openBatch(data, offsets, sealedLen, lo, hi, n - 2, status, 2)).toBe(n - 4);
    expect(status[0]).toBe(7); // before start: untouched
    expect(status[1]).toBe(7);
    for (let i = 2; i < n; i++) {
      expect(status[i], `packet ${i}`).toBe(i === 5 || i === 9 ? 0 : 1);
      if (status[i]) expect(toHex(data.subarray(offsets[i], offsets[i] + lengths[i]))).toBe(toHex(plain[i]));
    }
    lengths[3] = slot * n; // out of bounds: the whole call throws before touching anything
    expect(() => c.sealBatch(data, offsets, lengths, lo, hi, n)).toThrow(RangeError);
    c.destroy();
  });
});
