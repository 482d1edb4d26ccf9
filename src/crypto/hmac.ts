/** HMAC-BLAKE2s (RFC 2104, 64-byte block) and WireGuard's KDF chain built on it. */
import { createHmac } from 'node:crypto';
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { backendState } from './backend-state.js';
import { toPlain } from './bytes.js';

/** HMAC(key, parts…) with BLAKE2s-256; 32-byte output. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (backendState.name === 'node') {
    const h = createHmac('blake2s256', key);
    for (const p of parts) h.update(p);
    return toPlain(h.digest());
  }
  const h = nobleHmac.create(nobleBlake2s, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** KDF_n(key, input): τ0 = HMAC(key, input); τi = HMAC(τ0, τ(i−1) ‖ i); returns τ1..τn. */
function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const t0 = hmacBlake2s(key, input);
  const out: Uint8Array[] = [];
  const t1 = hmacBlake2s(t0, ONE);
  out.push(t1);
  if (n >= 2) {
    const t2 = hmacBlake2s(t0, t1, TWO);
    out.push(t2);
    if (n >= 3) out.push(hmacBlake2s(t0, t2, THREE));
  }
  t0.fill(0);
  return out;
}

export function kdf1(key: Uint8Array, input: Uint8Array): [Uint8Array] {
  const [t1] = kdf(1, key, input);
  return [t1];
}

export function kdf2(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const [t1, t2] = kdf(2, key, input);
  return [t1, t2];
}

export function kdf3(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const [t1, t2, t3] = kdf(3, key, input);
  return [t1, t2, t3];
}
