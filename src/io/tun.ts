import type { PacketBatch, PacketView } from './packet-batch.js';

/** Something that happened to the interface, reported by the TUN implementation. */
export type TunEvent =
  | { type: 'up' }
  | { type: 'down' }
  | { type: 'mtu'; mtu: number }
  /** The interface is gone (deleted, namespace destroyed) or the fd failed. */
  | { type: 'closed'; error?: Error };

export interface TunHandler {
  /**
   * Packets read from the interface (IP packets, no PI header, offloads already split).
   * The batch belongs to the TUN and is valid only during the call: consume it
   * synchronously (copy what must outlive the call).
   */
  packets(batch: PacketBatch): void;
  event(event: TunEvent): void;
}

/**
 * The inside of the tunnel: where plaintext IP packets come from and go to.
 * Implementations: `MemoryTun` (tests, embedders without root) and `LinuxTun` (native).
 */
export interface TunDevice {
  /** Interface name (the real one after `%d` expansion). */
  readonly name: string;
  /** Current MTU; the device pads transport messages to it. */
  readonly mtu: number;
  /** Whether the interface is administratively up; the device sends nothing while down. */
  readonly isUp: boolean;
  /** Start delivering packets and events. Called once. */
  start(handler: TunHandler): void;
  /**
   * Write `batch.count` packets (offsets/lengths) to the interface. Synchronous and
   * best-effort: packets the interface cannot take are dropped. The batch is not retained.
   */
  write(batch: PacketView): void;
  /** Stop reading and release the interface. Idempotent. */
  close(): void;
}
