import { checkPrefix, type IPFamily, type Prefix } from './prefix.js';
import { CIDR_MASK, globalId, HAS_PEER, loadKey, MASKS, NIL, TrieArena } from './trie-arena.js';

/**
 * Cryptokey routing table: IPv4 and IPv6 prefixes → peer, longest-prefix match.
 *
 * Two path-compressed binary tries (the kernel's allowedips algorithm) stored in typed
 * arrays (`TrieArena`). Lookups are iterative and allocation-free; insert and remove are
 * iterative too, so /128 chains of any depth are fine.
 *
 * Peers (`P`, compared by identity, never undefined) get a small integer slot while they own
 * prefixes; each slot keeps its prefixes as a linked list in insertion order, which is the
 * order `prefixesOf` (and so UAPI `get`) reports.
 */
export class AllowedIPs<P extends {}> {
  private readonly v4 = new TrieArena(4);
  private readonly v6 = new TrieArena(6);
  private readonly slotOf = new Map<P, number>();
  private peers: (P | undefined)[] = [];
  private head: number[] = [];
  private tail: number[] = [];
  private count: number[] = [];
  private freeSlots: number[] = [];
  private readonly key = new Int32Array(4);
  private prefixCount = 0;

  /** Total number of prefixes (both families). */
  get size(): number {
    return this.prefixCount;
  }

  /**
   * Route `addr/bits` (host bits ignored) to `peer`. An identical prefix owned by another
   * peer moves to `peer` (appended to its list); re-inserting an own prefix changes nothing.
   * Throws RangeError on a bad family, address length or prefix length.
   */
  insert(family: IPFamily, addr: Uint8Array, bits: number, peer: P): void {
    checkPrefix(family, addr, bits);
    const t = family === 4 ? this.v4 : this.v6;
    const key = loadKey(addr, bits, this.key);
    // Walk down while the node's prefix contains the new one.
    let parent = NIL;
    let node = t.root;
    while (node !== NIL && t.cidr(node) <= bits && t.matches(node, key)) {
      if (t.cidr(node) === bits) {
        this.assign(t, node, peer);
        return;
      }
      parent = node;
      node = t.child(node, t.choose(node, key));
    }
    const leaf = t.alloc(key, bits);
    this.assign(t, leaf, peer);
    if (node === NIL) {
      if (parent === NIL) t.root = leaf;
      else t.setChild(parent, t.choose(parent, key), leaf);
      return;
    }
    // `node` diverges from the new prefix or is more specific: join them at the split.
    const split = Math.min(bits, t.cidr(node), t.commonBits(node, key));
    let top = leaf;
    if (split === bits) {
      t.setChild(leaf, t.slotBelow(node, leaf), node);
    } else {
      top = t.alloc(loadKey(addr, split, this.key), split);
      t.setChild(top, t.slotBelow(node, top), node);
      t.setChild(top, t.slotBelow(leaf, top), leaf);
    }
    if (parent === NIL) {
      t.root = top;
      t.parent[top] = NIL;
    } else {
      t.setChild(parent, t.slotBelow(top, parent), top);
    }
  }

  /**
   * Remove the exact (masked) prefix if `peer` owns it; returns whether it did.
   * Throws RangeError like `insert`.
   */
  remove(family: IPFamily, addr: Uint8Array, bits: number, peer: P): boolean {
    checkPrefix(family, addr, bits);
    const t = family === 4 ? this.v4 : this.v6;
    const key = loadKey(addr, bits, this.key);
    let node = t.root;
    while (node !== NIL && t.cidr(node) <= bits && t.matches(node, key)) {
      if (t.cidr(node) === bits) {
        const slot = t.owner[node];
        if (slot === NIL || this.peers[slot] !== peer) return false;
        this.removeNode(t, node);
        return true;
      }
      node = t.child(node, t.choose(node, key));
    }
    return false;
  }

