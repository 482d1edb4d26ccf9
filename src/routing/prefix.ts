import { isIPv4 } from 'node:net';
import { formatIPv4, formatIPv6, parseIPv6 } from '../io/endpoint.js';

export type IPFamily = 4 | 6;

/** An address prefix; `addr` is 4 (IPv4) or 16 (IPv6) bytes. */
export interface Prefix {
  family: IPFamily;
  addr: Uint8Array;
  bits: number;
}

/** Address length in bytes for a family. */
export function familyBytes(family: IPFamily): 4 | 16 {
  return family === 4 ? 4 : 16;
}

/** Throws unless `family`, `addr` and `bits` describe a valid prefix. */
export function checkPrefix(family: number, addr: Uint8Array, bits: number): void {
  if (family !== 4 && family !== 6) throw new RangeError(`invalid address family: ${family}`);
  const len = family === 4 ? 4 : 16;
  if (addr.length !== len) {
    throw new RangeError(`IPv${family} address must be ${len} bytes, got ${addr.length}`);
  }
  if (!Number.isInteger(bits) || bits < 0 || bits > len * 8) {
    throw new RangeError(`invalid IPv${family} prefix length: ${bits}`);
  }
}

/** Copy of `addr` with every bit after the first `bits` cleared. */
export function maskAddress(addr: Uint8Array, bits: number): Uint8Array {
  const out = addr.slice();
  const full = bits >>> 3;
  if (full < out.length) {
    out[full] &= (0xff00 >>> (bits & 7)) & 0xff;
    out.fill(0, full + 1);
  }
  return out;
}

/** `10.0.0.0/8`, `2001:db8::/32` (RFC 5952); host bits are cleared. */
export function formatPrefix(family: IPFamily, addr: Uint8Array, bits: number): string {
  checkPrefix(family, addr, bits);
  const masked = maskAddress(addr, bits);
  return `${family === 4 ? formatIPv4(masked, 0) : formatIPv6(masked, 0)}/${bits}`;
}

const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
const PREFIX_LEN = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Strict `addr/len` parser (the UAPI `allowed_ip` value): `len` is mandatory, plain decimal
 * without sign or leading zeros (what `wg` sends); IPv4 0–32 with canonical dotted quads,
 * IPv6 0–128 without zone. Host bits are kept; the table masks them. Null when invalid.
 */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return null;
  const host = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!PREFIX_LEN.test(lenText)) return null;
  const bits = Number(lenText);
  if (host.includes(':')) {
    if (bits > 128 || !IPV6_CHARS.test(host)) return null;
    const addr = parseIPv6(host);
    return addr ? { family: 6, addr, bits } : null;
  }
  if (bits > 32 || !isIPv4(host)) return null;
  const addr = new Uint8Array(4);
  const parts = host.split('.');
  for (let i = 0; i < 4; i++) addr[i] = Number(parts[i]);
  return { family: 4, addr, bits };
}
