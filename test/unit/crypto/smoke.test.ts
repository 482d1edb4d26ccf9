import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  aeadOpen, aeadSeal, createTransportCipher, hexToBytes, bytesToHex, kdf3, hash, mac, x25519, setCryptoBackend,
  xaeadOpen, xaeadSeal,
} from '../../../src/crypto/index.js';

const x = JSON.parse(readFileSync(new URL('../../vectors/x25519.json', import.meta.url), 'utf8'));
const kdf = JSON.parse(readFileSync(new URL('../../vectors/wireguard_kdf_and_constants.json', import.meta.url), 'utf8'));

afterAll(() => setCryptoBackend('node'));

describe.each(['node', 'noble'] as const)('smoke %s', (b) => {
  it('works', () => {
    setCryptoBackend(b);
    expect(x25519.name).toBe(b);
    for (const v of x.rfc7748_5_2) {
      const out = x25519.dh(x25519.importPrivate(hexToBytes(v.scalar)), x25519.importPublic(hexToBytes(v.u)));
      expect(bytesToHex(out!)).toBe(v.output);
    }
    const a = x25519.importPrivate(hexToBytes(x.rfc7748_6_1.alice_private));
    expect(bytesToHex(a.publicKey)).toBe(x.rfc7748_6_1.alice_public);
    expect(x25519.dh(a, x25519.importPublic(new Uint8Array(32)))).toBeNull();
    const kv = kdf.kdf_vectors_wireguard_go[0];
    const [t0, t1, t2] = kdf3(hexToBytes(kv.key), hexToBytes(kv.input));
    expect([bytesToHex(t0), bytesToHex(t1), bytesToHex(t2)]).toEqual([kv.t0, kv.t1, kv.t2]);
    expect(hash(new Uint8Array(3)).length).toBe(32);
    expect(mac(new Uint8Array(32), new Uint8Array(3)).length).toBe(16);
    const key = new Uint8Array(32).fill(7);
    const s = aeadSeal(key, 5n, new Uint8Array([1, 2, 3]), new Uint8Array([9]));
    expect(aeadOpen(key, 5n, s, new Uint8Array([9]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(aeadOpen(key, 6n, s, new Uint8Array([9]))).toBeNull();
    const buf = new Uint8Array(100);
    buf.set([1, 2, 3, 4], 10);
    const tc = createTransportCipher(key);
    tc.seal(5, 0, buf, 10, 4);
    expect(bytesToHex(buf.subarray(10, 30))).toBe(bytesToHex(aeadSeal(key, 5n, new Uint8Array([1, 2, 3, 4]), new Uint8Array(0))));
    expect(tc.open(5, 0, buf, 10, 20)).toBe(true);
    expect(Array.from(buf.subarray(10, 14))).toEqual([1, 2, 3, 4]);
    const n = new Uint8Array(24);
    expect(xaeadOpen(key, n, xaeadSeal(key, n, new Uint8Array([5]), new Uint8Array(0)), new Uint8Array(0))).toEqual(new Uint8Array([5]));
  });
});
