import { describe, expect, it } from 'vitest';
import { bytesToHex, hash, hmacBlake2s, kdf1, kdf2, kdf3 } from '../../../src/crypto/index.js';
import { BACKENDS, h, loadVectors, useBackend, utf8 } from './helpers.js';

const V = loadVectors('wireguard_kdf_and_constants.json');

describe.each(BACKENDS)('HMAC-BLAKE2s / KDF (%s backend)', (backend) => {
  useBackend(backend);

  it('wireguard-go KDF vectors (KDF1/KDF2/KDF3)', () => {
    expect(V.kdf_vectors_wireguard_go.length).toBe(3);
    for (const v of V.kdf_vectors_wireguard_go) {
      const key = h(v.key);
      const input = h(v.input);
      expect(kdf1(key, input).map(bytesToHex)).toEqual([v.t0]);
      expect(kdf2(key, input).map(bytesToHex)).toEqual([v.t0, v.t1]);
      expect(kdf3(key, input).map(bytesToHex)).toEqual([v.t0, v.t1, v.t2]);
      expect(bytesToHex(hmacBlake2s(key, input))).toBe(v.prk_hmac_key_input_derived_here);
    }
  });

  it('HMAC over parts equals HMAC over the concatenation; long keys are hashed first', () => {
    const key = new Uint8Array(100).fill(0x5a); // > block size (64)
    const m = utf8('the quick brown fox jumps over the lazy dog');
    const whole = bytesToHex(hmacBlake2s(key, m));
    expect(bytesToHex(hmacBlake2s(key, m.subarray(0, 10), m.subarray(10)))).toBe(whole);
    // RFC 2104: K longer than B is replaced by H(K).
    expect(bytesToHex(hmacBlake2s(hash(key), m))).toBe(whole);
    // RFC 2104 spelled out: H((K ^ opad) || H((K ^ ipad) || m)).
    const k = new Uint8Array(64);
    k.set(utf8('key'));
    const ipad = k.map((b) => b ^ 0x36);
    const opad = k.map((b) => b ^ 0x5c);
    expect(bytesToHex(hmacBlake2s(utf8('key'), m))).toBe(bytesToHex(hash(opad, hash(ipad, m))));
  });

  it('WireGuard constants: initial chaining key and hash', () => {
    const c = V.constants_computed_here;
    const ckHex = c['initial_chaining_key = HASH("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")'];
    const hHex = c['initial_hash = HASH(initial_chaining_key || "WireGuard v1 zx2c4 Jason@zx2c4.com")'];
    expect(typeof ckHex).toBe('string');
    const ck = hash(utf8('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s'));
    expect(bytesToHex(ck)).toBe(ckHex);
    expect(bytesToHex(hash(ck, utf8('WireGuard v1 zx2c4 Jason@zx2c4.com')))).toBe(hHex);
  });
});
