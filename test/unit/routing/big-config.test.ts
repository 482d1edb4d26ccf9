import { describe, expect, it } from 'vitest';
import { AllowedIPs } from '../../../src/routing/allowed-ips.js';
import type { Peer } from './helpers.js';
import { checkInvariants } from './invariants.js';

describe('AllowedIPs with big configurations (D10)', () => {
  it('130,560 prefixes on one peer: insert < 2 s, all found, read back in order, removed fast', () => {
    const t = new AllowedIPs<Peer>();
    const p: Peer = { name: 'big' };
    const other: Peer = { name: 'other' };
    const v4 = new Uint8Array(4);
    const v6 = new Uint8Array(16);
    const t0 = performance.now();
    for (let a = 1; a <= 255; a++) {
      for (let b = 0; b <= 255; b++) {
        v4[0] = a;
        v4[1] = b;
        t.insert(4, v4, 16, p);
        v6[0] = 0;
        v6[1] = a; // a::b
        v6[15] = b;
        t.insert(6, v6, 128, p);
      }
    }
    const insertMs = performance.now() - t0;
    expect(t.countOf(p)).toBe(130_560);
    expect(t.size).toBe(130_560);
    expect(insertMs).toBeLessThan(2000);

    const probe4 = Uint8Array.of(200, 17, 99, 1);
    expect(t.lookup(4, probe4, 0)).toBe(p);
    expect(t.lookup(4, Uint8Array.of(0, 17, 99, 1), 0)).toBeUndefined();
    const probe6 = new Uint8Array(16);
    probe6[1] = 255;
    probe6[15] = 255;
    expect(t.lookup(6, probe6, 0)).toBe(p);
    probe6[14] = 1; // 255::1ff is not a /128 of ours
    expect(t.lookup(6, probe6, 0)).toBeUndefined();
    t.insert(4, Uint8Array.of(0, 9, 0, 0), 16, other);

    // Insertion order, interleaved v4/v6.
    let i = 0;
    let ok = true;
    for (const pr of t.prefixesOf(p)) {
      const a = 1 + (i >>> 9);
      const b = (i >>> 1) & 255;
      if (i % 2 === 0) ok &&= pr.family === 4 && pr.bits === 16 && pr.addr[0] === a && pr.addr[1] === b;
      else ok &&= pr.family === 6 && pr.bits === 128 && pr.addr[1] === a && pr.addr[15] === b;
      i++;
    }
    expect(ok).toBe(true);
    expect(i).toBe(130_560);

    const t1 = performance.now();
    expect(t.removeByPeer(p)).toBe(130_560);
    const removeMs = performance.now() - t1;
    expect(removeMs).toBeLessThan(1000);
    expect(t.size).toBe(1);
    expect(t.lookup(4, probe4, 0)).toBeUndefined();
    expect(checkInvariants(t)).toBe(1);
    // The emptied IPv6 trie gave its grown arrays back.
    const internals = t as unknown as { v6: { nodes: Int32Array } };
    expect(internals.v6.nodes.length).toBeLessThan(1024);
    expect(t.lookup(4, Uint8Array.of(0, 9, 1, 1), 0)).toBe(other);
  });

  it('65,536 peers with one /32 and one /128 each', () => {
    const t = new AllowedIPs<Peer>();
    const peers: Peer[] = [];
    const v4 = Uint8Array.of(10, 0, 0, 0);
    const v6 = new Uint8Array(16);
    v6[0] = 0xfd;
    for (let i = 0; i < 65_536; i++) {
      const p = { name: String(i) };
      peers.push(p);
      v4[2] = i >>> 8;
      v4[3] = i & 255;
      t.insert(4, v4, 32, p);
      v6[14] = i >>> 8;
      v6[15] = i & 255;
      t.insert(6, v6, 128, p);
    }
    expect(t.size).toBe(131_072);
    for (const i of [0, 1, 255, 256, 40_000, 65_535]) {
      expect(t.lookup(4, Uint8Array.of(10, 0, i >>> 8, i & 255), 0)).toBe(peers[i]);
      v6[14] = i >>> 8;
      v6[15] = i & 255;
      expect(t.lookup(6, v6, 0)).toBe(peers[i]);
      expect(t.countOf(peers[i])).toBe(2);
    }
    for (let i = 0; i < 65_536; i += 2) t.removeByPeer(peers[i]);
    expect(t.size).toBe(65_536);
    expect(checkInvariants(t)).toBe(65_536);
    expect(t.lookup(4, Uint8Array.of(10, 0, 0, 2), 0)).toBeUndefined();
    expect(t.lookup(4, Uint8Array.of(10, 0, 0, 3), 0)).toBe(peers[3]);
  });
});
