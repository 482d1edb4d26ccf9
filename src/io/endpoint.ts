import { isIPv4, isIPv6 } from 'node:net';

/**
 * UDP endpoints in two forms:
 *
 * 1. An ENDPOINT_RECORD_SIZE-byte record inside a PacketBatch (written by the UDP layer on
 *    receive, read by it on send), compared and copied without allocation:
 *
 *    off  size  field
 *    0    1     family: 0 none, 4 IPv4, 6 IPv6
 *    1    1     flags: bit 0 = `local` below is valid (sticky source, IP_PKTINFO)
 *    2    2     port, network byte order
 *    4    4     IPv6 scope id (little-endian u32)
 *    8    16    remote address (IPv4 uses bytes 8..11)
 *    24   16    local address the datagram arrived on / should leave from (IPv4: 24..27)
 *    40   4     local interface index (little-endian u32)
 *    44   4     route generation the sticky source was learned in (NativeBind: a source
 *                 older than the last route change is dropped on send); opaque, else zero
 *
 * 2. An immutable `Endpoint` object, created only when a peer's endpoint changes.
 */
export const ENDPOINT_RECORD_SIZE = 48;
export const EP_FAMILY = 0;
export const EP_FLAGS = 1;
export const EP_PORT = 2;
export const EP_SCOPE = 4;
export const EP_ADDR = 8;
export const EP_LOCAL = 24;
export const EP_IFINDEX = 40;
export const EP_FLAG_LOCAL = 1;
/** Bytes that identify the remote side (family, port, scope, address). */
export const EP_REMOTE_BYTES = 24;

export class Endpoint {
  /** The 48-byte record (remote part filled, local part as learned). */
  readonly record: Uint8Array;

  private constructor(record: Uint8Array) {
    this.record = record;
  }

  get family(): 4 | 6 {
    return this.record[EP_FAMILY] === 6 ? 6 : 4;
  }

  get port(): number {
    return (this.record[EP_PORT] << 8) | this.record[EP_PORT + 1];
  }

  get scopeId(): number {
    return new DataView(this.record.buffer, this.record.byteOffset).getUint32(EP_SCOPE, true);
  }

  /** Remote address bytes (4 or 16). */
  get addressBytes(): Uint8Array {
    return this.record.slice(EP_ADDR, EP_ADDR + (this.family === 4 ? 4 : 16));
  }

  /** Remote address as text (IPv6 RFC 5952, without zone). */
  get address(): string {
    return this.family === 4
      ? formatIPv4(this.record, EP_ADDR)
      : formatIPv6(this.record, EP_ADDR);
  }

  /** `a.b.c.d:port` or `[v6]:port` (zone as `%index`), the UAPI format. */
  toString(): string {
    if (this.family === 4) return `${this.address}:${this.port}`;
    const scope = this.scopeId;
    return `[${this.address}${scope ? `%${scope}` : ''}]:${this.port}`;
  }

  /** True when `rec[off..]` names the same remote (family, port, scope, address). */
  sameRemote(rec: Uint8Array, off: number): boolean {
    const r = this.record;
    for (let i = 0; i < EP_REMOTE_BYTES; i++) if (r[i] !== rec[off + i]) return false;
    return true;
  }

  /** True when `rec[off..]` equals this record entirely (remote and sticky local source). */
  sameRecord(rec: Uint8Array, off: number): boolean {
    const r = this.record;
    for (let i = 0; i < ENDPOINT_RECORD_SIZE; i++) if (r[i] !== rec[off + i]) return false;
    return true;
  }

  /** Copy of this endpoint without the sticky local source. */
  withoutLocal(): Endpoint {
    const rec = this.record.slice();
    rec[EP_FLAGS] &= ~EP_FLAG_LOCAL;
    rec.fill(0, EP_LOCAL, ENDPOINT_RECORD_SIZE);
    return new Endpoint(rec);
  }

