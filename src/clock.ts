/**
 * Time and randomness enter the device only through these interfaces, so tests can drive
 * every timer with a simulated clock and every handshake with fixed random bytes.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic time in milliseconds (may be fractional). Never goes backwards. */
  now(): number;
  /** Wall-clock time in nanoseconds since the Unix epoch (handshake timestamps, `wg show`). */
  wallNs(): bigint;
  /** Run `fn` once after `ms` milliseconds of this clock's time. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The real clock: `performance.now()`, `Date.now()` and Node timers (unref'd). */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNs: () => {
    // hrtime gives nanosecond resolution but no epoch; anchor it once to Date.now().
    return wallAnchorNs + (process.hrtime.bigint() - hrAnchor);
  },
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
const hrAnchor = process.hrtime.bigint();
const wallAnchorNs = BigInt(Date.now()) * 1_000_000n;

/** Source of cryptographic randomness; tests inject deterministic bytes. */
export interface RandomSource {
  fill(buf: Uint8Array): Uint8Array;
}
