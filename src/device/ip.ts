/**
 * Minimal IP header inspection for routing, on raw bytes, without allocation.
 * Only what cryptokey routing needs: version, addresses, total length (C8, G6).
 */

/** Offsets of the addresses inside IPv4/IPv6 headers. */
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;
export const IPV4_MIN_HEADER = 20;
export const IPV6_HEADER = 40;

/**
 * Family (4 or 6) of a plausible IP packet at buf[off, off+len), or 0 when it is not one:
 * too short, bad version, bad IHL, or a length field larger than the data.
 */
export function ipFamily(buf: Uint8Array, off: number, len: number): 0 | 4 | 6 {
  if (len < IPV4_MIN_HEADER) return 0;
  const v = buf[off] >> 4;
  if (v === 4) {
    const ihl = (buf[off] & 0x0f) * 4;
    if (ihl < IPV4_MIN_HEADER) return 0;
    const total = (buf[off + 2] << 8) | buf[off + 3];
    if (total < ihl || total > len) return 0;
    return 4;
  }
  if (v === 6) {
    if (len < IPV6_HEADER) return 0;
    const payload = (buf[off + 4] << 8) | buf[off + 5];
    if (IPV6_HEADER + payload > len) return 0;
    return 6;
  }
  return 0;
}

/** The IP packet's own length (total length / 40 + payload length); call after ipFamily. */
export function ipLength(buf: Uint8Array, off: number, family: 4 | 6): number {
  return family === 4
    ? (buf[off + 2] << 8) | buf[off + 3]
    : IPV6_HEADER + ((buf[off + 4] << 8) | buf[off + 5]);
}

/** Offset of the destination address of the packet at `off`. */
export function dstOffset(off: number, family: 4 | 6): number {
  return off + (family === 4 ? IPV4_DST : IPV6_DST);
}

/** Offset of the source address of the packet at `off`. */
export function srcOffset(off: number, family: 4 | 6): number {
  return off + (family === 4 ? IPV4_SRC : IPV6_SRC);
}

/**
 * Size after WireGuard padding (C6): round up to 16, capped at the MTU; packets larger
 * than the MTU are padded as if their length were `len mod mtu`.
 */
export function paddedLength(len: number, mtu: number): number {
  if (mtu <= 0) return (len + 15) & ~15;
  let last = len;
  if (last > mtu) last %= mtu;
  let padded = (last + 15) & ~15;
  if (padded > mtu) padded = mtu;
  return len + (padded - last);
}
