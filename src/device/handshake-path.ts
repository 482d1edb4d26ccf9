/*
 * Handshake path: initiations, responses and cookie replies.
 *
 *   receive path ──copy──► HandshakeQueue (bounded) ──setImmediate, budget per turn──►
 *     mac1 (B3, before any Curve25519) ─► under load? mac2 or cookie reply (B5–B7),
 *     per-source rate limit (B10) ─► consume ─► timestamp/flood checks (A16, A17)
 *     ─► response / session install ─► endpoint learning ─► counters and timers
 *
 * The queue is what makes "under load" observable: a flood fills it faster than a turn
 * drains it, and at 1/8 of its capacity the device demands cookies.
 */
import {
  HANDSHAKE_INITIATION_RATE,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE,
  MESSAGE_RESPONSE_SIZE,
  REKEY_TIMEOUT,
  UNDER_LOAD_AFTER_TIME,
} from '../constants.js';
import { bytesToHex } from '../crypto/index.js';
import { Endpoint, ENDPOINT_RECORD_SIZE } from '../io/endpoint.js';
import {
  compareTai64n,
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  isUsable,
  tai64n,
  type SessionKeys,
} from '../noise/index.js';
import { Keypair } from '../session/keypair.js';
import { readU32LE } from '../noise/messages.js';
import type { Device, IndexEntry } from './device.js';
import type { Peer } from './peer.js';
import { flushStaged, sendKeepalive } from './send-path.js';

/** Handshake messages processed per event-loop turn before yielding to the data path. */
const TURN_BUDGET = 32;

interface QueuedMessage {
  bytes: Uint8Array;
  source: Uint8Array;
}

export class HandshakeQueue {
  private readonly items: QueuedMessage[] = [];
  private head = 0;
  private scheduled = false;
  private underLoadUntil = -Infinity;

