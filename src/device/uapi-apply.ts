/*
 * Applying parsed `set=1` operations to a device, line by line (uapi-cli-spec §3): earlier
 * operations stay applied when a later one fails, and the end-of-section actions (flush
 * staged packets, keepalive when persistent keepalive was just enabled) run for the section
 * in progress even then.
 */
import { constantTimeEqual, isAllZero } from '../crypto/index.js';
import { BindError } from '../io/bind.js';
import { uapiError, UAPI_EADDRINUSE, UAPI_EINVAL, type SetOp, type UapiError } from '../uapi/index.js';
import type { Device } from './device.js';
import type { Peer } from './peer.js';
import { flushStaged, sendKeepalive } from './send-path.js';

/** Result of applying operations: 0, or the first failure (errno and reason). */
export type ApplyResult = 0 | UapiError;

interface Section {
  peer: Peer | null;
  /** Lines are validated but have no effect (own key, removed, update_only on a new peer). */
  ignored: boolean;
  created: boolean;
  keepaliveEnabled: boolean;
}

/**
 * Apply `ops` in order; returns 0 or the first failure (the caller logs and replies it).
 * Synchronous unless an operation needs the sockets rebound (listen_port), in which case a
 * Promise is returned.
 */
export function applySetOps(dev: Device, ops: SetOp[]): ApplyResult | Promise<ApplyResult> {
  const section: Section = { peer: null, ignored: false, created: false, keepaliveEnabled: false };
  return run(dev, ops, 0, section);
}

function run(dev: Device, ops: SetOp[], start: number, s: Section): ApplyResult | Promise<ApplyResult> {
  for (let i = start; i < ops.length; i++) {
    const op = ops[i];
    if (op.op === 'listen_port') {
      return dev.setListenPort(op.port).then(
        () => run(dev, ops, i + 1, s),
        (e: unknown) => {
          endSection(dev, s);
          return uapiError(UAPI_EADDRINUSE, `failed to set listen_port: ${errorText(e)}`);
        },
      );
    }
    const result = applyOne(dev, op, s);
    if (result !== 0) {
      endSection(dev, s);
      return result;
    }
  }
  endSection(dev, s);
  return 0;
}

function applyOne(dev: Device, op: Exclude<SetOp, { op: 'listen_port' }>, s: Section): ApplyResult {
  switch (op.op) {
    case 'private_key':
      dev.setPrivateKey(op.key);
      return 0;
    case 'fwmark':
      try {
        dev.setFwmark(op.mark);
        return 0;
      } catch (e) {
        return uapiError(UAPI_EADDRINUSE, `failed to set fwmark: ${errorText(e)}`);
      }
    case 'replace_peers':
      for (const p of [...dev.peersByKey.values()]) dev.removePeerObject(p);
      return 0;
    case 'public_key': {
      endSection(dev, s);
      s.peer = null;
      s.created = false;
      s.keepaliveEnabled = false;
      s.ignored = dev.publicKey !== null && constantTimeEqual(dev.publicKey, op.key);
      if (s.ignored) return 0;
      let peer = dev.getPeer(op.key);
      if (!peer) {
        try {
          peer = dev.createPeer(op.key);
        } catch {
          s.ignored = true;
          return uapiError(UAPI_EINVAL, 'too many peers');
        }
        s.created = true;
      }
      s.peer = peer;
      return 0;
    }
    case 'protocol_version':
      return 0;
    default:
      break;
  }
  // Peer keys from here on.
  const peer = s.peer;
  if (s.ignored || peer === null) return 0;
  switch (op.op) {
    case 'update_only':
      if (s.created) {
        dev.removePeerObject(peer);
        s.ignored = true;
        s.peer = null;
      }
      return 0;
    case 'remove':
      dev.removePeerObject(peer);
      s.ignored = true;
      s.peer = null;
      return 0;
    case 'preshared_key':
      peer.presharedKey = isAllZero(op.key) ? null : op.key.slice();
      dev.refreshRemote(peer);
      return 0;
    case 'endpoint':
      peer.endpoint = op.endpoint;
      return 0;
    case 'persistent_keepalive_interval': {
      const was = peer.persistentKeepalive;
      peer.persistentKeepalive = op.seconds;
      peer.timers.setPersistentKeepalive(op.seconds);
      if (was === 0 && op.seconds > 0) s.keepaliveEnabled = true;
      return 0;
    }
    case 'replace_allowed_ips':
      dev.allowedIPs.removeByPeer(peer);
      return 0;
    case 'allowed_ip':
      if (op.remove) dev.allowedIPs.remove(op.family, op.addr, op.bits, peer);
      else dev.allowedIPs.insert(op.family, op.addr, op.bits, peer);
      return 0;
  }
  return 0;
}

/** End of a peer section (§3.1 rule 6). */
function endSection(dev: Device, s: Section): void {
  const peer = s.peer;
  if (peer && !s.ignored && dev.isUp && dev.peersByKey.get(peer.publicKeyHex) === peer) {
    flushStaged(dev, peer);
    if (s.keepaliveEnabled) sendKeepalive(dev, peer);
  }
  s.peer = null;
  s.keepaliveEnabled = false;
}

function errorText(e: unknown): string {
  if (e instanceof BindError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
