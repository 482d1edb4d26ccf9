import { bytesToHex } from '../crypto/index.js';
import { MAX_STAGED_PACKETS } from '../constants.js';
import type { TimerHandle } from '../clock.js';
import type { Endpoint } from '../io/endpoint.js';
import type { RemoteIdentity, InitiatorState, CookieGenerator } from '../noise/index.js';
import { KeypairSlots, type Keypair } from '../session/keypair.js';
import { ByteCounter } from './byte-counter.js';
import { PeerTimers } from '../session/timers.js';

/** An initiation this peer sent and is waiting to be answered. */
export interface PendingHandshake {
  localIndex: number;
  state: InitiatorState;
}

/**
 * Everything the device knows about one peer. Plain state: the device's paths
 * (send, receive, handshake) act on it.
 */
export class Peer {
  readonly publicKeyHex: string;
  presharedKey: Uint8Array | null = null;
  /** Derived from the device key and this peer's public key; null without a device key. */
  remote: RemoteIdentity | null = null;
  endpoint: Endpoint | null = null;
  persistentKeepalive = 0;

  readonly keypairs = new KeypairSlots();
  handshake: PendingHandshake | null = null;
  /** Monotonic ms of the last initiation sent (A7), -Infinity when none. */
  lastInitiationSent = -Infinity;
  /** Monotonic ms of the last initiation consumed from this peer (A16). */
  lastInitiationConsumed = -Infinity;
  /** Greatest TAI64N timestamp accepted from this peer (A17). */
  latestTimestamp: Uint8Array | null = null;

  readonly timers: PeerTimers;
  cookie: CookieGenerator | null = null;

  /** Packets waiting for a session (copies), oldest first (C14). */
  readonly staged: Uint8Array[] = [];

  /** UDP payload bytes sent to / authenticated from this peer (C12). */
  readonly tx = new ByteCounter();
  readonly rx = new ByteCounter();
  /** Wall-clock ns of the last completed handshake, 0n if never. */
  lastHandshakeNs = 0n;

  /** The clock timer armed for `timers.nextDeadline()`, and its deadline. */
  timerHandle: TimerHandle | null = null;
  timerAt = Infinity;

  /** Per-batch bookkeeping on the packet path (see send/receive paths). */
  batchGen = -1;
  /** Position in the device's `touched` list during the current batch. */
  batchIndex = 0;
  batchTx = 0;
  batchRx = 0;
  batchKeypair: Keypair | null = null;
  batchNeedsFlush = false;
  batchDataReceived = false;
  batchConfirmed = false;
  batchRekey = false;

  constructor(
    readonly publicKey: Uint8Array,
    jitter: () => number,
  ) {
    this.publicKeyHex = bytesToHex(publicKey);
    this.timers = new PeerTimers(jitter);
  }

  /** Reset the per-batch bookkeeping when the peer is first seen in batch `gen`. */
  beginBatch(gen: number): void {
    this.batchGen = gen;
    this.batchTx = 0;
    this.batchRx = 0;
    this.batchNeedsFlush = false;
    this.batchDataReceived = false;
    this.batchConfirmed = false;
    this.batchRekey = false;
  }

  /** Queue a copy of a packet for when a session exists; drops the oldest when full. */
  stage(buf: Uint8Array, off: number, len: number): boolean {
    let overflow = false;
    if (this.staged.length >= MAX_STAGED_PACKETS) {
      this.staged.shift();
      overflow = true;
    }
    this.staged.push(buf.slice(off, off + len));
    return !overflow;
  }

  /** `peer(AbCd…WxYz)` as wireguard-go writes peers in logs. */
  toString(): string {
    const b64 = Buffer.from(this.publicKey).toString('base64');
    return `peer(${b64.slice(0, 4)}…${b64.slice(39, 43)})`;
  }
}