  /** Build from a record inside a batch (copies it). */
  static fromRecord(rec: Uint8Array, off = 0): Endpoint {
    return new Endpoint(rec.slice(off, off + ENDPOINT_RECORD_SIZE));
  }

  /** Build from an address string (IPv4 or IPv6, no zone) and port. */
  static fromAddress(address: string, port: number, scopeId = 0): Endpoint {
    const rec = new Uint8Array(ENDPOINT_RECORD_SIZE);
    if (isIPv4(address)) {
      rec[EP_FAMILY] = 4;
      const parts = address.split('.');
      for (let i = 0; i < 4; i++) rec[EP_ADDR + i] = Number(parts[i]);
    } else if (isIPv6(address)) {
      rec[EP_FAMILY] = 6;
      const bytes = parseIPv6(address);
      if (!bytes) throw new TypeError(`invalid IPv6 address: ${address}`);
      rec.set(bytes, EP_ADDR);
      new DataView(rec.buffer).setUint32(EP_SCOPE, scopeId >>> 0, true);
    } else {
      throw new TypeError(`invalid IP address: ${address}`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port: ${port}`);
    rec[EP_PORT] = port >> 8;
    rec[EP_PORT + 1] = port & 0xff;
    return new Endpoint(rec);
  }

  /**
   * Parse the UAPI/`wg` form: `a.b.c.d:port` or `[v6]:port` or `[v6%zone]:port`.
   * Hostnames are rejected. `resolveZone` maps a zone name to an interface index
   * (numeric zones are used as they are). Returns null when invalid.
   */
  static parse(text: string, resolveZone?: (name: string) => number | undefined): Endpoint | null {
    let host: string;
    let portText: string;
    if (text.startsWith('[')) {
      const close = text.indexOf(']:');
      if (close < 0) return null;
      host = text.slice(1, close);
      portText = text.slice(close + 2);
    } else {
      const colon = text.lastIndexOf(':');
      if (colon < 0) return null;
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      if (!isIPv4(host)) return null;
    }
    // Leading zeros are tolerated (`[fd77::2]:051820`, spec §3.3), so no digit-count limit.
    if (!/^[0-9]+$/.test(portText)) return null;
    const port = Number(portText);
    if (port > 65535) return null;
    let scope = 0;
    if (text.startsWith('[')) {
      const pct = host.indexOf('%');
      if (pct >= 0) {
        const zone = host.slice(pct + 1);
        host = host.slice(0, pct);
        if (zone.length === 0) return null;
        if (/^[0-9]+$/.test(zone)) scope = Number(zone);
        else {
          const idx = resolveZone?.(zone);
          if (idx === undefined) return null;
          scope = idx;
        }
        if (scope > 0xffffffff) return null;
      }
      if (!isIPv6(host)) return null;
    }
    return Endpoint.fromAddress(host, port, scope);
  }
}

export function formatIPv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952: lowercase, longest run (≥ 2) of zero groups compressed, first one on ties. */
export function formatIPv6(b: Uint8Array, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped addresses keep the dotted tail, as inet_ntop writes them.
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, off + 12)}`;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

/** Parse an IPv6 address (no zone; embedded IPv4 tail allowed) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (!isIPv6(text)) return null;
  let s = text;
  const out = new Uint8Array(16);
  let tail4: number[] | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail4 = s.slice(lastColon + 1).split('.').map(Number);
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.indexOf('::');
  let head: string[] = [];
  let tail: string[] = [];
  if (dbl >= 0) {
    head = s.slice(0, dbl) ? s.slice(0, dbl).split(':') : [];
    tail = s.slice(dbl + 2) ? s.slice(dbl + 2).split(':') : [];
  } else {
    head = s.split(':');
  }
  const groups = new Array<number>(8).fill(0);
  head.forEach((g, i) => (groups[i] = parseInt(g, 16)));
  tail.forEach((g, i) => (groups[8 - tail.length + i] = parseInt(g, 16)));
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}
