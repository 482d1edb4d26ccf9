import type { RandomSource } from '../clock.js';
import {
  COOKIE_REFRESH_TIME,
  COOKIE_VALIDITY,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_COOKIE_REPLY_SIZE,
} from '../constants.js';
import { constantTimeEqual, mac, xaeadOpen, xaeadSeal } from '../crypto/index.js';
import { EP_ADDR, EP_FAMILY, EP_PORT } from '../io/endpoint.js';
import type { LocalIdentity, RemoteIdentity } from './handshake.js';
import { wipe } from './ikpsk2.js';
import {
  COOKIE_ENCRYPTED,
  COOKIE_NONCE,
  COOKIE_NONCE_SIZE,
  COOKIE_RECEIVER,
  COOKIE_SIZE,
  MAC_SIZE,
  mac1Offset,
  mac2Offset,
  writeMessageType,
  writeU32LE,
} from './messages.js';

/**
 * mac1/mac2 and cookie replies (whitepaper §5.4.4, §5.4.7).
 *
 * A `msg` argument is a handshake message occupying msg[0, len): an initiation (148 B) or a
 * response (92 B); both end with mac1 ‖ mac2. The caller checks the type/size first.
 *
 * Cookie value (local to the responder, B7): MAC(secret, address ‖ port) where address is
 * the endpoint record's remote address (4 bytes for IPv4, 16 for IPv6) and port is its two
 * bytes in network order, e.g. 127.0.0.1:52000 → 7f000001 cb20. The IPv6 scope id is not
 * included (like the kernel).
 */

const SECRET_SIZE = 32;

function sourceAddress(rec: Uint8Array, off: number): Uint8Array {
  const n = rec[off + EP_FAMILY] === 4 ? 4 : 16;
  return rec.subarray(off + EP_ADDR, off + EP_ADDR + n);
}

function sourcePort(rec: Uint8Array, off: number): Uint8Array {
  return rec.subarray(off + EP_PORT, off + EP_PORT + 2);
}

/** Responder side, one per local identity: verifies macs and answers with cookie replies. */
export class CookieChecker {
  private mac1Key: Uint8Array | null = null;
  private cookieKey: Uint8Array | null = null;
  private readonly secret = new Uint8Array(SECRET_SIZE);
  /** `now` when the secret was made; -Infinity = none yet. */
  private secretBirth = -Infinity;

  constructor(
    local: LocalIdentity | null,
    private readonly random: RandomSource,
  ) {
    this.setLocal(local);
  }

  /** Switch to a new local key (or none: then every mac1 check fails). Keeps the secret. */
  setLocal(local: LocalIdentity | null): void {
    this.mac1Key = local ? local.mac1Key : null;
    this.cookieKey = local ? local.cookieKey : null;
  }

  /** Install a fixed secret born at `now` (tests, transcript). */
  setSecret(secret: Uint8Array, now: number): void {
    if (secret.length !== SECRET_SIZE) throw new RangeError('cookie secret must be 32 bytes');
    this.secret.set(secret);
    this.secretBirth = now;
  }

  /** mac1 = MAC(HASH("mac1----" ‖ our public), msg[0, mac1)) — call before any Curve25519 work. */
  checkMac1(msg: Uint8Array, len: number): boolean {
    if (!this.mac1Key || len < 2 * MAC_SIZE || len > msg.length) return false;
    const m1 = mac1Offset(len);
    const expected = mac(this.mac1Key, msg.subarray(0, m1));
    return constantTimeEqual(expected, msg.subarray(m1, m1 + MAC_SIZE));
  }

  /**
   * mac2 = MAC(cookie for the source endpoint, msg[0, mac2)). The source is the endpoint
   * record at srcRecord[srcOff..] (io/endpoint.ts). A secret older than
   * COOKIE_REFRESH_TIME is rotated first, so cookies issued under it stop working.
   */
  checkMac2(msg: Uint8Array, len: number, srcRecord: Uint8Array, srcOff: number, now: number): boolean {
    if (len < 2 * MAC_SIZE || len > msg.length) return false;
    const cookie = this.cookieFor(srcRecord, srcOff, now);
    const m2 = mac2Offset(len);
    const expected = mac(cookie, msg.subarray(0, m2));
    wipe(cookie);
    return constantTimeEqual(expected, msg.subarray(m2, m2 + MAC_SIZE));
  }

