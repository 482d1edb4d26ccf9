import { describe, expect, it } from 'vitest';
import { AllowedIPs } from '../../../src/routing/allowed-ips.js';
import { formatPrefix } from '../../../src/routing/prefix.js';
import { addr, loadVector, rawPrefix, type Peer } from './helpers.js';

interface Step {
  op: 'insert' | 'lookup' | 'remove' | 'remove_by_peer' | 'free_and_reinit' | 'list_prefixes_of_peer';
  peer?: string | null;
  prefix?: string;
  address?: string;
  expect?: string;
  expect_not?: string;
  returns?: number | string;
  expect_exactly?: string[];
}
interface Phase {
  name: string;
  steps?: Step[];
  prefixes?: string[];
}
interface SelfTest {
  phases_in_order: Phase[];
}

const vector = loadVector<SelfTest>('allowedips_selftest.json');

/** Runs the phases in order on one table, as the kernel self-test does. */
describe('allowedips_selftest.json', () => {
  const peers = new Map<string, Peer>();
  const peer = (name: string): Peer => {
    let p = peers.get(name);
    if (p === undefined) peers.set(name, (p = { name }));
    return p;
  };
  // The kernel's NULL peer: owns nothing.
  const nullPeer: Peer = { name: '(null)' };
  const table = new AllowedIPs<Peer>();

  const run = (step: Step): void => {
    switch (step.op) {
      case 'insert': {
        const p = rawPrefix(step.prefix!);
        table.insert(p.family, p.bytes, p.bits, peer(step.peer!));
        return;
      }
      case 'lookup': {
        const a = addr(step.address!);
        const got = table.lookup(a.family, a.bytes, 0);
        if (step.expect !== undefined) expect(got?.name, step.address).toBe(step.expect);
        if (step.expect_not !== undefined) expect(got?.name, step.address).not.toBe(step.expect_not);
        // Same answer at a non-zero offset inside a bigger buffer.
        const buf = new Uint8Array(a.bytes.length + 7);
        buf.set(a.bytes, 7);
        expect(table.lookup(a.family, buf, 7)).toBe(got);
        return;
      }
      case 'remove': {
        const p = rawPrefix(step.prefix!);
        const who = step.peer == null ? nullPeer : peer(step.peer);
        if (step.returns === '-EINVAL') {
          expect(() => table.remove(p.family, p.bytes, p.bits, who)).toThrow(RangeError);
        } else {
          expect(step.returns).toBe(0);
          // The kernel returns 0 either way; we report whether `who` owned that exact prefix.
          const want = formatPrefix(p.family, p.bytes, p.bits);
          const expected = [...table.prefixesOf(who)].some(
            (q) => formatPrefix(q.family, q.addr, q.bits) === want,
          );
          if (expected) expect(table.countOf(who)).toBeGreaterThan(0);
          expect(table.remove(p.family, p.bytes, p.bits, who), step.prefix).toBe(expected);
        }
        return;
      }
      case 'remove_by_peer':
        table.removeByPeer(peer(step.peer!));
        expect(table.countOf(peer(step.peer!))).toBe(0);
        expect([...table.prefixesOf(peer(step.peer!))]).toEqual([]);
        return;
      case 'free_and_reinit':
        table.clear();
        expect(table.size).toBe(0);
        return;
      case 'list_prefixes_of_peer': {
        const got = [...table.prefixesOf(peer(step.peer!))].map((p) =>
          formatPrefix(p.family, p.addr, p.bits),
        );
        expect(got.slice().sort()).toEqual(step.expect_exactly!.slice().sort());
        expect(table.countOf(peer(step.peer!))).toBe(step.expect_exactly!.length);
        return;
      }
      default:
        throw new Error(`unknown op ${String(step.op)}`);
    }
  };

  it('has the phases this test knows', () => {
    expect(vector.phases_in_order.length).toBe(6);
    for (const ph of vector.phases_in_order) expect(ph.steps ?? ph.prefixes).toBeDefined();
  });

  for (const phase of vector.phases_in_order) {
    it(phase.name, () => {
      if (phase.steps) {
        for (const step of phase.steps) run(step);
        return;
      }
      // Depth stress: a fresh table, 128 /128 prefixes for a, each found, then freed.
      table.clear();
      const a = peer('a');
      for (const text of phase.prefixes!) {
        const p = rawPrefix(text);
        table.insert(p.family, p.bytes, p.bits, a);
      }
      expect(table.countOf(a)).toBe(phase.prefixes!.length);
      for (const text of phase.prefixes!) {
        const p = rawPrefix(text);
        expect(table.lookup(6, p.bytes, 0)).toBe(a);
      }
      const allOnes = new Uint8Array(16).fill(0xff);
      expect(table.lookup(6, allOnes, 0)).toBeUndefined();
      expect(table.removeByPeer(a)).toBe(128);
      for (const text of phase.prefixes!) {
        expect(table.lookup(6, rawPrefix(text).bytes, 0)).toBeUndefined();
      }
      expect(table.size).toBe(0);
    });
  }
});
