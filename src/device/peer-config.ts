import { base64ToKey } from '../crypto/index.js';
import { Endpoint } from '../io/endpoint.js';
import { parsePrefix } from '../routing/index.js';
import type { SetOp } from '../uapi/index.js';

/** A peer's configuration for `setPeer` (library form of a UAPI peer section). */
export interface PeerConfig {
  /** 32 bytes or base64. */
  publicKey: Uint8Array | string;
  /** 32 bytes or base64; null/zero = none. */
  presharedKey?: Uint8Array | string | null;
  /** `host:port` / `[v6]:port`, or an Endpoint. */
  endpoint?: string | Endpoint | null;
  /** CIDR prefixes; replaces the peer's list when given. */
  allowedIPs?: string[];
  /** Seconds; 0 = off. */
  persistentKeepalive?: number;
}

/** A key given as 32 bytes or base64; throws on anything else. */
export function toKey(k: Uint8Array | string, what: string): Uint8Array {
  if (typeof k === 'string') return base64ToKey(k);
  if (k.length !== 32) throw new RangeError(`${what} must be 32 bytes`);
  return k;
}

/**
 * The UAPI operations equivalent to a PeerConfig (one peer section), so the library API and
 * `wg` configure peers through the same code. Throws on invalid values.
 */
export function peerConfigOps(config: PeerConfig): SetOp[] {
  const ops: SetOp[] = [{ op: 'public_key', key: toKey(config.publicKey, 'public key') }];
  if (config.presharedKey !== undefined) {
    ops.push({ op: 'preshared_key', key: config.presharedKey === null ? new Uint8Array(32) : toKey(config.presharedKey, 'preshared key') });
  }
  if (config.endpoint !== undefined && config.endpoint !== null) {
    const ep = typeof config.endpoint === 'string' ? Endpoint.parse(config.endpoint) : config.endpoint;
    if (!ep) throw new TypeError(`invalid endpoint: ${String(config.endpoint)}`);
    ops.push({ op: 'endpoint', endpoint: ep });
  }
  if (config.persistentKeepalive !== undefined) {
    const s = config.persistentKeepalive;
    if (!Number.isInteger(s) || s < 0 || s > 65535) throw new RangeError('persistentKeepalive must be 0..65535');
    ops.push({ op: 'persistent_keepalive_interval', seconds: s });
  }
  if (config.allowedIPs !== undefined) {
    ops.push({ op: 'replace_allowed_ips' });
    for (const text of config.allowedIPs) {
      const p = parsePrefix(text);
      if (!p) throw new TypeError(`invalid allowed IP: ${text}`);
      ops.push({ op: 'allowed_ip', family: p.family, addr: p.addr, bits: p.bits, remove: false });
    }
  }
  return ops;
}
