/**
 * Crafted IPv4/IPv6 TCP/UDP packets and an independent checksum implementation for the
 * offload tests (nothing here shares code with native/src/offload.c).
 */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_CWR = 0x80;

/** RFC 1071 sum of big-endian 16-bit words (not inverted, folded). */
export function sum16(b: Uint8Array, start = 0, end = b.length, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const rd16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const wr16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
};
export const rd32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const wr32 = (b: Uint8Array, o: number, v: number): void => {
  wr16(b, o, v >>> 16);
  wr16(b, o + 2, v & 0xffff);
};

export interface Ip {
  v6: boolean;
  iphl: number;
  proto: number;
}

export function ipOf(p: Uint8Array): Ip {
  const v6 = p[0] >> 4 === 6;
  return { v6, iphl: v6 ? 40 : (p[0] & 15) * 4, proto: v6 ? p[6] : p[9] };
}

/** Pseudo-header sum for an L4 segment of `l4len` bytes. */
export function pseudo(p: Uint8Array, l4len: number): number {
  const { v6, proto } = ipOf(p);
  const s = v6 ? sum16(p, 8, 40) : sum16(p, 12, 20);
  return sum16(new Uint8Array([0, proto, l4len >> 8, l4len & 255]), 0, 4, s);
}

/** True when the IPv4 header checksum (if any) and the TCP/UDP checksum verify. */
export function checksumsValid(p: Uint8Array): boolean {
  const { v6, iphl, proto } = ipOf(p);
  if (!v6 && sum16(p, 0, iphl) !== 0xffff) return false;
  const l4len = p.length - iphl;
  return sum16(p, iphl, p.length, pseudo(p, l4len)) === 0xffff || (proto === 17 && rd16(p, iphl + 6) === 0);
}

export interface TcpSpec {
  v6?: boolean;
  src?: number[];
  dst?: number[];
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags?: number;
  window?: number;
  id?: number;
  ttl?: number;
  /** TCP option bytes (a multiple of 4). */
  options?: number[];
  payload: Uint8Array;
}

function ipHeader(v6: boolean, proto: number, l4len: number, s: { src?: number[]; dst?: number[]; id?: number; ttl?: number }): Uint8Array {
  if (v6) {
    const h = new Uint8Array(40);
    h[0] = 0x60;
    wr16(h, 4, l4len);
    h[6] = proto;
    h[7] = s.ttl ?? 64;
    h.set(s.src ?? [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
    h.set(s.dst ?? [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
    return h;
  }
  const h = new Uint8Array(20);
  h[0] = 0x45;
  wr16(h, 2, 20 + l4len);
  wr16(h, 4, s.id ?? 0x1234);
  h[6] = 0x40; // DF
  h[8] = s.ttl ?? 64;
  h[9] = proto;
  h.set(s.src ?? [10, 0, 0, 1], 12);
  h.set(s.dst ?? [10, 0, 0, 2], 16);
  wr16(h, 10, ~sum16(h) & 0xffff);
  return h;
}

/** A complete TCP packet with valid checksums. */
export function tcpPacket(s: TcpSpec): Uint8Array {
  const opts = s.options ?? [];
  const thl = 20 + opts.length;
  const l4len = thl + s.payload.length;
  const ip = ipHeader(!!s.v6, 6, l4len, s);
  const p = new Uint8Array(ip.length + l4len);
  p.set(ip);
  const t = ip.length;
  wr16(p, t, s.sport ?? 40000);
  wr16(p, t + 2, s.dport ?? 5201);
  wr32(p, t + 4, s.seq >>> 0);
  wr32(p, t + 8, s.ack ?? 777);
  p[t + 12] = (thl / 4) << 4;
  p[t + 13] = s.flags ?? TCP_ACK;
  wr16(p, t + 14, s.window ?? 502);
  p.set(opts, t + 20);
  p.set(s.payload, t + thl);
  wr16(p, t + 16, ~sum16(p, t, p.length, pseudo(p, l4len)) & 0xffff);
  return p;
}

export function udpPacket(s: { v6?: boolean; sport?: number; dport?: number; id?: number; payload: Uint8Array }): Uint8Array {
  const l4len = 8 + s.payload.length;
  const ip = ipHeader(!!s.v6, 17, l4len, s);
  const p = new Uint8Array(ip.length + l4len);
  p.set(ip);
  const t = ip.length;
  wr16(p, t, s.sport ?? 5000);
  wr16(p, t + 2, s.dport ?? 6000);
  wr16(p, t + 4, l4len);
  p.set(s.payload, t + 8);
  const c = ~sum16(p, t, p.length, pseudo(p, l4len)) & 0xffff;
  wr16(p, t + 6, c === 0 ? 0xffff : c);
  return p;
}

/**
 * Turns a complete packet into what the kernel hands a TUN with offloads: the L4 checksum
 * field replaced by the pseudo-header sum (CHECKSUM_PARTIAL) and the length fields of a
 * super-packet as they are; returns header + packet.
 */
export function vnetFrame(
  pkt: Uint8Array,
  h: { flags?: number; gsoType?: number; hdrLen?: number; gsoSize?: number; partial?: boolean },
): Uint8Array {
  const p = pkt.slice();
  const { iphl, proto } = ipOf(p);
  const csumOff = proto === 6 ? 16 : 6;
  if (h.partial) wr16(p, iphl + csumOff, pseudo(p, p.length - iphl));
  const f = new Uint8Array(10 + p.length);
  const dv = new DataView(f.buffer);
  f[0] = h.flags ?? (h.partial ? 1 : 0);
  f[1] = h.gsoType ?? 0;
  dv.setUint16(2, h.hdrLen ?? 0, true);
  dv.setUint16(4, h.gsoSize ?? 0, true);
  dv.setUint16(6, h.partial ? iphl : 0, true);
  dv.setUint16(8, h.partial ? csumOff : 0, true);
  f.set(p, 10);
  return f;
}

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function parseVnet(f: Uint8Array): VnetHdr {
  const dv = new DataView(f.buffer, f.byteOffset, 10);
  return {
    flags: f[0], gsoType: f[1], hdrLen: dv.getUint16(2, true), gsoSize: dv.getUint16(4, true),
    csumStart: dv.getUint16(6, true), csumOffset: dv.getUint16(8, true),
  };
}

export function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}

export { rd16 };
