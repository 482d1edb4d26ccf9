import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENDPOINT_RECORD_SIZE, EP_ADDR, EP_FAMILY, Endpoint } from '../../../src/io/endpoint.js';
import { RateLimiter } from '../../../src/device/ratelimiter.js';

interface Vectors {
  constants: { PACKETS_PER_SECOND: number; PACKETS_BURSTABLE: number };
  timings_test_sequence: { index: number; sleep_ms_before: number; expect_allowed: boolean }[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../../vectors/ratelimiter_selftest.json', import.meta.url), 'utf8'),
) as Vectors;

/** Endpoint records at a non-zero offset, to check `off` is honoured. */
const OFF = 7;
function v4(n: number): Uint8Array {
  const rec = new Uint8Array(OFF + ENDPOINT_RECORD_SIZE);
  rec[OFF + EP_FAMILY] = 4;
  new DataView(rec.buffer).setUint32(OFF + EP_ADDR, n >>> 0); // network order
  return rec;
}
function v6(words: number[]): Uint8Array {
  const rec = new Uint8Array(OFF + ENDPOINT_RECORD_SIZE);
  rec[OFF + EP_FAMILY] = 6;
  const dv = new DataView(rec.buffer);
  words.forEach((w, i) => dv.setUint32(OFF + EP_ADDR + 4 * i, w >>> 0));
  return rec;
}
function fromEndpoint(e: Endpoint): Uint8Array {
  const rec = new Uint8Array(OFF + ENDPOINT_RECORD_SIZE);
  rec.set(e.record, OFF);
  return rec;
}

describe('RateLimiter (B10)', () => {
  it('uses 20 packets/s with a burst of 5', async () => {
    const m = await import('../../../src/device/ratelimiter.js');
    expect(m.PACKETS_PER_SECOND).toBe(vectors.constants.PACKETS_PER_SECOND);
    expect(m.PACKETS_BURSTABLE).toBe(vectors.constants.PACKETS_BURSTABLE);
  });

  for (const start of [0, 123_456.789]) {
    it(`kernel timings sequence with per-step checks (clock starts at ${start})`, () => {
      const rl = new RateLimiter(1024);
      const S = 8182; // 0.0.31.246
      let now = start;
      const seq = vectors.timings_test_sequence;
      expect(seq).toHaveLength(11);
      for (const [i, step] of seq.entries()) {
        now += step.sleep_ms_before;
        const got = {
          i,
          v4: rl.allow(v4(S), OFF, now),
          // A never-seen IPv4 source is allowed.
          v4New: rl.allow(v4(S + i + 1), OFF, now),
          // Only the low 64 bits change: same /64 bucket, same verdict.
          v6: rl.allow(v6([1212, 289188, i, i]), OFF, now),
          // A different /64 is allowed.
          v6Other: rl.allow(v6([1212 + i + 1, 289188, i, i]), OFF, now),
        };
        const e = step.expect_allowed;
        expect(got).toEqual({ i, v4: e, v4New: true, v6: e, v6Other: true });
      }
    });
  }

  it('keys IPv6 on the /64 and IPv4 on the full address', () => {
    const rl = new RateLimiter(64);
    const a = fromEndpoint(Endpoint.fromAddress('2001:db8:1:2::1', 51820));
    const b = fromEndpoint(Endpoint.fromAddress('2001:db8:1:2:ffff:ffff:ffff:ffff', 1));
    const c = fromEndpoint(Endpoint.fromAddress('2001:db8:1:3::1', 51820));
    for (let i = 0; i < 5; i++) expect(rl.allow(i % 2 ? a : b, OFF, 0)).toBe(true);
    expect(rl.allow(a, OFF, 0)).toBe(false);
    expect(rl.allow(b, OFF, 0)).toBe(false);
    expect(rl.allow(c, OFF, 0)).toBe(true);
    const x = fromEndpoint(Endpoint.fromAddress('192.0.2.1', 1));
    const y = fromEndpoint(Endpoint.fromAddress('192.0.2.2', 1));
    for (let i = 0; i < 5; i++) expect(rl.allow(x, OFF, 0)).toBe(true);
    expect(rl.allow(x, OFF, 0)).toBe(false);
    expect(rl.allow(y, OFF, 0)).toBe(true);
    expect(rl.size).toBe(4);
  });

  it('treats an IPv4-mapped IPv6 source as its IPv4 address', () => {
    const rl = new RateLimiter(64);
    const mapped = fromEndpoint(Endpoint.fromAddress('::ffff:192.0.2.1', 1));
    const plain = fromEndpoint(Endpoint.fromAddress('192.0.2.1', 1));
    const other = fromEndpoint(Endpoint.fromAddress('::ffff:192.0.2.2', 1));
    for (let i = 0; i < 5; i++) expect(rl.allow(i % 2 ? mapped : plain, OFF, 0)).toBe(true);
    expect(rl.allow(mapped, OFF, 0)).toBe(false);
    expect(rl.allow(plain, OFF, 0)).toBe(false);
    expect(rl.allow(other, OFF, 0)).toBe(true); // not in the same ::ffff:0:0/64 bucket
  });

  it('denies records without an address family', () => {
    const rl = new RateLimiter(4);
    expect(rl.allow(new Uint8Array(ENDPOINT_RECORD_SIZE), 0, 0)).toBe(false);
    expect(rl.size).toBe(0);
  });

  it('refills at most the burst after a long pause', () => {
    const rl = new RateLimiter(4);
    const s = v4(1);
    for (let i = 0; i < 5; i++) expect(rl.allow(s, OFF, 0)).toBe(true);
    expect(rl.allow(s, OFF, 0)).toBe(false);
    // Stay active (so the entry is not swept) but wait long enough to fill the bucket.
    expect(rl.allow(s, OFF, 900)).toBe(true);
    let n = 0;
    while (rl.allow(s, OFF, 900)) n++;
    expect(n).toBe(4); // 5 in total at t = 900, never more than the burst
    expect(rl.allow(s, OFF, 949)).toBe(false);
    expect(rl.allow(s, OFF, 950)).toBe(true);
  });

  it('capacity: sources 0..M-1 allowed, source M denied', () => {
    const M = 1000;
    const rl = new RateLimiter(M);
    expect(rl.size).toBe(0);
    for (let i = 0; i < M; i++) expect(rl.allow(v4(i), OFF, 10)).toBe(true);
    expect(rl.size).toBe(M);
    expect(rl.allow(v4(M), OFF, 10)).toBe(false);
    // Known sources still get their verdicts while the table is full.
    expect(rl.allow(v4(0), OFF, 10)).toBe(true);
    expect(rl.size).toBe(M);
  });

  it('idle entries expire after 1 s, driven by now', () => {
    const rl = new RateLimiter(2);
    expect(rl.allow(v4(1), OFF, 0)).toBe(true);
    expect(rl.allow(v4(2), OFF, 600)).toBe(true);
    expect(rl.allow(v4(3), OFF, 600)).toBe(false); // full
    // At 1000.5 v4(1) is idle > 1 s, v4(2) is not.
    expect(rl.allow(v4(3), OFF, 1000.5)).toBe(true);
    expect(rl.size).toBe(2);
    // Sweeps run once per second of `now`: at 1500 nothing new is swept yet.
    expect(rl.allow(v4(4), OFF, 1500)).toBe(false);
    // At 2000.5: v4(2) (last 600) is swept, v4(3) (idle exactly 1000 ms) is kept.
    expect(rl.allow(v4(4), OFF, 2000.5)).toBe(true);
    expect(rl.size).toBe(2);
    rl.sweep(5000);
    expect(rl.size).toBe(0);
    // A swept source starts with a fresh bucket.
    for (let i = 0; i < 5; i++) expect(rl.allow(v4(1), OFF, 5000)).toBe(true);
    expect(rl.allow(v4(1), OFF, 5000)).toBe(false);
  });

  it('clear() empties the table', () => {
    const rl = new RateLimiter(3);
    for (let i = 0; i < 3; i++) rl.allow(v4(i), OFF, 0);
    expect(rl.allow(v4(9), OFF, 0)).toBe(false);
    rl.clear();
    expect(rl.size).toBe(0);
    for (let i = 3; i < 6; i++) expect(rl.allow(v4(i), OFF, 0)).toBe(true);
  });

  it('keeps working through many fills and sweeps with a seeded hash', () => {
    const seedBytes = new Uint8Array([1, 2, 3, 4]);
    const rl = new RateLimiter(256, { fill: (b) => (b.set(seedBytes.subarray(0, b.length)), b) });
    let now = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 256; i++) expect(rl.allow(v6([round, i, 0, 1]), OFF, now)).toBe(true);
      expect(rl.allow(v6([round, 999, 0, 1]), OFF, now)).toBe(false);
      now += 1001;
      rl.sweep(now);
      expect(rl.size).toBe(0);
    }
  });
});

describe('RateLimiter defaults', () => {
  it('defaults to the kernel-sized capacity and rejects a bad one', async () => {
    const m = await import('../../../src/device/ratelimiter.js');
    expect(new RateLimiter().capacity).toBe(m.RATELIMITER_DEFAULT_CAPACITY);
    expect(m.RATELIMITER_DEFAULT_CAPACITY).toBe(65_536);
    expect(() => new RateLimiter(0)).toThrow(RangeError);
  });
});
