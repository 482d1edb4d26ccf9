/**
 * Build and parse the IP packets tests push through a tunnel: ICMP/ICMPv6 echo and UDP,
 * over IPv4 and IPv6, with correct checksums. Addresses are text ("10.0.0.1", "fd00::1").
 *
 *   const req = buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 7, seq: 1 });
 *   const rep = echoReplyFor(req);            // what the far host would answer
 *   parseIcmpEcho(rep)  // { type: 'reply', src: '10.0.0.2', ..., checksumOk: true }
 */
import { isIPv4 } from 'node:net';
import { formatIPv4, formatIPv6, parseIPv6 } from '../../src/io/endpoint.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;

/** RFC 1071 one's-complement sum of `bytes[off, off+len)` folded to 16 bits, plus `initial`. */
export function onesComplementSum(bytes: Uint8Array, off = 0, len = bytes.length - off, initial = 0): number {
  let sum = initial;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (complement of the one's-complement sum). */
export function internetChecksum(bytes: Uint8Array, off = 0, len = bytes.length - off, initial = 0): number {
  return ~onesComplementSum(bytes, off, len, initial) & 0xffff;
}

/** Checksum of the IPv4 header at `packet[0]` (its checksum field must be zero to compute it). */
export function ipv4HeaderChecksum(packet: Uint8Array): number {
  const ihl = (packet[0] & 0x0f) * 4;
  return internetChecksum(packet, 0, ihl);
}

/** True when the IPv4 header checksum verifies. */
export function ipv4HeaderChecksumOk(packet: Uint8Array): boolean {
  const ihl = (packet[0] & 0x0f) * 4;
  return onesComplementSum(packet, 0, ihl) === 0xffff;
}

function addressBytes(address: string): Uint8Array {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  const b = parseIPv6(address);
  if (!b) throw new TypeError(`invalid IP address: ${address}`);
  return b;
}

function familyOf(src: string, dst: string): 4 | 6 {
  const f = isIPv4(src) ? 4 : 6;
  if ((isIPv4(dst) ? 4 : 6) !== f) throw new TypeError(`address families differ: ${src} ${dst}`);
  return f;
}

/** Sum of the pseudo-header used by UDP/ICMPv6 checksums. */
function pseudoHeaderSum(family: 4 | 6, src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  let sum = onesComplementSum(src) + onesComplementSum(dst);
  sum += family === 4 ? proto + len : proto + (len >>> 16) + (len & 0xffff);
  return sum;
}

/** An IP packet (v4 or v6 per the addresses) with `payload` as the transport segment. */
function ipPacket(family: 4 | 6, src: Uint8Array, dst: Uint8Array, proto: number, segment: Uint8Array, ttl: number): Uint8Array {
  const hl = family === 4 ? 20 : 40;
  const p = new Uint8Array(hl + segment.length);
  const v = new DataView(p.buffer);
  if (family === 4) {
    p[0] = 0x45;
    v.setUint16(2, p.length);
    v.setUint16(6, 0x4000); // DF
    p[8] = ttl;
    p[9] = proto;
    p.set(src, 12);
    p.set(dst, 16);
    v.setUint16(10, ipv4HeaderChecksum(p));
  } else {
    p[0] = 0x60;
    v.setUint16(4, segment.length);
    p[6] = proto;
    p[7] = ttl;
    p.set(src, 8);
    p.set(dst, 24);
  }
  p.set(segment, hl);
  return p;
}

export interface EchoOptions {
  src: string;
  dst: string;
  /** Echo identifier (default 0x1234). */
  id?: number;
  /** Sequence number (default 1). */
  seq?: number;
  /** Echo data (default 56 bytes 0x00..0x37, like ping). */
  payload?: Uint8Array;
  /** Build a reply instead of a request. */
  reply?: boolean;
  ttl?: number;
}

/** ICMP (IPv4) or ICMPv6 echo request/reply, family chosen by the addresses. */
export function buildIcmpEcho(o: EchoOptions): Uint8Array {
  const family = familyOf(o.src, o.dst);
  const src = addressBytes(o.src);
  const dst = addressBytes(o.dst);
  const payload = o.payload ?? Uint8Array.from({ length: 56 }, (_, i) => i);
  const seg = new Uint8Array(8 + payload.length);
  const v = new DataView(seg.buffer);
  seg[0] = family === 4 ? (o.reply ? ICMP_ECHO_REPLY : ICMP_ECHO_REQUEST) : o.reply ? ICMPV6_ECHO_REPLY : ICMPV6_ECHO_REQUEST;
  v.setUint16(4, o.id ?? 0x1234);
  v.setUint16(6, o.seq ?? 1);
  seg.set(payload, 8);
  const initial = family === 6 ? pseudoHeaderSum(6, src, dst, IPPROTO_ICMPV6, seg.length) : 0;
  v.setUint16(2, internetChecksum(seg, 0, seg.length, initial));
  return ipPacket(family, src, dst, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, seg, o.ttl ?? 64);
}

export interface ParsedEcho {
  family: 4 | 6;
  src: string;
  dst: string;
  type: 'request' | 'reply';
  id: number;
  seq: number;
  payload: Uint8Array;
  /** IPv4 header checksum (v4 only) and ICMP checksum both verify. */
  checksumOk: boolean;
}

interface ParsedIp {
  family: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  srcBytes: Uint8Array;
  dstBytes: Uint8Array;
  segment: Uint8Array;
  headerOk: boolean;
}

/** Split an IP packet into addresses, protocol and transport segment (no extension headers). */
export function parseIp(packet: Uint8Array): ParsedIp | null {
  if (packet.length < 1) return null;
  const version = packet[0] >> 4;
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (version === 4 && packet.length >= 20) {
    const ihl = (packet[0] & 0x0f) * 4;
    const total = v.getUint16(2);
    if (ihl < 20 || total < ihl || total > packet.length) return null;
    return {
      family: 4,
      src: formatIPv4(packet, 12),
      dst: formatIPv4(packet, 16),
      proto: packet[9],
      srcBytes: packet.slice(12, 16),
      dstBytes: packet.slice(16, 20),
      segment: packet.subarray(ihl, total),
      headerOk: ipv4HeaderChecksumOk(packet),
    };
  }
  if (version === 6 && packet.length >= 40) {
    const plen = v.getUint16(4);
    if (40 + plen > packet.length) return null;
    return {
      family: 6,
      src: formatIPv6(packet, 8),
      dst: formatIPv6(packet, 24),
      proto: packet[6],
      srcBytes: packet.slice(8, 24),
      dstBytes: packet.slice(24, 40),
      segment: packet.subarray(40, 40 + plen),
      headerOk: true,
    };
  }
  return null;
}

/** Parse an ICMP/ICMPv6 echo request or reply; null for anything else. */
export function parseIcmpEcho(packet: Uint8Array): ParsedEcho | null {
  const ip = parseIp(packet);
  if (!ip || ip.segment.length < 8) return null;
  const seg = ip.segment;
  let type: 'request' | 'reply';
  let sumOk: boolean;
  if (ip.family === 4) {
    if (ip.proto !== IPPROTO_ICMP || (seg[0] !== ICMP_ECHO_REQUEST && seg[0] !== ICMP_ECHO_REPLY)) return null;
    type = seg[0] === ICMP_ECHO_REQUEST ? 'request' : 'reply';
    sumOk = onesComplementSum(seg) === 0xffff;
  } else {
    if (ip.proto !== IPPROTO_ICMPV6 || (seg[0] !== ICMPV6_ECHO_REQUEST && seg[0] !== ICMPV6_ECHO_REPLY)) return null;
    type = seg[0] === ICMPV6_ECHO_REQUEST ? 'request' : 'reply';
    const initial = pseudoHeaderSum(6, ip.srcBytes, ip.dstBytes, IPPROTO_ICMPV6, seg.length);
    sumOk = onesComplementSum(seg, 0, seg.length, initial) === 0xffff;
  }
  if (seg[1] !== 0) return null;
  return {
    family: ip.family,
    src: ip.src,
    dst: ip.dst,
    type,
    id: (seg[4] << 8) | seg[5],
    seq: (seg[6] << 8) | seg[7],
    payload: seg.slice(8),
    checksumOk: sumOk && ip.headerOk,
  };
}

/** The reply a host would send to echo request `request` (null if it is not one). */
export function echoReplyFor(request: Uint8Array): Uint8Array | null {
  const e = parseIcmpEcho(request);
  if (!e || e.type !== 'request') return null;
  return buildIcmpEcho({ src: e.dst, dst: e.src, id: e.id, seq: e.seq, payload: e.payload, reply: true });
}

export interface UdpOptions {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  ttl?: number;
}

/** A UDP datagram in an IPv4 or IPv6 packet (family by the addresses), with its checksum. */
export function buildUdp(o: UdpOptions): Uint8Array {
  const family = familyOf(o.src, o.dst);
  const src = addressBytes(o.src);
  const dst = addressBytes(o.dst);
  const seg = new Uint8Array(8 + o.payload.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, o.srcPort);
  v.setUint16(2, o.dstPort);
  v.setUint16(4, seg.length);
  seg.set(o.payload, 8);
  let sum = internetChecksum(seg, 0, seg.length, pseudoHeaderSum(family, src, dst, IPPROTO_UDP, seg.length));
  if (sum === 0) sum = 0xffff; // 0 means "no checksum" in UDP/IPv4 and is invalid in IPv6
  v.setUint16(6, sum);
  return ipPacket(family, src, dst, IPPROTO_UDP, seg, o.ttl ?? 64);
}

/** A UDP datagram in an IPv4 packet. */
export function buildUdp4(o: UdpOptions): Uint8Array {
  if (!isIPv4(o.src) || !isIPv4(o.dst)) throw new TypeError('buildUdp4 needs IPv4 addresses');
  return buildUdp(o);
}

export interface ParsedUdp {
  family: 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  checksumOk: boolean;
}

/** Parse a UDP packet (v4 or v6); null for anything else. */
export function parseUdp(packet: Uint8Array): ParsedUdp | null {
  const ip = parseIp(packet);
  if (!ip || ip.proto !== IPPROTO_UDP || ip.segment.length < 8) return null;
  const seg = ip.segment;
  const v = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
  const len = v.getUint16(4);
  if (len < 8 || len > seg.length) return null;
  const stored = v.getUint16(6);
  const sumOk =
    (ip.family === 4 && stored === 0) ||
    onesComplementSum(seg, 0, len, pseudoHeaderSum(ip.family, ip.srcBytes, ip.dstBytes, IPPROTO_UDP, len)) === 0xffff;
  return {
    family: ip.family,
    src: ip.src,
    dst: ip.dst,
    srcPort: v.getUint16(0),
    dstPort: v.getUint16(2),
    payload: seg.slice(8, len),
    checksumOk: sumOk && ip.headerOk,
  };
}