  /** Remove every prefix of `peer`; returns how many there were. */
  removeByPeer(peer: P): number {
    const slot = this.slotOf.get(peer);
    if (slot === undefined) return 0;
    const n = this.count[slot];
    // The slot is released (head = NIL) when its last prefix goes.
    while (this.head[slot] !== NIL) {
      const id = this.head[slot];
      this.removeNode(id & 1 ? this.v6 : this.v4, id >>> 1);
    }
    return n;
  }

  /** Drop everything. */
  clear(): void {
    this.v4.reset();
    this.v6.reset();
    this.slotOf.clear();
    this.peers = [];
    this.head = [];
    this.tail = [];
    this.count = [];
    this.freeSlots = [];
    this.prefixCount = 0;
  }

  /** Number of prefixes `peer` owns. */
  countOf(peer: P): number {
    const slot = this.slotOf.get(peer);
    return slot === undefined ? 0 : this.count[slot];
  }

  /**
   * `peer`'s prefixes (masked) in insertion order, as fresh objects. Removing the prefix
   * just yielded while iterating is safe; other changes during iteration are not.
   */
  *prefixesOf(peer: P): IterableIterator<Prefix> {
    const slot = this.slotOf.get(peer);
    let id = slot === undefined ? NIL : this.head[slot];
    while (id !== NIL) {
      const t = id & 1 ? this.v6 : this.v4;
      const i = id >>> 1;
      const next = t.nextOwn[i];
      yield { family: t.family, addr: t.addressBytes(i), bits: t.cidr(i) };
      id = next;
    }
  }

  /** Longest-prefix match of the address at `buf[off..]` (4 or 16 bytes by `family`). */
  lookup(family: IPFamily, buf: Uint8Array, off: number): P | undefined {
    return family === 4 ? this.lookup4(buf, off) : this.lookup6(buf, off);
  }

  /** Longest-prefix match of the IPv4 address at `buf[off..off+4]`. */
  lookup4(buf: Uint8Array, off: number): P | undefined {
    const a = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    const t = this.v4;
    const n = t.nodes;
    let found = NIL;
    let i = t.root;
    // Record: [key, meta, child0, child1].
    while (i !== NIL) {
      const o = i << 2;
      const meta = n[o + 1];
      const c = meta & CIDR_MASK;
      // Same as ((a ^ key) & mask(c)) !== 0: the first differing bit lies inside the prefix.
      if (Math.clz32(a ^ n[o]) < c) break;
      if ((meta & HAS_PEER) !== 0) found = i;
      // A /32 has no children; its (c & 31) = 0 bit choice lands on NIL.
      i = n[o + 2 + ((a >>> (31 - (c & 31))) & 1)];
    }
    return found === NIL ? undefined : this.peers[t.owner[found]];
  }

  /** Longest-prefix match of the IPv6 address at `buf[off..off+16]`. */
  lookup6(buf: Uint8Array, off: number): P | undefined {
    const a0 = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    const a1 = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
    const a2 = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
    const a3 = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
    const t = this.v6;
    const n = t.nodes;
    let found = NIL;
    let i = t.root;
    // Record: [k0, k1, k2, k3, meta, child0, child1, unused].
    while (i !== NIL) {
      const o = i << 3;
      const meta = n[o + 4];
      const c = meta & CIDR_MASK;
      const m = c << 2;
      if (
        (((a0 ^ n[o]) & MASKS[m]) |
          ((a1 ^ n[o + 1]) & MASKS[m + 1]) |
          ((a2 ^ n[o + 2]) & MASKS[m + 2]) |
          ((a3 ^ n[o + 3]) & MASKS[m + 3])) !==
        0
      ) {
        break;
      }
      if ((meta & HAS_PEER) !== 0) found = i;
      const w = c >>> 5;
      // A /128 (w = 4) has no children, so any bit choice lands on NIL.
      const v = w === 0 ? a0 : w === 1 ? a1 : w === 2 ? a2 : a3;
      i = n[o + 5 + ((v >>> (31 - (c & 31))) & 1)];
    }
    return found === NIL ? undefined : this.peers[t.owner[found]];
  }

