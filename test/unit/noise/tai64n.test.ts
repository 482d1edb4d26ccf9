import { describe, expect, it } from 'vitest';
import { compareTai64n, tai64n } from '../../../src/noise/index.js';
import { hex } from './helpers.js';

describe('TAI64N', () => {
  it('encodes the conformance A17 example', () => {
    expect(hex(tai64n(1_700_000_000_123_456_789n))).toBe('400000006553f10a07000000');
  });

  it('encodes the epoch and whole seconds', () => {
    expect(hex(tai64n(0n))).toBe('400000000000000a00000000');
    expect(hex(tai64n(1_700_000_000n * 1_000_000_000n))).toBe('400000006553f10a00000000');
  });

  it('rounds nanoseconds down to a multiple of 2^24', () => {
    const base = 1_700_000_000n * 1_000_000_000n;
    expect(hex(tai64n(base + (1n << 24n) - 1n)).slice(16)).toBe('00000000');
    expect(hex(tai64n(base + (1n << 24n))).slice(16)).toBe('01000000');
    expect(hex(tai64n(base + 999_999_999n)).slice(16)).toBe(((999_999_999 >>> 24) << 24).toString(16).padStart(8, '0'));
  });

  it('orders timestamps by time', () => {
    const base = 1_700_000_000n * 1_000_000_000n;
    const a = tai64n(base);
    const sameBucket = tai64n(base + 1000n);
    const b = tai64n(base + 20_000_000n);
    const c = tai64n(base + 1_000_000_000n);
    expect(compareTai64n(a, sameBucket)).toBe(0);
    expect(compareTai64n(a, b)).toBe(-1);
    expect(compareTai64n(b, a)).toBe(1);
    expect(compareTai64n(b, c)).toBe(-1);
    expect(compareTai64n(c, tai64n(base + 999_999_999n))).toBe(1);
  });
});
