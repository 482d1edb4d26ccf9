import type { AllowedIPs } from '../../../src/routing/allowed-ips.js';
import { NIL, TrieArena } from '../../../src/routing/trie-arena.js';

interface Internals {
  v4: TrieArena;
  v6: TrieArena;
}
interface ArenaInternals {
  used: number;
  freeHead: number;
}

/**
 * Walks both tries and throws on any broken structural rule: parent links, strictly growing
 * prefix lengths, children inside their parent's prefix on the right side, branch points
 * with two children, owner/flag agreement, and no leaked nodes (reachable + free = used).
 * Returns the number of prefixes found.
 */
export function checkInvariants<P extends {}>(table: AllowedIPs<P>): number {
  const { v4, v6 } = table as unknown as Internals;
  let owned = 0;
  for (const t of [v4, v6]) {
    let reachable = 0;
    const stack: number[] = [];
    if (t.root !== NIL) {
      if (t.parent[t.root] !== NIL) throw new Error('root has a parent');
      stack.push(t.root);
    }
    const key = new Int32Array(4);
    while (stack.length > 0) {
      const i = stack.pop()!;
      reachable++;
      const c = t.cidr(i);
      if ((t.owner[i] !== NIL) !== t.hasPeer(i)) throw new Error(`node ${i}: owner/flag mismatch`);
      if (t.hasPeer(i)) owned++;
      const c0 = t.child(i, 0);
      const c1 = t.child(i, 1);
      if (!t.hasPeer(i) && (c0 === NIL || c1 === NIL)) throw new Error(`branch ${i} lacks a child`);
      if (c === t.words * 32 && (c0 !== NIL || c1 !== NIL)) throw new Error(`leaf ${i} has children`);
      for (const slot of [0, 1]) {
        const ch = t.child(i, slot);
        if (ch === NIL) continue;
        if (t.parent[ch] !== i) throw new Error(`child ${ch} has parent ${t.parent[ch]}, not ${i}`);
        if (t.cidr(ch) <= c) throw new Error(`child ${ch} not longer than parent ${i}`);
        const o = ch * t.stride;
        for (let w = 0; w < t.words; w++) key[w] = t.nodes[o + w];
        if (!t.matches(i, key)) throw new Error(`child ${ch} outside parent ${i}`);
        if (t.choose(i, key) !== slot) throw new Error(`child ${ch} on the wrong side of ${i}`);
        stack.push(ch);
      }
    }
    const a = t as unknown as ArenaInternals;
    let free = 0;
    for (let f = a.freeHead; f !== NIL; f = t.child(f, 0)) free++;
    if (reachable + free !== a.used) {
      throw new Error(`IPv${t.family}: ${reachable} reachable + ${free} free != ${a.used} allocated`);
    }
  }
  if (owned !== table.size) throw new Error(`${owned} owned nodes but size ${table.size}`);
  return owned;
}
