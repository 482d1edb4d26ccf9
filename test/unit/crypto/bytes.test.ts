import { describe, expect, it } from 'vitest';
import {
  base64ToKey, bytesToHex, concatBytes, constantTimeEqual, hexToBytes, isAllZero, keyToBase64,
} from '../../../src/crypto/index.js';
import { loadVectors } from './helpers.js';

describe('hex', () => {
  it('round-trips and is lowercase', () => {
    const b = Uint8Array.from([0, 1, 0xab, 0xff, 0x10]);
    expect(bytesToHex(b)).toBe('0001abff10');
    expect(Array.from(hexToBytes('0001ABff10'))).toEqual([0, 1, 0xab, 0xff, 0x10]);
    expect(hexToBytes('').length).toBe(0);
  });
  it('encodes subarray views, not the whole backing buffer', () => {
    const big = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(bytesToHex(big.subarray(1, 3))).toBe('0203');
  });
  it('rejects odd length and non-hex characters', () => {
    expect(() => hexToBytes('abc')).toThrow();
    expect(() => hexToBytes('zz')).toThrow();
    expect(() => hexToBytes('0g')).toThrow();
    expect(() => hexToBytes(' 00')).toThrow();
  });
  it('returns a plain Uint8Array not backed by a shared pool', () => {
    const b = hexToBytes('00112233');
    expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
    expect(b.buffer.byteLength).toBe(4);
  });
});

describe('base64 keys', () => {
  const lowOrder = loadVectors('x25519.json').low_order_points;
  it('decodes wg-style keys to the expected bytes and back', () => {
    lowOrder.base64.forEach((s: string, i: number) => {
      const k = base64ToKey(s);
      expect(bytesToHex(k)).toBe(lowOrder.hex[i]);
      expect(keyToBase64(k)).toBe(s);
    });
  });
  it('rejects wrong lengths', () => {
    expect(() => base64ToKey('')).toThrow();
    expect(() => base64ToKey('AAAA')).toThrow();
    expect(() => base64ToKey(Buffer.alloc(31).toString('base64'))).toThrow();
    expect(() => base64ToKey(Buffer.alloc(33).toString('base64'))).toThrow();
    expect(() => keyToBase64(new Uint8Array(31))).toThrow();
  });
  it('rejects non-canonical input', () => {
    const good = Buffer.alloc(32, 7).toString('base64');
    expect(base64ToKey(good).length).toBe(32);
    expect(() => base64ToKey(good.slice(0, 43))).toThrow(); // missing padding
    expect(() => base64ToKey(good.replace('=', ''))).toThrow();
    expect(() => base64ToKey(` ${good}`)).toThrow();
    expect(() => base64ToKey(`${good}\n`)).toThrow();
    expect(() => base64ToKey(Buffer.alloc(32, 7).toString('base64url'))).toThrow();
    // Last char of 32 zero bytes is 'A='; 'B=' sets unused low bits → same bytes, non-canonical.
    expect(() => base64ToKey('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=')).toThrow();
    expect(() => base64ToKey('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=')).toThrow();
  });
});

describe('comparisons', () => {
  it('constantTimeEqual', () => {
    const a = Uint8Array.from([1, 2, 3, 4]);
    expect(constantTimeEqual(a, Uint8Array.from([1, 2, 3, 4]))).toBe(true);
    for (let i = 0; i < 4; i++) {
      const b = Uint8Array.from(a);
      b[i] ^= 0x80;
      expect(constantTimeEqual(a, b)).toBe(false);
    }
    expect(constantTimeEqual(a, a.subarray(0, 3))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
  it('isAllZero', () => {
    expect(isAllZero(new Uint8Array(32))).toBe(true);
    expect(isAllZero(new Uint8Array(0))).toBe(true);
    const b = new Uint8Array(32);
    b[31] = 1;
    expect(isAllZero(b)).toBe(false);
  });
  it('concatBytes', () => {
    const c = concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3));
    expect(Array.from(c)).toEqual([1, 2, 3]);
    expect(concatBytes().length).toBe(0);
  });
});
