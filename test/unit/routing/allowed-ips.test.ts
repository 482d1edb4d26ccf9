import { describe, expect, it } from 'vitest';
import { AllowedIPs } from '../../../src/routing/allowed-ips.js';
import { formatPrefix } from '../../../src/routing/prefix.js';
import { addr, rawPrefix, type Peer } from './helpers.js';
import { checkInvariants } from './invariants.js';

function ins(t: AllowedIPs<Peer>, text: string, p: Peer): void {
  const r = rawPrefix(text);
  t.insert(r.family, r.bytes, r.bits, p);
}
function rm(t: AllowedIPs<Peer>, text: string, p: Peer): boolean {
  const r = rawPrefix(text);
  return t.remove(r.family, r.bytes, r.bits, p);
}
function look(t: AllowedIPs<Peer>, text: string): string | undefined {
  const a = addr(text);
  return t.lookup(a.family, a.bytes, 0)?.name;
}
function list(t: AllowedIPs<Peer>, p: Peer): string[] {
  return [...t.prefixesOf(p)].map((x) => formatPrefix(x.family, x.addr, x.bits));
}

const A: Peer = { name: 'a' };
const B: Peer = { name: 'b' };
const C: Peer = { name: 'c' };

describe('AllowedIPs', () => {
  it('D4: reads back masked prefixes in insertion order across families', () => {
    const t = new AllowedIPs<Peer>();
    ins(t, '192.95.5.93/27', A);
    ins(t, '2607:5300:6000:6b00::c05f:543/128', A);
    ins(t, '10.1.0.20/29', A);
    ins(t, '2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523/83', A);
    ins(t, '2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523/21', A);
    expect(list(t, A)).toEqual([
      '192.95.5.64/27',
      '2607:5300:6000:6b00::c05f:543/128',
      '10.1.0.16/29',
      '2607:5300:6d8a:6bf8:dab1:e000::/83',
      '2607:5000::/21',
    ]);
    expect(t.countOf(A)).toBe(5);
    expect(t.size).toBe(5);
    const first = t.prefixesOf(A)[Symbol.iterator]().next().value!;
    expect(first.family).toBe(4);
    expect([...first.addr]).toEqual([192, 95, 5, 64]);
    expect(first.bits).toBe(27);
  });

  it('re-inserting an own prefix keeps its position; a moved prefix goes to the end', () => {
    const t = new AllowedIPs<Peer>();
    ins(t, '10.0.0.0/8', A);
    ins(t, '10.1.0.0/16', A);
    ins(t, 'fd00::/8', A);
    ins(t, '10.0.0.1/8', A); // same masked prefix, same owner
    expect(list(t, A)).toEqual(['10.0.0.0/8', '10.1.0.0/16', 'fd00::/8']);
    ins(t, '192.168.0.0/16', B);
    ins(t, '10.1.0.0/16', B); // moves
    ins(t, '172.16.0.0/12', B);
    expect(list(t, A)).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(list(t, B)).toEqual(['192.168.0.0/16', '10.1.0.0/16', '172.16.0.0/12']);
    ins(t, '10.1.0.0/16', A); // moves back: now last for A
    expect(list(t, A)).toEqual(['10.0.0.0/8', 'fd00::/8', '10.1.0.0/16']);
    expect(list(t, B)).toEqual(['192.168.0.0/16', '172.16.0.0/12']);
    expect(t.size).toBe(5);
  });

  it('D9: a moved prefix routes to the new owner at once and the old owner cannot remove it', () => {
    const t = new AllowedIPs<Peer>();
    ins(t, '10.0.0.0/24', A);
    ins(t, 'fd00::/64', A);
    expect(look(t, '10.0.0.7')).toBe('a');
    ins(t, '10.0.0.99/24', B);
    ins(t, 'fd00::1/64', B);
    expect(look(t, '10.0.0.7')).toBe('b');
    expect(look(t, 'fd00::1234')).toBe('b');
    expect(t.countOf(A)).toBe(0);
    expect(list(t, A)).toEqual([]);
    expect(rm(t, '10.0.0.0/24', A)).toBe(false);
    expect(look(t, '10.0.0.7')).toBe('b');
    expect(t.removeByPeer(A)).toBe(0);
    expect(look(t, 'fd00::1234')).toBe('b');
    expect(rm(t, '10.0.0.0/24', B)).toBe(true);
    expect(look(t, '10.0.0.7')).toBeUndefined();
    expect(list(t, B)).toEqual(['fd00::/64']);
  });

  it('removeByPeer drops only that peer and keeps the trie consistent', () => {
    const t = new AllowedIPs<Peer>();
    ins(t, '0.0.0.0/0', C);
    ins(t, '10.0.0.0/8', A);
    ins(t, '10.1.0.0/16', B);
    ins(t, '10.1.1.0/24', A);
    ins(t, '10.1.1.128/25', B);
    ins(t, '::/0', C);
    ins(t, '2001:db8::/32', A);
    ins(t, '2001:db8:1::/48', B);
    expect(look(t, '10.1.1.200')).toBe('b');
    expect(look(t, '10.1.1.5')).toBe('a');
    expect(t.removeByPeer(A)).toBe(3);
    expect(look(t, '10.1.1.5')).toBe('b');
    expect(look(t, '10.2.0.0')).toBe('c');
    expect(look(t, '10.1.1.200')).toBe('b');
    expect(look(t, '2001:db8::1')).toBe('c');
    expect(look(t, '2001:db8:1::1')).toBe('b');
    expect(t.removeByPeer(B)).toBe(3);
    expect(look(t, '10.1.1.200')).toBe('c');
    expect(look(t, '2001:db8:1::1')).toBe('c');
    expect(t.size).toBe(2);
    expect(checkInvariants(t)).toBe(2);
    expect(t.removeByPeer(C)).toBe(2);
    expect(look(t, '1.2.3.4')).toBeUndefined();
    expect(look(t, '::1')).toBeUndefined();
    expect(t.size).toBe(0);
    // The table is usable again after being emptied.
    ins(t, '1.2.3.4/32', A);
    expect(look(t, '1.2.3.4')).toBe('a');
  });

  it('remove takes only the exact masked prefix of its owner', () => {
    const t = new AllowedIPs<Peer>();
    ins(t, '192.168.0.0/16', A);
    ins(t, '192.168.1.0/24', A);
    expect(rm(t, '192.168.1.0/25', A)).toBe(false);
    expect(rm(t, '192.168.1.0/24', B)).toBe(false);
    expect(rm(t, '192.168.1.77/24', A)).toBe(true); // host bits masked
    expect(rm(t, '192.168.1.0/24', A)).toBe(false);
    expect(look(t, '192.168.1.1')).toBe('a');
    expect(list(t, A)).toEqual(['192.168.0.0/16']);
    // Removing a branch-point prefix keeps both subtrees reachable.
    ins(t, '192.168.1.0/24', B);
    ins(t, '192.168.128.0/24', C);
    expect(rm(t, '192.168.0.0/16', A)).toBe(true);
    expect(look(t, '192.168.1.1')).toBe('b');
    expect(look(t, '192.168.128.1')).toBe('c');
    expect(look(t, '192.168.2.1')).toBeUndefined();
    expect(checkInvariants(t)).toBe(2);
  });

  it('IPv4 and IPv6 tables are independent', () => {
    const t = new AllowedIPs<Peer>();
    ins(t, '0.0.0.0/0', A);
    expect(look(t, '::')).toBeUndefined();
    ins(t, '::/0', B);
    expect(look(t, '0.0.0.0')).toBe('a');
    expect(look(t, '::ffff:10.0.0.1')).toBe('b');
    expect(rm(t, '::/0', A)).toBe(false);
    expect(rm(t, '0.0.0.0/0', A)).toBe(true);
    expect(look(t, '::')).toBe('b');
  });

  it('validates family, address length and prefix length', () => {
    const t = new AllowedIPs<Peer>();
    const v4 = new Uint8Array(4);
    const v6 = new Uint8Array(16);
    expect(() => t.insert(4, v4, 33, A)).toThrow(RangeError);
    expect(() => t.insert(4, v4, -1, A)).toThrow(RangeError);
    expect(() => t.insert(4, v4, 8.5, A)).toThrow(RangeError);
    expect(() => t.insert(4, v4, NaN, A)).toThrow(RangeError);
    expect(() => t.insert(6, v6, 129, A)).toThrow(RangeError);
    expect(() => t.insert(4, v6, 8, A)).toThrow(RangeError);
    expect(() => t.insert(6, v4, 8, A)).toThrow(RangeError);
    expect(() => t.insert(5 as 4, v4, 8, A)).toThrow(RangeError);
    expect(() => t.remove(4, v4, 33, A)).toThrow(RangeError);
    expect(() => t.remove(6, v6, 129, A)).toThrow(RangeError);
    expect(t.size).toBe(0);
    t.insert(4, v4, 32, A);
    t.insert(6, v6, 128, A);
    t.insert(4, v4, 0, B);
    t.insert(6, v6, 0, B);
    expect(t.size).toBe(4);
    expect(t.lookup(4, v4, 0)).toBe(A);
    expect(t.lookup(6, v6, 0)).toBe(A);
    expect(t.lookup(4, Uint8Array.of(0, 0, 0, 1), 0)).toBe(B);
  });

  it('does not keep a reference to the caller\'s address buffer', () => {
    const t = new AllowedIPs<Peer>();
    const a = Uint8Array.of(10, 0, 0, 0);
    t.insert(4, a, 8, A);
    a[0] = 11;
    expect(look(t, '10.9.9.9')).toBe('a');
    expect(look(t, '11.0.0.0')).toBeUndefined();
    const [p] = [...t.prefixesOf(A)];
    p.addr[0] = 99;
    expect(list(t, A)).toEqual(['10.0.0.0/8']);
  });

  it('removing the prefix just yielded while iterating prefixesOf is safe', () => {
    const t = new AllowedIPs<Peer>();
    for (let i = 0; i < 10; i++) t.insert(4, Uint8Array.of(10, i, 0, 0), 16, A);
    const seen: string[] = [];
    for (const p of t.prefixesOf(A)) {
      seen.push(formatPrefix(p.family, p.addr, p.bits));
      if (p.addr[1] % 2 === 0) expect(t.remove(p.family, p.addr, p.bits, A)).toBe(true);
    }
    expect(seen.length).toBe(10);
    expect(list(t, A)).toEqual(['10.1.0.0/16', '10.3.0.0/16', '10.5.0.0/16', '10.7.0.0/16', '10.9.0.0/16']);
  });

  it('D5: deep chains of /128 and /32 (all ones but one bit, plus nested prefixes)', () => {
    const t = new AllowedIPs<Peer>();
    const peers: Peer[] = [];
    // Nested: ffff.../n for every n, each its own peer, 129 levels deep.
    for (let n = 0; n <= 128; n++) {
      const p = { name: `n${n}` };
      peers.push(p);
      t.insert(6, new Uint8Array(16).fill(0xff), n, p);
    }
    for (let n = 0; n <= 128; n++) {
      // Address equal to all-ones for n bits then a zero bit: matched by /n exactly.
      const a = new Uint8Array(16).fill(0xff);
      if (n < 128) a[n >>> 3] &= ~(0x80 >>> (n & 7));
      expect(t.lookup(6, a, 0)).toBe(peers[n]);
    }
    // Remove from the outside in, checking the next level takes over.
    for (let n = 128; n >= 1; n--) {
      t.removeByPeer(peers[n]);
      expect(t.lookup(6, new Uint8Array(16).fill(0xff), 0)).toBe(peers[n - 1]);
    }
    t.removeByPeer(peers[0]);
    expect(t.size).toBe(0);
    checkInvariants(t);
    // Same for IPv4 /32 with one cleared bit.
    for (let i = 0; i < 32; i++) {
      const a = new Uint8Array(4).fill(0xff);
      a[i >>> 3] &= ~(0x80 >>> (i & 7));
      t.insert(4, a, 32, A);
    }
    expect(t.lookup(4, Uint8Array.of(0xff, 0xff, 0xff, 0xfe), 0)).toBe(A);
    expect(t.lookup(4, Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0)).toBeUndefined();
    expect(t.lookup(4, Uint8Array.of(0xff, 0xff, 0xff, 0xfc), 0)).toBeUndefined();
    expect(checkInvariants(t)).toBe(32);
    expect(t.removeByPeer(A)).toBe(32);
    checkInvariants(t);
  });
});
