import { checkPrefix, type IPFamily, type Prefix } from './prefix.js';
import { commonBits, loadKey, TrieNode } from './trie-node.js';

/** A peer's prefixes as a doubly linked list through the trie nodes, in insertion order. */
interface OwnList<P> {
  head: TrieNode<P> | null;
  tail: TrieNode<P> | null;
  count: number;
}

/**
 * Cryptokey routing table: IPv4 and IPv6 prefixes → peer, longest-prefix match.
 *
 * Two path-compressed binary tries (kernel allowedips style) of `TrieNode`s. Lookups are
 * iterative and allocation-free; insert/remove are iterative too, so /128 chains of any
 * depth are fine. `P` is the peer object (compared by identity); it must not be undefined.
 */
export class AllowedIPs<P extends {}> {
  private root4: TrieNode<P> | null = null;
  private root6: TrieNode<P> | null = null;
  private readonly owners = new Map<P, OwnList<P>>();
  private readonly key = new Int32Array(4);
  private prefixCount = 0;

  /** Total number of prefixes (both families). */
  get size(): number {
    return this.prefixCount;
  }

  /**
   * Route `addr/bits` (host bits ignored) to `peer`. An identical prefix owned by another
   * peer moves to `peer` (appended to its list); re-inserting an own prefix changes nothing.
   */
  insert(family: IPFamily, addr: Uint8Array, bits: number, peer: P): void {
    checkPrefix(family, addr, bits);
    const key = loadKey(addr, bits, this.key);
    const root = family === 4 ? this.root4 : this.root6;
    if (root === null) {
      this.setRoot(family, this.newLeaf(family, key, bits, peer));
      return;
    }
    // Walk down while the node's prefix contains the new one.
    let parent: TrieNode<P> | null = null;
    let node: TrieNode<P> | null = root;
    while (node !== null && node.cidr <= bits && node.matches(key)) {
      if (node.cidr === bits) {
        this.assign(node, peer);
        return;
      }
      parent = node;
      node = node.child(node.choose(key));
    }
    const leaf = this.newLeaf(family, key, bits, peer);
    if (node === null) {
      // parent !== null here: the root exists, so the loop ran at least once.
      parent!.setChild(parent!.choose(key), leaf);
      return;
    }
    // `node` diverges from the new prefix (or is more specific): split above it.
    const split = Math.min(bits, node.cidr, commonBits(key, node));
    let top: TrieNode<P>;
    if (split === bits) {
      leaf.setChild(node.slotIn(leaf), node);
      top = leaf;
    } else {
      const branch = new TrieNode<P>(family, loadKey(addr, split, this.key), split);
      branch.setChild(node.slotIn(branch), node);
      branch.setChild(leaf.slotIn(branch), leaf);
      top = branch;
    }
    if (parent === null) {
      top.parent = null;
      this.setRoot(family, top);
    } else {
      parent.setChild(top.slotIn(parent), top);
    }
  }

  /** Remove the exact (masked) prefix if `peer` owns it. Returns whether it was removed. */
  remove(family: IPFamily, addr: Uint8Array, bits: number, peer: P): boolean {
    checkPrefix(family, addr, bits);
    const key = loadKey(addr, bits, this.key);
    let node = family === 4 ? this.root4 : this.root6;
    while (node !== null && node.cidr <= bits && node.matches(key)) {
      if (node.cidr === bits) {
        if (node.peer !== peer) return false;
        this.removeNode(node);
        return true;
      }
      node = node.child(node.choose(key));
    }
    return false;
  }

  /** Remove every prefix of `peer`. Returns how many were removed. */
  removeByPeer(peer: P): number {
    const list = this.owners.get(peer);
    if (list === undefined) return 0;
    const n = list.count;
    while (list.head !== null) this.removeNode(list.head);
    return n;
  }

  /** Drop everything. */
  clear(): void {
    this.root4 = null;
    this.root6 = null;
    this.owners.clear();
    this.prefixCount = 0;
  }

  /** Number of prefixes `peer` owns. */
  countOf(peer: P): number {
    return this.owners.get(peer)?.count ?? 0;
  }

  /**
   * `peer`'s prefixes (masked) in insertion order. Fresh objects; removing the prefix just
   * yielded while iterating is safe, other changes during iteration are not.
   */
  *prefixesOf(peer: P): IterableIterator<Prefix> {
    let node = this.owners.get(peer)?.head ?? null;
    while (node !== null) {
      const next: TrieNode<P> | null = node.nextOwn;
      yield { family: node.family, addr: node.addressBytes(), bits: node.cidr };
      node = next;
    }
  }

