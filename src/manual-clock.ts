import type { Clock, TimerHandle } from './clock.js';

/**
 * A simulated clock for tests and deterministic simulations: time moves only when
 * `advance` is called, and timers fire in deadline order as it passes them.
 */
export class ManualClock implements Clock {
  private current: number;
  private wallBaseNs: bigint;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 0, wallStartNs = 1_700_000_000_000_000_000n) {
    this.current = startMs;
    this.wallBaseNs = wallStartNs - BigInt(Math.round(startMs * 1e6));
  }

  now(): number {
    return this.current;
  }

  wallNs(): bigint {
    return this.wallBaseNs + BigInt(Math.round(this.current * 1e6));
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Move time forward by `ms`, firing every timer whose deadline is reached, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at < nextAt || (t.at === nextAt && id < nextId)) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > target) break;
      const t = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.current = Math.max(this.current, t.at);
      t.fn();
    }
    this.current = target;
  }

  /** Jump the wall clock (not the monotonic one), e.g. to test that timestamps use it. */
  setWallNs(ns: bigint): void {
    this.wallBaseNs = ns - BigInt(Math.round(this.current * 1e6));
  }
}
