/**
 * Device conformance helpers: a wire log on the MemoryNetwork, stepped simulated time, a raw
 * UDP host, and a FakePeer that speaks the protocol by hand (crafted initiations, transport
 * messages with arbitrary plaintext and counters) to drive a Device from outside.
 */
import { randomBytes } from 'node:crypto';
import { base64ToKey, createTransportCipher, type TransportCipher } from '../../../src/crypto/index.js';
import { Endpoint } from '../../../src/io/endpoint.js';
import { Device } from '../../../src/device/device.js';
import { MemoryBind, MemoryNetwork } from '../../../src/io/memory-bind.js';
import { MemoryTun } from '../../../src/io/memory-tun.js';
import { PacketBatch } from '../../../src/io/packet-batch.js';
import { ManualClock } from '../../../src/manual-clock.js';
import {
  consumeResponse,
  CookieGenerator,
  createInitiation,
  createLocalIdentity,
  createRemoteIdentity,
  tai64n,
  type InitiatorState,
  type LocalIdentity,
  type RemoteIdentity,
} from '../../../src/noise/index.js';
import { generateKeyPair, type KeyPair } from '../../../src/keys.js';
import { buildIcmpEcho } from '../../helpers/packets.js';
import { makePair, settle, type Pair } from './pair.js';

export interface WireRecord {
  from: string;
  to: string;
  bytes: Uint8Array;
  /** Monotonic ms of the network's observer clock when sent. */
  t: number;
  type: number;
}

/** Record every datagram the network carries (optionally dropping some with `filter`). */
export function tapWire(net: MemoryNetwork, clock: { now(): number }, drop?: (r: WireRecord) => boolean): WireRecord[] {
  const log: WireRecord[] = [];
  net.onDatagram = (from, to, bytes) => {
    const r = { from: from.toString(), to: to.toString(), bytes, t: clock.now(), type: bytes[0] };
    log.push(r);
    return drop?.(r) ? false : undefined;
  };
  return log;
}

/** Datagrams of `type` (1 initiation, 2 response, 3 cookie reply, 4 transport), optionally from `from`. */
export function ofType(log: WireRecord[], type: number, from?: string): WireRecord[] {
  return log.filter((r) => r.type === type && (from === undefined || r.from === from));
}

/** Advance simulated time in steps, letting deliveries and handshake queues run between. */
export async function advance(clock: ManualClock, ms: number, step = 100): Promise<void> {
  let left = ms;
  while (left > 0) {
    const d = Math.min(step, left);
    clock.advance(d);
    left -= d;
    await settle(6);
  }
}

export function u32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

export function u64le(b: Uint8Array, off: number): bigint {
  return BigInt(u32le(b, off)) | (BigInt(u32le(b, off + 4)) << 32n);
}

/** A bare UDP socket on the memory network. */
export class RawHost {
  readonly received: { bytes: Uint8Array; from: string }[] = [];
  private readonly batch = new PacketBatch(2);

  private constructor(readonly bind: MemoryBind) {}

  static async create(net: MemoryNetwork, address: string, port: number): Promise<RawHost> {
    const bind = new MemoryBind(net, { v4: address, v6: null });
    await bind.bind(port);
    const host = new RawHost(bind);
    bind.start({
      packets: (b) => {
        for (let i = 0; i < b.count; i++) {
          host.received.push({ bytes: b.packet(i).slice(), from: Endpoint.fromRecord(b.endpoints, b.endpointOffset(i)).toString() });
        }
      },
    });
    return host;
  }

  send(bytes: Uint8Array, to: string): void {
    const ep = Endpoint.parse(to);
    if (!ep) throw new TypeError(to);
    this.batch.count = 0;
    this.batch.push(bytes, ep.record);
    this.bind.send(this.batch);
  }

  take(): { bytes: Uint8Array; from: string }[] {
    return this.received.splice(0, this.received.length);
  }

  close(): void {
    this.bind.close();
  }
}

let indexSeq = 0x1000;

/**
 * A protocol peer built from the noise functions: makes initiations to a device whose public
 * key it knows, completes the handshake from the response, and seals transport messages with
 * any plaintext and counter.
 */
export class FakePeer {
  readonly keys: KeyPair;
  readonly local: LocalIdentity;
  readonly remote: RemoteIdentity;
  readonly cookie: CookieGenerator;
  private pending: InitiatorState | null = null;
  send: TransportCipher | null = null;
  recv: TransportCipher | null = null;
  remoteIndex = 0;
  localIndex = 0;
  counter = 0n;

  constructor(
    readonly host: RawHost,
    readonly deviceAddr: string,
    devicePublicKey: string,
    opts: { keys?: KeyPair; psk?: string } = {},
  ) {
    this.keys = opts.keys ?? generateKeyPair();
    this.local = createLocalIdentity(base64ToKey(this.keys.privateKey));
    this.remote = createRemoteIdentity(this.local, base64ToKey(devicePublicKey), opts.psk ? base64ToKey(opts.psk) : undefined);
    this.cookie = new CookieGenerator(this.remote);
  }

  /** A fresh initiation (mac1 set, mac2 from a held cookie) with the given wall time. */
  initiation(wallNs: bigint, now = 0): Uint8Array {
    const idx = ++indexSeq;
    const created = createInitiation(this.local, this.remote, {
      senderIndex: idx,
      ephemeralPrivate: randomBytes(32),
      timestamp: tai64n(wallNs),
    });
    if (!created) throw new Error('initiation failed');
    this.cookie.stamp(created.message, created.message.length, now);
    this.pending = created.state;
    this.localIndex = idx;
    return created.message;
  }

