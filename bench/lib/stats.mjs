// @ts-check
/** Small statistics helpers. */

/** @param {readonly number[]} xs sorted ascending @param {number} p 0…100 (linear interpolation) */
export function percentileSorted(xs, p) {
  if (xs.length === 0) return NaN;
  const rank = (p / 100) * (xs.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo);
}

/** @param {readonly number[]} xs @param {number} p 0…100 */
export function percentile(xs, p) {
  return percentileSorted([...xs].sort((a, b) => a - b), p);
}

/** Median of the finite values; null when there are none. @param {readonly (number | null | undefined)[]} xs */
export function median(xs) {
  const ok = /** @type {number[]} */ (xs.filter((x) => typeof x === 'number' && Number.isFinite(x)));
  return ok.length === 0 ? null : percentile(ok, 50);
}

/**
 * Jitter as RFC 3550 defines its input: the mean absolute difference between consecutive
 * samples, in arrival order (not smoothed).
 * @param {readonly number[]} xs
 */
export function meanConsecutiveDelta(xs) {
  if (xs.length < 2) return NaN;
  let sum = 0;
  for (let i = 1; i < xs.length; i++) sum += Math.abs(xs[i] - xs[i - 1]);
  return sum / (xs.length - 1);
}
