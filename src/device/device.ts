import { systemClock, type Clock, type RandomSource } from '../clock.js';
import { MAX_PEERS, REKEY_TIMEOUT_JITTER_MAX, DEFAULT_MTU, MAX_PADDING_MTU } from '../constants.js';
import { bytesToHex, constantTimeEqual, cryptoRandom, isAllZero, keyToBase64, type TransportCipher } from '../crypto/index.js';
import type { Bind } from '../io/bind.js';
import { Endpoint } from '../io/endpoint.js';
import { PacketBatch } from '../io/packet-batch.js';
import type { TunDevice, TunEvent } from '../io/tun.js';
import {
  CookieChecker,
  CookieGenerator,
  createLocalIdentity,
  createRemoteIdentity,
  type LocalIdentity,
} from '../noise/index.js';
import { AllowedIPs, formatPrefix } from '../routing/index.js';
import type { Keypair } from '../session/keypair.js';
import {
  GIVE_UP,
  NEW_HANDSHAKE,
  PERSISTENT_KEEPALIVE,
  RETRANSMIT_HANDSHAKE,
  SEND_KEEPALIVE,
  ZERO_KEYS,
} from '../session/timers.js';
import { formatGetReply, parseSetRequest, type DeviceSnapshot, type PeerSnapshot, type SetOp, type UapiError } from '../uapi/index.js';
import { TypedEmitter, type DeviceEvents } from './events.js';
import { HandshakeQueue, sendInitiation } from './handshake-path.js';
import { IndexTable } from './index-table.js';
import { silentLogger, type Logger } from './logger.js';
import { Peer } from './peer.js';
import { RateLimiter } from './ratelimiter.js';
import { completeReceive, receiveUdpBatch } from './receive-path.js';
import { completeSend, flushStaged, sendKeepalive, sendTunBatch } from './send-path.js';
import { CryptoPool, defaultCryptoWorkers, type CompletionMode } from './crypto-pool.js';
import { nativeAeadAvailable } from '../crypto/native-aead.js';
import { NATIVE_ADDON_PATH } from '../io/native.js';
import { newDropCounters, type DropCounters } from './stats.js';
import { cipherFactory, RunScratch, type CipherKind } from './cipher-runs.js';
import { applySetOps } from './uapi-apply.js';
import { peerConfigOps, toKey, type PeerConfig } from './peer-config.js';

/** What an index in the index table names: a pending handshake of a peer, or a session. */
export interface IndexEntry {
  readonly peer: Peer;
  keypair: Keypair | null;
}

export interface DeviceOptions {
  /** The inside: a `MemoryTun` (no root) or a `LinuxTun`. */
  tun: TunDevice;
  /** The outside: a `UdpBind`, `MemoryBind` or `NativeBind`. */
  bind: Bind;
  /** Private key: 32 bytes or base64. Optional; can be set later. */
  privateKey?: Uint8Array | string;
  /** UDP port to listen on; 0 or absent = random. */
  listenPort?: number;
  /** SO_MARK for outgoing UDP; 0 = none. */
  fwmark?: number;
  clock?: Clock;
  random?: RandomSource;
  logger?: Logger;
  /** Capacity of the incoming handshake queue; under load at 1/8 of it (B5). */
  handshakeQueueCapacity?: number;
  /** Transport AEAD: 'native' (batched, through the addon; default when built) or 'js' (node:crypto). */
  cipher?: CipherKind;
  /** Capacity of the per-source rate limiter table (B10). */
  rateLimiterCapacity?: number;
  /**
   * Worker threads that seal and open transport batches (crypto-pool.ts). 0 = inline, as
   * always; absent = defaultCryptoWorkers() (0: see bench/results/crypto-workers.md). Needs
   * the native cipher; ignored with cipher 'js' or without the addon.
   */
  cryptoWorkers?: number;
  /** How the device notices finished worker batches (default 'atomics'). */
  cryptoCompletion?: CompletionMode;
}

/** Read-only view of a peer for the library API. */
export interface PeerInfo {
  publicKey: string;
  endpoint: string | null;
  allowedIPs: string[];
  persistentKeepalive: number;
  /** Wall-clock ms of the last handshake, 0 if never. */
  lastHandshake: number;
  txBytes: bigint;
  rxBytes: bigint;
}

/** Packet taps for tests and debugging: called with views that are valid only during the call. */
export interface PacketTap {
  udpIn?(bytes: Uint8Array, from: Endpoint | null): void;
  udpOut?(bytes: Uint8Array): void;
}