  /** Complete the handshake from a response (returns false if it does not verify). */
  consume(response: Uint8Array): boolean {
    if (!this.pending) return false;
    const keys = consumeResponse(this.local, this.remote, this.pending, response);
    if (!keys) return false;
    this.send = createTransportCipher(keys.sendKey);
    this.recv = createTransportCipher(keys.receiveKey);
    this.remoteIndex = keys.remoteIndex;
    this.counter = 0n;
    this.pending = null;
    return true;
  }

  /** Transport message carrying `plaintext` (no padding added) with the next or given counter. */
  transport(plaintext: Uint8Array, counter: bigint = this.counter++): Uint8Array {
    if (!this.send) throw new Error('no session');
    const msg = new Uint8Array(16 + plaintext.length + 16);
    const v = new DataView(msg.buffer);
    msg[0] = 4;
    v.setUint32(4, this.remoteIndex, true);
    v.setUint32(8, Number(counter & 0xffffffffn), true);
    v.setUint32(12, Number(counter >> 32n), true);
    msg.set(plaintext, 16);
    this.send.seal(Number(counter & 0xffffffffn), Number(counter >> 32n), msg, 16, plaintext.length);
    return msg;
  }

  /** Decrypt a transport message from the device (null if it fails). */
  open(msg: Uint8Array): Uint8Array | null {
    if (!this.recv || msg[0] !== 4) return null;
    const copy = msg.slice();
    const lo = u32le(copy, 8);
    const hi = u32le(copy, 12);
    if (!this.recv.open(lo, hi, copy, 16, copy.length - 16)) return null;
    return copy.subarray(16, copy.length - 16);
  }

  /** Initiation → response → keepalive (confirms the device's session). */
  async handshake(wallNs: bigint, now = 0): Promise<void> {
    this.host.send(this.initiation(wallNs, now), this.deviceAddr);
    await settle();
    const resp = this.host.take().find((r) => r.bytes[0] === 2);
    if (!resp || !this.consume(resp.bytes)) throw new Error('no valid response');
    this.host.send(this.transport(new Uint8Array(0)), this.deviceAddr);
    await settle();
  }
}

// ---------------------------------------------------------------- setups

export const A_ADDR = '192.0.2.1:1001';
export const B_ADDR = '192.0.2.2:1002';

/** A pair on a simulated clock with a wire log. */
export async function clockedPair(opts: { endpointOnB?: boolean; psk?: string } = {}): Promise<{
  p: Pair;
  clock: ManualClock;
  log: WireRecord[];
}> {
  const clock = new ManualClock();
  const p = await makePair({ clock, ...opts });
  const log = tapWire(p.net, clock);
  return { p, clock, log };
}

/** Inject an ICMP echo request into a TUN. */
export function ping(tun: MemoryTun, src: string, dst: string, seq = 1, payloadLen = 56): void {
  tun.inject(buildIcmpEcho({ src, dst, seq, payload: new Uint8Array(payloadLen) }));
}

/** A→B ping and its delivery; returns after everything settled (handshake included). */
export async function pingAB(p: Pair, seq = 1): Promise<Uint8Array[]> {
  ping(p.tunA, '10.0.0.1', '10.0.0.2', seq);
  await settle();
  return p.tunB.takeWritten();
}

export function b64hex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

/** The internal Peer object (for state assertions). */
export function peerOf(dev: Device, publicKeyB64: string) {
  const peer = dev.getPeer(base64ToKey(publicKeyB64));
  if (!peer) throw new Error('no such peer');
  return peer;
}

/** Sum of all drop counters. */
export function totalDrops(dev: Device): number {
  return Object.values(dev.drops).reduce((a: number, b: number) => a + b, 0);
}

/**
 * One device D (192.0.2.2:1002, tunnel 10.0.0.2) with a FakePeer on 192.0.2.9:1009
 * (tunnel 10.0.0.9/32), on a simulated clock.
 */
export async function solo(opts: { fakeEndpoint?: boolean; psk?: string } = {}): Promise<{
  net: MemoryNetwork;
  clock: ManualClock;
  dev: Device;
  tun: MemoryTun;
  fake: FakePeer;
  host: RawHost;
  keys: KeyPair;
  log: WireRecord[];
}> {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const log = tapWire(net, clock);
  const keys = generateKeyPair();
  const tun = new MemoryTun({ name: 'd0' });
  const bind = new MemoryBind(net, { v4: '192.0.2.2', v6: null });
  const dev = new Device({ tun, bind, privateKey: keys.privateKey, listenPort: 1002, clock });
  const host = await RawHost.create(net, '192.0.2.9', 1009);
  const fake = new FakePeer(host, B_ADDR, keys.publicKey, { psk: opts.psk });
  dev.setPeer({
    publicKey: fake.keys.publicKey,
    allowedIPs: ['10.0.0.9/32'],
    endpoint: opts.fakeEndpoint ? '192.0.2.9:1009' : undefined,
    presharedKey: opts.psk,
  });
  await dev.up();
  return { net, clock, dev, tun, fake, host, keys, log };
}