  /** Longest-prefix match of the address at `buf[off..]` (4 or 16 bytes by `family`). */
  lookup(family: IPFamily, buf: Uint8Array, off: number): P | undefined {
    return family === 4 ? this.lookup4(buf, off) : this.lookup6(buf, off);
  }

  /** Longest-prefix match of the IPv4 address at `buf[off..off+4]`. */
  lookup4(buf: Uint8Array, off: number): P | undefined {
    const a = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    let found: P | undefined = undefined;
    let node = this.root4;
    while (node !== null) {
      if (((a ^ node.k0) & node.m0) !== 0) break;
      if (node.peer !== undefined) found = node.peer;
      // A /32 has no children; its shift picks an arbitrary bit and lands on null.
      node = (a >>> node.shift) & 1 ? node.c1 : node.c0;
    }
    return found;
  }

  /** Longest-prefix match of the IPv6 address at `buf[off..off+16]`. */
  lookup6(buf: Uint8Array, off: number): P | undefined {
    const a0 = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    const a1 = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
    const a2 = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
    const a3 = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
    let found: P | undefined = undefined;
    let node = this.root6;
    while (node !== null) {
      if (
        (((a0 ^ node.k0) & node.m0) |
          ((a1 ^ node.k1) & node.m1) |
          ((a2 ^ node.k2) & node.m2) |
          ((a3 ^ node.k3) & node.m3)) !==
        0
      ) {
        break;
      }
      if (node.peer !== undefined) found = node.peer;
      const w = node.word;
      // A /128 has word 4 → a3 and no children, so it ends the walk.
      const v = w === 0 ? a0 : w === 1 ? a1 : w === 2 ? a2 : a3;
      node = (v >>> node.shift) & 1 ? node.c1 : node.c0;
    }
    return found;
  }

  private setRoot(family: IPFamily, node: TrieNode<P> | null): void {
    if (family === 4) this.root4 = node;
    else this.root6 = node;
  }

  private newLeaf(family: IPFamily, key: Int32Array, bits: number, peer: P): TrieNode<P> {
    const node = new TrieNode<P>(family, key, bits);
    this.assign(node, peer);
    return node;
  }

  /** Give `node` to `peer`: a new owner appends it to its list, the same owner keeps it. */
  private assign(node: TrieNode<P>, peer: P): void {
    if (node.peer === peer) return;
    if (node.peer !== undefined) this.unlinkOwner(node);
    else this.prefixCount++;
    node.peer = peer;
    let list = this.owners.get(peer);
    if (list === undefined) {
      list = { head: null, tail: null, count: 0 };
      this.owners.set(peer, list);
    }
    node.prevOwn = list.tail;
    node.nextOwn = null;
    if (list.tail !== null) list.tail.nextOwn = node;
    else list.head = node;
    list.tail = node;
    list.count++;
  }

  private unlinkOwner(node: TrieNode<P>): void {
    const list = this.owners.get(node.peer!)!;
    if (node.prevOwn !== null) node.prevOwn.nextOwn = node.nextOwn;
    else list.head = node.nextOwn;
    if (node.nextOwn !== null) node.nextOwn.prevOwn = node.prevOwn;
    else list.tail = node.prevOwn;
    node.prevOwn = null;
    node.nextOwn = null;
    if (--list.count === 0) this.owners.delete(node.peer!);
  }

  /**
   * Take the peer off `node` and prune: a node with two children stays as a branch point;
   * otherwise it is replaced by its only child (or nothing), and a peerless parent left
   * with one child is spliced out too (kernel remove_node()).
   */
  private removeNode(node: TrieNode<P>): void {
    this.unlinkOwner(node);
    node.peer = undefined;
    this.prefixCount--;
    if (node.c0 !== null && node.c1 !== null) return;
    const child = node.c0 !== null ? node.c0 : node.c1;
    const parent = node.parent;
    node.parent = null;
    node.c0 = node.c1 = null;
    this.replaceChild(node.family, parent, node, child);
    if (child !== null || parent === null || parent.peer !== undefined) return;
    // parent was a branch point (two children); it now has one: splice it out.
    const other = parent.c0 !== null ? parent.c0 : parent.c1;
    const grand = parent.parent;
    parent.parent = null;
    parent.c0 = parent.c1 = null;
    this.replaceChild(node.family, grand, parent, other);
  }

  /** Put `repl` where `old` hung below `parent` (or at the root). */
  private replaceChild(
    family: IPFamily,
    parent: TrieNode<P> | null,
    old: TrieNode<P>,
    repl: TrieNode<P> | null,
  ): void {
    if (parent === null) {
      this.setRoot(family, repl);
      if (repl !== null) repl.parent = null;
    } else if (parent.c0 === old) {
      parent.setChild(0, repl);
    } else {
      parent.setChild(1, repl);
    }
  }
}