/**
 * A WireGuard interface: peers, sessions, handshakes and the data path between a TUN and
 * a UDP bind.
 *
 * ```ts
 * const dev = new Device({ tun, bind, privateKey });
 * dev.setPeer({ publicKey, endpoint: '192.0.2.1:51820', allowedIPs: ['10.0.0.2/32'] });
 * await dev.up();
 * ```
 *
 * Configuration can also be applied with the UAPI text `wg` speaks (`ipcSet`, `ipcGet`).
 */
export class Device extends TypedEmitter<DeviceEvents> {
  /** @internal */ readonly tun: TunDevice;
  /** @internal */ readonly bind: Bind;
  /** @internal */ readonly clock: Clock;
  /** @internal */ readonly random: RandomSource;
  /** @internal */ readonly logger: Logger;
  /** @internal */ local: LocalIdentity | null = null;
  /** @internal */ cookieChecker: CookieChecker | null = null;
  /** @internal */ readonly peersByKey = new Map<string, Peer>();
  /** @internal */ readonly allowedIPs = new AllowedIPs<Peer>();
  /** @internal */ readonly indices: IndexTable<IndexEntry>;
  /** @internal */ readonly rateLimiter: RateLimiter;
  /** @internal */ readonly handshakes: HandshakeQueue;
  /** @internal */ readonly ctrlBatch = new PacketBatch(8, 2048);
  /** @internal */ stagedBatch: PacketBatch | null = null;
  /** @internal */ batchGen = 0;
  /** @internal */ readonly touched: Peer[] = [];
  /** @internal */ readonly sealScratch = new RunScratch();
  /** @internal */ readonly openScratch = new RunScratch();
  /** @internal */ readonly openKeypairs: (Keypair | null)[] = [];
  /** @internal */ readonly createCipher: (key: Uint8Array) => TransportCipher;
  /** @internal Crypto workers, or null when sealing and opening run inline. */
  readonly cryptoPool: CryptoPool | null = null;
  /** @internal */ forcedUnderLoad: boolean | null = null;
  /** @internal */ tap: PacketTap | null = null;
  /** Why packets were dropped (each drop counted once). */
  readonly drops: DropCounters = newDropCounters();

  private started = false;
  private closed = false;
  private adminUp = false;
  private fwmarkValue = 0;
  private listenPortWanted: number;
  private readonly jitterBytes = new Uint8Array(2);

