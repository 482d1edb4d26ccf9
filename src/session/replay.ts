import { REJECT_AFTER_MESSAGES, REPLAY_WINDOW_BITS } from '../constants.js';

/**
 * Sliding-window replay filter for received transport counters (RFC 6479 style, as the
 * kernel's counter_validate() and wireguard-go's replay.Filter).
 *
 * A counter n is accepted iff n < REJECT_AFTER_MESSAGES, n was not accepted before, and
 * n > max or max − n ≤ REPLAY_WINDOW_BITS. A fresh window has max = 0 with nothing
 * marked, so 0 is accepted once.
 *
 * Counters are u64 values passed as two u32 halves (lo, hi) — exactly how they sit
 * little-endian in the transport header — so the packet path needs no BigInt.
 *
 * Storage: a ring of 8192 bits in 256 u32 words. Moving the maximum forward zeroes the
 * words it passes; because whole words are recycled, the ring always covers at least
 * the last 8192 − 32 ≥ REPLAY_WINDOW_BITS counters below the maximum.
 */

const RING_BITS = 8192;
const WORD_SHIFT = 5; // 32 bits per word
const RING_WORDS = RING_BITS >>> WORD_SHIFT; // 256
const RING_MASK = RING_WORDS - 1;
const WINDOW = REPLAY_WINDOW_BITS;

// The limit split into halves once, so the per-packet compare is two integer tests.
const LIMIT_HI = Number(REJECT_AFTER_MESSAGES >> 32n);
const LIMIT_LO = Number(REJECT_AFTER_MESSAGES & 0xffffffffn);
const TWO32 = 0x1_0000_0000;
/** Words per unit of the high half: 2^32 / 32. */
const WORDS_PER_HI = 0x800_0000;

if (WINDOW > RING_BITS - (1 << WORD_SHIFT)) {
  throw new Error('REPLAY_WINDOW_BITS too large for the replay ring');
}

export class ReplayWindow {
  private readonly ring = new Uint32Array(RING_WORDS);
  private maxLo = 0;
  private maxHi = 0;

  /** Forget everything (new session). */
  reset(): void {
    this.ring.fill(0);
    this.maxLo = 0;
    this.maxHi = 0;
  }

  /** Would counter (lo, hi) be accepted? Changes nothing. */
  check(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (hi > LIMIT_HI || (hi === LIMIT_HI && lo >= LIMIT_LO)) return false;
    const maxHi = this.maxHi;
    const maxLo = this.maxLo;
    if (hi > maxHi || (hi === maxHi && lo > maxLo)) return true;
    // n ≤ max: max − n fits in a double exactly when the high halves differ by at most 1.
    if (maxHi - hi > 1 || (maxHi - hi) * TWO32 + (maxLo - lo) > WINDOW) return false;
    return (this.ring[(lo >>> WORD_SHIFT) & RING_MASK] & (1 << (lo & 31))) === 0;
  }

  /**
   * Check and mark counter (lo, hi). Call only after the packet authenticated, so a
   * forged counter cannot move the window.
   */
  accept(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (hi > LIMIT_HI || (hi === LIMIT_HI && lo >= LIMIT_LO)) return false;
    const ring = this.ring;
    const maxHi = this.maxHi;
    const maxLo = this.maxLo;
    if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
      // Zero the words between the old maximum's word and the new one (at most the ring).
      let words: number;
      if (hi - maxHi > 1) words = RING_WORDS;
      else {
        // block index = hi·2^27 + (lo >>> 5); the difference is exact in a double here.
        words = (hi - maxHi) * WORDS_PER_HI + ((lo >>> WORD_SHIFT) - (maxLo >>> WORD_SHIFT));
        if (words > RING_WORDS) words = RING_WORDS;
      }
      const cur = maxLo >>> WORD_SHIFT;
      for (let i = 1; i <= words; i++) ring[(cur + i) & RING_MASK] = 0;
      this.maxLo = lo;
      this.maxHi = hi;
    } else if (maxHi - hi > 1 || (maxHi - hi) * TWO32 + (maxLo - lo) > WINDOW) {
      return false;
    }
    const idx = (lo >>> WORD_SHIFT) & RING_MASK;
    const bit = 1 << (lo & 31);
    const old = ring[idx];
    if ((old & bit) !== 0) return false;
    ring[idx] = old | bit;
    return true;
  }

  /** BigInt convenience for tests and setup code (not for the packet path). */
  checkBig(n: bigint): boolean {
    if (n < 0n || n >= 1n << 64n) return false;
    return this.check(Number(n & 0xffffffffn), Number(n >> 32n));
  }

  /** BigInt convenience for tests and setup code (not for the packet path). */
  acceptBig(n: bigint): boolean {
    if (n < 0n || n >= 1n << 64n) return false;
    return this.accept(Number(n & 0xffffffffn), Number(n >> 32n));
  }
}
