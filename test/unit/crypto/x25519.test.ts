import { describe, expect, it } from 'vitest';
import {
  bytesToHex, clampPrivateKey, getCryptoBackend, nobleX25519, nodeX25519, setCryptoBackend, x25519,
  type X25519Backend,
} from '../../../src/crypto/index.js';
import { BACKENDS, fixedRandom, h, loadVectors } from './helpers.js';

const V = loadVectors('x25519.json');
const impls: Record<string, X25519Backend> = { node: nodeX25519, noble: nobleX25519 };

/** X25519(k, u) with raw byte inputs through the import API. */
function scalarMult(x: X25519Backend, k: Uint8Array, u: Uint8Array): Uint8Array | null {
  return x.dh(x.importPrivate(k), x.importPublic(u));
}

function iterate(x: X25519Backend, n: number): string {
  let k: Uint8Array = new Uint8Array(32);
  k[0] = 9;
  let u: Uint8Array = Uint8Array.from(k);
  for (let i = 0; i < n; i++) {
    const r = scalarMult(x, k, u);
    if (r === null) throw new Error('unexpected zero');
    u = k;
    k = r;
  }
  return bytesToHex(k);
}

describe('clampPrivateKey', () => {
  it('clamps per RFC 7748 and does not modify its input', () => {
    const ff = new Uint8Array(32).fill(0xff);
    expect(bytesToHex(clampPrivateKey(ff))).toBe(`f8${'ff'.repeat(30)}7f`);
    expect(ff[0]).toBe(0xff);
    expect(bytesToHex(clampPrivateKey(new Uint8Array(32)))).toBe(`${'00'.repeat(31)}40`);
    expect(() => clampPrivateKey(new Uint8Array(31))).toThrow();
  });
});

describe('backend switch', () => {
  it('x25519 follows setCryptoBackend', () => {
    expect(getCryptoBackend()).toBe('node');
    expect(x25519).toBe(nodeX25519);
    setCryptoBackend('noble');
    expect(getCryptoBackend()).toBe('noble');
    expect(x25519).toBe(nobleX25519);
    setCryptoBackend('node');
    expect(x25519).toBe(nodeX25519);
    expect(() => setCryptoBackend('openssl' as 'node')).toThrow();
    expect(getCryptoBackend()).toBe('node');
  });
});

describe.each(BACKENDS)('X25519 (%s backend)', (name) => {
  const x = impls[name];

  it('has the right name', () => expect(x.name).toBe(name));

  it('RFC 7748 §5.2 vectors (incl. masking of bit 255 of u)', () => {
    for (const v of V.rfc7748_5_2) expect(bytesToHex(scalarMult(x, h(v.scalar), h(v.u))!)).toBe(v.output);
  });

  it('RFC 7748 §5.2 iterated: 1 and 1000 iterations', () => {
    const it = V.rfc7748_5_2_iterated;
    expect(iterate(x, 1)).toBe(it.after_1);
    expect(iterate(x, 1000)).toBe(it.after_1000);
  }, 20_000);

  it('RFC 7748 §6.1 Diffie-Hellman', () => {
    const v = V.rfc7748_6_1;
    const a = x.importPrivate(h(v.alice_private));
    const b = x.importPrivate(h(v.bob_private));
    expect(bytesToHex(a.publicKey)).toBe(v.alice_public);
    expect(bytesToHex(b.publicKey)).toBe(v.bob_public);
    expect(bytesToHex(x.publicKey(h(v.alice_private)))).toBe(v.alice_public);
    expect(bytesToHex(x.dh(a, x.importPublic(b.publicKey))!)).toBe(v.shared);
    expect(bytesToHex(x.dh(b, x.importPublic(h(v.alice_public)))!)).toBe(v.shared);
    // raw is the clamped scalar; importing does not alias the caller's buffer.
    expect(bytesToHex(a.raw)).toBe(bytesToHex(clampPrivateKey(h(v.alice_private))));
  });

  it('low-order public keys give null', () => {
    const priv = x.importPrivate(h(V.rfc7748_6_1.alice_private));
    expect(V.low_order_points.hex.length).toBe(7);
    for (const p of V.low_order_points.hex) expect(x.dh(priv, x.importPublic(h(p)))).toBeNull();
    // The same u-coordinates with bit 255 set are the same points.
    for (const p of V.low_order_points.hex) {
      const u = h(p);
      u[31] |= 0x80;
      expect(x.dh(priv, x.importPublic(u))).toBeNull();
    }
  });

  it('kernel zinc selftest (81 vectors; invalid = zero shared secret → null)', () => {
    const vs = V.kernel_zinc_selftest.vectors;
    expect(vs.length).toBe(81);
    let invalid = 0;
    for (const v of vs) {
      const out = scalarMult(x, h(v.private), h(v.public));
      if (v.valid) {
        expect(bytesToHex(out!), `vector ${v.index}`).toBe(v.shared);
      } else {
        invalid++;
        expect(v.shared).toBe('00'.repeat(32));
        expect(out, `vector ${v.index}`).toBeNull();
      }
    }
    expect(invalid).toBe(16);
  });

  it('generatePrivateKey uses the given RandomSource and clamps', () => {
    const k = x.generatePrivateKey(fixedRandom(0xf0));
    const raw = new Uint8Array(32);
    fixedRandom(0xf0).fill(raw);
    expect(bytesToHex(k)).toBe(bytesToHex(clampPrivateKey(raw)));
    const r1 = x.generatePrivateKey();
    const r2 = x.generatePrivateKey();
    expect(bytesToHex(r1)).not.toBe(bytesToHex(r2));
    expect(r1[0] & 7).toBe(0);
    expect(r1[31] & 0xc0).toBe(0x40);
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => x.importPrivate(new Uint8Array(31))).toThrow();
    expect(() => x.importPublic(new Uint8Array(33))).toThrow();
  });
});

describe('X25519 cross-backend', () => {
  it('both backends agree, and keys imported by one work with the other', () => {
    const rng = fixedRandom(3);
    for (let i = 0; i < 4; i++) {
      const a = nodeX25519.generatePrivateKey(rng);
      const b = nodeX25519.generatePrivateKey(rng);
      const an = nodeX25519.importPrivate(a);
      const ab = nobleX25519.importPrivate(a);
      expect(bytesToHex(an.publicKey)).toBe(bytesToHex(ab.publicKey));
      const bPub = nobleX25519.publicKey(b);
      const s1 = nodeX25519.dh(an, nodeX25519.importPublic(bPub));
      const s2 = nobleX25519.dh(ab, nobleX25519.importPublic(bPub));
      const s3 = nodeX25519.dh(ab, nobleX25519.importPublic(bPub)); // foreign key objects
      const s4 = nobleX25519.dh(an, nodeX25519.importPublic(bPub));
      const s5 = nodeX25519.dh(nodeX25519.importPrivate(b), nodeX25519.importPublic(an.publicKey));
      expect(s1).not.toBeNull();
      for (const s of [s2, s3, s4, s5]) expect(bytesToHex(s!)).toBe(bytesToHex(s1!));
    }
  });

  // ~100 s: defined only on request, so the default suite has no skipped test.
  if (process.env.TSGUARD_SLOW_VECTORS) {
    it('RFC 7748 §5.2 iterated 1,000,000 times (node)', () => {
      expect(iterate(nodeX25519, 1_000_000)).toBe(V.rfc7748_5_2_iterated.after_1000000);
    }, 600_000);
  }
});
