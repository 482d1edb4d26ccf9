/** Byte helpers shared by every layer: hex/base64 codecs and constant-time comparisons. */

const HEX_RE = /^[0-9a-fA-F]*$/;
const B64_KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

/** Lowercase hex of `b`. */
export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Parses hex (either case); throws on odd length or a non-hex character. */
export function hexToBytes(s: string): Uint8Array {
  if (s.length % 2 !== 0) throw new Error('hexToBytes: odd length');
  if (!HEX_RE.test(s)) throw new Error('hexToBytes: invalid hex character');
  return new Uint8Array(Buffer.from(s, 'hex')); // copy: small Buffers live in Node's shared pool
}

/** Standard (padded) base64 of a key, as `wg` prints it. */
export function keyToBase64(k: Uint8Array): string {
  if (k.length !== 32) throw new Error('keyToBase64: key must be 32 bytes');
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');
}

/**
 * Parses a base64 key. Node's decoder is lenient (ignores junk, accepts missing padding),
 * so the string is checked against the only canonical shape of 32 bytes and re-encoded.
 */
export function base64ToKey(s: string): Uint8Array {
  if (!B64_KEY_RE.test(s)) throw new Error('base64ToKey: key must be 44 base64 characters encoding 32 bytes');
  const buf = Buffer.from(s, 'base64');
  // The last character carries 2 unused bits; canonical encodings have them zero.
  if (buf.length !== 32 || buf.toString('base64') !== s) throw new Error('base64ToKey: non-canonical base64 key');
  const key = new Uint8Array(buf); // copy out of Node's shared pool
  buf.fill(0);
  return key;
}

/** True iff a and b have the same length and bytes; time depends only on the length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** True iff every byte is zero; constant time in the contents. */
export function isAllZero(b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < b.length; i++) d |= b[i];
  return d === 0;
}

/** Concatenation into a fresh Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A plain Uint8Array view of a Buffer (no copy), so both backends return the same type.
 * Buffers from small allocations share Node's pool; callers of crypto/ only read these.
 */
export function toPlain(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
