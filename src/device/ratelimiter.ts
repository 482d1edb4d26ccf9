import type { RandomSource } from '../clock.js';
import { EP_ADDR, EP_FAMILY } from '../io/endpoint.js';

/**
 * Per-source rate limiter for handshake messages under load (conformance B10), after
 * the kernel's ratelimiter.c: a token bucket per source, 20 packets/s with a burst of 5,
 * keyed on the full IPv4 address or the IPv6 /64 (an IPv4-mapped IPv6 address counts
 * as its IPv4 address, so a dual-stack socket does not put all IPv4 sources in one /64).
 *
 * Tokens are kept in ms of "credit": each packet costs 50 ms, the bucket holds 250 ms.
 * Entries idle for more than 1 s are dropped by a sweep that runs from `allow()` at most
 * once per second of `now` (no timers). The table has a fixed capacity; new sources
 * beyond it are denied. All storage is preallocated: `allow()` allocates nothing.
 */

export const PACKETS_PER_SECOND = 20;
export const PACKETS_BURSTABLE = 5;
/** ms of credit one packet costs. */
const PACKET_COST = 1000 / PACKETS_PER_SECOND;
const TOKEN_MAX = PACKET_COST * PACKETS_BURSTABLE;
/** Entries unused for longer than this are removed (kernel: > 1 s). */
export const RATELIMITER_IDLE_EXPIRY = 1000;
/** Default table capacity (kernel: 8 × 8192 buckets on hosts with > 1 GiB RAM). */
export const RATELIMITER_DEFAULT_CAPACITY = 65_536;
/** How often the sweep runs. */
const SWEEP_INTERVAL = 1000;

const NONE = -1;

export class RateLimiter {
  readonly capacity: number;
  private readonly bucketMask: number;
  private readonly buckets: Int32Array; // head entry per bucket
  private readonly next: Int32Array; // chain link, or free-list link
  private readonly fam: Uint8Array; // 4 or 6
  private readonly k0: Uint32Array;
  private readonly k1: Uint32Array;
  private readonly tokens: Float64Array;
  private readonly lastTime: Float64Array;
  private freeHead = 0;
  private count = 0;
  private lastSweep = -Infinity;
  private readonly seed: number;

  /**
   * @param capacity maximum number of tracked sources (kernel: 8 × table size).
   * @param random seeds the bucket hash so sources cannot be chosen to collide
   *   (a fixed seed is used without it; pass the device's RandomSource).
   */
  constructor(capacity: number = RATELIMITER_DEFAULT_CAPACITY, random?: RandomSource) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`invalid capacity: ${capacity}`);
    this.capacity = capacity;
    let nb = 16;
    while (nb < capacity) nb *= 2;
    this.bucketMask = nb - 1;
    this.buckets = new Int32Array(nb).fill(NONE);
    this.next = new Int32Array(capacity);
    this.fam = new Uint8Array(capacity);
    this.k0 = new Uint32Array(capacity);
    this.k1 = new Uint32Array(capacity);
    this.tokens = new Float64Array(capacity);
    this.lastTime = new Float64Array(capacity);
    let seed = 0x9e3779b9;
    if (random) {
      const s = new Uint8Array(4);
      random.fill(s);
      seed = word(s, 0);
    }
    this.seed = seed;
    this.clear();
  }

  /** Number of tracked sources. */
  get size(): number {
    return this.count;
  }

  /** Forget every source. */
  clear(): void {
    this.buckets.fill(NONE);
    for (let i = 0; i < this.capacity; i++) this.next[i] = i + 1 < this.capacity ? i + 1 : NONE;
    this.freeHead = 0;
    this.count = 0;
  }

  /**
   * May a handshake message from the source in the endpoint record at `rec[off..]` be
   * processed at `now` (monotonic ms)? Consumes one packet's worth of tokens if so.
   */
  allow(rec: Uint8Array, off: number, now: number): boolean {
    if (now - this.lastSweep >= SWEEP_INTERVAL) this.sweep(now);

    // Key: (family, two address words). IPv4: (4, addr, 0); IPv6: (6, top 64 bits).
    const a = off + EP_ADDR;
    let family = rec[off + EP_FAMILY];
    let w0: number;
    let w1 = 0;
    if (family === 4) {
      w0 = word(rec, a);
    } else if (family === 6) {
      if (word(rec, a) === 0 && word(rec, a + 4) === 0 && word(rec, a + 8) === 0xffff) {
        family = 4;
        w0 = word(rec, a + 12);
      } else {
        w0 = word(rec, a);
        w1 = word(rec, a + 4);
      }
    } else {
      return false;
    }

    const b = this.hash(family, w0, w1) & this.bucketMask;
    for (let e = this.buckets[b]; e !== NONE; e = this.next[e]) {
      if (this.k0[e] === w0 && this.k1[e] === w1 && this.fam[e] === family) {
        let t = this.tokens[e] + (now - this.lastTime[e]);
        if (t > TOKEN_MAX) t = TOKEN_MAX;
        this.lastTime[e] = now;
        const ok = t >= PACKET_COST;
        this.tokens[e] = ok ? t - PACKET_COST : t;
        return ok;
      }
    }

    // New source: its first packet is allowed, if there is room.
    const e = this.freeHead;
    if (e === NONE) return false;
    this.freeHead = this.next[e];
    this.fam[e] = family;
    this.k0[e] = w0;
    this.k1[e] = w1;
    this.tokens[e] = TOKEN_MAX - PACKET_COST;
    this.lastTime[e] = now;
    this.next[e] = this.buckets[b];
    this.buckets[b] = e;
    this.count++;
    return true;
  }

  /** Remove sources unused for more than RATELIMITER_IDLE_EXPIRY ms. */
  sweep(now: number): void {
    this.lastSweep = now;
    if (this.count === 0) return;
    const buckets = this.buckets;
    const next = this.next;
    for (let b = 0; b <= this.bucketMask; b++) {
      let prev = NONE;
      let e = buckets[b];
      while (e !== NONE) {
        const n = next[e];
        if (now - this.lastTime[e] > RATELIMITER_IDLE_EXPIRY) {
          if (prev === NONE) buckets[b] = n;
          else next[prev] = n;
          next[e] = this.freeHead;
          this.freeHead = e;
          this.count--;
        } else {
          prev = e;
        }
        e = n;
      }
    }
  }

  /** Seeded 32-bit mix (murmur3 finalizer rounds) of the key. */
  private hash(family: number, w0: number, w1: number): number {
    let h = this.seed ^ family;
    h = Math.imul(h ^ w0, 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
    h = Math.imul(h ^ w1, 0x1b873593);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }
}

/** Big-endian u32 at `b[i..i+4]`. */
function word(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}
