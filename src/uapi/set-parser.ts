import { Endpoint } from '../io/endpoint.js';
import { maskAddress, parsePrefix } from '../routing/prefix.js';
import { UAPI_EINVAL, UAPI_EPROTO, quoteForLog, textForLog, uapiError, type UapiError } from './errors.js';
import { parseKeyHex } from './hex.js';

/** One validated `set=1` line, in request order (spec §3). The device applies them in order. */
export type SetOp =
  | { op: 'private_key'; key: Uint8Array } // 32 bytes; all zero = remove key
  | { op: 'listen_port'; port: number }
  | { op: 'fwmark'; mark: number }
  | { op: 'replace_peers' }
  | { op: 'public_key'; key: Uint8Array } // starts a peer section
  | { op: 'update_only' }
  | { op: 'remove' }
  | { op: 'preshared_key'; key: Uint8Array } // all zero = none
  | { op: 'endpoint'; endpoint: Endpoint }
  | { op: 'persistent_keepalive_interval'; seconds: number }
  | { op: 'replace_allowed_ips' }
  | { op: 'allowed_ip'; family: 4 | 6; addr: Uint8Array; bits: number; remove: boolean } // addr masked
  | { op: 'protocol_version' };

export interface SetParseOptions {
  /** Maps an endpoint zone name (`[fe80::1%eth0]:…`) to its interface index; undefined = unknown. */
  resolveZone?: (name: string) => number | undefined;
}

export interface SetParseResult {
  /** Every valid operation before the first bad line (partial application, §3.1 rule 4). */
  ops: SetOp[];
  /** The first bad line's error, or null when the whole request is valid. */
  error: UapiError | null;
}

const DECIMAL = /^[0-9]+$/;
/**
 * The server decodes request bytes with Buffer#toString('utf8'), which turns every invalid
 * UTF-8 sequence into U+FFFD. No valid value contains U+FFFD or NUL, so either means
 * "invalid UTF-8 or NUL byte" (-22).
 */
const BAD_CHARS = /[\u0000\ufffd]/;

function decimal(text: string, max: number): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text); // leading zeros are tolerated (as Go's ParseUint does)
  return n <= max ? n : null;
}

/**
 * Parse the lines of a `set=1` request: `body` is everything after `set=1\n` up to (not
 * including) the terminating blank line; a final line without `\n` counts as a line, and a
 * blank line inside `body` ends it (so a whole `set=1` payload may be passed too).
 * Lines split at the first `=`, nothing is trimmed. Parsing stops at the first bad line.
 */
export function parseSetRequest(body: string, opts: SetParseOptions = {}): SetParseResult {
  const ops: SetOp[] = [];
  let inPeer = false;
  let pos = 0;
  const fail = (errno: number, message: string): SetParseResult => ({ ops, error: uapiError(errno, message) });

  while (pos < body.length) {
    let nl = body.indexOf('\n', pos);
    if (nl < 0) nl = body.length;
    const line = body.slice(pos, nl);
    pos = nl + 1;
    if (line.length === 0) break;

    const eq = line.indexOf('=');
    if (eq < 0) return fail(UAPI_EPROTO, `failed to parse line ${quoteForLog(line)}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (BAD_CHARS.test(line)) {
      return fail(UAPI_EINVAL, `invalid UTF-8 or NUL byte in line ${quoteForLog(line)}`);
    }
    const bad = (what: string): SetParseResult =>
      fail(UAPI_EINVAL, `failed to set ${textForLog(key)}: invalid ${what} ${quoteForLog(value)}`);

    if (key === 'public_key') {
      const k = parseKeyHex(value);
      if (!k) return bad('key');
      ops.push({ op: 'public_key', key: k });
      inPeer = true;
      continue;
    }

    if (!inPeer) {
      switch (key) {
        case 'private_key': {
          const k = parseKeyHex(value);
          if (!k) return bad('key');
          ops.push({ op: 'private_key', key: k });
          break;
        }
        case 'listen_port': {
          const port = decimal(value, 65535);
          if (port === null) return bad('port');
          ops.push({ op: 'listen_port', port });
          break;
        }
        case 'fwmark': {
          const mark = decimal(value, 0xffffffff);
          if (mark === null) return bad('fwmark');
          ops.push({ op: 'fwmark', mark });
          break;
        }
        case 'replace_peers':
          if (value !== 'true') return bad('boolean');
          ops.push({ op: 'replace_peers' });
          break;
        default:
          return fail(UAPI_EINVAL, `invalid UAPI device key: ${textForLog(key)}`);
      }
      continue;
    }

    switch (key) {
      case 'update_only':
      case 'remove':
      case 'replace_allowed_ips':
        if (value !== 'true') return bad('boolean');
        ops.push({ op: key });
        break;
      case 'preshared_key': {
        const k = parseKeyHex(value);
        if (!k) return bad('key');
        ops.push({ op: 'preshared_key', key: k });
        break;
      }
      case 'endpoint': {
        const endpoint = Endpoint.parse(value, opts.resolveZone);
        if (!endpoint) return bad('endpoint');
        ops.push({ op: 'endpoint', endpoint });
        break;
      }
      case 'persistent_keepalive_interval': {
        const seconds = decimal(value, 65535);
        if (seconds === null) return bad('interval');
        ops.push({ op: 'persistent_keepalive_interval', seconds });
        break;
      }
      case 'allowed_ip': {
        const remove = value.startsWith('-');
        const p = parsePrefix(remove ? value.slice(1) : value);
        if (!p) return bad('prefix');
        ops.push({ op: 'allowed_ip', family: p.family, addr: maskAddress(p.addr, p.bits), bits: p.bits, remove });
        break;
      }
      case 'protocol_version':
        if (value !== '1') return bad('protocol version');
        ops.push({ op: 'protocol_version' });
        break;
      default:
        return fail(UAPI_EINVAL, `invalid UAPI peer key: ${textForLog(key)}`);
    }
  }
  return { ops, error: null };
}
