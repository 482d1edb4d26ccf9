import { describe, expect, it } from 'vitest';
import {
  REJECT_AFTER_MESSAGES,
  REKEY_AFTER_MESSAGES,
  REKEY_TIMEOUT_JITTER_MAX,
} from '../../../src/constants.js';
import {
  GIVE_UP,
  NEW_HANDSHAKE,
  PERSISTENT_KEEPALIVE,
  PeerTimers,
  RETRANSMIT_HANDSHAKE,
  SEND_KEEPALIVE,
  ZERO_KEYS,
  isSessionExpired,
  mayInitiate,
  shouldRekeyOnReceive,
  shouldRekeyOnSend,
} from '../../../src/session/timers.js';

/** Jitter source cycling through fixed values (ms). */
function fixedJitter(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

/**
 * A minimal simulated peer without a session: it reacts to timer actions the way the
 * device does and records what it sends. Time advances only through `runUntil`.
 */
class SimPeer {
  readonly timers: PeerTimers;
  now = 0;
  lastInitiationSent = -Infinity;
  readonly initiations: number[] = [];
  readonly keepalives: number[] = [];
  readonly giveUps: number[] = [];
  readonly zeroed: number[] = [];
  readonly newHandshakes: number[] = [];
  staged = 0;

  constructor(jitter: () => number) {
    this.timers = new PeerTimers(jitter);
  }

  private sendInitiation(isRetry: boolean): void {
    if (!isRetry) this.timers.resetHandshakeAttempts();
    if (!isRetry && !mayInitiate(this.lastInitiationSent, this.now)) return;
    this.lastInitiationSent = this.now;
    this.initiations.push(this.now);
    this.timers.anyAuthenticatedPacketTraversal(this.now);
    this.timers.anyAuthenticatedPacketSent(this.now);
    this.timers.handshakeInitiated(this.now);
  }

  private sendKeepalive(): void {
    this.keepalives.push(this.now);
    this.timers.anyAuthenticatedPacketTraversal(this.now);
    this.timers.anyAuthenticatedPacketSent(this.now);
  }

  /** An outgoing packet while there is no session: stage it and start a handshake. */
  outgoingWithoutSession(): void {
    this.staged++;
    this.sendInitiation(false);
  }

  runUntil(t: number): void {
    for (;;) {
      const d = this.timers.nextDeadline();
      if (d > t) break;
      expect(d).toBeGreaterThanOrEqual(this.now);
      this.now = d;
      const a = this.timers.expire(d);
      expect(a).not.toBe(0);
      if (a & RETRANSMIT_HANDSHAKE) this.sendInitiation(true);
      if (a & GIVE_UP) {
        this.giveUps.push(this.now);
        this.staged = 0;
      }
      if (a & SEND_KEEPALIVE) this.sendKeepalive();
      if (a & NEW_HANDSHAKE) {
        this.newHandshakes.push(this.now);
        this.sendInitiation(false);
      }
      if (a & ZERO_KEYS) this.zeroed.push(this.now);
      if (a & PERSISTENT_KEEPALIVE) this.sendKeepalive();
    }
    this.now = t;
  }
}

const gaps = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - xs[i]);

describe('PeerTimers basics', () => {
  it('nothing armed: nextDeadline is Infinity and expire does nothing', () => {
    const t = new PeerTimers(() => 0);
    expect(t.nextDeadline()).toBe(Infinity);
    expect(t.expire(1e12)).toBe(0);
  });

  it('stopAll disarms every timer', () => {
    const t = new PeerTimers(() => 0);
    t.setPersistentKeepalive(5);
    t.dataSent(0);
    t.dataReceived(0);
    t.handshakeInitiated(0);
    t.sessionDerived(0);
    t.anyAuthenticatedPacketTraversal(0);
    expect(t.nextDeadline()).toBe(5000);
    t.stopAll();
    expect(t.nextDeadline()).toBe(Infinity);
    expect(t.expire(1e12)).toBe(0);
  });
});

