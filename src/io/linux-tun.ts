/**
 * `TunDevice` over the native addon: a Linux TUN (IFF_TUN|IFF_NO_PI) read in batches on
 * uv_poll wake-ups, plus link state (up/down, MTU) from a NETLINK_ROUTE socket in the
 * current network namespace.
 *
 * Offloads (on unless `offloads: false` or TSGUARD_OFFLOADS=0): the TUN is opened with
 * IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO4/6, USO when the kernel has it). The addon
 * splits TSO/USO super-packets into MTU-sized segments on read (one batch entry each) and
 * coalesces in-order same-flow TCP segments of a write into GSO super-packets, so the device
 * sees and writes ordinary IP packets either way.
 */
import {
  errnoError, loadNative, NL_DELLINK, NL_NEWLINK, offloadsFromEnv,
  type NativeAddon, type NativeTunInfo, type NetlinkHandle,
} from './native.js';
import { DEFAULT_BATCH_CAPACITY, HEADROOM, PacketBatch, type PacketView } from './packet-batch.js';
import type { TunDevice, TunEvent, TunHandler } from './tun.js';

const IFF_UP = 1;
/** Batch capacity with offloads: one 64 KB super-packet alone splits into ~45 segments. */
export const OFFLOAD_BATCH_CAPACITY = 128;

export interface LinuxTunOptions {
  /** Set once with SIOCSIFMTU at creation (the daemon uses 1420); left alone when absent. */
  mtu?: number;
  /**
   * Entries of the read batch (default 128 with offloads, 64 without). A wake-up reads up to
   * this many packets; split segments that do not fit are delivered in a further batch.
   */
  batchCapacity?: number;
  /**
   * TUN offloads (IFF_VNET_HDR, TSO/USO split on read, TCP coalescing on write). Default: on,
   * unless TSGUARD_OFFLOADS is 0/off. An inherited fd (`fromFd`) has them only when it was
   * opened with IFF_VNET_HDR.
   */
  offloads?: boolean;
}

export interface LinuxTunOffloadStats {
  /** TSO/USO super-packets read (each split into `segments`). */
  superPackets: number;
  segments: number;
  /** Reads dropped: unsupported GSO type or malformed. */
  droppedReads: number;
  /** GSO frames written, and the packets coalesced into them. */
  gsoFramesWritten: number;
  packetsCoalesced: number;
}

