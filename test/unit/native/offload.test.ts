/**
 * TUN offload logic (native/src/offload.c) through the addon's test exports: TSO/USO
 * super-packets split into segments, partial checksums finished, and GRO-like coalescing of
 * write batches. Every header and checksum is checked with an independent implementation.
 */
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../../src/io/native.js';
import { PacketBatch } from '../../../src/io/packet-batch.js';
import {
  bytes, checksumsValid, ipOf, parseVnet, pseudo, rd16, rd32, sum16, tcpPacket, udpPacket, vnetFrame,
  TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH, TCP_SYN,
} from './offload-packets.js';

const native = loadNative();
// The addon returns Buffers; plain Uint8Arrays compare equal to the crafted packets.
const plain = (a: Uint8Array[]): Uint8Array[] => a.map((b) => new Uint8Array(b));
const split = (f: Uint8Array): Uint8Array[] | null => {
  const r = native.offloadSplitForTest(f);
  return r === null ? null : plain(r);
};

function coalesce(pkts: Uint8Array[]): Uint8Array[] {
  const b = new PacketBatch(Math.max(pkts.length, 1));
  for (const p of pkts) expect(b.push(p)).toBeGreaterThanOrEqual(0);
  return plain(native.offloadCoalesceForTest(b.data, b.offsets, b.lengths, b.count));
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** Checks the segments of a TCP super-packet against the original's fields. */
function checkTcpSegments(segs: Uint8Array[], sup: Uint8Array, gso: number): void {
  const { v6, iphl } = ipOf(sup);
  const thl = (sup[iphl + 12] >> 4) * 4;
  const hl = iphl + thl;
  const payload = sup.subarray(hl);
  expect(segs.length).toBe(Math.max(1, Math.ceil(payload.length / gso)));
  const seq0 = rd32(sup, iphl + 4);
  const flags0 = sup[iphl + 13];
  segs.forEach((s, k) => {
    const last = k === segs.length - 1;
    const plen = last ? payload.length - k * gso : gso;
    expect(s.length).toBe(hl + plen);
    expect(checksumsValid(s)).toBe(true);
    if (v6) {
      expect(rd16(s, 4)).toBe(s.length - 40);
    } else {
      expect(rd16(s, 2)).toBe(s.length);
      expect(rd16(s, 4)).toBe((rd16(sup, 4) + k) & 0xffff);
    }
    expect(rd32(s, iphl + 4)).toBe((seq0 + k * gso) >>> 0);
    let want = flags0;
    if (!last) want &= ~(TCP_FIN | TCP_PSH);
    if (k > 0) want &= ~TCP_CWR;
    expect(s[iphl + 13]).toBe(want);
    // Everything else in the headers is the super-packet's.
    expect(s.subarray(iphl + 8, iphl + 13)).toEqual(sup.subarray(iphl + 8, iphl + 13));
    expect(s.subarray(iphl + 14, iphl + 16)).toEqual(sup.subarray(iphl + 14, iphl + 16));
    expect(s.subarray(iphl + 18, hl)).toEqual(sup.subarray(iphl + 18, hl));
    expect(s.subarray(hl)).toEqual(payload.subarray(k * gso, k * gso + plen));
  });
}

describe('TUN read: super-packet split', () => {
  it('splits an IPv4 TSO packet (partial checksum, wrong hdr_len) into gso_size segments', () => {
    const payload = bytes(10_000, 1);
    const sup = tcpPacket({ seq: 0xfffff000, payload, flags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, id: 0xfffe });
    const segs = split(vnetFrame(sup, { gsoType: 1, gsoSize: 1380, hdrLen: 7, partial: true }));
    expect(segs).not.toBeNull();
    expect(segs!.length).toBe(8);
    checkTcpSegments(segs!, sup, 1380);
    expect(concat(segs!.map((s) => s.subarray(40)))).toEqual(payload); // sequence wraps, ID wraps
  });

  it('splits an IPv6 TSO packet with TCP options (timestamps) and the ECN bit in gso_type', () => {
    const payload = bytes(4 * 1368, 2); // an exact multiple: the last segment is full
    const options = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
    const sup = tcpPacket({ v6: true, seq: 1000, payload, options, flags: TCP_ACK | TCP_PSH | TCP_CWR });
    const segs = split(vnetFrame(sup, { gsoType: 4 | 0x80, gsoSize: 1368, hdrLen: 72, partial: true }));
    expect(segs!.length).toBe(4);
    checkTcpSegments(segs!, sup, 1368);
    expect(segs!.every((s) => s.length === 40 + 32 + 1368)).toBe(true);
  });

  it('splits USO (UDP_L4) packets over IPv4 and IPv6, each with its own length and checksum', () => {
    for (const v6 of [false, true]) {
      const payload = bytes(3000, v6 ? 3 : 4);
      const sup = udpPacket({ v6, payload, id: 7 });
      const segs = split(vnetFrame(sup, { gsoType: 5, gsoSize: 1200, partial: true }))!;
      expect(segs.map((s) => s.length - (v6 ? 48 : 28))).toEqual([1200, 1200, 600]);
      const iphl = v6 ? 40 : 20;
      segs.forEach((s, k) => {
        expect(checksumsValid(s)).toBe(true);
        expect(rd16(s, iphl + 4)).toBe(s.length - iphl);
        expect(rd16(s, iphl)).toBe(5000);
        if (!v6) expect(rd16(s, 4)).toBe(7 + k);
        expect(s.subarray(iphl + 8)).toEqual(payload.subarray(k * 1200, k * 1200 + s.length - iphl - 8));
      });
    }
  });

  it('finishes a partial checksum of a non-GSO packet (UDP and TCP) and leaves the rest alone', () => {
    const udp = udpPacket({ payload: bytes(333, 5) });
    const out = split(vnetFrame(udp, { partial: true }))!;
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(udp);
    const tcp = tcpPacket({ v6: true, seq: 5, payload: bytes(101, 6) });
    expect(split(vnetFrame(tcp, { partial: true }))![0]).toEqual(tcp);
    // Without NEEDS_CSUM the packet passes through byte for byte (even a wrong checksum).
    const odd = udp.slice();
    odd[27] ^= 0xff;
    expect(split(vnetFrame(odd, {}))![0]).toEqual(odd);
  });

  it('treats a GSO packet with one segment of payload as a single, fully checksummed segment', () => {
    const sup = tcpPacket({ seq: 9, payload: bytes(500, 7), flags: TCP_ACK | TCP_PSH });
    const segs = split(vnetFrame(sup, { gsoType: 1, gsoSize: 1380, partial: true }))!;
    expect(segs).toHaveLength(1);
    expect(segs[0]).toEqual(sup);
  });

  it('drops unsupported or inconsistent GSO packets', () => {
    const v4 = tcpPacket({ seq: 1, payload: bytes(3000, 8) });
    const v6 = tcpPacket({ v6: true, seq: 1, payload: bytes(3000, 8) });
    const udp = udpPacket({ payload: bytes(3000, 9) });
    expect(split(vnetFrame(v4, { gsoType: 3, gsoSize: 1000, partial: true }))).toBeNull(); // UFO
    expect(split(vnetFrame(v4, { gsoType: 2, gsoSize: 1000, partial: true }))).toBeNull(); // unknown
    expect(split(vnetFrame(v6, { gsoType: 1, gsoSize: 1000, partial: true }))).toBeNull(); // TCPV4 on IPv6
    expect(split(vnetFrame(v4, { gsoType: 4, gsoSize: 1000, partial: true }))).toBeNull(); // TCPV6 on IPv4
    expect(split(vnetFrame(udp, { gsoType: 1, gsoSize: 1000, partial: true }))).toBeNull(); // TCP type on UDP
    expect(split(vnetFrame(v4, { gsoType: 1, gsoSize: 0, partial: true }))).toBeNull();
    const frag = v4.slice();
    frag[6] |= 0x20; // MF
    expect(split(vnetFrame(frag, { gsoType: 1, gsoSize: 1000 }))).toBeNull();
    const bad = new Uint8Array(10 + 30);
    bad[1] = 1;
    bad[4] = 100;
    bad[10] = 0x45;
    bad[19] = 6;
    expect(split(bad)).toBeNull(); // TCP header cut off
    // NEEDS_CSUM pointing past the end
    const f = vnetFrame(udp, { partial: true });
    new DataView(f.buffer).setUint16(8, 5000, true);
    expect(split(f)).toBeNull();
  });
});

/** A flow's consecutive segments as a sender would produce them (IDs +1, PSH on the last). */
function flow(n: number, o: { v6?: boolean; seq?: number; size?: number; lastSize?: number; sport?: number; id?: number; seed?: number }): Uint8Array[] {
  const size = o.size ?? 1368;
  let seq = o.seq ?? 1;
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const last = k === n - 1;
    const len = last && o.lastSize !== undefined ? o.lastSize : size;
    out.push(tcpPacket({
      v6: o.v6, seq, sport: o.sport, id: ((o.id ?? 100) + k) & 0xffff, payload: bytes(len, (o.seed ?? 1) * 1000 + k),
      flags: last ? TCP_ACK | TCP_PSH : TCP_ACK, options: [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8],
    }));
    seq = (seq + len) >>> 0;
  }
  return out;
}