describe('send/receive rules', () => {
  const initiator = { isInitiator: true, createdAt: 1000, sendCounter: 0 };
  const responder = { isInitiator: false, createdAt: 1000, sendCounter: 0 };

  it('A2: initiator rekeys on send at 120 s, responder never on age', () => {
    expect(shouldRekeyOnSend(initiator, 1000 + 119_900)).toBe(false);
    expect(shouldRekeyOnSend(initiator, 1000 + 120_000)).toBe(true);
    expect(shouldRekeyOnSend(initiator, 1000 + 120_100)).toBe(true);
    expect(shouldRekeyOnSend(responder, 1000 + 120_100)).toBe(false);
    expect(shouldRekeyOnSend(responder, 1000 + 179_999)).toBe(false);
  });

  it('A2 simulated: data at 119.9 s sends no initiation, at 120.1 s exactly one', () => {
    const p = new SimPeer(() => 0);
    const session = { isInitiator: true, createdAt: 0, sendCounter: 0 };
    p.lastInitiationSent = 0; // the handshake that made the session
    const sendData = (t: number): void => {
      p.runUntil(t);
      p.timers.dataSent(t); // data goes out on the old session regardless
      if (shouldRekeyOnSend(session, t)) p.outgoingWithoutSession();
    };
    sendData(119_900);
    expect(p.initiations).toEqual([]);
    sendData(120_100);
    sendData(120_200); // paced by A7
    expect(p.initiations).toEqual([120_100]);
  });

  it('A3: initiator rekeys on receive at 165 s, once per session', () => {
    expect(shouldRekeyOnReceive(initiator, 1000 + 164_999)).toBe(false);
    expect(shouldRekeyOnReceive(initiator, 1000 + 165_000)).toBe(true);
    expect(shouldRekeyOnReceive(responder, 1000 + 179_000)).toBe(false);
    const t = new PeerTimers(() => 0);
    expect(t.claimLastMinuteHandshake()).toBe(true);
    expect(t.claimLastMinuteHandshake()).toBe(false);
    t.handshakeComplete(0);
    expect(t.claimLastMinuteHandshake()).toBe(true);
  });

  it('A4: a session is unusable from 180 s on', () => {
    expect(isSessionExpired(1000, 0, 1000 + 179_999)).toBe(false);
    expect(isSessionExpired(1000, 0, 1000 + 180_000)).toBe(true);
    expect(isSessionExpired(1000, 0n, 1000 + 180_000)).toBe(true);
  });

  it('A7: at most one initiation per RekeyTimeout outside the retransmit timer', () => {
    expect(mayInitiate(-Infinity, 0)).toBe(true);
    expect(mayInitiate(1000, 5999)).toBe(false);
    expect(mayInitiate(1000, 6000)).toBe(true);
    const p = new SimPeer(() => 0);
    for (let i = 0; i < 100; i++) {
      p.runUntil(i * 10);
      p.outgoingWithoutSession();
    }
    expect(p.initiations).toEqual([0]);
  });

  it('A11: RekeyAfterMessages triggers a rekey in both roles', () => {
    const at = (sendCounter: number | bigint, isInitiator: boolean) =>
      shouldRekeyOnSend({ isInitiator, createdAt: 0, sendCounter }, 1000);
    for (const role of [true, false]) {
      expect(at(REKEY_AFTER_MESSAGES - 1n, role)).toBe(false);
      expect(at(REKEY_AFTER_MESSAGES, role)).toBe(true);
      expect(at(2 ** 60, role)).toBe(true);
      expect(at(2 ** 59, role)).toBe(false);
    }
  });

  it('A12: the counter reaching RejectAfterMessages expires the session', () => {
    expect(isSessionExpired(0, REJECT_AFTER_MESSAGES - 1n, 1000)).toBe(false);
    expect(isSessionExpired(0, REJECT_AFTER_MESSAGES, 1000)).toBe(true);
    expect(isSessionExpired(0, 2 ** 64, 1000)).toBe(true);
    expect(isSessionExpired(0, 2 ** 60, 1000)).toBe(false);
  });
});

