/**
 * Why packets were dropped, counted per device. Every drop on the packet path increments
 * exactly one of these; tests assert them (bad input is dropped *and counted*).
 */
export interface DropCounters {
  /** TUN packet that is not valid IPv4/IPv6 (G6). */
  tunInvalid: number;
  /** TUN packet whose destination matches no peer (D7). */
  noRoute: number;
  /** An initiation could not be sent: the peer has no endpoint (D7; its packets wait staged). */
  noEndpoint: number;
  /** Staged-packet queue overflow (C14). */
  stagedOverflow: number;
  /** Staged packets discarded after giving up (A6) or by a state reset. */
  stagedDiscarded: number;
  /** UDP datagram with bad size/type/reserved bytes (B2, G2, G3). */
  malformed: number;
  /** Handshake message with a wrong mac1 (B3). */
  badMac1: number;
  /** Handshake message refused under load: no/invalid mac2 (cookie sent) or rate limited (B6, B10). */
  underLoad: number;
  /** Handshake message that failed to decrypt/authenticate or names an unknown peer (B18). */
  badHandshake: number;
  /** Initiation with a stale timestamp or too soon after the last one (A16, A17). */
  replayedInitiation: number;
  /** Response/cookie reply/transport for an unknown receiver index (C10). */
  unknownIndex: number;
  /** Transport message whose tag failed (C11). */
  badTag: number;
  /** Transport counter replayed or outside the window (C1). */
  replayed: number;
  /** Session too old to receive on (A4). */
  expiredSession: number;
  /** Decrypted packet that is not IP (G7, C8). */
  badInnerPacket: number;
  /** Decrypted packet whose source address does not route to the sending peer (D8). */
  sourceFilter: number;
  /** Handshake queue full. */
  handshakeQueueFull: number;
  /** Received while the device is down or has no private key. */
  deviceDown: number;
  /** Cookie reply that did not decrypt or was unexpected (B9). */
  badCookie: number;
}

export function newDropCounters(): DropCounters {
  return {
    tunInvalid: 0, noRoute: 0, noEndpoint: 0, stagedOverflow: 0, stagedDiscarded: 0,
    malformed: 0, badMac1: 0, underLoad: 0, badHandshake: 0, replayedInitiation: 0,
    unknownIndex: 0, badTag: 0, replayed: 0, expiredSession: 0, badInnerPacket: 0,
    sourceFilter: 0, handshakeQueueFull: 0, deviceDown: 0, badCookie: 0,
  };
}
