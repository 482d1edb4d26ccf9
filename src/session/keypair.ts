import type { TransportCipher } from '../crypto/index.js';
import { REJECT_AFTER_TIME, REKEY_AFTER_TIME, KEEPALIVE_TIMEOUT, REKEY_TIMEOUT } from '../constants.js';
import { ReplayWindow } from './replay.js';

/** Counter halves at which a session must not send any more: REJECT_AFTER_MESSAGES = 2^64 − 2^13 − 1. */
const REJECT_HI = 0xffffffff;
const REJECT_LO = 0xffffdfff;
/** REKEY_AFTER_MESSAGES = 2^60 → the high half reaches 2^28. */
const REKEY_HI = 1 << 28;

/**
 * One transport session (the result of one handshake): two ciphers, the two indices,
 * the 64-bit send counter as two u32 halves (never a JS number above 2^53), and the
 * receive replay window. Owned by a peer's KeypairSlots.
 */
export class Keypair {
  /** Next counter to send, low and high 32 bits. */
  sendLo = 0;
  sendHi = 0;
  readonly replay = new ReplayWindow();
  /** Set once a receive-side rekey (A3) was triggered for this session. */
  rekeyRequested = false;

  constructor(
    readonly sendCipher: TransportCipher,
    readonly receiveCipher: TransportCipher,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly isInitiator: boolean,
    /** Monotonic ms when the session was derived. */
    readonly createdAt: number,
  ) {}

  /** True when the send counter is exhausted (A12): no packet may be sent. */
  get sendExhausted(): boolean {
    return this.sendHi === REJECT_HI && this.sendLo >= REJECT_LO;
  }

  /** Reserve the next send counter; returns false when exhausted. Result in sendLo/sendHi before increment. */
  advanceSend(): boolean {
    if (this.sendExhausted) return false;
    if (this.sendLo === 0xffffffff) {
      this.sendLo = 0;
      this.sendHi = (this.sendHi + 1) >>> 0;
    } else {
      this.sendLo++;
    }
    return true;
  }

  /** Usable for sending at `now` (A4, A12). */
  canSend(now: number): boolean {
    return !this.sendExhausted && now - this.createdAt < REJECT_AFTER_TIME;
  }

  /** Usable for receiving at `now` (A4). */
  canReceive(now: number): boolean {
    return now - this.createdAt < REJECT_AFTER_TIME;
  }

  /** A2 + A11: the sender should start a new handshake. */
  wantsRekeyOnSend(now: number): boolean {
    return this.sendHi >= REKEY_HI || (this.isInitiator && now - this.createdAt >= REKEY_AFTER_TIME);
  }

  /** A3: an initiator receiving on an old session starts one new handshake. */
  wantsRekeyOnReceive(now: number): boolean {
    return (
      this.isInitiator &&
      !this.rekeyRequested &&
      now - this.createdAt >= REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT
    );
  }

  /** Test hook: set the next send counter. */
  setSendCounter(n: bigint): void {
    this.sendLo = Number(n & 0xffffffffn);
    this.sendHi = Number((n >> 32n) & 0xffffffffn);
  }

  destroy(): void {
    this.sendCipher.destroy();
    this.receiveCipher.destroy();
  }
}

/**
 * A peer's sessions: `current` (used to send), `previous` (still accepted on receive)
 * and `next` (a responder's session, unconfirmed until the initiator's first packet, B15).
 */
export class KeypairSlots {
  previous: Keypair | null = null;
  current: Keypair | null = null;
  next: Keypair | null = null;

  /** Install a freshly derived session; returns keypairs that are no longer referenced. */
  install(kp: Keypair, dropped: (k: Keypair) => void): void {
    if (kp.isInitiator) {
      if (this.next) {
        if (this.previous) dropped(this.previous);
        this.previous = this.next;
        this.next = null;
        if (this.current) dropped(this.current);
      } else {
        if (this.previous) dropped(this.previous);
        this.previous = this.current;
      }
      this.current = kp;
    } else {
      if (this.next) dropped(this.next);
      this.next = kp;
      if (this.previous) dropped(this.previous);
      this.previous = null;
    }
  }

  /** Called when a packet authenticated with `kp`; confirms `next`. Returns true if it rotated. */
  confirm(kp: Keypair, dropped: (k: Keypair) => void): boolean {
    if (this.next !== kp) return false;
    if (this.previous) dropped(this.previous);
    this.previous = this.current;
    this.current = kp;
    this.next = null;
    return true;
  }

  /** Drop every session (key change, zeroing, link down). */
  clear(dropped: (k: Keypair) => void): void {
    for (const k of [this.previous, this.current, this.next]) if (k) dropped(k);
    this.previous = this.current = this.next = null;
  }
}
