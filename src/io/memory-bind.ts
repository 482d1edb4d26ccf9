import { systemClock, type Clock } from '../clock.js';
import { BindError, type Bind, type BindHandler } from './bind.js';
import {
  ENDPOINT_RECORD_SIZE,
  EP_ADDR,
  EP_FAMILY,
  EP_FLAG_LOCAL,
  EP_FLAGS,
  EP_LOCAL,
  EP_PORT,
  Endpoint,
  formatIPv4,
  formatIPv6,
} from './endpoint.js';
import { DEFAULT_BATCH_CAPACITY, PacketBatch, type PacketView } from './packet-batch.js';

const EADDRINUSE = 98;
/** Linux's default ip_local_port_range, where port 0 is allocated from. */
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** Largest UDP payload (IPv6 jumbograms aside). */
const MAX_DATAGRAM = 65_527;

/**
 * Link impairments applied to every datagram the network carries. Rates are probabilities
 * in [0, 1] drawn from the network's `random`; set them to 0 or 1 for deterministic tests.
 */
export interface LinkConditions {
  /** A datagram is lost. */
  dropRate?: number;
  /** A datagram arrives twice. */
  duplicateRate?: number;
  /**
   * Within one delivered batch (everything that reached a bind in one event-loop turn),
   * each datagram is swapped with a random later one. A lone datagram is never reordered.
   */
  reorderRate?: number;
  /** Every datagram arrives this many ms (of the network's clock) late. */
  delayMs?: number;
}

export interface MemoryNetworkOptions extends LinkConditions {
  /** Uniform [0, 1) source for impairments and port allocation (default Math.random). */
  random?: () => number;
  /** Clock for `delayMs` (default the system clock; pass a ManualClock to step delays). */
  clock?: Clock;
}

/**
 * Tap on the wire: sees every datagram sent into the network (before impairments), with
 * a copy of its bytes. Return `false` to drop it.
 */
export type DatagramTap = (from: Endpoint, to: Endpoint, bytes: Uint8Array) => boolean | void;

export interface MemoryNetworkStats {
  /** Datagrams handed to the network by `send`. */
  sent: number;
  /** Datagrams placed in a receiver's queue (duplicates count twice). */
  delivered: number;
  /** Lost to `dropRate` or the tap. */
  dropped: number;
  /** Nobody bound to the destination (at send time, or at arrival when delayed). */
  unreachable: number;
  /** Receiver's queue was full. */
  overflow: number;
}

/**
 * An in-process UDP "network": every MemoryBind attached to it owns one IPv4 and/or one IPv6
 * address (strings, like hosts), and a datagram sent to `address:port` reaches the bind that
 * holds that pair. Two binds may share an address (like two sockets on one host); then they
 * need different ports.
 *
 * Delivery is asynchronous and batched: datagrams sent to a bind are queued and delivered on
 * `setImmediate`, all those that arrived in one event-loop turn in as few batches as possible.
 * (Microtasks would let two devices ping-pong forever without yielding to I/O and timers.)
 * Because of this, do not fake `setImmediate` in tests; use `settle()` to wait, and a
 * ManualClock for `delayMs`.
 *
 * A test double: sending allocates (an address string per datagram); receiving copies into
 * preallocated batches.
 */