  constructor(
    private readonly dev: Device,
    readonly capacity: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Copy a handshake message in; false (and counted) when the queue is full. */
  enqueue(data: Uint8Array, off: number, len: number, endpoints: Uint8Array, epOff: number): boolean {
    if (this.length >= this.capacity) {
      this.dev.drops.handshakeQueueFull++;
      return false;
    }
    this.items.push({
      bytes: data.slice(off, off + len),
      source: endpoints.slice(epOff, epOff + ENDPOINT_RECORD_SIZE),
    });
    if (this.length >= this.capacity / 8) this.underLoadUntil = this.dev.clock.now() + UNDER_LOAD_AFTER_TIME;
    return true;
  }

  /** B5: under load while the queue is at 1/8 of capacity, and for 1 s afterwards. */
  isUnderLoad(now: number): boolean {
    const forced = this.dev.forcedUnderLoad;
    if (forced !== null) return forced;
    return this.length >= this.capacity / 8 || now < this.underLoadUntil;
  }

  /** Process queued messages soon (after the current batch). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain(TURN_BUDGET);
      if (this.length > 0) this.schedule();
    });
  }

  /** Process up to `budget` messages now (tests call this to run the queue synchronously). */
  drain(budget = Infinity): void {
    while (budget-- > 0 && this.head < this.items.length) {
      const m = this.items[this.head];
      this.items[this.head++] = undefined as unknown as QueuedMessage;
      if (this.dev.isUp && this.dev.local !== null) handleHandshakeMessage(this.dev, m.bytes, m.source);
      else this.dev.drops.deviceDown++;
    }
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

function handleHandshakeMessage(dev: Device, msg: Uint8Array, source: Uint8Array): void {
  const type = msg[0];
  const now = dev.clock.now();
  if (type === MESSAGE_COOKIE_REPLY) {
    handleCookieReply(dev, msg, now);
    return;
  }
  const checker = dev.cookieChecker!;
  if (!checker.checkMac1(msg, msg.length)) {
    dev.drops.badMac1++;
    return;
  }
  if (dev.handshakes.isUnderLoad(now)) {
    if (!checker.checkMac2(msg, msg.length, source, 0, now)) {
      const sender = readU32LE(msg, 4);
      const reply = checker.createReply(msg, msg.length, sender, source, 0, now);
      if (reply) sendTo(dev, reply, source);
      dev.drops.underLoad++;
      return;
    }
    if (!dev.rateLimiter.allow(source, 0, now)) {
      dev.drops.underLoad++;
      return;
    }
  }
  if (type === MESSAGE_INITIATION) handleInitiation(dev, msg, source, now);
  else if (type === MESSAGE_RESPONSE) handleResponse(dev, msg, source, now);
}

function handleInitiation(dev: Device, msg: Uint8Array, source: Uint8Array, now: number): void {
  const local = dev.local!;
  let found: Peer | undefined;
  const consumed = consumeInitiation(local, msg, (pub) => {
    found = dev.peersByKey.get(bytesToHex(pub));
    return found?.remote ?? undefined;
  });
  if (!consumed || !found) {
    dev.drops.badHandshake++;
    return;
  }
  const peer = found;
  // A17: strictly increasing timestamps; A16: at most one initiation per 20 ms.
  if (peer.latestTimestamp && compareTai64n(consumed.timestamp, peer.latestTimestamp) <= 0) {
    dev.drops.replayedInitiation++;
    return;
  }
  if (now - peer.lastInitiationConsumed < HANDSHAKE_INITIATION_RATE) {
    dev.drops.replayedInitiation++;
    return;
  }
  const entry: IndexEntry = { peer, keypair: null };
  const localIndex = dev.indices.allocate(entry);
  const eph = dev.random.fill(new Uint8Array(32));
  const created = createResponse(local, consumed.remote, consumed.state, { senderIndex: localIndex, ephemeralPrivate: eph });
  if (!created) {
    dev.indices.delete(localIndex, entry);
    dev.drops.badHandshake++;
    return;
  }
  peer.latestTimestamp = consumed.timestamp;
  peer.lastInitiationConsumed = now;
  // A response supersedes any initiation we had outstanding to this peer.
  dev.dropHandshake(peer);
  installSession(dev, peer, entry, created.keys, now);
  peer.cookie!.stamp(created.message, created.message.length, now);
  learnEndpoint(dev, peer, source);
  peer.rx.add(MESSAGE_INITIATION_SIZE);
  peer.timers.anyAuthenticatedPacketReceived(now);
  peer.timers.anyAuthenticatedPacketTraversal(now);
  if (sendTo(dev, created.message, peer.endpoint!.record)) {
    peer.tx.add(MESSAGE_RESPONSE_SIZE);
    peer.timers.anyAuthenticatedPacketSent(now);
  }
  // B15/A7: a response paces our own initiations like one we sent (wireguard-go and the
  // kernel set last_sent_handshake here), so data staged before the initiator confirms
  // does not start a competing handshake.
  peer.lastInitiationSent = now;
  dev.armTimers(peer);
}

function handleResponse(dev: Device, msg: Uint8Array, source: Uint8Array, now: number): void {
  const entry = dev.indices.get(readU32LE(msg, 8));
  const peer = entry?.peer;
  if (!entry || entry.keypair !== null || !peer || !peer.handshake || !peer.remote) {
    dev.drops.unknownIndex++;
    return;
  }
  const keys = consumeResponse(dev.local!, peer.remote, peer.handshake.state, msg);
  if (!keys) {
    dev.drops.badHandshake++;
    return;
  }
  peer.handshake = null; // its index now names the session
  installSession(dev, peer, entry, keys, now);
  learnEndpoint(dev, peer, source);
  peer.rx.add(MESSAGE_RESPONSE_SIZE);
  peer.timers.handshakeComplete(now);
  peer.timers.anyAuthenticatedPacketReceived(now);
  peer.timers.anyAuthenticatedPacketTraversal(now);
  peer.lastHandshakeNs = dev.clock.wallNs();
  dev.emitHandshake(peer);
  // B16: send what waited, or a keepalive to confirm the session.
  if (peer.staged.length > 0) flushStaged(dev, peer);
  else sendKeepalive(dev, peer);
  dev.armTimers(peer);
}

function handleCookieReply(dev: Device, msg: Uint8Array, now: number): void {
  const entry = dev.indices.get(readU32LE(msg, 4));
  if (!entry) {
    dev.drops.unknownIndex++;
    return;
  }
  if (!entry.peer.cookie?.consumeReply(msg, now)) dev.drops.badCookie++;
}

function installSession(dev: Device, peer: Peer, entry: IndexEntry, keys: SessionKeys, now: number): Keypair {
  const kp = new Keypair(
    dev.createCipher(keys.sendKey),
    dev.createCipher(keys.receiveKey),
    keys.localIndex,
    keys.remoteIndex,
    keys.isInitiator,
    now,
  );
  keys.sendKey.fill(0);
  keys.receiveKey.fill(0);
  entry.keypair = kp;
  peer.keypairs.install(kp, (k) => dev.dropKeypair(k));
  peer.timers.sessionDerived(now);
  return kp;
}

function learnEndpoint(dev: Device, peer: Peer, source: Uint8Array): void {
  if (peer.endpoint && peer.endpoint.sameRecord(source, 0)) return;
  const roamed = !peer.endpoint || !peer.endpoint.sameRemote(source, 0);
  peer.endpoint = Endpoint.fromRecord(source, 0);
  if (roamed) dev.emitEndpoint(peer);
}

/**
 * Send a fresh initiation to a peer (A5–A7). `isRetry` is the retransmission timer's call;
 * otherwise the attempt counter restarts and initiations are paced to one per RekeyTimeout.
 */
export function sendInitiation(dev: Device, peer: Peer, isRetry: boolean): void {
  if (!isRetry) peer.timers.resetHandshakeAttempts();
  const local = dev.local;
  if (!dev.isUp || local === null || !peer.remote || !isUsable(peer.remote)) return;
  const now = dev.clock.now();
  if (!isRetry && now - peer.lastInitiationSent < REKEY_TIMEOUT) return;
  peer.lastInitiationSent = now;
  dev.dropHandshake(peer);
  const entry: IndexEntry = { peer, keypair: null };
  const localIndex = dev.indices.allocate(entry);
  const eph = dev.random.fill(new Uint8Array(32));
  const created = createInitiation(local, peer.remote, {
    senderIndex: localIndex,
    ephemeralPrivate: eph,
    timestamp: tai64n(dev.clock.wallNs()),
  });
  eph.fill(0);
  if (!created) {
    dev.indices.delete(localIndex, entry);
    return;
  }
  peer.handshake = { localIndex, state: created.state };
  peer.cookie!.stamp(created.message, created.message.length, now);
  peer.timers.anyAuthenticatedPacketTraversal(now);
  peer.timers.anyAuthenticatedPacketSent(now);
  if (!peer.endpoint) dev.drops.noEndpoint++;
  else if (sendTo(dev, created.message, peer.endpoint.record)) peer.tx.add(MESSAGE_INITIATION_SIZE);
  peer.timers.handshakeInitiated(now);
  dev.armTimers(peer);
}

/** Send one control message (handshake or cookie reply) to an endpoint record. */
function sendTo(dev: Device, bytes: Uint8Array, record: Uint8Array): boolean {
  const b = dev.ctrlBatch;
  b.count = 0;
  if (b.push(bytes, record) < 0) return false;
  dev.tap?.udpOut?.(b.packet(0));
  dev.bind.send(b);
  b.count = 0;
  return true;
}

