/** BLAKE2s (RFC 7693): WireGuard's HASH and the keyed MAC used for mac1/mac2 and cookies. */
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { backendState } from './backend-state.js';
import { Blake2s } from './blake2s-engine.js';

// One reusable hasher: every call runs to completion synchronously, so sharing is safe.
const engine = new Blake2s();

/**
 * BLAKE2s of `data` (or the concatenation of its parts), `outLen` bytes (1..32), optionally keyed
 * (key ≤ 32 bytes). The 'node' backend uses the allocation-free JS engine (blake2s-engine.ts),
 * which beats node:crypto's createHash on these short inputs; 'noble' uses @noble/hashes.
 */
export function blake2s(data: Uint8Array | Uint8Array[], outLen = 32, key?: Uint8Array): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 32) throw new RangeError('blake2s: outLen must be 1..32');
  if (key !== undefined && key.length > 32) throw new RangeError('blake2s: key must be at most 32 bytes');
  const k = key !== undefined && key.length > 0 ? key : undefined;
  if (backendState.name === 'node') return digestParts(outLen, k, parts);
  const h = nobleBlake2s.create(k !== undefined ? { dkLen: outLen, key: k } : { dkLen: outLen });
  for (const p of parts) h.update(p);
  return h.digest();
}

function digestParts(outLen: number, key: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array {
  engine.init(outLen, key);
  for (let i = 0; i < parts.length; i++) engine.update(parts[i]);
  return engine.digest();
}

/** HASH(parts…) = BLAKE2s-256 of the concatenation. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  if (backendState.name === 'node') return digestParts(32, undefined, parts);
  return blake2s(parts, 32);
}

/** MAC(key, parts…) = keyed BLAKE2s with 16-byte output (mac1, mac2, cookie). */
export function mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (backendState.name === 'node' && key.length > 0 && key.length <= 32) return digestParts(16, key, parts);
  return blake2s(parts, 16, key);
}
