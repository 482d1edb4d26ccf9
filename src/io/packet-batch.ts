import { ENDPOINT_RECORD_SIZE } from './endpoint.js';

/**
 * A batch of packets in one pre-allocated buffer: the unit in which packets move between
 * TUN, device, crypto and UDP. Nothing on the packet path allocates; a batch is carved
 * into fixed slots once and reused.
 *
 * Slot layout (all offsets absolute within `data`):
 *
 *   slotStart            slotStart+HEADROOM                      slotStart+slotSize
 *   | headroom (64 B)    | packet (up to MAX_PACKET) | tailroom (64 B) |
 *
 * Headroom lets the device prepend the 16-byte transport header (or a virtio-net header)
 * in place; tailroom takes up to 15 padding bytes and the 16-byte tag.
 *
 * `offsets[i]`/`lengths[i]` locate packet i; producers normally set
 * `offsets[i] = slotStart(i) + HEADROOM` but consumers must not assume it.
 * `endpoints` holds one ENDPOINT_RECORD_SIZE record per packet: the UDP source on receive,
 * the destination on send (see endpoint.ts). `meta` is per-packet scratch for the stage that
 * owns the batch (e.g. a peer id or a status).
 */
export const HEADROOM = 64;
export const TAILROOM = 64;
/** Largest IP packet or UDP datagram a slot holds. */
export const MAX_PACKET = 65_535;
export const DEFAULT_SLOT_SIZE = HEADROOM + 65_536 + TAILROOM;
export const DEFAULT_BATCH_CAPACITY = 64;

/**
 * What a consumer of finished packets reads (Bind.send, TunDevice.write, taps): the packets
 * and their endpoint records, nothing about how slots are carved. PacketBatch implements it,
 * and so does a crypto worker's job buffer.
 */
export interface PacketView {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly endpoints: Uint8Array;
  count: number;
  /** A view of packet i (allocates: slow paths and taps only). */
  packet(i: number): Uint8Array;
  /** Offset of packet i's endpoint record in `endpoints`. */
  endpointOffset(i: number): number;
}

export class PacketBatch implements PacketView {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly endpoints: Uint8Array;
  readonly meta: Int32Array;
  /** Number of packets currently in the batch. */
  count = 0;

  constructor(
    readonly capacity: number = DEFAULT_BATCH_CAPACITY,
    readonly slotSize: number = DEFAULT_SLOT_SIZE,
  ) {
    this.data = new Uint8Array(capacity * slotSize);
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.endpoints = new Uint8Array(capacity * ENDPOINT_RECORD_SIZE);
    this.meta = new Int32Array(capacity);
  }

  /** Absolute offset of slot i's first byte. */
  slotStart(i: number): number {
    return i * this.slotSize;
  }

  /** Absolute offset where slot i's packet normally begins. */
  packetStart(i: number): number {
    return i * this.slotSize + HEADROOM;
  }

  /** Largest packet slot i holds when it starts at packetStart(i). */
  get maxPacket(): number {
    return this.slotSize - HEADROOM - TAILROOM;
  }

  /** A view of packet i (allocates a view: for tests and slow paths only). */
  packet(i: number): Uint8Array {
    return this.data.subarray(this.offsets[i], this.offsets[i] + this.lengths[i]);
  }

  /** Offset of packet i's endpoint record in `endpoints`. */
  endpointOffset(i: number): number {
    return i * ENDPOINT_RECORD_SIZE;
  }

  /**
   * Append a copy of `bytes` at the next slot's normal position (slow paths: handshake
   * messages, tests). Returns the index, or -1 when full or too large.
   */
  push(bytes: Uint8Array, endpoint?: Uint8Array): number {
    if (this.count >= this.capacity || bytes.length > this.maxPacket) return -1;
    const i = this.count++;
    const off = this.packetStart(i);
    this.data.set(bytes, off);
    this.offsets[i] = off;
    this.lengths[i] = bytes.length;
    const e = i * ENDPOINT_RECORD_SIZE;
    if (endpoint) this.endpoints.set(endpoint.subarray(0, ENDPOINT_RECORD_SIZE), e);
    else this.endpoints.fill(0, e, e + ENDPOINT_RECORD_SIZE);
    this.meta[i] = 0;
    return i;
  }

  clear(): void {
    this.count = 0;
  }
}

/** A fixed set of batches reused round-robin-free: take one, give it back. */
export class BatchPool {
  private readonly free: PacketBatch[] = [];

  constructor(
    private readonly capacity = DEFAULT_BATCH_CAPACITY,
    private readonly slotSize = DEFAULT_SLOT_SIZE,
    preallocate = 0,
  ) {
    for (let i = 0; i < preallocate; i++) this.free.push(new PacketBatch(capacity, slotSize));
  }

  take(): PacketBatch {
    const b = this.free.pop() ?? new PacketBatch(this.capacity, this.slotSize);
    b.count = 0;
    return b;
  }

  give(b: PacketBatch): void {
    b.count = 0;
    this.free.push(b);
  }
}