  /**
   * Cookie reply (64 B) to the message msg[0, len) from the source endpoint:
   * type 3 ‖ receiver = `senderIndex` (the message's sender index) ‖ 24 random nonce bytes ‖
   * XChaCha20-Poly1305(HASH("cookie--" ‖ our public), nonce, cookie, aad = the message's mac1).
   * Null without a local key.
   */
  createReply(
    msg: Uint8Array,
    len: number,
    senderIndex: number,
    srcRecord: Uint8Array,
    srcOff: number,
    now: number,
    random: RandomSource = this.random,
  ): Uint8Array | null {
    if (!this.cookieKey || len < 2 * MAC_SIZE || len > msg.length) return null;
    const out = new Uint8Array(MESSAGE_COOKIE_REPLY_SIZE);
    writeMessageType(out, 0, MESSAGE_COOKIE_REPLY);
    writeU32LE(out, COOKIE_RECEIVER, senderIndex);
    const nonce = out.subarray(COOKIE_NONCE, COOKIE_NONCE + COOKIE_NONCE_SIZE);
    random.fill(nonce);
    const cookie = this.cookieFor(srcRecord, srcOff, now);
    const m1 = mac1Offset(len);
    const sealed = xaeadSeal(this.cookieKey, nonce, cookie, msg.subarray(m1, m1 + MAC_SIZE));
    wipe(cookie);
    out.set(sealed, COOKIE_ENCRYPTED);
    return out;
  }

  /** The cookie for a source (16 bytes, caller wipes). */
  cookieFor(srcRecord: Uint8Array, srcOff: number, now: number): Uint8Array {
    if (!(now - this.secretBirth < COOKIE_REFRESH_TIME)) {
      this.random.fill(this.secret);
      this.secretBirth = now;
    }
    return mac(this.secret, sourceAddress(srcRecord, srcOff), sourcePort(srcRecord, srcOff));
  }
}

/**
 * Initiator side, one per peer: stamps mac1/mac2 on outgoing handshake messages and takes
 * the cookie from cookie replies. Matching the reply's receiver index to a sent message is
 * the device's job.
 */
export class CookieGenerator {
  private mac1Key: Uint8Array;
  private cookieKey: Uint8Array;
  private readonly lastMac1 = new Uint8Array(MAC_SIZE);
  private haveSentMac1 = false;
  private readonly cookie = new Uint8Array(COOKIE_SIZE);
  /** `now` when the cookie arrived; -Infinity = none. */
  private cookieBirth = -Infinity;

  constructor(remote: Pick<RemoteIdentity, 'mac1Key' | 'cookieKey'>) {
    this.mac1Key = remote.mac1Key;
    this.cookieKey = remote.cookieKey;
  }

  /** Whether a cookie received less than COOKIE_VALIDITY ago is held. */
  hasValidCookie(now: number): boolean {
    return now - this.cookieBirth < COOKIE_VALIDITY;
  }

  /**
   * Write mac1 and mac2 into msg[0, len) (an initiation or response). mac2 is zero unless a
   * cookie received less than COOKIE_VALIDITY ago is held.
   */
  stamp(msg: Uint8Array, len: number, now: number): void {
    if (len < 2 * MAC_SIZE || len > msg.length) throw new RangeError('bad handshake message length');
    const m1 = mac1Offset(len);
    const m2 = mac2Offset(len);
    const mac1 = mac(this.mac1Key, msg.subarray(0, m1));
    msg.set(mac1, m1);
    this.lastMac1.set(mac1);
    this.haveSentMac1 = true;
    if (this.hasValidCookie(now)) {
      msg.set(mac(this.cookie, msg.subarray(0, m2)), m2);
    } else {
      msg.fill(0, m2, m2 + MAC_SIZE);
    }
  }

  /**
   * Decrypt a 64-byte cookie reply with AAD = the last mac1 sent. At most one cookie is
   * accepted per stamped message. Returns whether the cookie was taken.
   */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (!this.haveSentMac1 || reply.length !== MESSAGE_COOKIE_REPLY_SIZE) return false;
    const nonce = reply.subarray(COOKIE_NONCE, COOKIE_NONCE + COOKIE_NONCE_SIZE);
    const sealed = reply.subarray(COOKIE_ENCRYPTED, MESSAGE_COOKIE_REPLY_SIZE);
    const cookie = xaeadOpen(this.cookieKey, nonce, sealed, this.lastMac1);
    if (!cookie) return false;
    this.cookie.set(cookie);
    wipe(cookie);
    this.cookieBirth = now;
    this.haveSentMac1 = false;
    return true;
  }

  /** Forget the cookie and the last mac1 (e.g. when the peer's key changes). */
  reset(remote?: Pick<RemoteIdentity, 'mac1Key' | 'cookieKey'>): void {
    if (remote) {
      this.mac1Key = remote.mac1Key;
      this.cookieKey = remote.cookieKey;
    }
    this.cookie.fill(0);
    this.cookieBirth = -Infinity;
    this.lastMac1.fill(0);
    this.haveSentMac1 = false;
  }
}
