import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REJECT_AFTER_MESSAGES, REPLAY_WINDOW_BITS } from '../../../src/constants.js';
import { ReplayWindow } from '../../../src/session/replay.js';

interface Step {
  range?: string;
  counter?: number;
  expect: boolean;
}
interface Vectors {
  constants: { 'concrete_values_used_below': Record<string, string | number> };
  sequence_34: { test: number; counter_wggo: string; expect: boolean }[];
  bulk_tests_kernel: { name: string; steps: Step[] }[];
  bulk_tests_wireguard_go_variants: ({ name: string; steps: Step[] } | string)[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../vectors/replay_counter_selftest.json', import.meta.url), 'utf8'),
) as Vectors;

/** Expand a step into counters: "1..8128 ascending" / "8128..0 descending" or one counter. */
function counters(step: Step): bigint[] {
  if (step.counter !== undefined) return [BigInt(step.counter)];
  const m = /^(\d+)\.\.(\d+) (ascending|descending)$/.exec(step.range ?? '');
  if (!m) throw new Error(`bad range ${step.range}`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  const out: bigint[] = [];
  if (m[3] === 'ascending') for (let i = a; i <= b; i++) out.push(BigInt(i));
  else for (let i = a; i >= b; i--) out.push(BigInt(i));
  return out;
}

function runBulk(steps: Step[]): void {
  const w = new ReplayWindow();
  for (const step of steps) {
    for (const n of counters(step)) {
      expect({ n, check: w.checkBig(n) }).toEqual({ n, check: step.expect });
      expect({ n, accept: w.acceptBig(n) }).toEqual({ n, accept: step.expect });
    }
  }
}

describe('ReplayWindow (C1)', () => {
  it('uses the constants the vectors assume (wireguard-go limit, window 8128)', () => {
    const c = vectors.constants.concrete_values_used_below;
    expect(REPLAY_WINDOW_BITS).toBe(c.WINDOW);
    expect(REJECT_AFTER_MESSAGES).toBe(BigInt(c['REJECT (wireguard-go test)'] as string));
  });

  it('passes the 34-step kernel/wireguard-go sequence', () => {
    const w = new ReplayWindow();
    expect(vectors.sequence_34).toHaveLength(34);
    for (const t of vectors.sequence_34) {
      const n = BigInt(t.counter_wggo);
      // check() predicts accept() and does not change state.
      expect({ test: t.test, check: w.checkBig(n) }).toEqual({ test: t.test, check: t.expect });
      expect({ test: t.test, check: w.checkBig(n) }).toEqual({ test: t.test, check: t.expect });
      expect({ test: t.test, accept: w.acceptBig(n) }).toEqual({ test: t.test, accept: t.expect });
    }
  });

  for (const b of vectors.bulk_tests_kernel) {
    it(`kernel ${b.name}`, () => runBulk(b.steps));
  }
  for (const b of vectors.bulk_tests_wireguard_go_variants) {
    if (typeof b === 'string') continue;
    it(`wireguard-go ${b.name}`, () => runBulk(b.steps));
  }

  it('C4: 2^53 and 2^53+1 are distinct and both accepted', () => {
    const w = new ReplayWindow();
    expect(w.acceptBig(2n ** 53n)).toBe(true);
    expect(w.acceptBig(2n ** 53n + 1n)).toBe(true);
    expect(w.acceptBig(2n ** 53n)).toBe(false);
    expect(w.acceptBig(2n ** 53n + 1n)).toBe(false);
    // The same through the u32 halves the packet path uses.
    expect(w.accept(2, 0x20_0000)).toBe(true);
    expect(w.accept(2, 0x20_0000)).toBe(false);
  });

  it('rejects counters at and above the limit, and out-of-range bigints', () => {
    const w = new ReplayWindow();
    expect(w.acceptBig(REJECT_AFTER_MESSAGES)).toBe(false);
    expect(w.accept(0xffffffff, 0xffffffff)).toBe(false);
    expect(w.acceptBig(-1n)).toBe(false);
    expect(w.acceptBig(1n << 64n)).toBe(false);
    expect(w.acceptBig(REJECT_AFTER_MESSAGES - 1n)).toBe(true);
  });

  it('handles the window across the 2^32 boundary of the low half', () => {
    const w = new ReplayWindow();
    const top = 1n << 32n; // lo = 0, hi = 1
    expect(w.acceptBig(top + 5n)).toBe(true);
    expect(w.acceptBig(top - 1n)).toBe(true); // lo = 0xffffffff, hi = 0
    expect(w.acceptBig(top + 5n - BigInt(REPLAY_WINDOW_BITS))).toBe(true);
    expect(w.acceptBig(top + 5n - BigInt(REPLAY_WINDOW_BITS) - 1n)).toBe(false);
    expect(w.acceptBig(top - 1n)).toBe(false);
  });

  it('reset() forgets everything', () => {
    const w = new ReplayWindow();
    expect(w.acceptBig(100000n)).toBe(true);
    expect(w.acceptBig(0n)).toBe(false);
    w.reset();
    expect(w.acceptBig(0n)).toBe(true);
    expect(w.acceptBig(100000n)).toBe(true);
    expect(w.acceptBig(100000n)).toBe(false);
  });

  it('agrees with an ideal set-based model on random traffic', () => {
    // Deterministic LCG so a failure is reproducible.
    let seed = 0x1234567;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const W = BigInt(REPLAY_WINDOW_BITS);
    for (const base of [0n, (1n << 32n) - 20000n, 1n << 53n, REJECT_AFTER_MESSAGES - 30000n]) {
      const w = new ReplayWindow();
      const seen = new Set<bigint>();
      let max = 0n;
      let n = base;
      if (base !== 0n) {
        // Jump the window there first (same step in both).
        expect(w.acceptBig(base)).toBe(true);
        seen.add(base);
        max = base;
      }
      for (let i = 0; i < 40000; i++) {
        const r = rnd(100);
        if (r < 50) n = max + BigInt(rnd(40)); // mostly forward
        else if (r < 90) n = max - BigInt(rnd(9000)); // reordered, sometimes too old
        else if (r < 98) n = max + BigInt(rnd(20000)); // big jump, recycles ring words
        else n = max - W + BigInt(rnd(3)) - 1n; // window edge
        if (n < 0n) n = 0n;
        const want =
          n < REJECT_AFTER_MESSAGES && !seen.has(n) && (n > max || max - n <= W);
        const check = w.checkBig(n);
        const accept = w.acceptBig(n);
        if (check !== want || accept !== want) {
          expect({ i, n, check, accept }).toEqual({ i, n, check: want, accept: want });
        }
        if (want) {
          seen.add(n);
          if (n > max) max = n;
        }
      }
    }
  });
});
