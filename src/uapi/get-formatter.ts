import type { Endpoint } from '../io/endpoint.js';
import { formatPrefix } from '../routing/prefix.js';
import { isAllZero, toHex } from './hex.js';

export interface PeerSnapshot {
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  endpoint: Endpoint | null;
  lastHandshakeSec: bigint;
  lastHandshakeNsec: number;
  txBytes: bigint;
  rxBytes: bigint;
  persistentKeepaliveInterval: number;
  /** In the peer's insertion order; host bits are cleared when formatted. */
  allowedIPs: Array<{ family: 4 | 6; addr: Uint8Array; bits: number }>;
}

export interface DeviceSnapshot {
  /** Clamped private key; null (or all zero) = none. */
  privateKey: Uint8Array | null;
  /** The port actually bound; 0 = omitted. */
  listenPort: number;
  /** 0 = omitted. */
  fwmark: number;
  /** In creation order (spec §2.2). */
  peers: Iterable<PeerSnapshot>;
}

const ZERO_KEY_HEX = '0'.repeat(64);

/** The complete `get=1` reply (spec §2), ending with `errno=0\n\n`. */
export function formatGetReply(snapshot: DeviceSnapshot): string {
  const lines: string[] = [];
  if (snapshot.privateKey && !isAllZero(snapshot.privateKey)) {
    lines.push(`private_key=${toHex(snapshot.privateKey)}`);
  }
  if (snapshot.listenPort !== 0) lines.push(`listen_port=${snapshot.listenPort}`);
  if (snapshot.fwmark !== 0) lines.push(`fwmark=${snapshot.fwmark >>> 0}`);
  for (const p of snapshot.peers) {
    lines.push(`public_key=${toHex(p.publicKey)}`);
    lines.push(`preshared_key=${p.presharedKey ? toHex(p.presharedKey) : ZERO_KEY_HEX}`);
    lines.push('protocol_version=1');
    if (p.endpoint) lines.push(`endpoint=${p.endpoint.toString()}`);
    lines.push(`last_handshake_time_sec=${p.lastHandshakeSec}`);
    lines.push(`last_handshake_time_nsec=${p.lastHandshakeNsec}`);
    lines.push(`tx_bytes=${p.txBytes}`);
    lines.push(`rx_bytes=${p.rxBytes}`);
    lines.push(`persistent_keepalive_interval=${p.persistentKeepaliveInterval}`);
    for (const a of p.allowedIPs) lines.push(`allowed_ip=${formatPrefix(a.family, a.addr, a.bits)}`);
  }
  lines.push('errno=0', '', '');
  return lines.join('\n');
}
