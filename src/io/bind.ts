import type { PacketBatch, PacketView } from './packet-batch.js';

/** A failure to bind or configure sockets, carrying the errno the UAPI reports. */
export class BindError extends Error {
  constructor(
    message: string,
    /** Positive Linux errno, e.g. 98 (EADDRINUSE). */
    readonly errno: number,
  ) {
    super(message);
    this.name = 'BindError';
  }
}

export interface BindHandler {
  /**
   * Datagrams received on either socket; `batch.endpoints` holds each one's source
   * (and, where supported, the local address it arrived on). The batch belongs to the
   * bind and is valid only during the call.
   */
  packets(batch: PacketBatch): void;
}

/**
 * The outside of the tunnel: UDP over IPv4 and IPv6 on one port.
 * Implementations: `MemoryBind` (in-process network), `UdpBind` (node:dgram, portable),
 * `NativeBind` (recvmmsg/sendmmsg/GSO/SO_MARK through native/).
 */
export interface Bind {
  /** The bound port, 0 while unbound. */
  readonly port: number;
  /**
   * Bind both sockets to `port` (0 = a random free port, the same for both families).
   * When already bound, the new sockets are bound before the old ones close; on failure
   * the old sockets stay and a BindError (errno 98) is thrown. Resolves to the bound port.
   */
  bind(port: number): Promise<number>;
  /** Deliver received datagrams to `handler`. Called once; delivery starts after bind. */
  start(handler: BindHandler): void;
  /**
   * Send `batch.count` datagrams, each to the endpoint record at its index. Synchronous and
   * best-effort (a failed send drops the packet and clears a cached sticky source).
   */
  send(batch: PacketView): void;
  /** Set SO_MARK on both sockets (0 clears it). Throws BindError on failure. */
  setMark(mark: number): void;
  /** Close both sockets. Idempotent. */
  close(): void;
}
