/** BLAKE2s (RFC 7693): WireGuard's HASH and the keyed MAC used for mac1/mac2 and cookies. */
import { createHash } from 'node:crypto';
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { backendState } from './backend-state.js';
import { toPlain } from './bytes.js';

/**
 * BLAKE2s of `data` (or the concatenation of its parts), `outLen` bytes (1..32), optionally keyed
 * (key ≤ 32 bytes). Node's blake2s256 only does unkeyed 32-byte output; everything else is noble.
 */
export function blake2s(data: Uint8Array | Uint8Array[], outLen = 32, key?: Uint8Array): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 32) throw new RangeError('blake2s: outLen must be 1..32');
  if (key !== undefined && key.length > 32) throw new RangeError('blake2s: key must be at most 32 bytes');
  if (backendState.name === 'node' && outLen === 32 && (key === undefined || key.length === 0)) {
    const h = createHash('blake2s256');
    for (const p of parts) h.update(p);
    return toPlain(h.digest());
  }
  const h = nobleBlake2s.create(key !== undefined && key.length > 0 ? { dkLen: outLen, key } : { dkLen: outLen });
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HASH(parts…) = BLAKE2s-256 of the concatenation. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  return blake2s(parts, 32);
}

/** MAC(key, parts…) = keyed BLAKE2s with 16-byte output (mac1, mac2, cookie). */
export function mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return blake2s(parts, 16, key);
}