  constructor(options: DeviceOptions) {
    super();
    this.tun = options.tun;
    this.bind = options.bind;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.logger = options.logger ?? silentLogger;
    this.indices = new IndexTable<IndexEntry>(this.random);
    this.createCipher = cipherFactory(options.cipher);
    const workers = options.cryptoWorkers ?? defaultCryptoWorkers();
    if (workers > 0 && options.cipher !== 'js' && nativeAeadAvailable()) {
      const pool = new CryptoPool({
        workers,
        addonPath: NATIVE_ADDON_PATH,
        completion: options.cryptoCompletion,
        sealed: (job) => completeSend(this, job),
        opened: (job) => completeReceive(this, job),
      });
      const inline = this.createCipher;
      this.createCipher = (key) => pool.wrapCipher(inline(key), key);
      this.cryptoPool = pool;
    }
    this.rateLimiter = new RateLimiter(options.rateLimiterCapacity ?? 8192, this.random);
    this.handshakes = new HandshakeQueue(this, options.handshakeQueueCapacity ?? 4096);
    this.listenPortWanted = options.listenPort ?? 0;
    this.fwmarkValue = options.fwmark ?? 0;
    if (options.privateKey !== undefined) this.setPrivateKey(options.privateKey);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Bind the UDP sockets, start reading the TUN and the sockets, and bring the device up
   * (flushing staged packets and sending persistent keepalives, A15).
   */
  async up(): Promise<void> {
    if (this.closed) throw new Error('device is closed');
    if (!this.started) {
      this.started = true;
      if (this.bind.port === 0) await this.bind.bind(this.listenPortWanted);
      if (this.fwmarkValue !== 0) this.bind.setMark(this.fwmarkValue);
      this.bind.start({ packets: (b) => receiveUdpBatch(this, b) });
      this.tun.start({ packets: (b) => sendTunBatch(this, b), event: (e) => this.onTunEvent(e) });
    }
    if (!this.adminUp) {
      this.adminUp = true;
      if (this.isUp) this.onLinkUp();
    }
  }

  /** Bring the device down: nothing is sent, sessions and staged packets are cleared. */
  async down(): Promise<void> {
    if (!this.adminUp) return;
    const wasUp = this.isUp;
    this.adminUp = false;
    if (wasUp) this.onLinkDown();
  }

  /** Stop everything and release the TUN and sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.adminUp = false;
    for (const peer of this.peersByKey.values()) this.resetPeerState(peer);
    this.handshakes.clear();
    this.bind.close();
    this.tun.close();
    await this.cryptoPool?.close();
  }

  /** True when packets flow: started, administratively up and the TUN link is up. */
  get isUp(): boolean {
    return this.adminUp && !this.closed && this.tun.isUp;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onTunEvent(e: TunEvent): void {
    switch (e.type) {
      case 'up':
        if (this.adminUp) this.onLinkUp();
        break;
      case 'down':
        if (this.adminUp) this.onLinkDown();
        break;
      case 'mtu':
        break; // read through tun.mtu when padding
      case 'closed':
        this.logger.debug(`Interface closed${e.error ? `: ${e.error.message}` : ''}`);
        void this.close().then(() => this.emit('closed', { reason: e.error?.message ?? 'interface closed' }));
        break;
    }
  }

  private onLinkUp(): void {
    for (const peer of this.peersByKey.values()) {
      // A15: "at once" — a fresh start is not paced by initiations sent before the link
      // went down (wireguard-go's Peer.Start backdates lastSentHandshake the same way).
      peer.lastInitiationSent = -Infinity;
      flushStaged(this, peer);
      if (peer.persistentKeepalive > 0) sendKeepalive(this, peer);
    }
  }

  private onLinkDown(): void {
    for (const peer of this.peersByKey.values()) this.resetPeerState(peer);
    this.handshakes.clear();
  }

  /** @internal Effective padding MTU (C6). */
  get mtu(): number {
    const m = this.tun.mtu || DEFAULT_MTU;
    return m > MAX_PADDING_MTU ? MAX_PADDING_MTU : m;
  }

  // ---------------------------------------------------------------- keys

  /** The device's public key, or null without a private key. */
  get publicKey(): Uint8Array | null {
    return this.local?.publicKey ?? null;
  }

  /**
   * Set (or with 32 zero bytes / null, remove) the private key (B13): sessions are dropped,
   * every peer's precomputation is redone, and a peer with the new public key is removed.
   */
  setPrivateKey(key: Uint8Array | string | null): void {
    const raw = key === null ? new Uint8Array(32) : toKey(key, 'private key');
    const hadKey = this.local !== null;
    if (isAllZero(raw)) {
      if (!hadKey) return;
      this.local = null;
      this.cookieChecker = null;
    } else {
      const next = createLocalIdentity(raw);
      if (this.local && constantTimeEqual(this.local.privateKey, next.privateKey)) return;
      this.local = next;
      if (this.cookieChecker) this.cookieChecker.setLocal(next);
      else this.cookieChecker = new CookieChecker(next, this.random);
      const same = this.peersByKey.get(bytesToHex(next.publicKey));
      if (same) this.removePeerObject(same);
    }
    for (const peer of this.peersByKey.values()) {
      // Sessions go (B13), but packets waiting for one stay: a keepalive queued at link up
      // without a key must go out once the key is set (A15, F16).
      const staged = peer.staged.splice(0);
      this.resetPeerState(peer);
      for (const pkt of staged) peer.staged.push(pkt);
      // F7: the next packet handshakes at once under the new key, not up to REKEY_TIMEOUT
      // later (wireguard-go's ExpireCurrentKeypairs / the kernel backdate last_sent_handshake).
      peer.lastInitiationSent = -Infinity;
      this.refreshRemote(peer);
    }
    if (!hadKey && this.local && this.isUp) {
      for (const peer of this.peersByKey.values()) flushStaged(this, peer);
    }
  }

  /** @internal Recompute a peer's handshake precomputation (key or PSK change). */
  refreshRemote(peer: Peer): void {
    peer.remote = createRemoteIdentity(this.local, peer.publicKey, peer.presharedKey ?? undefined);
    if (peer.cookie) peer.cookie.reset(peer.remote);
    else peer.cookie = new CookieGenerator(peer.remote);
  }

  // ---------------------------------------------------------------- sockets

  get listenPort(): number {
    return this.bind.port;
  }

  /** Rebind to `port` (0 = random). Throws BindError (errno 98) and keeps the old port on failure. */
  async setListenPort(port: number): Promise<void> {
    this.listenPortWanted = port;
    if (!this.started && this.bind.port === 0) {
      await this.bind.bind(port);
      return;
    }
    if (port !== 0 && port === this.bind.port) return;
    await this.bind.bind(port);
    if (this.fwmarkValue !== 0) this.bind.setMark(this.fwmarkValue);
    for (const peer of this.peersByKey.values()) {
      if (peer.endpoint) peer.endpoint = peer.endpoint.withoutLocal();
    }
  }

  get fwmark(): number {
    return this.fwmarkValue;
  }

  /** Set SO_MARK on the UDP sockets (0 = off). Throws BindError on failure. */
  setFwmark(mark: number): void {
    if (mark === this.fwmarkValue) return;
    if (this.bind.port !== 0 || this.started) this.bind.setMark(mark);
    this.fwmarkValue = mark;
  }

  // ---------------------------------------------------------------- peers

  /** @internal */
  getPeer(publicKey: Uint8Array): Peer | undefined {
    return this.peersByKey.get(bytesToHex(publicKey));
  }

  /** @internal Create a peer (caller checks it does not exist). Throws at MAX_PEERS. */
  createPeer(publicKey: Uint8Array): Peer {
    if (this.peersByKey.size >= MAX_PEERS) throw new RangeError('too many peers');
    const peer = new Peer(publicKey.slice(), () => this.jitter());
    this.refreshRemote(peer);
    this.peersByKey.set(peer.publicKeyHex, peer);
    return peer;
  }

  /** @internal */
  removePeerObject(peer: Peer): void {
    this.resetPeerState(peer);
    this.allowedIPs.removeByPeer(peer);
    this.peersByKey.delete(peer.publicKeyHex);
  }

  /** @internal Drop all sessions, the pending handshake, staged packets and timers. */
  resetPeerState(peer: Peer): void {
    peer.keypairs.clear((k) => this.dropKeypair(k));
    this.dropHandshake(peer);
    if (peer.staged.length) {
      this.drops.stagedDiscarded += peer.staged.length;
      peer.staged.length = 0;
    }
    peer.timers.stopAll();
    peer.timerHandle?.cancel();
    peer.timerHandle = null;
    peer.timerAt = Infinity;
  }

  /** @internal */
  dropKeypair(k: Keypair): void {
    this.indices.delete(k.localIndex);
    k.destroy();
  }

  /** @internal */
  dropHandshake(peer: Peer): void {
    if (peer.handshake) {
      this.indices.delete(peer.handshake.localIndex);
      peer.handshake = null;
    }
  }

  /** Add or update a peer. */
  setPeer(config: PeerConfig): void {
    const ops = peerConfigOps(config);
    const result = applySetOps(this, ops);
    if (result instanceof Promise) throw new Error('unexpected asynchronous peer update');
    if (result !== 0) throw new Error(`peer update failed: ${result.message}`);
  }

  /** Remove a peer; returns false if there was none. */
  removePeer(publicKey: Uint8Array | string): boolean {
    const peer = this.getPeer(toKey(publicKey, 'public key'));
    if (!peer) return false;
    this.removePeerObject(peer);
    return true;
  }

  /** All peers in creation order. */
  peers(): PeerInfo[] {
    return [...this.peersByKey.values()].map((p) => ({
      publicKey: keyToBase64(p.publicKey),
      endpoint: p.endpoint?.toString() ?? null,
      allowedIPs: [...this.allowedIPs.prefixesOf(p)].map((x) => formatPrefix(x.family, x.addr, x.bits)),
      persistentKeepalive: p.persistentKeepalive,
      lastHandshake: Number(p.lastHandshakeNs / 1_000_000n),
      txBytes: p.tx.value,
      rxBytes: p.rx.value,
    }));
  }

  // ---------------------------------------------------------------- UAPI

  /** The `get=1` reply, exactly as `wg` expects it (ends with `errno=0\n\n`). */
  ipcGet(): string {
    return formatGetReply(this.snapshot());
  }

  /** @internal */
  snapshot(): DeviceSnapshot {
    const peers: PeerSnapshot[] = [];
    for (const p of this.peersByKey.values()) {
      const ns = p.lastHandshakeNs;
      peers.push({
        publicKey: p.publicKey,
        presharedKey: p.presharedKey,
        endpoint: p.endpoint,
        lastHandshakeSec: ns / 1_000_000_000n,
        lastHandshakeNsec: Number(ns % 1_000_000_000n),
        txBytes: p.tx.value,
        rxBytes: p.rx.value,
        persistentKeepaliveInterval: p.persistentKeepalive,
        allowedIPs: [...this.allowedIPs.prefixesOf(p)],
      });
    }
    return { privateKey: this.local?.privateKey ?? null, listenPort: this.bind.port, fwmark: this.fwmarkValue, peers };
  }

  /**
   * Apply a `set=1` request body (the lines after `set=1`, up to the blank line). Resolves
   * to the errno of the reply: 0, or negative (-22, -71, -98, ...); a failure is logged once.
   */
  async ipcSet(body: string): Promise<number> {
    const { ops, error } = parseSetRequest(body.startsWith('set=1\n') ? body.slice(6) : body);
    const result = await this.applyParsed(ops, error);
    if (result === 0) return 0;
    this.logger.error(`IPC error ${result.errno}: ${result.message}`);
    return result.errno;
  }

  /**
   * @internal Apply already-parsed operations (the UAPI server's entry point): the operations
   * before the parse error are applied, then the first failure is returned, not logged.
   */
  async applyParsed(ops: SetOp[], parseError: UapiError | null): Promise<0 | UapiError> {
    const result = await applySetOps(this, ops);
    if (result !== 0) return result;
    return parseError ?? 0;
  }

  // ---------------------------------------------------------------- timers

  /** @internal Random jitter in [0, REKEY_TIMEOUT_JITTER_MAX) ms. */
  jitter(): number {
    this.random.fill(this.jitterBytes);
    return ((this.jitterBytes[0] << 8) | this.jitterBytes[1]) % REKEY_TIMEOUT_JITTER_MAX;
  }

  /** @internal Make sure a clock timer is armed for the peer's next deadline. */
  armTimers(peer: Peer): void {
    const at = peer.timers.nextDeadline();
    if (at >= peer.timerAt) return;
    peer.timerHandle?.cancel();
    peer.timerAt = at;
    if (at === Infinity) {
      peer.timerHandle = null;
      return;
    }
    peer.timerHandle = this.clock.setTimer(at - this.clock.now(), () => this.onPeerTimer(peer));
  }

  private onPeerTimer(peer: Peer): void {
    peer.timerHandle = null;
    peer.timerAt = Infinity;
    if (this.closed || this.peersByKey.get(peer.publicKeyHex) !== peer) return;
    const now = this.clock.now();
    const actions = peer.timers.expire(now);
    if (actions & ZERO_KEYS) {
      peer.keypairs.clear((k) => this.dropKeypair(k));
      this.dropHandshake(peer);
    }
    if (actions & GIVE_UP) {
      this.drops.stagedDiscarded += peer.staged.length;
      peer.staged.length = 0;
      this.dropHandshake(peer);
    }
    if (this.isUp) {
      if (actions & RETRANSMIT_HANDSHAKE) sendInitiation(this, peer, true);
      if (actions & NEW_HANDSHAKE) {
        if (peer.endpoint) peer.endpoint = peer.endpoint.withoutLocal();
        sendInitiation(this, peer, false);
      }
      if (actions & (SEND_KEEPALIVE | PERSISTENT_KEEPALIVE)) sendKeepalive(this, peer);
    }
    this.armTimers(peer);
  }

  // ---------------------------------------------------------------- events and hooks

  /** @internal */
  emitHandshake(peer: Peer): void {
    this.emit('handshake', { publicKey: keyToBase64(peer.publicKey) });
  }

  /** @internal */
  emitEndpoint(peer: Peer): void {
    this.emit('endpoint', { publicKey: keyToBase64(peer.publicKey), endpoint: peer.endpoint?.toString() ?? '' });
  }

  /** Test hook (conformance): force the under-load state on/off, or null to follow the queue. */
  forceUnderLoad(on: boolean | null): void {
    this.forcedUnderLoad = on;
  }

  /** Test hook (conformance): set the next send counter of a peer's current session. */
  setSendCounter(publicKey: Uint8Array | string, counter: bigint): void {
    const kp = this.getPeer(toKey(publicKey, 'public key'))?.keypairs.current;
    if (!kp) throw new Error('peer has no current session');
    kp.setSendCounter(counter);
  }

  /** Test hook (conformance): observe datagrams on the UDP side. */
  setPacketTap(tap: PacketTap | null): void {
    this.tap = tap;
  }
}
