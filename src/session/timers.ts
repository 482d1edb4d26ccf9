import {
  KEEPALIVE_TIMEOUT,
  MAX_TIMER_HANDSHAKES,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
  ZERO_KEYS_AFTER,
} from '../constants.js';

/**
 * Per-peer timer rules (conformance.md section A) as a pure state machine, after
 * wireguard-go's device/timers.go. No clock is read here: every event takes `now`
 * (monotonic ms); the device arms one real timer for `nextDeadline()` and calls
 * `expire(now)` when it fires, then performs the returned actions.
 *
 * Each timer is a deadline field (Infinity = disarmed), so events allocate nothing.
 */

/** Retransmission due: send a fresh initiation (isRetry), then call `handshakeInitiated`. */
export const RETRANSMIT_HANDSHAKE = 1 << 0;
/**
 * Attempts exhausted (A6): drop the staged packets. This module already disarmed
 * sendKeepalive and armed zeroKeys (if it was not armed).
 */
export const GIVE_UP = 1 << 1;
/** Passive keepalive due (A8): send a keepalive. */
export const SEND_KEEPALIVE = 1 << 2;
/** No reply after sending data (A9): start a new handshake (not a retry). */
export const NEW_HANDSHAKE = 1 << 3;
/** No new session for 540 s (A10): zero all keys and handshake state. */
export const ZERO_KEYS = 1 << 4;
/** Persistent keepalive due (A13): send a keepalive. */
export const PERSISTENT_KEEPALIVE = 1 << 5;

/** wireguard-go's MaxTimerHandshakes (18): retries allowed beyond the first retransmission. */
const MAX_ATTEMPTS = MAX_TIMER_HANDSHAKES - 2;

export class PeerTimers {
  // Deadlines in monotonic ms; Infinity when disarmed.
  private retransmitAt = Infinity;
  private sendKeepaliveAt = Infinity;
  private newHandshakeAt = Infinity;
  private zeroKeysAt = Infinity;
  private persistentAt = Infinity;

  /** Retransmissions sent in the current cycle (0 after the first initiation). */
  handshakeAttempts = 0;
  /** Data arrived while a passive keepalive was already pending. */
  needAnotherKeepalive = false;
  /** A3 fired for the current session (reset by `handshakeComplete`). */
  sentLastMinuteHandshake = false;
  /** Persistent keepalive interval in seconds; 0 = off. */
  persistentKeepalive = 0;

  /** `jitter()` returns ms in [0, REKEY_TIMEOUT_JITTER_MAX). */
  constructor(private readonly jitter: () => number) {}

  /** A non-keepalive data packet was sent (A9). */
  dataSent(now: number): void {
    if (this.newHandshakeAt === Infinity) {
      this.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + this.jitter();
    }
  }

  /** A non-keepalive data packet was received (A8). */
  dataReceived(now: number): void {
    if (this.sendKeepaliveAt === Infinity) this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
    else this.needAnotherKeepalive = true;
  }

  /** Any authenticated packet (data, keepalive, handshake) was sent. */
  anyAuthenticatedPacketSent(_now: number): void {
    this.sendKeepaliveAt = Infinity;
  }

  /** Any authenticated packet (data, keepalive, handshake) was received. */
  anyAuthenticatedPacketReceived(_now: number): void {
    this.newHandshakeAt = Infinity;
  }

  /** Any authenticated packet is about to be sent or was received (A13). */
  anyAuthenticatedPacketTraversal(now: number): void {
    if (this.persistentKeepalive > 0) this.persistentAt = now + this.persistentKeepalive * 1000;
  }

  /** An initiation was sent, first or retry (A5). */
  handshakeInitiated(now: number): void {
    this.retransmitAt = now + REKEY_TIMEOUT + this.jitter();
  }

