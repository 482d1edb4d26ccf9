/**
 * `Bind` over the native addon: an IPv4 and an IPv6 UDP socket on one port, recvmmsg /
 * sendmmsg batches, SO_MARK and sticky source addresses (IP_PKTINFO / IPV6_PKTINFO).
 */
import { BindError, type Bind, type BindHandler } from './bind.js';
import { loadNative, isNativeErrnoError, type NativeAddon, type UdpHandle } from './native.js';
import { DEFAULT_BATCH_CAPACITY, HEADROOM, PacketBatch } from './packet-batch.js';

export { SEND_DROPPED, SEND_SOURCE_CLEARED } from './native.js';

export interface NativeBindOptions {
  /** Datagrams received per wake-up (the receive batch's capacity). */
  batchCapacity?: number;
}

export class NativeBind implements Bind {
  private readonly native: NativeAddon;
  private readonly handle: UdpHandle;
  private readonly rx: PacketBatch;
  private boundPort = 0;
  private started = false;
  private closed = false;
  /**
   * Per-packet outcome of the last `send()`, indexed like that batch: bit SEND_DROPPED (1)
   * = not sent; bit SEND_SOURCE_CLEARED (2) = the sticky local source was refused by the
   * kernel, so it was cleared in the batch's endpoint record (EP_FLAG_LOCAL off) and the
   * datagram re-sent without it — the sender should drop its cached source for that peer.
   */
  sendStatus: Uint8Array;

  constructor(options: NativeBindOptions = {}) {
    this.native = loadNative();
    this.rx = new PacketBatch(options.batchCapacity ?? DEFAULT_BATCH_CAPACITY);
    this.sendStatus = new Uint8Array(DEFAULT_BATCH_CAPACITY);
    this.handle = this.native.udpCreate();
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

  send(batch: PacketBatch): void {
    if (this.closed || batch.count === 0) return;
    if (this.sendStatus.length < batch.count) this.sendStatus = new Uint8Array(batch.capacity);
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
