/** HMAC-BLAKE2s (RFC 2104, 64-byte block) and WireGuard's KDF chain built on it. */
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { backendState } from './backend-state.js';
import { hash } from './blake2s.js';
import { blake2sCompress as compress } from './blake2s-compress.js';
import { BLAKE2S_IV, Blake2s } from './blake2s-engine.js';

const BLOCK = 64;
const IPAD = 0x36363636;
const OPAD = 0x5c5c5c5c;

// Scratch for the JS path (every call runs to completion synchronously, so sharing is safe).
const engine = new Blake2s();
const kw = new Int32Array(16); // the key as 16 little-endian words, zero-padded to a block
const m = new Int32Array(16); // one message block
const iState = new Int32Array(8); // chaining value after the (K ^ ipad) block
const oState = new Int32Array(8); // chaining value after the (K ^ opad) block
const hOut = new Int32Array(8);

/** Unkeyed BLAKE2s-256 parameter block folded into the IV. */
function initState(h: Int32Array): void {
  h.set(BLAKE2S_IV);
  h[0] ^= 0x01010020;
}

/** kw = K (≤ 64 bytes); iState/oState = BLAKE2s after the K ^ ipad / K ^ opad blocks. */
function setKey(k: Uint8Array): void {
  kw.fill(0);
  for (let i = 0; i < k.length; i++) kw[i >> 2] |= k[i] << (8 * (i & 3));
  for (let i = 0; i < 16; i++) m[i] = kw[i] ^ IPAD;
  initState(iState);
  compress(iState, m, BLOCK, false);
  for (let i = 0; i < 16; i++) m[i] = kw[i] ^ OPAD;
  initState(oState);
  compress(oState, m, BLOCK, false);
}

/** Outer hash: BLAKE2s(K ^ opad ‖ inner digest), the inner digest being in m[0..8) (m[8..16) zero). */
function outer(): Uint8Array {
  hOut.set(oState);
  compress(hOut, m, BLOCK + 32, true);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = hOut[i >> 2] >>> (8 * (i & 3));
  hOut.fill(0);
  m.fill(0);
  return out;
}

/** HMAC under the key last given to setKey, over a ‖ b (which must not be empty). */
function hmacWithKey(a: Uint8Array, b?: Uint8Array): Uint8Array {
  engine.resume(iState, BLOCK, 32).update(a);
  if (b) engine.update(b);
  m.fill(0);
  engine.digestWords(m);
  return outer();
}

function wipeKey(): void {
  kw.fill(0);
  m.fill(0);
  iState.fill(0);
  oState.fill(0);
}

/**
 * RFC 2104 on the JS engine, working on words: 4 compressions for a message of 1..64 bytes,
 * and no byte copies of the padded key blocks.
 */
function jsHmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  setKey(key.length > BLOCK ? hash(key) : key);
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].length;
  let out: Uint8Array;
  if (total === 0) {
    // The key block is the inner hash's only, hence last, block.
    for (let i = 0; i < 16; i++) m[i] = kw[i] ^ IPAD;
    initState(hOut);
    compress(hOut, m, BLOCK, true);
    m.fill(0);
    m.set(hOut);
    out = outer();
  } else {
    engine.resume(iState, BLOCK, 32);
    for (let i = 0; i < parts.length; i++) engine.update(parts[i]);
    m.fill(0);
    engine.digestWords(m);
    out = outer();
  }
  wipeKey();
  return out;
}

/** HMAC(key, parts…) with BLAKE2s-256; 32-byte output. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (backendState.name === 'node') return jsHmac(key, parts);
  const h = nobleHmac.create(nobleBlake2s, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** τ0 = HMAC(key, input), then each τi from τ0's saved key states (2 compressions each). */
function jsKdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const t0 = jsHmac(key, [input]);
  setKey(t0);
  t0.fill(0);
  const t1 = hmacWithKey(ONE);
  const out = [t1];
  if (n >= 2) {
    const t2 = hmacWithKey(t1, TWO);
    out.push(t2);
    if (n >= 3) out.push(hmacWithKey(t2, THREE));
  }
  wipeKey();
  return out;
}

/** KDF_n(key, input): τ0 = HMAC(key, input); τi = HMAC(τ0, τ(i−1) ‖ i); returns τ1..τn. */
function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  if (backendState.name === 'node') return jsKdf(n, key, input);
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
