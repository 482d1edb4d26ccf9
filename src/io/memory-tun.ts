import { DEFAULT_MTU } from '../constants.js';
import { DEFAULT_BATCH_CAPACITY, PacketBatch, type PacketView } from './packet-batch.js';
import type { TunDevice, TunEvent, TunHandler } from './tun.js';

export interface MemoryTunOptions {
  /** Interface name reported by `name` (default `mem0`). */
  name?: string;
  /** Initial MTU (default DEFAULT_MTU, 1420). */
  mtu?: number;
  /** Whether the interface starts up (default true: an embedder has no `ip link set up`). */
  up?: boolean;
  /** Packets per delivered batch (default 64). */
  batchCapacity?: number;
  /**
   * `sync` (default): `inject` delivers to the handler before it returns, which keeps tests
   * free of awaits. `microtask`: packets are queued and delivered on a microtask, in batches
   * that gather everything injected during the current synchronous run.
   */
  delivery?: 'sync' | 'microtask';
}

/**
 * An in-memory TUN for tests and for embedders without root: the code outside feeds the
 * packets the "kernel" would hand to the interface with `inject`, and receives what the
 * device writes through `onWrite` (or the `written` queue).
 *
 * Packets injected before `start` (or while a delivery is in progress, e.g. from inside the
 * handler) are queued and delivered afterwards, in order. Packets injected while the
 * interface is down or after `close` are dropped, as the kernel routes nothing to a down
 * interface. Injection copies; it is a convenience path, not the allocation-free one.
 */
export class MemoryTun implements TunDevice {
  readonly name: string;
  private currentMtu: number;
  private up: boolean;
  private closed = false;
  private handler: TunHandler | null = null;
  private readonly batch: PacketBatch;
  /** Copies waiting for delivery (before start, during re-entrant delivery, microtask mode). */
  private readonly queue: Uint8Array[] = [];
  private delivering = false;
  private flushScheduled = false;
  private readonly delivery: 'sync' | 'microtask';

  /**
   * Called with a copy of every packet the device writes. When unset, copies are appended to
   * `written` instead (drain with `takeWritten`).
   */
  onWrite: ((packet: Uint8Array) => void) | null = null;
  /** Packets written by the device while `onWrite` is unset, oldest first. */
  readonly written: Uint8Array[] = [];
  /** Injected packets dropped (down, closed, or larger than a batch slot). */
  dropped = 0;

  constructor(options: MemoryTunOptions = {}) {
    this.name = options.name ?? 'mem0';
    this.currentMtu = options.mtu ?? DEFAULT_MTU;
    this.up = options.up ?? true;
    this.delivery = options.delivery ?? 'sync';
    // Slots as large as any IP packet, so a later setMtu never outgrows the batch.
    this.batch = new PacketBatch(options.batchCapacity ?? DEFAULT_BATCH_CAPACITY);
  }

  get mtu(): number {
    return this.currentMtu;
  }

  get isUp(): boolean {
    return this.up;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  start(handler: TunHandler): void {
    if (this.handler) throw new Error('MemoryTun.start called twice');
    this.handler = handler;
    if (this.closed) return;
    this.flush();
  }

  /**
   * Hand packets to the device as if the kernel had routed them into the interface.
   * Returns how many were accepted (queued or delivered).
   */
  inject(packets: Uint8Array | Uint8Array[]): number {
    const list = packets instanceof Uint8Array ? [packets] : packets;
    let accepted = 0;
    for (const p of list) {
      if (this.closed || !this.up || p.length > this.batch.maxPacket) {
        this.dropped++;
        continue;
      }
      this.queue.push(p.slice());
      accepted++;
    }
    if (accepted > 0) this.schedule();
    return accepted;
  }

  write(batch: PacketView): void {
    if (this.closed) return;
    for (let i = 0; i < batch.count; i++) {
      const copy = batch.data.slice(batch.offsets[i], batch.offsets[i] + batch.lengths[i]);
      if (this.onWrite) this.onWrite(copy);
      else this.written.push(copy);
    }
  }

  /** Remove and return everything in `written`. */
  takeWritten(): Uint8Array[] {
    return this.written.splice(0, this.written.length);
  }

  /** Set the administrative state; emits `up`/`down` when it changes. */
  setUp(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    this.emit(up ? { type: 'up' } : { type: 'down' });
  }

  /** Change the MTU; emits `mtu` when it changes. */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 0 || mtu > this.batch.maxPacket) {
      throw new RangeError(`invalid MTU: ${mtu}`);
    }
    if (this.closed || mtu === this.currentMtu) return;
    this.currentMtu = mtu;
    this.emit({ type: 'mtu', mtu });
  }

  /** Remove the interface: drops queued packets and emits `closed` once. Idempotent. */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.dropped += this.queue.length;
    this.queue.length = 0;
    this.emit(error ? { type: 'closed', error } : { type: 'closed' });
  }

  private emit(event: TunEvent): void {
    this.handler?.event(event);
  }

  private schedule(): void {
    if (this.delivery === 'sync') {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Deliver the queue in batches; re-entrant calls leave their packets to the running loop. */
  private flush(): void {
    const handler = this.handler;
    if (!handler || this.delivering) return;
    this.delivering = true;
    const b = this.batch;
    let next = 0;
    try {
      while (next < this.queue.length && !this.closed) {
        b.clear();
        while (b.count < b.capacity && next < this.queue.length) b.push(this.queue[next++]);
        handler.packets(b);
      }
    } finally {
      // A throwing handler loses its batch (as a real read would), not the packets after it.
      this.queue.splice(0, next);
      this.delivering = false;
      b.clear();
    }
  }
}