describe('timer rules (simulated time)', () => {
  it('A5: retransmissions follow after RekeyTimeout + jitter, in [5000, 5334)', () => {
    const jit = [0, 333, 17, 250, 100];
    const p = new SimPeer(fixedJitter(jit));
    p.outgoingWithoutSession();
    p.runUntil(60_000);
    const g = gaps(p.initiations);
    expect(g.length).toBeGreaterThanOrEqual(10);
    for (const x of g) {
      expect(x).toBeGreaterThanOrEqual(5000);
      expect(x).toBeLessThan(5000 + REKEY_TIMEOUT_JITTER_MAX);
    }
    // The jitter values are used in order, one per armed retransmission.
    expect(g.slice(0, 5)).toEqual(jit.map((j) => 5000 + j));
  });

  it('A6: exactly 20 initiations, then give up; a new packet restarts the cycle', () => {
    const p = new SimPeer(() => 100);
    p.outgoingWithoutSession();
    p.runUntil(300_000);
    expect(p.initiations).toHaveLength(20);
    expect(p.initiations[19]).toBe(19 * 5100);
    expect(p.giveUps).toEqual([20 * 5100]);
    expect(p.staged).toBe(0);
    expect(p.timers.handshakeAttempts).toBe(19);
    // Nothing further is armed except the key-zeroing timer set by the give-up.
    expect(p.timers.nextDeadline()).toBe(20 * 5100 + 540_000);

    p.outgoingWithoutSession();
    expect(p.timers.handshakeAttempts).toBe(0);
    p.runUntil(600_000);
    expect(p.initiations).toHaveLength(40);
    expect(p.initiations[20]).toBe(300_000);
    expect(p.giveUps).toEqual([20 * 5100, 300_000 + 20 * 5100]);
  });

  it('A6: a completed handshake stops retransmission', () => {
    const p = new SimPeer(() => 0);
    p.outgoingWithoutSession();
    p.runUntil(12_000); // two retries sent
    p.timers.handshakeComplete(12_000);
    p.runUntil(200_000);
    expect(p.initiations).toEqual([0, 5000, 10_000]);
    expect(p.giveUps).toEqual([]);
    expect(p.timers.handshakeAttempts).toBe(0);
  });

  it('A6: give-up cancels a pending passive keepalive and arms key zeroing', () => {
    const t = new PeerTimers(() => 0);
    t.handshakeInitiated(0);
    t.handshakeAttempts = 19;
    t.dataReceived(0); // keepalive due at 10 000
    expect(t.expire(5000)).toBe(GIVE_UP);
    expect(t.nextDeadline()).toBe(5000 + 540_000);
    // An already armed zeroKeys timer is kept.
    const u = new PeerTimers(() => 0);
    u.sessionDerived(0);
    u.handshakeInitiated(1000);
    u.handshakeAttempts = 19;
    expect(u.expire(6000)).toBe(GIVE_UP);
    expect(u.nextDeadline()).toBe(540_000);
  });

  it('A8: one keepalive 10 s after receiving data when nothing was sent', () => {
    const p = new SimPeer(() => 0);
    p.timers.dataReceived(0);
    p.runUntil(3000);
    p.timers.dataReceived(3000); // second data while pending
    p.runUntil(60_000);
    expect(p.keepalives).toEqual([10_000]);
  });

  it('A8: no keepalive when something was sent in the meantime', () => {
    const p = new SimPeer(() => 0);
    p.timers.dataReceived(0);
    p.runUntil(4000);
    p.timers.anyAuthenticatedPacketSent(4000);
    p.runUntil(60_000);
    expect(p.keepalives).toEqual([]);
  });

  it('A8: needAnotherKeepalive re-arms the keepalive when none went out', () => {
    const t = new PeerTimers(() => 0);
    t.dataReceived(0);
    t.dataReceived(1000);
    expect(t.needAnotherKeepalive).toBe(true);
    expect(t.expire(10_000)).toBe(SEND_KEEPALIVE);
    expect(t.needAnotherKeepalive).toBe(false);
    expect(t.nextDeadline()).toBe(20_000);
    expect(t.expire(20_000)).toBe(SEND_KEEPALIVE);
    expect(t.nextDeadline()).toBe(Infinity);
  });

  it('A9: no authenticated reply 15 s + jitter after sending data starts a handshake', () => {
    const p = new SimPeer(() => 200);
    p.timers.dataSent(0);
    p.runUntil(3000);
    p.timers.dataSent(3000); // does not push the deadline
    p.runUntil(15_199);
    expect(p.newHandshakes).toEqual([]);
    p.runUntil(15_200);
    expect(p.newHandshakes).toEqual([15_200]);
    expect(p.initiations).toEqual([15_200]);
  });

  it('A9: a reply in time cancels it', () => {
    const p = new SimPeer(() => 200);
    p.timers.dataSent(0);
    p.runUntil(14_000);
    p.timers.anyAuthenticatedPacketReceived(14_000);
    p.runUntil(100_000);
    expect(p.newHandshakes).toEqual([]);
    expect(p.initiations).toEqual([]);
  });

  it('A10: keys are zeroed 540 s after the last session was derived', () => {
    const p = new SimPeer(() => 0);
    p.timers.sessionDerived(0);
    p.runUntil(539_999);
    expect(p.zeroed).toEqual([]);
    p.runUntil(540_000);
    expect(p.zeroed).toEqual([540_000]);

    const q = new SimPeer(() => 0);
    q.timers.sessionDerived(0);
    q.runUntil(100_000);
    q.timers.sessionDerived(100_000); // a newer session pushes it back
    q.runUntil(2_000_000);
    expect(q.zeroed).toEqual([640_000]);
  });

  it('A13: a keepalive every N s of silence', () => {
    const p = new SimPeer(() => 0);
    p.timers.setPersistentKeepalive(1);
    p.timers.anyAuthenticatedPacketTraversal(0);
    p.runUntil(5500);
    expect(p.keepalives).toEqual([1000, 2000, 3000, 4000, 5000]);
    // Traffic resets the interval.
    p.timers.anyAuthenticatedPacketTraversal(5500);
    p.runUntil(7000);
    expect(p.keepalives).toEqual([1000, 2000, 3000, 4000, 5000, 6500]);
  });

  it('A13: never with N = 0, and turning it off disarms a pending one', () => {
    const p = new SimPeer(() => 0);
    p.timers.anyAuthenticatedPacketTraversal(0);
    p.runUntil(100_000);
    expect(p.keepalives).toEqual([]);

    const q = new SimPeer(() => 0);
    q.timers.setPersistentKeepalive(25);
    q.timers.anyAuthenticatedPacketTraversal(0);
    q.runUntil(10_000);
    q.timers.setPersistentKeepalive(0);
    q.runUntil(100_000);
    expect(q.keepalives).toEqual([]);
  });
});