export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly ifindex: number;
  readonly fd: number;
  private currentMtu: number;
  private up: boolean;
  /** False once link state cannot be observed (no netlink, RTM_DELLINK after a netns move). */
  private observable: boolean;
  private nl: NetlinkHandle | null = null;
  private handler: TunHandler | null = null;
  private readonly rx: PacketBatch;
  private closed = false;
  private tunOffloads: number;

  private constructor(
    private readonly native: NativeAddon,
    private readonly info: NativeTunInfo,
    opts: LinuxTunOptions,
  ) {
    this.name = info.name;
    this.ifindex = info.ifindex;
    this.fd = info.fd;
    this.tunOffloads = info.offloads;
    this.rx = new PacketBatch(opts.batchCapacity ?? (info.vnetHdr ? OFFLOAD_BATCH_CAPACITY : DEFAULT_BATCH_CAPACITY));
    this.currentMtu = opts.mtu ?? 1420;
    try {
      this.currentMtu = native.ifGetMtu(info.name);
    } catch {
      /* interface in another netns: keep the configured value */
    }
    this.up = true;
    try {
      this.up = (native.ifGetFlags(info.name) & IFF_UP) !== 0;
    } catch {
      /* unobservable: treated as up */
    }
    this.observable = false;
    if (info.ifindex > 0) {
      try {
        this.nl = native.nlOpen(info.ifindex, () => this.drainEvents());
        this.observable = true;
        this.drainEvents(); // the RTM_GETLINK answer is already queued
      } catch {
        this.nl = null;
      }
    }
    if (!this.observable) this.up = true;
  }

  /** Creates a TUN (`%d` in the name is expanded by the kernel). Throws with the errno text. */
  static create(name: string, opts: LinuxTunOptions = {}): LinuxTun {
    const native = loadNative();
    return LinuxTun.adopt(native, native.tunOpen(name, opts.offloads ?? offloadsFromEnv()), opts);
  }

  /** Adopts an inherited TUN fd (WG_TUN_FD); a TUN without IFF_NO_PI is handled too. */
  static fromFd(fd: number, opts: LinuxTunOptions = {}): LinuxTun {
    const native = loadNative();
    return LinuxTun.adopt(native, native.tunFromFd(fd, opts.offloads ?? offloadsFromEnv()), opts);
  }

  /** Set the MTU if asked and wrap the opened TUN; closes it if that fails. */
  private static adopt(native: NativeAddon, info: NativeTunInfo, opts: LinuxTunOptions): LinuxTun {
    try {
      if (opts.mtu !== undefined) native.ifSetMtu(info.name, opts.mtu);
      return new LinuxTun(native, info, opts);
    } catch (e) {
      native.tunClose(info.handle);
      throw e;
    }
  }

  get mtu(): number {
    return this.currentMtu;
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Whether reads and writes carry a virtio header (fixed when the TUN was opened). */
  get vnetHdr(): boolean {
    return this.info.vnetHdr;
  }

  /** TUN_F_* offload flags in effect (0: no super-packets, no partial checksums). */
  get offloads(): number {
    return this.tunOffloads;
  }

  /**
   * Turns offloads on or off at run time: TUNSETOFFLOAD is re-issued (0 when off, so the
   * kernel sends no more super-packets) and write coalescing follows. The virtio header
   * itself stays while the TUN is open. Returns the TUN_F_* flags now in effect (always 0
   * for a TUN opened without offloads).
   */
  setOffloads(on: boolean): number {
    if (this.closed) return 0;
    this.tunOffloads = this.native.tunSetOffload(this.info.handle, on);
    return this.tunOffloads;
  }

  /** Offload counters since the TUN was opened (zeros without offloads). */
  get offloadStats(): LinuxTunOffloadStats {
    const [superPackets, segments, droppedReads, gsoFramesWritten, packetsCoalesced] = this.native.tunStats(this.info.handle);
    return { superPackets, segments, droppedReads, gsoFramesWritten, packetsCoalesced };
  }

  /** Whether up/down and MTU changes are being observed through netlink. */
  get linkObservable(): boolean {
    return this.observable;
  }

  start(handler: TunHandler): void {
    if (this.handler) throw new Error('LinuxTun already started');
    if (this.closed) throw new Error('LinuxTun closed');
    this.handler = handler;
    const rx = this.rx;
    this.native.tunStart(
      this.info.handle, rx.data, rx.offsets, rx.lengths,
      rx.capacity, rx.slotSize, HEADROOM, rx.maxPacket,
      (n: number) => {
        if (n < 0) {
          this.fail(errnoError(this.native, 'TUN read', -n));
          return;
        }
        rx.count = n;
        handler.packets(rx);
      },
    );
  }

  write(batch: PacketView): void {
    if (this.closed || batch.count === 0) return;
    const r = this.native.tunWrite(this.info.handle, batch.data, batch.offsets, batch.lengths, batch.count);
    if (r < 0) this.fail(errnoError(this.native, 'TUN write', -r));
  }

  /**
   * Processes pending netlink link messages now and emits the resulting events. The daemon
   * calls this before answering each UAPI request so `ip link set up` is seen at once.
   */
  drainEvents(): void {
    const nl = this.nl;
    if (!nl || this.closed) return;
    let msgs: number[];
    try {
      msgs = this.native.nlDrain(nl);
    } catch {
      this.stopObserving();
      return;
    }
    for (let i = 0; i + 2 < msgs.length; i += 3) {
      const kind = msgs[i];
      if (kind === NL_DELLINK) {
        // Not a deletion (a netns move looks the same; deletion shows as EBADFD on the fd).
        this.stopObserving();
        return;
      }
      if (kind !== NL_NEWLINK) continue;
      const up = (msgs[i + 1] & IFF_UP) !== 0;
      const mtu = msgs[i + 2];
      if (mtu > 0 && mtu !== this.currentMtu) {
        this.currentMtu = mtu;
        this.emit({ type: 'mtu', mtu });
      }
      if (up !== this.up) {
        this.up = up;
        this.emit(up ? { type: 'up' } : { type: 'down' });
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.nl) this.native.nlClose(this.nl);
    this.nl = null;
    this.native.tunClose(this.info.handle);
  }

  /** From now on the link is treated as up (spec §7.1). */
  private stopObserving(): void {
    if (this.nl) this.native.nlClose(this.nl);
    this.nl = null;
    this.observable = false;
    if (!this.up) {
      this.up = true;
      this.emit({ type: 'up' });
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.close();
    this.handler?.event({ type: 'closed', error });
  }

  private emit(ev: TunEvent): void {
    this.handler?.event(ev);
  }
}