export class MemoryNetwork {
  /** Current impairments; change at any time. */
  conditions: LinkConditions;
  onDatagram: DatagramTap | null = null;
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0, unreachable: 0, overflow: 0 };
  readonly random: () => number;
  readonly clock: Clock;
  private readonly holders = new Map<string, MemoryBind>();
  /** Binds with a delivery scheduled. */
  private readonly busy = new Set<MemoryBind>();

  constructor(options: MemoryNetworkOptions = {}) {
    const { random, clock, ...conditions } = options;
    this.conditions = conditions;
    this.random = random ?? Math.random;
    this.clock = clock ?? systemClock;
  }

  /**
   * Resolve once no bind has a delivery pending, including deliveries triggered by the
   * handlers of earlier ones (request → reply chains). Delayed datagrams are not waited for.
   */
  async settle(maxTurns = 1000): Promise<void> {
    for (let i = 0; i < maxTurns && this.busy.size > 0; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.busy.size > 0) throw new Error(`MemoryNetwork did not settle within ${maxTurns} turns`);
  }

  /** Which bind holds `address:port`, if any. */
  holder(address: string, port: number): MemoryBind | undefined {
    return this.holders.get(key(canonicalAddress(address), port));
  }

  /** @internal Ports in use check + registration, used by MemoryBind. */
  isFree(addresses: readonly string[], port: number, except: MemoryBind): boolean {
    for (const a of addresses) {
      const h = this.holders.get(key(a, port));
      if (h && h !== except) return false;
    }
    return true;
  }

  /** @internal */
  allocatePort(addresses: readonly string[], except: MemoryBind): number {
    const size = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = Math.floor(this.random() * size);
    for (let i = 0; i < size; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % size);
      if (this.isFree(addresses, port, except)) return port;
    }
    throw new BindError('no free ephemeral port', EADDRINUSE);
  }

  /** @internal */
  register(addresses: readonly string[], port: number, bind: MemoryBind): void {
    for (const a of addresses) this.holders.set(key(a, port), bind);
  }

  /** @internal */
  unregister(addresses: readonly string[], port: number, bind: MemoryBind): void {
    for (const a of addresses) {
      const k = key(a, port);
      if (this.holders.get(k) === bind) this.holders.delete(k);
    }
  }

  /** @internal */
  markBusy(bind: MemoryBind, busy: boolean): void {
    if (busy) this.busy.add(bind);
    else this.busy.delete(bind);
  }

  /**
   * @internal Carry one datagram. `srcAddr`/`dstAddr` are the 4 or 16 address bytes at
   * `srcBytes[srcOff]`/`dstBytes[dstOff]` (`family` tells which).
   */
  transmit(
    family: 4 | 6,
    srcBytes: Uint8Array,
    srcOff: number,
    srcPort: number,
    dstBytes: Uint8Array,
    dstOff: number,
    dstPort: number,
    data: Uint8Array,
    off: number,
    len: number,
  ): void {
    this.stats.sent++;
    const dst = family === 4 ? formatIPv4(dstBytes, dstOff) : formatIPv6(dstBytes, dstOff);
    if (this.onDatagram) {
      const src = family === 4 ? formatIPv4(srcBytes, srcOff) : formatIPv6(srcBytes, srcOff);
      const verdict = this.onDatagram(
        Endpoint.fromAddress(src, srcPort),
        Endpoint.fromAddress(dst, dstPort),
        data.slice(off, off + len),
      );
      if (verdict === false) {
        this.stats.dropped++;
        return;
      }
    }
    const c = this.conditions;
    if (c.dropRate && this.random() < c.dropRate) {
      this.stats.dropped++;
      return;
    }
    const copies = c.duplicateRate && this.random() < c.duplicateRate ? 2 : 1;
    const k = key(dst, dstPort);
    if (c.delayMs && c.delayMs > 0) {
      const bytes = data.slice(off, off + len);
      const src = srcBytes.slice(srcOff, srcOff + (family === 4 ? 4 : 16));
      for (let n = 0; n < copies; n++) {
        this.clock.setTimer(c.delayMs, () => {
          const r = this.holders.get(k);
          if (!r) this.stats.unreachable++;
          else this.accept(r, family, src, 0, srcPort, bytes, 0, bytes.length);
        });
      }
      return;
    }
    const receiver = this.holders.get(k);
    if (!receiver) {
      this.stats.unreachable++;
      return;
    }
    for (let n = 0; n < copies; n++) this.accept(receiver, family, srcBytes, srcOff, srcPort, data, off, len);
  }

  private accept(
    r: MemoryBind,
    family: 4 | 6,
    src: Uint8Array,
    srcOff: number,
    srcPort: number,
    data: Uint8Array,
    off: number,
    len: number,
  ): void {
    if (r.enqueue(family, src, srcOff, srcPort, data, off, len)) this.stats.delivered++;
    else this.stats.overflow++;
  }
}

export interface MemoryBindOptions {
  /** IPv4 address of this bind, or null for none (default 127.0.0.1). */
  v4?: string | null;
  /** IPv6 address of this bind, or null for none (default ::1). */
  v6?: string | null;
  /** Packets per delivered batch (default 64). */
  batchCapacity?: number;
  /** Most datagrams queued for delivery at once, like a socket buffer (default 1024). */
  queueLimit?: number;
}

/**
 * A Bind on a MemoryNetwork. Received datagrams carry full source endpoint records: remote
 * address and port, and (flag EP_FLAG_LOCAL) the local address they arrived on, interface
 * index 0. On send, a sticky local source that is not this bind's address any more is
 * cleared in the caller's record and the datagram leaves from the current address, as the
 * kernel does when the cached source becomes invalid.
 *
 * Received datagrams wait in batches sized like any other (64 KiB slots), allocated on
 * demand and reused.
 */
