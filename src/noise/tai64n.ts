/**
 * TAI64N timestamps of handshake initiations: big-endian u64 (2^62 + 10 + Unix seconds) ‖
 * big-endian u32 nanoseconds. Like the kernel, nanoseconds are rounded down to a multiple
 * of 2^24 (≈ 16.8 ms) so the timestamp does not leak a precise clock reading.
 */

export const TAI64N_SIZE = 12;
const TAI64_BASE = (1n << 62n) + 10n;
const NS_PER_S = 1_000_000_000n;
const NS_MASK = ~((1 << 24) - 1) >>> 0;

/** TAI64N of a wall-clock time given in nanoseconds since the Unix epoch (≥ 0). */
export function tai64n(wallNs: bigint): Uint8Array {
  if (wallNs < 0n) wallNs = 0n;
  const secs = TAI64_BASE + wallNs / NS_PER_S;
  const ns = (Number(wallNs % NS_PER_S) & NS_MASK) >>> 0;
  const out = new Uint8Array(TAI64N_SIZE);
  const hi = Number(secs >> 32n);
  const lo = Number(secs & 0xffffffffn);
  writeU32BE(out, 0, hi);
  writeU32BE(out, 4, lo);
  writeU32BE(out, 8, ns);
  return out;
}

/** Compare two 12-byte timestamps: negative, zero or positive like a sort comparator. */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  // Big-endian fields: byte order is numeric order.
  for (let i = 0; i < TAI64N_SIZE; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function writeU32BE(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}