  /** Give node i to `peer`: a new owner appends it to its list, the same owner keeps it. */
  private assign(t: TrieArena, i: number, peer: P): void {
    const old = t.owner[i];
    if (old !== NIL && this.peers[old] === peer) return;
    if (old !== NIL) this.unlinkOwner(t, i);
    else this.prefixCount++;
    const slot = this.slotFor(peer);
    const id = globalId(t.family, i);
    const last = this.tail[slot];
    t.owner[i] = slot;
    t.setHasPeer(i, true);
    t.prevOwn[i] = last;
    t.nextOwn[i] = NIL;
    if (last !== NIL) (last & 1 ? this.v6 : this.v4).nextOwn[last >>> 1] = id;
    else this.head[slot] = id;
    this.tail[slot] = id;
    this.count[slot]++;
  }

  private slotFor(peer: P): number {
    let slot = this.slotOf.get(peer);
    if (slot !== undefined) return slot;
    slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.peers.length;
    this.slotOf.set(peer, slot);
    this.peers[slot] = peer;
    this.head[slot] = NIL;
    this.tail[slot] = NIL;
    this.count[slot] = 0;
    return slot;
  }

  /** Take node i out of its owner's list; releases the owner's slot when it empties. */
  private unlinkOwner(t: TrieArena, i: number): void {
    const slot = t.owner[i];
    const prev = t.prevOwn[i];
    const next = t.nextOwn[i];
    if (prev !== NIL) (prev & 1 ? this.v6 : this.v4).nextOwn[prev >>> 1] = next;
    else this.head[slot] = next;
    if (next !== NIL) (next & 1 ? this.v6 : this.v4).prevOwn[next >>> 1] = prev;
    else this.tail[slot] = prev;
    t.prevOwn[i] = NIL;
    t.nextOwn[i] = NIL;
    t.owner[i] = NIL;
    if (--this.count[slot] === 0) {
      this.slotOf.delete(this.peers[slot]!);
      this.peers[slot] = undefined;
      this.head[slot] = NIL;
      this.tail[slot] = NIL;
      this.freeSlots.push(slot);
    }
  }

  /**
   * Take the peer off node i and prune (kernel remove_node()): a node with two children
   * stays as a branch point; otherwise its only child (or nothing) takes its place, and a
   * peerless parent left with a single child is spliced out as well.
   */
  private removeNode(t: TrieArena, i: number): void {
    this.unlinkOwner(t, i);
    t.setHasPeer(i, false);
    this.prefixCount--;
    const c0 = t.child(i, 0);
    const c1 = t.child(i, 1);
    if (c0 !== NIL && c1 !== NIL) return;
    const child = c0 !== NIL ? c0 : c1;
    const parent = t.parent[i];
    this.replaceChild(t, parent, i, child);
    t.free(i);
    if (t.root === NIL) {
      // Emptied (e.g. a big peer removed): release the grown arrays.
      t.reset();
      return;
    }
    if (child !== NIL || parent === NIL || t.hasPeer(parent)) return;
    // parent was a branch point with two children; it now has one.
    const p0 = t.child(parent, 0);
    const other = p0 !== NIL ? p0 : t.child(parent, 1);
    this.replaceChild(t, t.parent[parent], parent, other);
    t.free(parent);
  }

  /** Put `repl` where `old` hung below `parent` (NIL parent: the root). */
  private replaceChild(t: TrieArena, parent: number, old: number, repl: number): void {
    if (parent === NIL) {
      t.root = repl;
      if (repl !== NIL) t.parent[repl] = NIL;
    } else {
      t.setChild(parent, t.child(parent, 0) === old ? 0 : 1, repl);
    }
  }
}
