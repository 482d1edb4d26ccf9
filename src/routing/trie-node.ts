import type { IPFamily } from './prefix.js';

/**
 * One node of the path-compressed binary trie (the kernel's allowedips layout): it stands for
 * the prefix `k0..k3 / cidr` (address as four big-endian int32 words, IPv4 in k0 only, bits
 * after `cidr` zero) and branches on the address bit at index `cidr`. A node without a peer
 * is an intermediate branch point and always has two children.
 *
 * Every field is set in the constructor so all nodes share one hidden class.
 */
export class TrieNode<P> {
  k0: number;
  k1: number;
  k2: number;
  k3: number;
  /** Per-word masks of the first `cidr` bits. */
  m0: number;
  m1: number;
  m2: number;
  m3: number;
  readonly cidr: number;
  readonly family: IPFamily;
  /** Word (0..3, 4 at /128) and right shift that select the branching bit `cidr`. */
  readonly word: number;
  readonly shift: number;
  c0: TrieNode<P> | null = null;
  c1: TrieNode<P> | null = null;
  parent: TrieNode<P> | null = null;
  peer: P | undefined = undefined;
  /** Links of the owning peer's prefix list, in insertion order. */
  prevOwn: TrieNode<P> | null = null;
  nextOwn: TrieNode<P> | null = null;

  /** `key` must already be masked to `cidr`. */
  constructor(family: IPFamily, key: Int32Array, cidr: number) {
    this.family = family;
    this.cidr = cidr;
    this.k0 = key[0];
    this.k1 = key[1];
    this.k2 = key[2];
    this.k3 = key[3];
    this.m0 = wordMask(cidr, 0);
    this.m1 = wordMask(cidr, 1);
    this.m2 = wordMask(cidr, 2);
    this.m3 = wordMask(cidr, 3);
    this.word = cidr >>> 5;
    this.shift = 31 - (cidr & 31);
  }

  key(w: number): number {
    return w === 0 ? this.k0 : w === 1 ? this.k1 : w === 2 ? this.k2 : this.k3;
  }

  /** True when `key` (masked to at least `cidr` bits) lies inside this node's prefix. */
  matches(key: Int32Array): boolean {
    return (
      (((key[0] ^ this.k0) & this.m0) |
        ((key[1] ^ this.k1) & this.m1) |
        ((key[2] ^ this.k2) & this.m2) |
        ((key[3] ^ this.k3) & this.m3)) ===
      0
    );
  }

  /** The child slot (0 or 1) that `key` descends into. */
  choose(key: Int32Array): 0 | 1 {
    return ((key[this.word] >>> this.shift) & 1) as 0 | 1;
  }

  /** The child slot this node's key goes into below `parent`. */
  slotIn(parent: TrieNode<P>): 0 | 1 {
    return ((this.key(parent.word) >>> parent.shift) & 1) as 0 | 1;
  }

  child(slot: 0 | 1): TrieNode<P> | null {
    return slot === 0 ? this.c0 : this.c1;
  }

  setChild(slot: 0 | 1, node: TrieNode<P> | null): void {
    if (slot === 0) this.c0 = node;
    else this.c1 = node;
    if (node !== null) node.parent = this;
  }

  /** Address bytes (4 or 16) of this node's prefix. */
  addressBytes(): Uint8Array {
    const out = new Uint8Array(this.family === 4 ? 4 : 16);
    const words = out.length >>> 2;
    for (let w = 0; w < words; w++) {
      const k = this.key(w);
      out[4 * w] = k >>> 24;
      out[4 * w + 1] = k >>> 16;
      out[4 * w + 2] = k >>> 8;
      out[4 * w + 3] = k;
    }
    return out;
  }
}

/** Mask (int32) of the bits of word `w` that fall inside the first `cidr` bits. */
export function wordMask(cidr: number, w: number): number {
  const n = cidr - 32 * w;
  if (n <= 0) return 0;
  if (n >= 32) return -1;
  return (-1 << (32 - n)) | 0;
}

/**
 * Load a 4- or 16-byte address into `out` as big-endian int32 words, cleared after `cidr`
 * bits (IPv4 uses word 0; the rest are zero).
 */
export function loadKey(addr: Uint8Array, cidr: number, out: Int32Array): Int32Array {
  out.fill(0);
  const words = addr.length >>> 2;
  for (let w = 0; w < words; w++) {
    const v =
      (addr[4 * w] << 24) | (addr[4 * w + 1] << 16) | (addr[4 * w + 2] << 8) | addr[4 * w + 3];
    out[w] = v & wordMask(cidr, w);
  }
  return out;
}

/** Number of leading bits that two keys share (128 when equal). */
export function commonBits(a: Int32Array, node: TrieNode<unknown>): number {
  for (let w = 0; w < 4; w++) {
    const x = a[w] ^ node.key(w);
    if (x !== 0) return 32 * w + Math.clz32(x);
  }
  return 128;
}