export class MemoryBind implements Bind {
  private boundPort = 0;
  private v4: string | null;
  private v6: string | null;
  private v4Bytes: Uint8Array | null;
  private v6Bytes: Uint8Array | null;
  private handler: BindHandler | null = null;
  private pending: PacketBatch[] = [];
  private delivering: PacketBatch[] = [];
  private readonly spare: PacketBatch[] = [];
  private queued = 0;
  private immediate: NodeJS.Immediate | null = null;
  private readonly capacity: number;
  private readonly queueLimit: number;
  private readonly scratch = new Uint8Array(ENDPOINT_RECORD_SIZE);
  /** Last value given to setMark (the memory network ignores marks). */
  mark = 0;

  constructor(
    readonly network: MemoryNetwork,
    options: MemoryBindOptions = {},
  ) {
    this.v4 = options.v4 === undefined ? '127.0.0.1' : options.v4 && canonicalAddress(options.v4, 4);
    this.v6 = options.v6 === undefined ? '::1' : options.v6 && canonicalAddress(options.v6, 6);
    if (!this.v4 && !this.v6) throw new TypeError('MemoryBind needs an IPv4 or an IPv6 address');
    this.v4Bytes = addressBytes(this.v4);
    this.v6Bytes = addressBytes(this.v6);
    this.capacity = options.batchCapacity ?? DEFAULT_BATCH_CAPACITY;
    this.queueLimit = options.queueLimit ?? 1024;
  }

  get port(): number {
    return this.boundPort;
  }

  /** This bind's addresses (canonical text). */
  get addresses(): { v4: string | null; v6: string | null } {
    return { v4: this.v4, v6: this.v6 };
  }

