/**
 * ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes ‖ 64-bit counter (LE).
 * aeadSeal/aeadOpen allocate (handshake path); TransportCipher works in place on packet buffers.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { backendState } from './backend-state.js';
import { jsChachaPolyOpen, jsChachaPolySeal } from './chacha20poly1305-js.js';

const TAG_LEN = 16;
const MAX_COUNTER = (1n << 64n) - 1n;

/** Transport-data AEAD bound to one key (no AAD). Counters are passed as two u32 halves. */
export interface TransportCipher {
  /** Encrypts buf[off, off+len) in place and writes the 16-byte tag at buf[off+len, off+len+16). */
  seal(counterLo: number, counterHi: number, buf: Uint8Array, off: number, len: number): void;
  /** Verifies and decrypts buf[off, off+sealedLen) in place; plaintext is buf[off, off+sealedLen−16). */
  open(counterLo: number, counterHi: number, buf: Uint8Array, off: number, sealedLen: number): boolean;
  /** Wipes the key copy; the cipher must not be used afterwards. */
  destroy(): void;
}

export type TransportCipherFactory = (key: Uint8Array) => TransportCipher;

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('ChaCha20-Poly1305 key must be 32 bytes');
}

/** nonce[4..12) = lo ‖ hi, each little-endian u32; nonce[0..4) stays zero. */
function writeNonce(nonce: Uint8Array, lo: number, hi: number): void {
  nonce[4] = lo;
  nonce[5] = lo >>> 8;
  nonce[6] = lo >>> 16;
  nonce[7] = lo >>> 24;
  nonce[8] = hi;
  nonce[9] = hi >>> 8;
  nonce[10] = hi >>> 16;
  nonce[11] = hi >>> 24;
}

function nonceFor(counter: bigint): Uint8Array {
  if (typeof counter !== 'bigint' || counter < 0n || counter > MAX_COUNTER) throw new RangeError('AEAD counter must be a u64 bigint');
  const nonce = new Uint8Array(12);
  writeNonce(nonce, Number(counter & 0xffffffffn), Number(counter >> 32n));
  return nonce;
}

function checkRange(buf: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length) {
    throw new RangeError('TransportCipher: range outside buffer');
  }
}

// ---- node:crypto ----

/**
 * Up to this many plaintext bytes the 'node' backend seals and opens in JS
 * (chacha20poly1305-js.ts): ~1 µs for a handshake field against ~5–6 µs for a node Cipher
 * object; node:crypto wins from ~256 bytes on.
 */
export const JS_AEAD_MAX = 128;

function nodeSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (plaintext.length <= JS_AEAD_MAX) return jsChachaPolySeal(key, nonce, plaintext, aad);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  if (aad.length > 0) c.setAAD(aad, { plaintextLength: plaintext.length });
  const out = new Uint8Array(plaintext.length + TAG_LEN);
  out.set(c.update(plaintext), 0);
  c.final();
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

function nodeOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_LEN) return null;
  const n = sealed.length - TAG_LEN;
  if (n <= JS_AEAD_MAX) return jsChachaPolyOpen(key, nonce, sealed, aad);
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  d.setAuthTag(sealed.subarray(n));
  if (aad.length > 0) d.setAAD(aad, { plaintextLength: n });
  const out = new Uint8Array(n);
  out.set(d.update(sealed.subarray(0, n)), 0);
  try {
    d.final();
  } catch {
    out.fill(0);
    return null;
  }
  return out;
}

/**
 * node:crypto transport cipher. Still allocates a Cipher object and output Buffer per packet
 * (~6–8 µs); the native batch AEAD will replace it behind the same interface.
 */
