import type { RandomSource } from '../clock.js';

/**
 * The device's table of live receiver indices (32-bit, random, unique: C9). Each index names
 * either a handshake in progress or a keypair; incoming responses, cookie replies and
 * transport messages are routed by it.
 */
export class IndexTable<T> {
  /**
   * Keyed by the index as a signed int32 (`| 0`): that is a small integer to V8, while an
   * unsigned value above 2^31 would be a heap number, allocated on every lookup.
   */
  private readonly entries = new Map<number, T>();
  private readonly scratch = new Uint8Array(4);
  private readonly view = new DataView(this.scratch.buffer);

  constructor(private readonly random: RandomSource) {}

  /** Allocate a fresh random index for `value`. */
  allocate(value: T): number {
    for (;;) {
      this.random.fill(this.scratch);
      const idx = this.view.getUint32(0, true);
      if (!this.entries.has(idx | 0)) {
        this.entries.set(idx | 0, value);
        return idx;
      }
    }
  }

  /** Point an existing index at a new value (a handshake index becoming a keypair's). */
  replace(index: number, value: T): void {
    this.entries.set(index | 0, value);
  }

  /** Look up an index given as u32 or as int32 (the packet path reads it signed). */
  get(index: number): T | undefined {
    return this.entries.get(index | 0);
  }

  /** Remove `index` if it still maps to `value` (or unconditionally when value is omitted). */
  delete(index: number, value?: T): void {
    if (value === undefined || this.entries.get(index | 0) === value) this.entries.delete(index | 0);
  }

  get size(): number {
    return this.entries.size;
  }
}
