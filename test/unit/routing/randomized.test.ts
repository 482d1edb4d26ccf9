import { describe, expect, it } from 'vitest';
import { AllowedIPs } from '../../../src/routing/allowed-ips.js';
import { formatPrefix, maskAddress, type IPFamily } from '../../../src/routing/prefix.js';
import type { Peer } from './helpers.js';
import { checkInvariants } from './invariants.js';

/** mulberry32: small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  family: IPFamily;
  addr: Uint8Array; // masked
  bits: number;
  peer: Peer;
  text: string;
}

/** The obviously-correct model: a list scanned linearly, plus per-peer insertion order. */
class BruteTable {
  readonly byText = new Map<string, Entry>();
  readonly order = new Map<Peer, string[]>();

  insert(family: IPFamily, addr: Uint8Array, bits: number, peer: Peer): void {
    this.sorted = null;
    const text = formatPrefix(family, addr, bits);
    const old = this.byText.get(text);
    if (old !== undefined && old.peer === peer) return;
    if (old !== undefined) this.unlist(old);
    this.byText.set(text, { family, addr: maskAddress(addr, bits), bits, peer, text });
    const l = this.order.get(peer) ?? [];
    l.push(text);
    this.order.set(peer, l);
  }

  remove(family: IPFamily, addr: Uint8Array, bits: number, peer: Peer): boolean {
    const e = this.byText.get(formatPrefix(family, addr, bits));
    if (e === undefined || e.peer !== peer) return false;
    this.sorted = null;
    this.unlist(e);
    this.byText.delete(e.text);
    return true;
  }

  removeByPeer(peer: Peer): void {
    this.sorted = null;
    for (const text of this.order.get(peer) ?? []) this.byText.delete(text);
    this.order.delete(peer);
  }

  /** Longest first per family, rebuilt after changes: the first match is the answer. */
  private sorted: Record<IPFamily, Entry[]> | null = null;

  lookup(family: IPFamily, a: Uint8Array): Peer | undefined {
    if (this.sorted === null) {
      const all = [...this.byText.values()].sort((x, y) => y.bits - x.bits);
      this.sorted = { 4: all.filter((e) => e.family === 4), 6: all.filter((e) => e.family === 6) };
    }
    for (const e of this.sorted[family]) if (inPrefix(a, e.addr, e.bits)) return e.peer;
    return undefined;
  }

  private unlist(e: Entry): void {
    const l = this.order.get(e.peer)!;
    l.splice(l.indexOf(e.text), 1);
  }
}

function inPrefix(a: Uint8Array, p: Uint8Array, bits: number): boolean {
  const full = bits >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== p[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const m = (0xff00 >>> rest) & 0xff;
  return (a[full] & m) === p[full];
}

describe('AllowedIPs vs brute force (seeded)', () => {
  it('200 peers, random v4/v6 prefixes, 200k lookups, one peer removed per round', () => {
    const rnd = prng(0x5eed1234);
    const int = (n: number) => Math.floor(rnd() * n);
    const randomBytes = (n: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    };
    const table = new AllowedIPs<Peer>();
    const brute = new BruteTable();
    const peers: Peer[] = [];
    const inserted: { family: IPFamily; addr: Uint8Array; bits: number }[] = [];
    const insert = (family: IPFamily, addr: Uint8Array, bits: number, peer: Peer) => {
      table.insert(family, addr, bits, peer);
      brute.insert(family, addr, bits, peer);
      inserted.push({ family, addr, bits });
    };
    // Mostly long prefixes (as real configs), some short ones for deep overlap.
    const randomBits = (max: number) => (rnd() < 0.15 ? int(max + 1) : max - int(max >>> 2));

    for (let i = 0; i < 200; i++) {
      const peer = { name: `p${i}` };
      peers.push(peer);
      for (let j = 0; j < 6; j++) {
        insert(4, randomBytes(4), randomBits(32), peer);
        insert(6, randomBytes(16), randomBits(128), peer);
      }
    }
    // Mutated neighbours of existing prefixes (the kernel test's trick): share a long
    // prefix, differ late, often owned by another peer; some identical ones move.
    const base = inserted.length;
    for (let k = 0; k < base * 2; k++) {
      const src = inserted[int(base)];
      const addr = src.addr.slice();
      const nbits = addr.length * 8;
      const flip = int(nbits);
      if (rnd() < 0.8) addr[flip >>> 3] ^= 0x80 >>> (flip & 7);
      const bits = rnd() < 0.3 ? src.bits : Math.min(nbits, Math.max(0, src.bits + int(17) - 8));
      insert(src.family, addr, bits, peers[int(peers.length)]);
    }
    expect(table.size).toBe(brute.byText.size);
    expect(checkInvariants(table)).toBe(table.size);

    const probe = new Uint8Array(16 + 3); // lookups read at offset 3
    let lookups = 0;
    let hits = 0;
    const alive = peers.slice();
    while (alive.length > 0) {
      for (let q = 0; q < 1000; q++) {
        let family: IPFamily;
        let a: Uint8Array;
        if (rnd() < 0.75) {
          // Inside (or right next to) a known prefix.
          const src = inserted[int(inserted.length)];
          family = src.family;
          a = randomBytes(family === 4 ? 4 : 16);
          const keep = Math.min(src.bits + (rnd() < 0.2 ? 1 : 0), a.length * 8);
          const full = keep >>> 3;
          a.set(src.addr.subarray(0, full));
          if (keep & 7) {
            const m = (0xff00 >>> (keep & 7)) & 0xff;
            a[full] = (src.addr[full] & m) | (a[full] & ~m & 0xff);
          }
        } else {
          family = rnd() < 0.5 ? 4 : 6;
          a = randomBytes(family === 4 ? 4 : 16);
        }
        probe.set(a, 3);
        const want = brute.lookup(family, a);
        const got = table.lookup(family, probe, 3);
        if (got !== want) {
          expect.fail(`lookup ${formatPrefix(family, a, a.length * 8)}: got ${got?.name}, want ${want?.name}`);
        }
        if (want !== undefined) hits++;
        lookups++;
      }
      // Some exact removals (right and wrong owner), then drop one peer entirely.
      for (let r = 0; r < 5; r++) {
        const src = inserted[int(inserted.length)];
        const who = alive[int(alive.length)];
        expect(table.remove(src.family, src.addr, src.bits, who)).toBe(
          brute.remove(src.family, src.addr, src.bits, who),
        );
      }
      const victim = alive.splice(int(alive.length), 1)[0];
      table.removeByPeer(victim);
      brute.removeByPeer(victim);
      expect(table.countOf(victim)).toBe(0);
      const check = alive[int(alive.length)] ?? victim;
      const listed = [...table.prefixesOf(check)].map((p) => formatPrefix(p.family, p.addr, p.bits));
      expect(listed).toEqual(brute.order.get(check) ?? []);
      expect(table.size).toBe(brute.byText.size);
      checkInvariants(table);
    }
    expect(lookups).toBe(200_000);
    // The bias really exercises matches, not just misses.
    expect(hits).toBeGreaterThan(lookups / 2);
    expect(table.size).toBe(0);
    expect(table.lookup(4, new Uint8Array(4), 0)).toBeUndefined();
    expect(table.lookup(6, new Uint8Array(16), 0)).toBeUndefined();
  });
});
