import type { IPFamily } from './prefix.js';

/** "No node" in child, parent, owner and list links. */
export const NIL = -1;
/** Flag in a node's meta word: the node carries a peer (otherwise it is a branch point). */
export const HAS_PEER = 0x100;
/** Low bits of the meta word: the prefix length. */
export const CIDR_MASK = 0xff;

/** MASKS[cidr * 4 + w]: int32 mask of the bits of word `w` inside the first `cidr` bits. */
export const MASKS: Int32Array = (() => {
  const m = new Int32Array(129 * 4);
  for (let c = 0; c <= 128; c++) for (let w = 0; w < 4; w++) m[c * 4 + w] = wordMask(c, w);
  return m;
})();

function wordMask(cidr: number, w: number): number {
  const n = cidr - 32 * w;
  if (n <= 0) return 0;
  if (n >= 32) return -1;
  return (-1 << (32 - n)) | 0;
}

/**
 * Node storage of one path-compressed binary trie (one address family), kept in typed arrays
 * so the per-packet walk touches few cache lines and the GC sees a handful of objects.
 *
 * Node `i` occupies `nodes[i * stride ..]`: the key as big-endian int32 words (1 for IPv4,
 * 4 for IPv6, bits after the prefix length zero), a meta word (cidr | HAS_PEER), then the
 * two child indices. The node stands for `key/cidr` and branches on address bit `cidr`.
 * Rarely used fields (parent, owner slot, owner-list links) live in side arrays.
 * Freed nodes are chained through their child-0 slot.
 */
export class TrieArena {
  readonly family: IPFamily;
  /** Key words per node: 1 or 4. */
  readonly words: number;
  readonly stride: number;
  /** Offsets inside a node record. */
  readonly meta: number;
  readonly child0: number;
  nodes: Int32Array;
  parent: Int32Array;
  /** Owning peer slot, NIL for branch points. */
  owner: Int32Array;
  /** Owner-list links as global ids (see `globalId`). */
  prevOwn: Int32Array;
  nextOwn: Int32Array;
  root = NIL;
  private capacity: number;
  private used = 0;
  private freeHead = NIL;

  constructor(family: IPFamily, capacity = 64) {
    this.family = family;
    this.words = family === 4 ? 1 : 4;
    this.stride = family === 4 ? 4 : 8;
    this.meta = this.words;
    this.child0 = this.words + 1;
    this.capacity = capacity;
    this.nodes = new Int32Array(capacity * this.stride);
    this.parent = new Int32Array(capacity);
    this.owner = new Int32Array(capacity);
    this.prevOwn = new Int32Array(capacity);
    this.nextOwn = new Int32Array(capacity);
  }

  /** New node for `key/cidr` (key already masked), without peer, parent or children. */
  alloc(key: Int32Array, cidr: number): number {
    let i = this.freeHead;
    if (i !== NIL) {
      this.freeHead = this.nodes[i * this.stride + this.child0];
    } else {
      if (this.used === this.capacity) this.grow();
      i = this.used++;
    }
    const o = i * this.stride;
    for (let w = 0; w < this.words; w++) this.nodes[o + w] = key[w];
    this.nodes[o + this.meta] = cidr;
    this.nodes[o + this.child0] = NIL;
    this.nodes[o + this.child0 + 1] = NIL;
    this.parent[i] = NIL;
    this.owner[i] = NIL;
    this.prevOwn[i] = NIL;
    this.nextOwn[i] = NIL;
    return i;
  }

  free(i: number): void {
    const o = i * this.stride;
    this.nodes[o + this.meta] = 0;
    this.nodes[o + this.child0] = this.freeHead;
    this.nodes[o + this.child0 + 1] = NIL;
    this.parent[i] = NIL;
    this.owner[i] = NIL;
    this.freeHead = i;
  }

  cidr(i: number): number {
    return this.nodes[i * this.stride + this.meta] & CIDR_MASK;
  }

  hasPeer(i: number): boolean {
    return (this.nodes[i * this.stride + this.meta] & HAS_PEER) !== 0;
  }

  setHasPeer(i: number, on: boolean): void {
    const o = i * this.stride + this.meta;
    this.nodes[o] = on ? this.nodes[o] | HAS_PEER : this.nodes[o] & ~HAS_PEER;
  }

  child(i: number, slot: number): number {
    return this.nodes[i * this.stride + this.child0 + slot];
  }

  setChild(i: number, slot: number, c: number): void {
    this.nodes[i * this.stride + this.child0 + slot] = c;
    if (c !== NIL) this.parent[c] = i;
  }

  /** True when `key` (masked to at least cidr(i) bits) lies inside node i's prefix. */
  matches(i: number, key: Int32Array): boolean {
    const o = i * this.stride;
    const m = this.cidr(i) * 4;
    for (let w = 0; w < this.words; w++) {
      if (((key[w] ^ this.nodes[o + w]) & MASKS[m + w]) !== 0) return false;
    }
    return true;
  }

  /** The child slot of node i that `key` descends into (bit cidr(i) of key). */
  choose(i: number, key: Int32Array): number {
    const c = this.cidr(i);
    return (key[c >>> 5] >>> (31 - (c & 31))) & 1;
  }

  /** The child slot of node `p` that node x's key descends into. */
  slotBelow(x: number, p: number): number {
    const c = this.cidr(p);
    return (this.nodes[x * this.stride + (c >>> 5)] >>> (31 - (c & 31))) & 1;
  }

  /** Leading bits node i's key shares with `key` (32 × words when equal). */
  commonBits(i: number, key: Int32Array): number {
    const o = i * this.stride;
    for (let w = 0; w < this.words; w++) {
      const x = key[w] ^ this.nodes[o + w];
      if (x !== 0) return 32 * w + Math.clz32(x);
    }
    return 32 * this.words;
  }

  addressBytes(i: number): Uint8Array {
    const out = new Uint8Array(this.words * 4);
    const o = i * this.stride;
    for (let w = 0; w < this.words; w++) {
      const k = this.nodes[o + w];
      out[4 * w] = k >>> 24;
      out[4 * w + 1] = k >>> 16;
      out[4 * w + 2] = k >>> 8;
      out[4 * w + 3] = k;
    }
    return out;
  }

  /** Forget every node and give the memory back (the trie must be empty of live nodes). */
  reset(capacity = 64): void {
    this.capacity = capacity;
    this.used = 0;
    this.freeHead = NIL;
    this.root = NIL;
    this.nodes = new Int32Array(capacity * this.stride);
    this.parent = new Int32Array(capacity);
    this.owner = new Int32Array(capacity);
    this.prevOwn = new Int32Array(capacity);
    this.nextOwn = new Int32Array(capacity);
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const nodes = new Int32Array(cap * this.stride);
    nodes.set(this.nodes);
    this.nodes = nodes;
    this.parent = growInt32(this.parent, cap);
    this.owner = growInt32(this.owner, cap);
    this.prevOwn = growInt32(this.prevOwn, cap);
    this.nextOwn = growInt32(this.nextOwn, cap);
    this.capacity = cap;
  }
}

function growInt32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

/** Node reference across both arenas: index × 2 + (IPv6 ? 1 : 0). */
export function globalId(family: IPFamily, i: number): number {
  return (i << 1) | (family === 6 ? 1 : 0);
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
    out[w] = v & MASKS[cidr * 4 + w];
  }
  return out;
}
