/**
 * `Bind` over the native addon: an IPv4 and an IPv6 UDP socket on one port, recvmmsg /
 * sendmmsg batches, SO_MARK and sticky source addresses (IP_PKTINFO / IPV6_PKTINFO).
 *
 * Offloads (on unless disabled by option or TSGUARD_OFFLOADS=0): UDP GSO sends runs of
 * equal-size datagrams to one endpoint in one message (UDP_SEGMENT); UDP GRO receives
 * coalesced datagrams and splits them back into one batch entry each. Neither changes what
 * goes on the wire: every WireGuard message is still its own UDP datagram.
 */
import { BindError, type Bind, type BindHandler } from './bind.js';
import {
  loadNative, isNativeErrnoError, offloadsFromEnv, UDP_OFFLOAD_GRO, UDP_OFFLOAD_GSO, UDP_OFFLOAD_GSO_REFUSED,
  type NativeAddon, type UdpHandle,
} from './native.js';
import { DEFAULT_BATCH_CAPACITY, HEADROOM, PacketBatch, type PacketView } from './packet-batch.js';

export { SEND_DROPPED, SEND_SOURCE_CLEARED } from './native.js';

export interface NativeBindOptions {
  /**
   * Entries of the receive batch (default 64, 128 with GRO). A wake-up receives up to this
   * many messages; datagrams split from GRO receives that do not fit go in a further batch.
   */
  batchCapacity?: number;
  /** UDP GSO on send. Default: on unless TSGUARD_OFFLOADS is 0/off. */
  gso?: boolean;
  /** UDP GRO on receive. Default: on unless TSGUARD_OFFLOADS is 0/off. */
  gro?: boolean;
}

/** Offload state of a NativeBind. */
export interface NativeBindOffloads {
  /** GSO in use (requested and not refused by the kernel). */
  gso: boolean;
  /** GRO in use (requested and accepted on the current sockets). */
  gro: boolean;
  /** The kernel refused GSO (EIO) once: it stays off for this bind. */
  gsoRefused: boolean;
}

export class NativeBind implements Bind {
  private readonly native: NativeAddon;
  private readonly handle: UdpHandle;
  private readonly rx: PacketBatch;
  private boundPort = 0;
  private started = false;
  private closed = false;
  private gsoRequested: boolean;
  private groRequested: boolean;
  /**
   * Per-packet outcome of the last `send()`, indexed like that batch: bit SEND_DROPPED (1)
   * = not sent; bit SEND_SOURCE_CLEARED (2) = the sticky local source was refused by the
   * kernel, so it was cleared in the batch's endpoint record (EP_FLAG_LOCAL off) and the
   * datagram re-sent without it — the sender should drop its cached source for that peer.
   */
  sendStatus: Uint8Array;

  constructor(options: NativeBindOptions = {}) {
    this.native = loadNative();
    const env = offloadsFromEnv();
    const gso = options.gso ?? env;
    const gro = options.gro ?? env;
    this.rx = new PacketBatch(options.batchCapacity ?? (gro ? 2 * DEFAULT_BATCH_CAPACITY : DEFAULT_BATCH_CAPACITY));
    this.sendStatus = new Uint8Array(DEFAULT_BATCH_CAPACITY);
    this.handle = this.native.udpCreate(gso, gro);
    this.gsoRequested = gso;
    this.groRequested = gro;
  }

  /** Which offloads are in use. */
  get offloads(): NativeBindOffloads {
    const f = this.native.udpOffloads(this.handle);
    return { gso: (f & UDP_OFFLOAD_GSO) !== 0, gro: (f & UDP_OFFLOAD_GRO) !== 0, gsoRefused: (f & UDP_OFFLOAD_GSO_REFUSED) !== 0 };
  }

  /**
   * Turns GSO and/or GRO on or off at run time (absent fields keep their setting). GSO once
   * refused by the kernel stays off.
   */
  setOffloads(o: { gso?: boolean; gro?: boolean }): NativeBindOffloads {
    if (this.closed) return this.offloads;
    this.gsoRequested = o.gso ?? this.gsoRequested;
    this.groRequested = o.gro ?? this.groRequested;
    this.native.udpSetOffloads(this.handle, this.gsoRequested, this.groRequested);
    return this.offloads;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Which sockets are open (IPv6 may be unavailable). */
  get families(): { v4: boolean; v6: boolean } {
    const f = this.native.udpFamilies(this.handle);
    return { v4: (f & 1) !== 0, v6: (f & 2) !== 0 };
  }

  async bind(port: number): Promise<number> {
    return this.bindSync(port);
  }

  /** Synchronous form of `bind` (the syscalls do not block). */
  bindSync(port: number): number {
    if (this.closed) throw new BindError('bind: closed', 9);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port: ${port}`);
    try {
      this.boundPort = this.native.udpBind(this.handle, port);
    } catch (e) {
      if (isNativeErrnoError(e)) throw new BindError(e.message, e.errno);
      throw e;
    }
    return this.boundPort;
  }

  start(handler: BindHandler): void {
    if (this.started) throw new Error('NativeBind already started');
    this.started = true;
    const rx = this.rx;
    this.native.udpStart(
      this.handle, rx.data, rx.offsets, rx.lengths, rx.endpoints,
      rx.capacity, rx.slotSize, HEADROOM, rx.maxPacket,
      (n: number) => {
        rx.count = n;
        handler.packets(rx);
      },
    );
  }

  send(batch: PacketView): void {
    if (this.closed || batch.count === 0) return;
    if (this.sendStatus.length < batch.count) this.sendStatus = new Uint8Array(Math.max(batch.count, 2 * this.sendStatus.length));
    this.native.udpSend(
      this.handle, batch.data, batch.offsets, batch.lengths, batch.endpoints, batch.count, this.sendStatus,
    );
  }

  setMark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new RangeError(`invalid fwmark: ${mark}`);
    try {
      this.native.udpSetMark(this.handle, mark);
    } catch (e) {
      if (isNativeErrnoError(e)) throw new BindError(e.message, e.errno);
      throw e;
    }
  }

  /** SO_MARK as the kernel reports it for the family's socket (-1 when absent). */
  getMark(family: 4 | 6): number {
    return this.native.udpGetMark(this.handle, family);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.boundPort = 0;
    this.native.udpClose(this.handle);
  }
}
