import {
  MESSAGE_COOKIE_REPLY,
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_INITIATION,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_KEEPALIVE_SIZE,
  MESSAGE_RESPONSE,
  MESSAGE_RESPONSE_SIZE,
  MESSAGE_TRANSPORT,
} from '../constants.js';

/**
 * Byte layouts of WireGuard's four messages. Every message starts with the type as a
 * little-endian u32 (one type byte and three reserved zero bytes). Offsets are relative
 * to the message's first byte; all integers are little-endian.
 *
 * The readers/writers work on plain byte access (no DataView, no allocation) so the
 * transport path can use them.
 */

export const MSG_TYPE = 0;

/** Handshake initiation, 148 bytes. */
export const INIT_SENDER = 4;
export const INIT_EPHEMERAL = 8;
export const INIT_STATIC = 40; // 32-byte public key + 16-byte tag
export const INIT_TIMESTAMP = 88; // 12-byte TAI64N + 16-byte tag
export const INIT_MAC1 = 116;
export const INIT_MAC2 = 132;

/** Handshake response, 92 bytes. */
export const RESP_SENDER = 4;
export const RESP_RECEIVER = 8;
export const RESP_EPHEMERAL = 12;
export const RESP_EMPTY = 44; // 16-byte tag of the empty payload
export const RESP_MAC1 = 60;
export const RESP_MAC2 = 76;

/** Cookie reply, 64 bytes. */
export const COOKIE_RECEIVER = 4;
export const COOKIE_NONCE = 8;
export const COOKIE_ENCRYPTED = 32; // 16-byte cookie + 16-byte tag

/** Transport data: 16-byte header, then ciphertext and tag. */
export const TRANSPORT_RECEIVER = 4;
export const TRANSPORT_COUNTER = 8;
export const TRANSPORT_DATA = 16;

export const KEY_SIZE = 32;
export const MAC_SIZE = 16;
export const TIMESTAMP_SIZE = 12;
export const COOKIE_SIZE = 16;
export const COOKIE_NONCE_SIZE = 24;

/** Offset of mac1 in a handshake message of `len` bytes (both types end with mac1 ‖ mac2). */
export function mac1Offset(len: number): number {
  return len - 2 * MAC_SIZE;
}

/** Offset of mac2 in a handshake message of `len` bytes. */
export function mac2Offset(len: number): number {
  return len - MAC_SIZE;
}

export function readU32LE(buf: Uint8Array, off: number): number {
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

/**
 * Signed read of the same bytes: stays a small integer to V8 (no heap number), which is what
 * the packet path wants for index lookups (IndexTable keys are int32).
 */
export function readI32LE(buf: Uint8Array, off: number): number {
  return buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24);
}

export function writeU32LE(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** Write the type field (type byte + 3 reserved zero bytes). */
export function writeMessageType(buf: Uint8Array, off: number, type: number): void {
  writeU32LE(buf, off + MSG_TYPE, type);
}

/**
 * Classify the message in buf[off, off+len): 1–4, or 0 when malformed (unknown type,
 * nonzero reserved bytes, wrong size for a handshake message, transport shorter than a
 * keepalive, or a range outside the buffer).
 */
export function messageType(buf: Uint8Array, off: number, len: number): 0 | 1 | 2 | 3 | 4 {
  if (off < 0 || len < 4 || off + len > buf.length) return 0;
  if (buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) return 0;
  switch (buf[off]) {
    case MESSAGE_INITIATION:
      return len === MESSAGE_INITIATION_SIZE ? 1 : 0;
    case MESSAGE_RESPONSE:
      return len === MESSAGE_RESPONSE_SIZE ? 2 : 0;
    case MESSAGE_COOKIE_REPLY:
      return len === MESSAGE_COOKIE_REPLY_SIZE ? 3 : 0;
    case MESSAGE_TRANSPORT:
      return len >= MESSAGE_KEEPALIVE_SIZE ? 4 : 0;
    default:
      return 0;
  }
}

/** Receiver index of a transport message (a cookie reply keeps it at the same offset). */
export function readTransportReceiver(buf: Uint8Array, off: number): number {
  return readU32LE(buf, off + TRANSPORT_RECEIVER);
}

/** Low 32 bits of a transport message's counter. */
export function readTransportCounterLo(buf: Uint8Array, off: number): number {
  return readU32LE(buf, off + TRANSPORT_COUNTER);
}

/** High 32 bits of a transport message's counter. */
export function readTransportCounterHi(buf: Uint8Array, off: number): number {
  return readU32LE(buf, off + TRANSPORT_COUNTER + 4);
}

/** Full counter as bigint (allocates: slow paths and tests). */
export function readTransportCounter(buf: Uint8Array, off: number): bigint {
  return (BigInt(readTransportCounterHi(buf, off)) << 32n) | BigInt(readTransportCounterLo(buf, off));
}

/** Write the 16-byte transport header at buf[off]. The counter is split into two u32 halves. */
export function writeTransportHeader(
  buf: Uint8Array,
  off: number,
  receiverIndex: number,
  counterLo: number,
  counterHi: number,
): void {
  writeMessageType(buf, off, MESSAGE_TRANSPORT);
  writeU32LE(buf, off + TRANSPORT_RECEIVER, receiverIndex);
  writeU32LE(buf, off + TRANSPORT_COUNTER, counterLo);
  writeU32LE(buf, off + TRANSPORT_COUNTER + 4, counterHi);
}
