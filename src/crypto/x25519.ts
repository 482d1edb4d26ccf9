/**
 * X25519 (RFC 7748) behind a small backend interface. Keys are imported once and reused: the node
 * backend keeps an OpenSSL KeyObject inside each key (JWK import is ~10× cheaper than DER).
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { x25519 as nobleCurve } from '@noble/curves/ed25519.js';
import type { RandomSource } from '../clock.js';
import { isAllZero } from './bytes.js';
import { cryptoRandom } from './random.js';

export interface X25519PrivateKey {
  /** The clamped 32-byte scalar. */
  readonly raw: Uint8Array;
  /** The matching 32-byte public key. */
  readonly publicKey: Uint8Array;
}

export interface X25519PublicKey {
  /** The 32-byte u-coordinate as given (not reduced). */
  readonly raw: Uint8Array;
}

export interface X25519Backend {
  readonly name: 'node' | 'noble';
  /** 32 random bytes from `rng` (default: the system CSPRNG), clamped. */
  generatePrivateKey(rng?: RandomSource): Uint8Array;
  publicKey(priv: Uint8Array): Uint8Array;
  importPrivate(raw: Uint8Array): X25519PrivateKey;
  importPublic(raw: Uint8Array): X25519PublicKey;
  /** X25519(priv, pub); null when the result is all zero (pub of low order). */
  dh(priv: X25519PrivateKey, pub: X25519PublicKey): Uint8Array | null;
}

/** RFC 7748 §5 clamping, on a copy. */
export function clampPrivateKey(raw: Uint8Array): Uint8Array {
  checkLen(raw);
  const k = Uint8Array.from(raw);
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return k;
}

function checkLen(b: Uint8Array): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new TypeError('X25519 keys are 32 bytes');
}

function generate(rng: RandomSource | undefined): Uint8Array {
  const k = new Uint8Array(32);
  (rng ?? cryptoRandom).fill(k);
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return k;
}

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

function fromB64u(s: string): Uint8Array {
  const b = new Uint8Array(Buffer.from(s, 'base64url'));
  checkLen(b);
  return b;
}

// ---- node:crypto backend ----

class NodePrivateKey implements X25519PrivateKey {
  constructor(
    readonly raw: Uint8Array,
    readonly publicKey: Uint8Array,
    readonly keyObject: KeyObject,
  ) {}
}

class NodePublicKey implements X25519PublicKey {
  constructor(
    readonly raw: Uint8Array,
    readonly keyObject: KeyObject,
  ) {}
}

function nodeImportPrivate(raw: Uint8Array): NodePrivateKey {
  const clamped = clampPrivateKey(raw);
  // Node only checks that `x` is a string; OpenSSL derives the public half from `d` itself
  // (verified by the tests, which compare against RFC 7748 public keys).
  const keyObject = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(clamped), x: '' }, format: 'jwk' });
  // The private JWK export carries the derived `x` (~1 µs; createPublicKey + export costs ~5 µs).
  // Not generateKeyPairSync + export instead: no faster here, and on Node 20 that export can
  // deadlock (ExportJWKEdKey holds the key's mutex while a GC it triggers finalizes the
  // KeyGenJob, whose destructor takes the same mutex; seen in bench/handshake-micro.mjs).
  const jwk = keyObject.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('X25519: public key export failed');
  return new NodePrivateKey(clamped, fromB64u(jwk.x), keyObject);
}

function nodeImportPublic(raw: Uint8Array): NodePublicKey {
  checkLen(raw);
  const copy = Uint8Array.from(raw);
  const keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(copy) }, format: 'jwk' });
  return new NodePublicKey(copy, keyObject);
}

export const nodeX25519: X25519Backend = {
  name: 'node',
  generatePrivateKey: generate,
  publicKey: (priv) => nodeImportPrivate(priv).publicKey,
  importPrivate: nodeImportPrivate,
  importPublic: nodeImportPublic,
  dh(priv, pub) {
    const sk = priv instanceof NodePrivateKey ? priv.keyObject : nodeImportPrivate(priv.raw).keyObject;
    const pk = pub instanceof NodePublicKey ? pub.keyObject : nodeImportPublic(pub.raw).keyObject;
    let out: Buffer;
    try {
      out = diffieHellman({ privateKey: sk, publicKey: pk });
    } catch {
      // OpenSSL refuses to derive an all-zero secret (low-order public key).
      return null;
    }
    const res = new Uint8Array(out);
    out.fill(0);
    return isAllZero(res) ? null : res;
  },
};

// ---- @noble/curves backend ----

class NoblePrivateKey implements X25519PrivateKey {
  private pub: Uint8Array | undefined;
  constructor(readonly raw: Uint8Array) {}
  /** Computed on first use: a noble base-point multiplication costs ~1 ms. */
  get publicKey(): Uint8Array {
    this.pub ??= nobleCurve.getPublicKey(this.raw);
    return this.pub;
  }
}

export const nobleX25519: X25519Backend = {
  name: 'noble',
  generatePrivateKey: generate,
  publicKey: (priv) => nobleCurve.getPublicKey(clampPrivateKey(priv)),
  importPrivate: (raw) => new NoblePrivateKey(clampPrivateKey(raw)),
  importPublic(raw) {
    checkLen(raw);
    return { raw: Uint8Array.from(raw) };
  },
  dh(priv, pub) {
    let out: Uint8Array;
    try {
      out = nobleCurve.getSharedSecret(priv.raw, pub.raw);
    } catch {
      // noble rejects low-order inputs up front instead of returning zeros.
      return null;
    }
    return isAllZero(out) ? null : out;
  },
};

/** The backend in use; switched by setCryptoBackend (backend.ts). */
export let x25519: X25519Backend = nodeX25519;

/** @internal Called by backend.ts only. */
export function selectX25519(name: 'node' | 'noble'): void {
  x25519 = name === 'node' ? nodeX25519 : nobleX25519;
}