  async bind(port: number): Promise<number> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port: ${port}`);
    if (port !== 0 && port === this.boundPort) return port;
    const addrs = this.addressList();
    let p = port;
    if (p === 0) p = this.network.allocatePort(addrs, this);
    else if (!this.network.isFree(addrs, p, this)) {
      throw new BindError(`bind ${p}: address already in use`, EADDRINUSE);
    }
    // New before old: the new port is registered, then the old one released.
    this.network.register(addrs, p, this);
    if (this.boundPort !== 0) this.network.unregister(addrs, this.boundPort, this);
    this.boundPort = p;
    return p;
  }

  /**
   * Change this bind's addresses (roaming, `ip addr` changes). While bound, the new
   * address:port pairs must be free (BindError 98 otherwise, nothing changed).
   * `undefined` keeps an address, `null` removes it.
   */
  setAddresses(next: { v4?: string | null; v6?: string | null }): void {
    const v4 = next.v4 === undefined ? this.v4 : next.v4 && canonicalAddress(next.v4, 4);
    const v6 = next.v6 === undefined ? this.v6 : next.v6 && canonicalAddress(next.v6, 6);
    if (!v4 && !v6) throw new TypeError('MemoryBind needs an IPv4 or an IPv6 address');
    const list = [v4, v6].filter((a): a is string => !!a);
    if (this.boundPort !== 0) {
      if (!this.network.isFree(list, this.boundPort, this)) {
        throw new BindError(`bind ${this.boundPort}: address already in use`, EADDRINUSE);
      }
      this.network.unregister(this.addressList(), this.boundPort, this);
      this.network.register(list, this.boundPort, this);
    }
    this.v4 = v4;
    this.v6 = v6;
    this.v4Bytes = addressBytes(v4);
    this.v6Bytes = addressBytes(v6);
  }

  start(handler: BindHandler): void {
    if (this.handler) throw new Error('MemoryBind.start called twice');
    this.handler = handler;
    if (this.queued > 0) this.schedule();
  }

  send(batch: PacketView): void {
    if (this.boundPort === 0) return;
    const rec = batch.endpoints;
    for (let i = 0; i < batch.count; i++) {
      const e = batch.endpointOffset(i);
      const family = rec[e + EP_FAMILY];
      const own = family === 4 ? this.v4Bytes : family === 6 ? this.v6Bytes : null;
      if (!own) continue;
      if (rec[e + EP_FLAGS] & EP_FLAG_LOCAL && !sameBytes(rec, e + EP_LOCAL, own)) {
        rec[e + EP_FLAGS] &= ~EP_FLAG_LOCAL;
        rec.fill(0, e + EP_LOCAL, e + ENDPOINT_RECORD_SIZE);
      }
      const dstPort = (rec[e + EP_PORT] << 8) | rec[e + EP_PORT + 1];
      if (dstPort === 0) continue;
      this.network.transmit(
        family as 4 | 6,
        own,
        0,
        this.boundPort,
        rec,
        e + EP_ADDR,
        dstPort,
        batch.data,
        batch.offsets[i],
        batch.lengths[i],
      );
    }
  }

  setMark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new RangeError(`invalid mark: ${mark}`);
    this.mark = mark;
  }

  close(): void {
    if (this.boundPort !== 0) this.network.unregister(this.addressList(), this.boundPort, this);
    this.boundPort = 0;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.network.markBusy(this, false);
    this.recycle(this.pending);
    this.queued = 0;
  }

  /** @internal Queue one datagram for delivery; false when the queue is full. */
  enqueue(
    family: 4 | 6,
    src: Uint8Array,
    srcOff: number,
    srcPort: number,
    data: Uint8Array,
    off: number,
    len: number,
  ): boolean {
    const local = family === 4 ? this.v4Bytes : this.v6Bytes;
    if (!local || this.boundPort === 0 || this.queued >= this.queueLimit || len > MAX_DATAGRAM) return false;
    let b = this.pending[this.pending.length - 1];
    if (!b || b.count >= b.capacity) {
      b = this.spare.pop() ?? new PacketBatch(this.capacity);
      b.clear();
      this.pending.push(b);
    }
    const i = b.count++;
    const at = b.packetStart(i);
    b.data.set(data.subarray(off, off + len), at);
    b.offsets[i] = at;
    b.lengths[i] = len;
    b.meta[i] = 0;
    const r = b.endpoints;
    const e = b.endpointOffset(i);
    const n = family === 4 ? 4 : 16;
    r.fill(0, e, e + ENDPOINT_RECORD_SIZE);
    r[e + EP_FAMILY] = family;
    r[e + EP_FLAGS] = EP_FLAG_LOCAL;
    r[e + EP_PORT] = srcPort >> 8;
    r[e + EP_PORT + 1] = srcPort & 0xff;
    for (let k = 0; k < n; k++) {
      r[e + EP_ADDR + k] = src[srcOff + k];
      r[e + EP_LOCAL + k] = local[k];
    }
    this.queued++;
    if (this.handler) this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.immediate) return;
    this.network.markBusy(this, true);
    this.immediate = setImmediate(() => this.flush());
  }

  private flush(): void {
    this.immediate = null;
    this.network.markBusy(this, false);
    const handler = this.handler;
    if (!handler) return;
    // Swap queues: datagrams sent from inside the handler go to the next turn.
    const batches = this.pending;
    this.pending = this.delivering;
    this.delivering = batches;
    this.queued = 0;
    try {
      const rate = this.network.conditions.reorderRate ?? 0;
      for (const b of batches) {
        if (this.boundPort === 0) break; // closed by the handler
        if (rate > 0) this.reorder(b, rate);
        handler.packets(b);
      }
    } finally {
      this.recycle(batches);
    }
  }

  private recycle(batches: PacketBatch[]): void {
    for (const b of batches) {
      b.clear();
      this.spare.push(b);
    }
    batches.length = 0;
  }

  private reorder(b: PacketBatch, rate: number): void {
    const rnd = this.network.random;
    for (let i = 0; i + 1 < b.count; i++) {
      if (rnd() >= rate) continue;
      const j = i + 1 + Math.floor(rnd() * (b.count - 1 - i));
      const o = b.offsets[i];
      b.offsets[i] = b.offsets[j];
      b.offsets[j] = o;
      const l = b.lengths[i];
      b.lengths[i] = b.lengths[j];
      b.lengths[j] = l;
      const ei = b.endpointOffset(i);
      const ej = b.endpointOffset(j);
      this.scratch.set(b.endpoints.subarray(ei, ei + ENDPOINT_RECORD_SIZE));
      b.endpoints.copyWithin(ei, ej, ej + ENDPOINT_RECORD_SIZE);
      b.endpoints.set(this.scratch, ej);
    }
  }

  private addressList(): string[] {
    const list: string[] = [];
    if (this.v4) list.push(this.v4);
    if (this.v6) list.push(this.v6);
    return list;
  }
}

function key(address: string, port: number): string {
  return `${address}|${port}`;
}

/** Canonical text of an address (RFC 5952 for IPv6), checking the family when given. */
function canonicalAddress(address: string, family?: 4 | 6): string {
  const ep = Endpoint.fromAddress(address, 0);
  if (family && ep.family !== family) throw new TypeError(`not an IPv${family} address: ${address}`);
  return ep.address;
}

function addressBytes(address: string | null): Uint8Array | null {
  return address ? Endpoint.fromAddress(address, 0).addressBytes : null;
}

function sameBytes(a: Uint8Array, off: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (a[off + i] !== b[i]) return false;
  return true;
}
