import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, xaeadOpen, xaeadSeal } from '../../../src/crypto/index.js';
import { chachaPolySealNonce } from '../../../src/crypto/aead.js';
import { BACKENDS, h, loadVectors, useBackend } from './helpers.js';

const X = loadVectors('xchacha20poly1305.json');
const KERNEL = loadVectors('chacha20poly1305_kernel_selftest.json');
const EMPTY = new Uint8Array(0);

// XChaCha is noble-only; run under both backend settings anyway (the switch must not break it,
// and the HChaCha20 cross-checks go through the selected backend's ChaCha20-Poly1305).
describe.each(BACKENDS)('XChaCha20-Poly1305 (%s backend selected)', (backend) => {
  useBackend(backend);

  it('draft-irtf-cfrg-xchacha-03 AEAD vector', () => {
    for (const v of X.aead_xchacha20_poly1305) {
      const sealed = xaeadSeal(h(v.key), h(v.nonce), h(v.plaintext), h(v.aad));
      expect(bytesToHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(bytesToHex(xaeadOpen(h(v.key), h(v.nonce), sealed, h(v.aad))!)).toBe(v.plaintext);
      // = ChaCha20-Poly1305(HChaCha20 subkey, 0000 ‖ nonce[16..24])
      const n12 = concatBytes(new Uint8Array(4), h(v.nonce).subarray(16));
      expect(bytesToHex(chachaPolySealNonce(h(v.hchacha20_subkey), n12, h(v.plaintext), h(v.aad)))).toBe(v.ciphertext + v.tag);
    }
  });

  it('HChaCha20 vector (checked through the XChaCha construction)', () => {
    for (const v of X.hchacha20) {
      const tail = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      const pt = new Uint8Array(70).fill(0x33);
      const aad = Uint8Array.of(9);
      const viaX = xaeadSeal(h(v.key), concatBytes(h(v.nonce), tail), pt, aad);
      const viaSubkey = chachaPolySealNonce(h(v.subkey), concatBytes(new Uint8Array(4), tail), pt, aad);
      expect(bytesToHex(viaX)).toBe(bytesToHex(viaSubkey));
    }
  });

  it('XChaCha20 keystream vectors: counter 1 via the AEAD ciphertext; counter 0 not applicable', () => {
    let checked = 0;
    for (const v of X.xchacha20) {
      if (v.counter !== 1) continue; // the AEAD never exposes block 0 (it is the Poly1305 key)
      const ct = xaeadSeal(h(v.key), h(v.nonce), h(v.plaintext), EMPTY);
      expect(bytesToHex(ct.subarray(0, ct.length - 16))).toBe(v.ciphertext);
      checked++;
    }
    expect(checked).toBe(1);
  });

  it('kernel selftest XChaCha encrypt/decrypt (both tables)', () => {
    const enc = [...X.kernel_selftest_encrypt];
    const dec = [...X.kernel_selftest_decrypt];
    expect(enc.length).toBeGreaterThan(0);
    for (const v of enc) {
      expect(bytesToHex(xaeadSeal(h(v.key), h(v.nonce), h(v.plaintext), h(v.aad)))).toBe(v.ciphertext_and_tag);
    }
    for (const v of dec) {
      const out = xaeadOpen(h(v.key), h(v.nonce), h(v.ciphertext_and_tag), h(v.aad));
      if (v.expect_failure) expect(out).toBeNull();
      else expect(bytesToHex(out!)).toBe(v.plaintext);
    }
    // The kernel file's ChaCha tables carry no 24-byte nonces.
    expect(KERNEL.encrypt.every((v: { nonce: string }) => v.nonce.length !== 48)).toBe(true);
  });

  it('cookie-shaped round trip; tampering and bad sizes', () => {
    const key = new Uint8Array(32).fill(0x42);
    const nonce = new Uint8Array(24).fill(0x24);
    const cookie = new Uint8Array(16).fill(0xc0);
    const aad = new Uint8Array(16).fill(0xaa);
    const sealed = xaeadSeal(key, nonce, cookie, aad);
    expect(sealed.length).toBe(32);
    expect(bytesToHex(xaeadOpen(key, nonce, sealed, aad)!)).toBe(bytesToHex(cookie));
    for (let i = 0; i < sealed.length; i++) {
      const t = Uint8Array.from(sealed);
      t[i] ^= 0x40;
      expect(xaeadOpen(key, nonce, t, aad)).toBeNull();
    }
    expect(xaeadOpen(key, nonce, sealed, new Uint8Array(16))).toBeNull();
    expect(xaeadOpen(key, nonce, sealed.subarray(0, 15), aad)).toBeNull();
    expect(() => xaeadSeal(key, new Uint8Array(12), cookie, aad)).toThrow();
    expect(() => xaeadSeal(new Uint8Array(16), nonce, cookie, aad)).toThrow();
  });
});