  /** A response was consumed or the first data on a responder session arrived. */
  handshakeComplete(_now: number): void {
    this.retransmitAt = Infinity;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** New session keys were derived (A10). */
  sessionDerived(now: number): void {
    this.zeroKeysAt = now + ZERO_KEYS_AFTER;
  }

  /** Set the persistent keepalive interval (seconds, 0 = off). Disarms it when turned off. */
  setPersistentKeepalive(seconds: number): void {
    this.persistentKeepalive = seconds;
    if (seconds <= 0) this.persistentAt = Infinity;
  }

  /** A new (non-retry) initiation attempt restarts the give-up cycle (A6). */
  resetHandshakeAttempts(): void {
    this.handshakeAttempts = 0;
  }

  /**
   * A3 helper: true exactly once per session (until the next `handshakeComplete`);
   * call only when `shouldRekeyOnReceive` holds.
   */
  claimLastMinuteHandshake(): boolean {
    if (this.sentLastMinuteHandshake) return false;
    this.sentLastMinuteHandshake = true;
    return true;
  }

  /** Disarm everything and clear the per-cycle flags (peer removed or device down). */
  stopAll(): void {
    this.retransmitAt = Infinity;
    this.sendKeepaliveAt = Infinity;
    this.newHandshakeAt = Infinity;
    this.zeroKeysAt = Infinity;
    this.persistentAt = Infinity;
    this.handshakeAttempts = 0;
    this.needAnotherKeepalive = false;
    this.sentLastMinuteHandshake = false;
  }

  /** Earliest armed deadline, Infinity when none. */
  nextDeadline(): number {
    return Math.min(
      this.retransmitAt,
      this.sendKeepaliveAt,
      this.newHandshakeAt,
      this.zeroKeysAt,
      this.persistentAt,
    );
  }

  /**
   * Fire every timer whose deadline is ≤ now (disarming it) and return the bitmask of
   * actions for the device. Order inside one call: retransmit/give-up first, so a
   * give-up also cancels a keepalive due at the same instant.
   */
  expire(now: number): number {
    let actions = 0;
    if (this.retransmitAt <= now) {
      this.retransmitAt = Infinity;
      if (this.handshakeAttempts > MAX_ATTEMPTS) {
        actions |= GIVE_UP;
        this.sendKeepaliveAt = Infinity;
        if (this.zeroKeysAt === Infinity) this.zeroKeysAt = now + ZERO_KEYS_AFTER;
      } else {
        this.handshakeAttempts++;
        actions |= RETRANSMIT_HANDSHAKE;
      }
    }
    if (this.sendKeepaliveAt <= now) {
      this.sendKeepaliveAt = Infinity;
      actions |= SEND_KEEPALIVE;
      if (this.needAnotherKeepalive) {
        this.needAnotherKeepalive = false;
        this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
      }
    }
    if (this.newHandshakeAt <= now) {
      this.newHandshakeAt = Infinity;
      actions |= NEW_HANDSHAKE;
    }
    if (this.zeroKeysAt <= now) {
      this.zeroKeysAt = Infinity;
      actions |= ZERO_KEYS;
    }
    if (this.persistentAt <= now) {
      this.persistentAt = Infinity;
      if (this.persistentKeepalive > 0) actions |= PERSISTENT_KEEPALIVE;
    }
    return actions;
  }
}

/** Facts about a session the send/receive rules need. */
export interface SessionFacts {
  isInitiator: boolean;
  /** Monotonic ms when the session was derived. */
  createdAt: number;
  /** Next counter to send (= packets sent so far); number or bigint compare exactly. */
  sendCounter: number | bigint;
}

/** A2 + A11: sending on this session should also start a new handshake. */
export function shouldRekeyOnSend(s: SessionFacts, now: number): boolean {
  return (
    s.sendCounter >= REKEY_AFTER_MESSAGES ||
    (s.isInitiator && now - s.createdAt >= REKEY_AFTER_TIME)
  );
}

/** Age at which an initiator receiving data starts a last-minute handshake (165 s). */
export const REKEY_ON_RECEIVE_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;

/**
 * A3: receiving on this session should start one new handshake (the device also checks
 * `PeerTimers.claimLastMinuteHandshake()` so it happens once per session).
 */
export function shouldRekeyOnReceive(
  s: Pick<SessionFacts, 'isInitiator' | 'createdAt'>,
  now: number,
): boolean {
  return s.isInitiator && now - s.createdAt >= REKEY_ON_RECEIVE_AGE;
}

/**
 * A4 + A12: the session must not be used: too old, or its next send counter reached
 * REJECT_AFTER_MESSAGES (no packet is ever sent with such a counter).
 */
export function isSessionExpired(createdAt: number, sendCounter: number | bigint, now: number): boolean {
  return now - createdAt >= REJECT_AFTER_TIME || sendCounter >= REJECT_AFTER_MESSAGES;
}

/**
 * A7: outside the retransmission timer, at most one initiation per RekeyTimeout.
 * Pass -Infinity when no initiation was ever sent.
 */
export function mayInitiate(lastInitiationSentAt: number, now: number): boolean {
  return now - lastInitiationSentAt >= REKEY_TIMEOUT;
}
