/**
 * A 64-bit byte counter that costs no allocation to increment: bytes accumulate in a plain
 * number (exact below 2^53) and are folded into a bigint only when that gets large, so the
 * packet path never creates a BigInt, while readers always get the exact u64.
 */
const FOLD_AT = 2 ** 52;

export class ByteCounter {
  private high = 0n;
  private low = 0;

  add(bytes: number): void {
    this.low += bytes;
    if (this.low >= FOLD_AT) {
      this.high += BigInt(this.low);
      this.low = 0;
    }
  }

  get value(): bigint {
    return this.high + BigInt(this.low);
  }
}
