/** HMAC-BLAKE2s (RFC 2104, 64-byte block) and WireGuard's KDF chain built on it. */
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { backendState } from './backend-state.js';
import { hash } from './blake2s.js';
import { Blake2s } from './blake2s-engine.js';

const BLOCK = 64;
const engine = new Blake2s();
const pad = new Uint8Array(BLOCK);
const inner = new Uint8Array(32);

/** HMAC(key, parts…) with BLAKE2s-256; 32-byte output. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (backendState.name === 'node') return jsHmac(key, parts);
  const h = nobleHmac.create(nobleBlake2s, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 2104 on the JS engine: H((K ^ opad) ‖ H((K ^ ipad) ‖ m)), 4 compressions for m ≤ 64 bytes. */
function jsHmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const k = key.length > BLOCK ? hash(key) : key;
  pad.fill(0x36);
  for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
  engine.init(32).update(pad);
  for (let i = 0; i < parts.length; i++) engine.update(parts[i]);
  engine.digestInto(inner);
  for (let i = 0; i < BLOCK; i++) pad[i] ^= 0x36 ^ 0x5c;
  const out = engine.init(32).update(pad).update(inner).digest();
  pad.fill(0);
  inner.fill(0);
  return out;
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

// τ0's HMAC key states: BLAKE2s after the (τ0 ^ ipad) and (τ0 ^ opad) blocks, so each τi costs
// 2 compressions instead of 4.
const ipadState = new Blake2s();
const opadState = new Blake2s();

/** HMAC(τ0, a ‖ b) from the saved key states; `a ‖ b` must not be empty. */
function hmacFromStates(a: Uint8Array, b: Uint8Array | undefined): Uint8Array {
  engine.copyFrom(ipadState).update(a);
  if (b) engine.update(b);
  engine.digestInto(inner);
  const out = engine.copyFrom(opadState).update(inner).digest();
  inner.fill(0);
  return out;
}

function jsKdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const t0 = jsHmac(key, [input]);
  pad.fill(0x36);
  for (let i = 0; i < 32; i++) pad[i] ^= t0[i];
  ipadState.init(32).update(pad).absorbBuffered();
  for (let i = 0; i < BLOCK; i++) pad[i] ^= 0x36 ^ 0x5c;
  opadState.init(32).update(pad).absorbBuffered();
  pad.fill(0);
  t0.fill(0);
  const t1 = hmacFromStates(ONE, undefined);
  const out = [t1];
  if (n >= 2) {
    const t2 = hmacFromStates(t1, TWO);
    out.push(t2);
    if (n >= 3) out.push(hmacFromStates(t2, THREE));
  }
  ipadState.wipe();
  opadState.wipe();
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
