/**
 * Allocation-free BLAKE2s (RFC 7693) in plain JS. Faster than node:crypto for WireGuard's short
 * inputs (≤ 2 blocks): node pays ~1–3 µs per call creating a Hash/Hmac object, this ~0.1 µs
 * per compression (blake2s-compress.ts). Keyed mode and any output length 1..32 are supported.
 */
import { blake2sCompress as compress } from './blake2s-compress.js';

const IV = Int32Array.of(
  0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0, 0x1f83d9ab, 0x5be0cd19,
);

/**
 * An incremental BLAKE2s that can be re-initialised and reused without allocating: init,
 * update…, digestInto. digestInto wipes the buffered input (it may hold key material).
 */
export class Blake2s {
  private readonly h = new Int32Array(8);
  private readonly buf = new Uint8Array(64);
  private pos = 0;
  private t = 0;
  private outLen = 32;

  /** Starts a new hash: `outLen` 1..32 bytes, optional key of at most 32 bytes (not checked here). */
  init(outLen: number, key?: Uint8Array): this {
    const h = this.h;
    h.set(IV);
    const keyLen = key === undefined ? 0 : key.length;
    h[0] ^= 0x01010000 ^ (keyLen << 8) ^ outLen;
    this.outLen = outLen;
    this.t = 0;
    this.pos = 0;
    if (keyLen > 0) {
      this.buf.fill(0);
      this.buf.set(key as Uint8Array);
      this.pos = 64;
    }
    return this;
  }

  update(data: Uint8Array): this {
    const n = data.length;
    const buf = this.buf;
    let i = 0;
    while (i < n) {
      if (this.pos === 64) {
        // Only now is it known that the buffered block is not the last one.
        this.t += 64;
        compress(this.h, buf, 0, this.t, false);
        this.pos = 0;
      }
      if (this.pos === 0) {
        // Whole blocks straight from the input, keeping the final one buffered.
        while (n - i > 64) {
          this.t += 64;
          compress(this.h, data, i, this.t, false);
          i += 64;
        }
      }
      let pos = this.pos;
      const end = Math.min(n, i + 64 - pos);
      while (i < end) buf[pos++] = data[i++];
      this.pos = pos;
    }
    return this;
  }

  /**
   * Compresses a full buffered block now instead of on the next update. Only valid when more
   * input will follow (else that block had to be the last); lets a keyed prefix be saved with
   * copyFrom and replayed (HMAC key states in hmac.ts).
   */
  absorbBuffered(): this {
    if (this.pos === 64) {
      this.t += 64;
      compress(this.h, this.buf, 0, this.t, false);
      this.pos = 0;
    }
    return this;
  }

  /** Takes over `o`'s state (chaining value, counter, buffered bytes). */
  copyFrom(o: Blake2s): this {
    this.h.set(o.h);
    this.t = o.t;
    this.outLen = o.outLen;
    this.pos = o.pos;
    for (let i = 0; i < o.pos; i++) this.buf[i] = o.buf[i];
    return this;
  }

  /** Forgets everything (key material); init before the next use. */
  wipe(): void {
    this.h.fill(0);
    this.buf.fill(0);
    this.pos = 0;
    this.t = 0;
  }

  /** Writes the digest (outLen bytes) to out[off..]. The hasher must be init'ed again to reuse. */
  digestInto(out: Uint8Array, off = 0): void {
    const buf = this.buf;
    this.t += this.pos;
    buf.fill(0, this.pos);
    compress(this.h, buf, 0, this.t, true);
    buf.fill(0);
    const h = this.h;
    for (let i = 0; i < this.outLen; i++) out[off + i] = h[i >> 2] >>> (8 * (i & 3));
    h.fill(0);
  }

  digest(): Uint8Array {
    const out = new Uint8Array(this.outLen);
    this.digestInto(out, 0);
    return out;
  }
}
