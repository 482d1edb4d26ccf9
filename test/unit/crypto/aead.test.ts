import { describe, expect, it } from 'vitest';
import { aeadOpen, aeadSeal, bytesToHex, setCryptoBackend } from '../../../src/crypto/index.js';
import { chachaPolyOpenNonce, chachaPolySealNonce } from '../../../src/crypto/aead.js';
import { BACKENDS, h, loadVectors, useBackend } from './helpers.js';

const RFC = loadVectors('chacha20poly1305_rfc8439.json');
const PRIM = loadVectors('chacha20_poly1305_primitives_rfc8439.json');
const KERNEL = loadVectors('chacha20poly1305_kernel_selftest.json');

/** The u64 counter of a WireGuard nonce (4 zero bytes ‖ LE u64), or null if the prefix is not zero. */
function counterOf(nonce12: Uint8Array): bigint | null {
  if (nonce12[0] | nonce12[1] | nonce12[2] | nonce12[3]) return null;
  return Buffer.from(nonce12).readBigUInt64LE(4);
}

describe.each(BACKENDS)('ChaCha20-Poly1305 (%s backend)', (backend) => {
  useBackend(backend);

  it('RFC 8439 §2.8.2 and Appendix A.5', () => {
    expect(RFC.vectors.length).toBe(2);
    for (const v of RFC.vectors) {
      const key = h(v.key);
      const nonce = h(v.nonce);
      const expected = v.ciphertext + v.tag;
      expect(bytesToHex(chachaPolySealNonce(key, nonce, h(v.plaintext), h(v.aad)))).toBe(expected);
      expect(bytesToHex(chachaPolyOpenNonce(key, nonce, h(expected), h(v.aad))!)).toBe(v.plaintext);
      const ctr = counterOf(nonce);
      if (ctr !== null) {
        // A.5 uses a WireGuard-shaped nonce: the counter API must agree.
        expect(bytesToHex(aeadSeal(key, ctr, h(v.plaintext), h(v.aad)))).toBe(expected);
        expect(bytesToHex(aeadOpen(key, ctr, h(expected), h(v.aad))!)).toBe(v.plaintext);
      }
    }
  });

  /*
   * The AEAD encrypts the payload with ChaCha20 starting at block counter 1, so ChaCha20
   * vectors with counter 1 are checkable through the AEAD's ciphertext. Counter-0/2/42 block
   * and encrypt vectors, the standalone Poly1305 vectors and the Poly1305 key-generation vectors
   * are skipped: no crypto/ primitive exposes a bare ChaCha20 keystream or Poly1305.
   */
  it('RFC 8439 ChaCha20 block/encrypt vectors with counter 1 (via the AEAD ciphertext)', () => {
    let checked = 0;
    let skipped = 0;
    for (const v of PRIM.chacha20_block) {
      if (v.counter !== 1) { skipped++; continue; }
      const ks = chachaPolySealNonce(h(v.key), h(v.nonce), new Uint8Array(64), new Uint8Array(0));
      expect(bytesToHex(ks.subarray(0, 64))).toBe(v.keystream);
      checked++;
    }
    for (const v of PRIM.chacha20_encrypt) {
      if (v.counter !== 1) { skipped++; continue; }
      const ct = chachaPolySealNonce(h(v.key), h(v.nonce), h(v.plaintext), new Uint8Array(0));
      expect(bytesToHex(ct.subarray(0, ct.length - 16))).toBe(v.ciphertext);
      checked++;
    }
    expect(checked).toBe(4);
    expect(skipped).toBe(5);
    expect(PRIM.poly1305.length + PRIM.poly1305_keygen.length).toBe(15); // not applicable, see above
  });

  it('kernel selftest: 118 encrypt vectors (8-byte nonces via the counter API, 12-byte raw)', () => {
    expect(KERNEL.encrypt.length).toBe(118);
    let wg = 0;
    for (const v of KERNEL.encrypt) {
      const key = h(v.key);
      const nonce = h(v.nonce);
      const pt = h(v.plaintext);
      const aad = h(v.aad);
      if (nonce.length === 8) {
        const ctr = Buffer.from(nonce).readBigUInt64LE(0);
        expect(bytesToHex(aeadSeal(key, ctr, pt, aad)), `encrypt ${v.index}`).toBe(v.ciphertext_and_tag);
        expect(bytesToHex(aeadOpen(key, ctr, h(v.ciphertext_and_tag), aad)!)).toBe(v.plaintext);
        wg++;
      } else {
        expect(nonce.length).toBe(12);
        expect(bytesToHex(chachaPolySealNonce(key, nonce, pt, aad)), `encrypt ${v.index}`).toBe(v.ciphertext_and_tag);
        expect(bytesToHex(chachaPolyOpenNonce(key, nonce, h(v.ciphertext_and_tag), aad)!)).toBe(v.plaintext);
      }
    }
    expect(wg).toBe(69);
  });

  it('kernel selftest: 13 decrypt vectors incl. the authentication failure', () => {
    expect(KERNEL.decrypt.length).toBe(13);
    let failures = 0;
    for (const v of KERNEL.decrypt) {
      const ctr = Buffer.from(h(v.nonce)).readBigUInt64LE(0);
      const out = aeadOpen(h(v.key), ctr, h(v.ciphertext_and_tag), h(v.aad));
      if (v.expect_failure) {
        failures++;
        expect(out, `decrypt ${v.index}`).toBeNull();
      } else {
        expect(bytesToHex(out!), `decrypt ${v.index}`).toBe(v.plaintext);
      }
    }
    expect(failures).toBe(1);
  });

  it('open fails on any modified byte, wrong counter, wrong AAD, short input', () => {
    const key = h(RFC.vectors[0].key);
    const aad = Uint8Array.of(1, 2, 3);
    const sealed = aeadSeal(key, 7n, Uint8Array.of(10, 20, 30, 40), aad);
    expect(sealed.length).toBe(20);
    for (let i = 0; i < sealed.length; i++) {
      const t = Uint8Array.from(sealed);
      t[i] ^= 1;
      expect(aeadOpen(key, 7n, t, aad)).toBeNull();
    }
    expect(aeadOpen(key, 8n, sealed, aad)).toBeNull();
    expect(aeadOpen(key, 7n, sealed, Uint8Array.of(1, 2))).toBeNull();
    expect(aeadOpen(key, 7n, sealed.subarray(0, 15), aad)).toBeNull();
    expect(Array.from(aeadOpen(key, 7n, sealed, aad)!)).toEqual([10, 20, 30, 40]);
    // Empty plaintext (keepalive / empty handshake field) is just a tag.
    const empty = aeadSeal(key, 0n, new Uint8Array(0), aad);
    expect(empty.length).toBe(16);
    expect(aeadOpen(key, 0n, empty, aad)!.length).toBe(0);
  });

  it('counter is a u64: nonce layout and range checks', () => {
    const key = new Uint8Array(32).fill(1);
    const pt = Uint8Array.of(1, 2, 3);
    const aad = new Uint8Array(0);
    const nonce = new Uint8Array(12);
    nonce.set([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01], 4);
    expect(bytesToHex(aeadSeal(key, 0x0123456789abcdefn, pt, aad))).toBe(bytesToHex(chachaPolySealNonce(key, nonce, pt, aad)));
    nonce.fill(0xff, 4);
    expect(bytesToHex(aeadSeal(key, (1n << 64n) - 1n, pt, aad))).toBe(bytesToHex(chachaPolySealNonce(key, nonce, pt, aad)));
    expect(() => aeadSeal(key, 1n << 64n, pt, aad)).toThrow(RangeError);
    expect(() => aeadSeal(key, -1n, pt, aad)).toThrow(RangeError);
    expect(() => aeadSeal(new Uint8Array(16), 0n, pt, aad)).toThrow();
  });
});

describe('ChaCha20-Poly1305 backends agree', () => {
  it('on inputs of many lengths', () => {
    const key = new Uint8Array(32).map((_, i) => i * 7);
    try {
      for (let len = 0; len < 300; len += 37) {
        const pt = new Uint8Array(len).map((_, i) => i ^ len);
        const aad = pt.subarray(0, len % 20);
        setCryptoBackend('node');
        const a = aeadSeal(key, BigInt(len) << 33n, pt, aad);
        setCryptoBackend('noble');
        const b = aeadSeal(key, BigInt(len) << 33n, pt, aad);
        expect(bytesToHex(b)).toBe(bytesToHex(a));
        expect(bytesToHex(aeadOpen(key, BigInt(len) << 33n, a, aad)!)).toBe(bytesToHex(pt));
      }
    } finally {
      setCryptoBackend('node');
    }
  });
});