/** Checks a coalesced frame's virtio header and headers, then splits it back. */
function checkSuper(frame: Uint8Array, members: Uint8Array[]): void {
  const h = parseVnet(frame);
  const p = frame.subarray(10);
  const { v6, iphl } = ipOf(p);
  const hl = iphl + (p[iphl + 12] >> 4) * 4;
  expect(h).toEqual({
    flags: 1, gsoType: v6 ? 4 : 1, hdrLen: hl, gsoSize: members[0].length - hl, csumStart: iphl, csumOffset: 16,
  });
  if (v6) expect(rd16(p, 4)).toBe(p.length - 40);
  else {
    expect(rd16(p, 2)).toBe(p.length);
    expect(sum16(p, 0, 20)).toBe(0xffff);
  }
  // CHECKSUM_PARTIAL: the TCP field holds the folded pseudo-header sum over the whole length.
  expect(rd16(p, iphl + 16)).toBe(pseudo(p, p.length - iphl));
  expect(p.subarray(hl)).toEqual(concat(members.map((m) => m.subarray(hl))));
  // The kernel would segment it back into exactly the original packets.
  expect(split(frame)).toEqual(members);
}

describe('TUN write: coalescing', () => {
  it('coalesces in-order segments of one IPv4 flow into one GSO frame that splits back exactly', () => {
    const pkts = flow(10, { lastSize: 500, seq: 0xffffe000 });
    const frames = coalesce(pkts);
    expect(frames).toHaveLength(1);
    checkSuper(frames[0], pkts);
  });

  it('coalesces IPv6 flows and keeps interleaved flows apart, each in order', () => {
    const a = flow(4, { v6: true, sport: 1111, seed: 1 });
    const b = flow(3, { v6: true, sport: 2222, seed: 2, lastSize: 10 });
    const frames = coalesce([a[0], b[0], a[1], b[1], a[2], b[2], a[3]]);
    expect(frames).toHaveLength(2);
    checkSuper(frames[0], a);
    checkSuper(frames[1], b);
  });

  it('writes everything that cannot merge as it is, with a zero header, in flow order', () => {
    const f = flow(6, { seed: 3 });
    const fin = tcpPacket({ seq: rd32(f[2], 24) + 1368, payload: new Uint8Array(0), flags: TCP_ACK | TCP_FIN, id: 1 });
    const syn = tcpPacket({ seq: 1, sport: 3, payload: new Uint8Array(0), flags: TCP_SYN });
    const udp = udpPacket({ payload: bytes(100, 1) });
    // f0 f1 f2 | FIN of the same flow | f3 (must not join f0..f2: it would pass the FIN) ...
    const frames = coalesce([f[0], f[1], f[2], fin, udp, f[3], f[4], syn, f[5]]);
    expect(frames).toHaveLength(5);
    checkSuper(frames[0], f.slice(0, 3));
    for (const [i, want] of [[1, fin], [2, udp], [4, syn]] as const) {
      expect(parseVnet(frames[i])).toEqual({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
      expect(frames[i].subarray(10)).toEqual(want);
    }
    checkSuper(frames[3], f.slice(3));
  });

  it('starts a new group at a sequence gap, a size change, a different ACK or window, or after PSH', () => {
    const f = flow(8, { seed: 4 });
    // gap: drop f[2]
    let frames = coalesce([f[0], f[1], f[3], f[4]]);
    expect(frames).toHaveLength(2);
    checkSuper(frames[0], [f[0], f[1]]);
    checkSuper(frames[1], [f[3], f[4]]);
    // a shorter segment ends the group; a following full one starts a new group
    const g = flow(2, { seed: 5, lastSize: 700 });
    const g2 = tcpPacket({ seq: rd32(g[1], 24) + 700, payload: bytes(1368, 9), flags: TCP_ACK, id: 102,
      options: [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8] });
    g[1][33] = TCP_ACK; // no PSH on the short one: the size alone must end the group
    g[1][36] = g[1][37] = 0;
    const c = ~sum16(g[1], 20, g[1].length, pseudo(g[1], g[1].length - 20)) & 0xffff;
    g[1][36] = c >> 8;
    g[1][37] = c & 255;
    frames = coalesce([g[0], g[1], g2]);
    expect(frames).toHaveLength(2);
    checkSuper(frames[0], [g[0], g[1]]);
    expect(frames[1].subarray(10)).toEqual(g2);
    // different ACK number
    const h = flow(3, { seed: 6 });
    const opts = [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8];
    const h1 = tcpPacket({ seq: rd32(h[1], 24), payload: h[1].subarray(52), flags: TCP_ACK, id: 101, ack: 999, options: opts });
    const h2 = tcpPacket({ seq: rd32(h[2], 24), payload: h[2].subarray(52), flags: TCP_ACK, id: 102, ack: 999, options: opts });
    frames = coalesce([h[0], h1, h2]);
    expect(frames.map((x) => parseVnet(x).gsoType)).toEqual([0, 1]);
    expect(frames[0].subarray(10)).toEqual(h[0]);
    checkSuper(frames[1], [h1, h2]);
    // different window
    const w1 = tcpPacket({ seq: rd32(h[1], 24), payload: h[1].subarray(52), flags: TCP_ACK, id: 101, window: 1, options: opts });
    frames = coalesce([h[0], w1]);
    expect(frames.map((x) => parseVnet(x).gsoType)).toEqual([0, 0]);
    // PSH on a middle packet closes the group after it
    const k = flow(4, { seed: 7 });
    k[1][33] |= TCP_PSH;
    k[1][36] = k[1][37] = 0;
    const kc = ~sum16(k[1], 20, k[1].length, pseudo(k[1], k[1].length - 20)) & 0xffff;
    k[1][36] = kc >> 8;
    k[1][37] = kc & 255;
    frames = coalesce(k);
    expect(frames).toHaveLength(2);
    checkSuper(frames[0], [k[0], k[1]]);
    checkSuper(frames[1], [k[2], k[3]]);
  });

  it('caps a frame at 64 segments and at 65535 bytes of IP packet', () => {
    const many = flow(70, { size: 500, seed: 8, id: 0 });
    let frames = coalesce(many);
    expect(frames.map((f) => (f.length - 10 - 52) / 500)).toEqual([64, 6]);
    checkSuper(frames[0], many.slice(0, 64));
    checkSuper(frames[1], many.slice(64));
    const big = flow(50, { size: 1400, seed: 9, id: 0 });
    frames = coalesce(big);
    const per = Math.floor((65535 - 52) / 1400);
    expect(frames.map((f) => (f.length - 10 - 52) / 1400)).toEqual([per, 50 - per]);
    expect(frames[0].length - 10).toBeLessThanOrEqual(65535);
    checkSuper(frames[0], big.slice(0, per));
  });

  it('leaves a single packet and non-TCP packets untouched', () => {
    const one = flow(1, { seed: 10 });
    const frames = coalesce([one[0], udpPacket({ v6: true, payload: bytes(50, 2) })]);
    expect(frames.map((f) => f[1])).toEqual([0, 0]);
    expect(frames[0].subarray(10)).toEqual(one[0]);
  });
});
