/**
 * Allocation-free BLAKE2s (RFC 7693) in plain JS. Faster than node:crypto for WireGuard's short
 * inputs (≤ 2 blocks): node pays ~1–3 µs per call creating a Hash/Hmac object, this ~0.1 µs
 * per compression (blake2s-compress.ts). Keyed mode and any output length 1..32 are supported.
 */
import { blake2sCompress as compress, loadBlock } from './blake2s-compress.js';

export const BLAKE2S_IV = Int32Array.of(
  0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0, 0x1f83d9ab, 0x5be0cd19,
);

/**
 * An incremental BLAKE2s that can be re-initialised and reused without allocating: init,
 * update…, digestInto. Digesting wipes the buffered input (it may hold key material).
 */
export class Blake2s {
  private readonly h = new Int32Array(8);
  private readonly w = new Int32Array(16);
  private readonly buf = new Uint8Array(64);
  private pos = 0;
  private t = 0;
  private outLen = 32;

  /** Starts a new hash: `outLen` 1..32 bytes, optional key of at most 32 bytes (not checked here). */
  init(outLen: number, key?: Uint8Array): this {
    const h = this.h;
    h.set(BLAKE2S_IV);
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

  /**
   * Continues from a saved chaining value `h` after `t` bytes (a multiple of 64, t > 0), as if
   * those bytes had been hashed and more input follows (HMAC key states in hmac.ts).
   */
  resume(h: Int32Array, t: number, outLen: number): this {
    this.h.set(h);
    this.t = t;
    this.outLen = outLen;
    this.pos = 0;
    return this;
  }

  private block(b: Uint8Array, off: number, last: boolean): void {
    loadBlock(this.w, b, off);
    compress(this.h, this.w, this.t, last);
  }

  update(data: Uint8Array): this {
    const n = data.length;
    const buf = this.buf;
    let i = 0;
    while (i < n) {
      if (this.pos === 64) {
        // Only now is it known that the buffered block is not the last one.
        this.t += 64;
        this.block(buf, 0, false);
        this.pos = 0;
      }
      if (this.pos === 0) {
        // Whole blocks straight from the input, keeping the final one buffered.
        while (n - i > 64) {
          this.t += 64;
          this.block(data, i, false);
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

  /** Compresses the final block; the digest is then in this.h. */
  private finish(): void {
    const buf = this.buf;
    this.t += this.pos;
    for (let i = this.pos; i < 64; i++) buf[i] = 0;
    this.block(buf, 0, true);
    buf.fill(0);
    this.w.fill(0);
    this.pos = 0;
  }

  /** Writes the digest (outLen bytes) to out[off..]. The hasher must be init'ed again to reuse. */
  digestInto(out: Uint8Array, off = 0): void {
    this.finish();
    const h = this.h;
    for (let i = 0; i < this.outLen; i++) out[off + i] = h[i >> 2] >>> (8 * (i & 3));
    h.fill(0);
  }

  digest(): Uint8Array {
    const out = new Uint8Array(this.outLen);
    this.digestInto(out, 0);
    return out;
  }

  /** The 32-byte digest as 8 little-endian words into out[0..8) (outLen must be 32). */
  digestWords(out: Int32Array): void {
    this.finish();
    out.set(this.h);
    this.h.fill(0);
  }

  /** Forgets everything (key material); init before the next use. */
  wipe(): void {
    this.h.fill(0);
    this.w.fill(0);
    this.buf.fill(0);
    this.pos = 0;
    this.t = 0;
  }
}
