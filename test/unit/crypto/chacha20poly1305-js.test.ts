import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { chacha20Block, jsChachaPolyOpen, jsChachaPolySeal, poly1305 } from '../../../src/crypto/chacha20poly1305-js.js';
import { bytesToHex } from '../../../src/crypto/index.js';
import { h, loadVectors } from './helpers.js';

const RFC = loadVectors('chacha20poly1305_rfc8439.json');
const PRIM = loadVectors('chacha20_poly1305_primitives_rfc8439.json');
const KERNEL = loadVectors('chacha20poly1305_kernel_selftest.json');
const WP = loadVectors('wycheproof/chacha20_poly1305_test.json');

/** 8-byte WireGuard counters become 4 zero bytes ‖ counter; 12-byte nonces are used as they are. */
const nonce12 = (n: Uint8Array): Uint8Array => (n.length === 12 ? n : Uint8Array.of(0, 0, 0, 0, ...n));

/** The JS implementation directly, on every length (aead.ts only routes short messages to it). */
describe('ChaCha20-Poly1305 in JS (chacha20poly1305-js.ts)', () => {
  it('RFC 8439 ChaCha20 block vectors (every counter) and encryption vectors', () => {
    const out = new Uint8Array(64);
    for (const v of PRIM.chacha20_block) {
      chacha20Block(h(v.key), v.counter, h(v.nonce), out);
      expect(bytesToHex(out), v.source).toBe(v.keystream);
    }
    expect(PRIM.chacha20_encrypt.length).toBeGreaterThan(0);
    for (const v of PRIM.chacha20_encrypt) {
      const pt = h(v.plaintext);
      const ct = new Uint8Array(pt.length);
      for (let i = 0; i < pt.length; i += 64) {
        chacha20Block(h(v.key), v.counter + i / 64, h(v.nonce), out);
        for (let j = i; j < Math.min(pt.length, i + 64); j++) ct[j] = pt[j] ^ out[j - i];
      }
      expect(bytesToHex(ct), v.source).toBe(v.ciphertext);
    }
  });

  it('RFC 8439 Poly1305 vectors (incl. the A.3 edge cases) and one-time key generation', () => {
    expect(PRIM.poly1305.length).toBeGreaterThanOrEqual(11);
    for (const v of PRIM.poly1305) expect(bytesToHex(poly1305(h(v.message), h(v.key))), v.source).toBe(v.tag);
    const out = new Uint8Array(64);
    for (const v of PRIM.poly1305_keygen) {
      chacha20Block(h(v.key), 0, h(v.nonce), out);
      expect(bytesToHex(out.subarray(0, 32)), v.source).toBe(v.poly1305_one_time_key);
    }
  });

  it('RFC 8439 AEAD vectors and the kernel self-test (encrypt and decrypt)', () => {
    for (const v of RFC.vectors) {
      const sealed = jsChachaPolySeal(h(v.key), h(v.nonce), h(v.plaintext), h(v.aad));
      expect(bytesToHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(bytesToHex(jsChachaPolyOpen(h(v.key), h(v.nonce), sealed, h(v.aad))!)).toBe(v.plaintext);
    }
    for (const v of KERNEL.encrypt) {
      const n = nonce12(h(v.nonce));
      expect(bytesToHex(jsChachaPolySeal(h(v.key), n, h(v.plaintext), h(v.aad))), `encrypt ${v.index}`).toBe(v.ciphertext_and_tag);
      expect(bytesToHex(jsChachaPolyOpen(h(v.key), n, h(v.ciphertext_and_tag), h(v.aad))!)).toBe(v.plaintext);
    }
    let failures = 0;
    for (const v of KERNEL.decrypt) {
      const out = jsChachaPolyOpen(h(v.key), nonce12(h(v.nonce)), h(v.ciphertext_and_tag), h(v.aad));
      if (v.expect_failure) {
        failures++;
        expect(out, `decrypt ${v.index}`).toBeNull();
      } else {
        expect(bytesToHex(out!), `decrypt ${v.index}`).toBe(v.plaintext);
      }
    }
    expect(failures).toBe(1);
  });

  it('Wycheproof chacha20_poly1305_test.json (96-bit nonces: 256 valid, 60 rejected)', () => {
    let valid = 0;
    let rejected = 0;
    for (const g of WP.testGroups) {
      for (const t of g.tests) {
        const iv = h(t.iv);
        if (iv.length !== 12) continue;
        const sealedHex = t.ct + t.tag;
        const out = jsChachaPolyOpen(h(t.key), iv, h(sealedHex), h(t.aad));
        if (t.result === 'valid') {
          expect(bytesToHex(jsChachaPolySeal(h(t.key), iv, h(t.msg), h(t.aad))), `tc ${t.tcId}`).toBe(sealedHex);
          expect(bytesToHex(out!), `tc ${t.tcId}`).toBe(t.msg);
          valid++;
        } else {
          expect(out, `tc ${t.tcId}`).toBeNull();
          rejected++;
        }
      }
    }
    expect([valid, rejected]).toEqual([256, 60]);
  });

  it('agrees with @noble/ciphers on every length 0..300 and AAD 0..80; any flipped bit is rejected', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3 + 1);
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 151) & 0xff);
    for (let n = 0; n <= 300; n += n < 70 ? 1 : 13) {
      const aad = data.subarray(0, n % 81);
      const pt = data.subarray(0, n);
      const sealed = jsChachaPolySeal(key, nonce, pt, aad);
      expect(bytesToHex(sealed), `len ${n}`).toBe(bytesToHex(chacha20poly1305(key, nonce, aad).encrypt(pt)));
      const bad = sealed.slice();
      bad[(n * 7) % bad.length] ^= 1 << (n & 7);
      expect(jsChachaPolyOpen(key, nonce, bad, aad), `len ${n}`).toBeNull();
    }
    expect(jsChachaPolyOpen(key, nonce, new Uint8Array(15), new Uint8Array(0))).toBeNull();
  });
});
