/** XChaCha20-Poly1305 (24-byte nonce) for cookie replies; node:crypto has no XChaCha, so noble only. */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';

function check(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== 32) throw new TypeError('XChaCha20-Poly1305 key must be 32 bytes');
  if (nonce.length !== 24) throw new TypeError('XChaCha20-Poly1305 nonce must be 24 bytes');
}

/** Returns ciphertext ‖ 16-byte tag. */
export function xaeadSeal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  check(key, nonce24);
  return xchacha20poly1305(key, nonce24, aad).encrypt(plaintext);
}

/** Null when authentication fails or `sealed` is shorter than a tag. */
export function xaeadOpen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  check(key, nonce24);
  if (sealed.length < 16) return null;
  try {
    return xchacha20poly1305(key, nonce24, aad).decrypt(sealed);
  } catch {
    return null;
  }
}
