import { describe, expect, it } from 'vitest';
import { bytesToHex, isAllZero, nobleX25519, nodeX25519, xaeadOpen, xaeadSeal } from '../../../src/crypto/index.js';
import { chachaPolyOpenNonce, chachaPolySealNonce } from '../../../src/crypto/aead.js';
import { BACKENDS, h, loadVectors, useBackend } from './helpers.js';

interface AeadCase { tcId: number; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: string; flags: string[] }
interface XdhCase { tcId: number; public: string; private: string; shared: string; result: string; flags: string[] }

function cases<T>(file: string): { all: T[]; numberOfTests: number } {
  const j = loadVectors(`wycheproof/${file}`);
  const all = j.testGroups.flatMap((g: { tests: T[] }) => g.tests);
  return { all, numberOfTests: j.numberOfTests };
}

const CHACHA = cases<AeadCase>('chacha20_poly1305_test.json');
const XCHACHA = cases<AeadCase>('xchacha20_poly1305_test.json');
const X25519 = cases<XdhCase>('x25519_test.json');

type Seal = (key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array) => Uint8Array;
type Open = (key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array) => Uint8Array | null;

/** Runs an AEAD suite; returns [valid, invalidRejected, wrongNonceSize] counts. */
function runAead(all: AeadCase[], ivLen: number, seal: Seal, open: Open): [number, number, number] {
  let valid = 0;
  let rejected = 0;
  let badNonce = 0;
  for (const t of all) {
    const key = h(t.key);
    const iv = h(t.iv);
    const aad = h(t.aad);
    const sealedHex = t.ct + t.tag;
    if (iv.length !== ivLen) {
      // This API only takes one nonce size: it must refuse the others (they are all 'invalid').
      expect(t.result, `tc ${t.tcId}`).toBe('invalid');
      expect(() => seal(key, iv, h(t.msg), aad), `tc ${t.tcId}`).toThrow();
      badNonce++;
      continue;
    }
    if (t.result === 'valid') {
      expect(bytesToHex(seal(key, iv, h(t.msg), aad)), `tc ${t.tcId}`).toBe(sealedHex);
      expect(bytesToHex(open(key, iv, h(sealedHex), aad)!), `tc ${t.tcId}`).toBe(t.msg);
      valid++;
    } else {
      expect(t.result, `tc ${t.tcId}`).toBe('invalid');
      expect(open(key, iv, h(sealedHex), aad), `tc ${t.tcId}`).toBeNull();
      expect(bytesToHex(seal(key, iv, h(t.msg), aad)), `tc ${t.tcId}`).not.toBe(sealedHex);
      rejected++;
    }
  }
  return [valid, rejected, badNonce];
}

describe.each(BACKENDS)('Wycheproof (%s backend)', (backend) => {
  useBackend(backend);

  it('chacha20_poly1305_test.json (325 cases; 9 non-96-bit nonces refused)', () => {
    expect(CHACHA.all.length).toBe(CHACHA.numberOfTests);
    const [valid, rejected, badNonce] = runAead(CHACHA.all, 12, chachaPolySealNonce, chachaPolyOpenNonce);
    expect([valid, rejected, badNonce]).toEqual([256, 60, 9]);
  });

  it('xchacha20_poly1305_test.json (315 cases; 9 non-192-bit nonces refused)', () => {
    expect(XCHACHA.all.length).toBe(XCHACHA.numberOfTests);
    const [valid, rejected, badNonce] = runAead(XCHACHA.all, 24, xaeadSeal, xaeadOpen);
    expect([valid, rejected, badNonce]).toEqual([246, 60, 9]);
  });

  it('x25519_test.json (518 cases; zero shared secret → null, all others must match)', () => {
    const x = backend === 'node' ? nodeX25519 : nobleX25519;
    expect(X25519.all.length).toBe(X25519.numberOfTests);
    let zero = 0;
    let matched = 0;
    const matchedByFlag = new Map<string, number>();
    for (const t of X25519.all) {
      // Every case is valid or acceptable; WireGuard accepts all of them except a zero result.
      expect(['valid', 'acceptable']).toContain(t.result);
      const shared = h(t.shared);
      if (t.flags.includes('ZeroSharedSecret')) expect(isAllZero(shared)).toBe(true);
      const out = x.dh(x.importPrivate(h(t.private)), x.importPublic(h(t.public)));
      if (isAllZero(shared)) {
        expect(out, `tc ${t.tcId}`).toBeNull();
        zero++;
      } else {
        expect(out, `tc ${t.tcId} ${t.flags.join(',')}`).not.toBeNull();
        expect(bytesToHex(out!), `tc ${t.tcId} ${t.flags.join(',')}`).toBe(t.shared);
        matched++;
        for (const f of t.flags) matchedByFlag.set(f, (matchedByFlag.get(f) ?? 0) + 1);
      }
    }
    expect(zero).toBe(X25519.all.filter((t) => t.flags.includes('ZeroSharedSecret')).length);
    expect(zero).toBe(31);
    expect(matched).toBe(487);
    // 'acceptable' classes that must still compute (not be rejected) when the result is non-zero.
    expect(matchedByFlag.get('Twist')).toBe(216);
    expect(matchedByFlag.get('NonCanonicalPublic')).toBe(13);
    expect(matchedByFlag.get('SpecialPublicKey')).toBe(67);
    expect(matchedByFlag.get('EdgeCaseShared')).toBe(14);
  }, 20_000);
});