export const nodeTransportCipher: TransportCipherFactory = (k) => {
  checkKey(k);
  const key = Buffer.from(k); // private copy, wiped by destroy()
  const nonce = Buffer.alloc(12);
  let live = true;
  return {
    seal(lo, hi, buf, off, len) {
      if (!live) throw new Error('TransportCipher destroyed');
      checkRange(buf, off, len + TAG_LEN);
      writeNonce(nonce, lo, hi);
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
      buf.set(c.update(buf.subarray(off, off + len)), off);
      c.final();
      buf.set(c.getAuthTag(), off + len);
    },
    open(lo, hi, buf, off, sealedLen) {
      if (!live) throw new Error('TransportCipher destroyed');
      if (sealedLen < TAG_LEN) return false;
      checkRange(buf, off, sealedLen);
      writeNonce(nonce, lo, hi);
      const n = sealedLen - TAG_LEN;
      const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
      d.setAuthTag(buf.subarray(off + n, off + sealedLen));
      buf.set(d.update(buf.subarray(off, off + n)), off);
      try {
        d.final();
        return true;
      } catch {
        return false;
      }
    },
    destroy() {
      live = false;
      key.fill(0);
    },
  };
};

// ---- @noble/ciphers ----

function nobleOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_LEN) return null;
  try {
    return chacha20poly1305(key, nonce, aad).decrypt(sealed);
  } catch {
    return null;
  }
}

/** Pure-JS transport cipher; encrypts/decrypts into the packet buffer via noble's `output`. */
export const nobleTransportCipher: TransportCipherFactory = (k) => {
  checkKey(k);
  const key = Uint8Array.from(k);
  const nonce = new Uint8Array(12);
  let live = true;
  return {
    seal(lo, hi, buf, off, len) {
      if (!live) throw new Error('TransportCipher destroyed');
      checkRange(buf, off, len + TAG_LEN);
      writeNonce(nonce, lo, hi);
      chacha20poly1305(key, nonce).encrypt(buf.subarray(off, off + len), buf.subarray(off, off + len + TAG_LEN));
    },
    open(lo, hi, buf, off, sealedLen) {
      if (!live) throw new Error('TransportCipher destroyed');
      if (sealedLen < TAG_LEN) return false;
      checkRange(buf, off, sealedLen);
      writeNonce(nonce, lo, hi);
      try {
        // noble verifies the tag before writing any plaintext.
        chacha20poly1305(key, nonce).decrypt(buf.subarray(off, off + sealedLen), buf.subarray(off, off + sealedLen - TAG_LEN));
        return true;
      } catch {
        return false;
      }
    },
    destroy() {
      live = false;
      key.fill(0);
    },
  };
};

// ---- dispatch on the selected backend ----

const EMPTY = new Uint8Array(0);

/** ChaCha20-Poly1305 seal; returns ciphertext ‖ tag. */
export function aeadSeal(key: Uint8Array, counter: bigint, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  checkKey(key);
  const nonce = nonceFor(counter);
  if (backendState.name === 'node') return nodeSeal(key, nonce, plaintext, aad);
  return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** ChaCha20-Poly1305 open; null when authentication fails (or `sealed` is shorter than a tag). */
export function aeadOpen(key: Uint8Array, counter: bigint, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array | null {
  checkKey(key);
  const nonce = nonceFor(counter);
  if (backendState.name === 'node') return nodeOpen(key, nonce, sealed, aad);
  return nobleOpen(key, nonce, sealed, aad);
}

/** A transport cipher of the selected backend. */
export function createTransportCipher(key: Uint8Array): TransportCipher {
  return backendState.name === 'node' ? nodeTransportCipher(key) : nobleTransportCipher(key);
}

/**
 * Raw 12-byte-nonce ChaCha20-Poly1305 on the selected backend (test vectors with arbitrary
 * nonces; not used by the protocol).
 */
export function chachaPolySealNonce(key: Uint8Array, nonce12: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(key);
  if (nonce12.length !== 12) throw new RangeError('nonce must be 12 bytes');
  if (backendState.name === 'node') return nodeSeal(key, nonce12, plaintext, aad);
  return chacha20poly1305(key, nonce12, aad).encrypt(plaintext);
}

/** Counterpart of chachaPolySealNonce; null when authentication fails. */
export function chachaPolyOpenNonce(key: Uint8Array, nonce12: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  checkKey(key);
  if (nonce12.length !== 12) throw new RangeError('nonce must be 12 bytes');
  if (backendState.name === 'node') return nodeOpen(key, nonce12, sealed, aad);
  return nobleOpen(key, nonce12, sealed, aad);
}
