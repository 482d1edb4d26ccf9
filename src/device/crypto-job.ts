/**
 * One unit of work for the crypto workers: a batch of packets copied into SharedArrayBuffer
 * memory the device owns (the TUN's or bind's batch is only valid during its callback), with
 * per-packet crypto entries. It is a PacketView, so after sealing it goes to
 * `bind.send` as it is, and after opening to `tun.write`.
 *
 * Layout of the one SharedArrayBuffer (the worker rebuilds the same views from `layout`):
 *
 *   ctl i32[4] | offsets | lengths | cOff | cLen | lo | hi | idx (u32[cap] each) | key i32[cap]
 *   | meta i32[cap] | status u8[cap] | endpoints u8[cap*48] | data u8[arena]
 */
import { ENDPOINT_RECORD_SIZE } from '../io/endpoint.js';
import { HEADROOM, TAILROOM, type PacketView } from '../io/packet-batch.js';
import type { Keypair } from '../session/keypair.js';
import type { Peer } from './peer.js';

/** ctl[CTL_STATE]: the job's life cycle, written with Atomics. */
export const CTL_STATE = 0;
/** ctl[CTL_OP]: OP_SEAL or OP_OPEN. */
export const CTL_OP = 1;
/** ctl[CTL_COUNT]: entries to process. */
export const CTL_COUNT = 2;
/** ctl[CTL_ERROR]: set by the worker when an entry named an unknown key (the job is dropped). */
export const CTL_ERROR = 3;

export const STATE_IDLE = 0;
export const STATE_SUBMITTED = 1;
export const STATE_DONE = 2;

export const OP_SEAL = 1;
export const OP_OPEN = 2;

/** Byte offsets of each array in a job's SharedArrayBuffer (sent to workers once per job). */
export interface JobLayout {
  capacity: number;
  arena: number;
  offsets: number;
  lengths: number;
  cOff: number;
  cLen: number;
  lo: number;
  hi: number;
  idx: number;
  key: number;
  meta: number;
  status: number;
  endpoints: number;
  data: number;
  total: number;
}

export function jobLayout(capacity: number, arena: number): JobLayout {
  let at = 16;
  const u32 = (): number => {
    const o = at;
    at += capacity * 4;
    return o;
  };
  const offsets = u32(), lengths = u32(), cOff = u32(), cLen = u32(), lo = u32(), hi = u32(), idx = u32(), key = u32(), meta = u32();
  const status = at;
  at += (capacity + 7) & ~7;
  const endpoints = at;
  at += capacity * ENDPOINT_RECORD_SIZE;
  const data = at;
  at += arena;
  return { capacity, arena, offsets, lengths, cOff, cLen, lo, hi, idx, key, meta, status, endpoints, data, total: at };
}

/** The crypto entries of a batch as the receive path's pass 3 reads them (RunScratch fits). */
export interface RunView {
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly counterLo: Uint32Array;
  readonly counterHi: Uint32Array;
  readonly index: Uint32Array;
  readonly status: Uint8Array;
}

/** Room each packet needs in the arena beyond its bytes (header room in front, tag and padding after). */
const PACKET_OVERHEAD = HEADROOM + TAILROOM;

export class CryptoJob implements PacketView {
  readonly sab: SharedArrayBuffer;
  readonly ctl: Int32Array;
  // PacketView (bind.send / tun.write read these).
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly endpoints: Uint8Array;
  readonly meta: Int32Array;
  count = 0;
  readonly capacity: number;
  readonly slotSize: number;
  // Crypto entries (a RunScratch view: offsets/lengths/counters/index/status).
  readonly cOff: Uint32Array;
  readonly cLen: Uint32Array;
  readonly counterLo: Uint32Array;
  readonly counterHi: Uint32Array;
  /** Entry k's endpoint record index (identity: entries are packed in order). */
  readonly index: Uint32Array;
  readonly key: Int32Array;
  readonly status: Uint8Array;
  /** Send: the peers `meta[i]` indexes. Receive: the keypair of each entry. */
  readonly peers: Peer[] = [];
  readonly keypairs: (Keypair | null)[] = [];
  /** The crypto entries as a RunView (offsets = cOff, lengths = cLen). */
  readonly run: RunView;
  /** Next free byte in the data arena. */
  used = 0;
  /** Submission sequence number (pool bookkeeping). */
  seq = 0;
  /** Worker the job went to. */
  worker = 0;

  constructor(readonly id: number, readonly layout: JobLayout) {
    const L = layout;
    const cap = L.capacity;
    this.capacity = cap;
    this.slotSize = L.arena;
    this.sab = new SharedArrayBuffer(L.total);
    this.ctl = new Int32Array(this.sab, 0, 4);
    this.offsets = new Uint32Array(this.sab, L.offsets, cap);
    this.lengths = new Uint32Array(this.sab, L.lengths, cap);
    this.cOff = new Uint32Array(this.sab, L.cOff, cap);
    this.cLen = new Uint32Array(this.sab, L.cLen, cap);
    this.counterLo = new Uint32Array(this.sab, L.lo, cap);
    this.counterHi = new Uint32Array(this.sab, L.hi, cap);
    this.index = new Uint32Array(this.sab, L.idx, cap);
    this.key = new Int32Array(this.sab, L.key, cap);
    this.meta = new Int32Array(this.sab, L.meta, cap);
    this.status = new Uint8Array(this.sab, L.status, cap);
    this.endpoints = new Uint8Array(this.sab, L.endpoints, cap * ENDPOINT_RECORD_SIZE);
    this.data = new Uint8Array(this.sab, L.data, L.arena);
    for (let i = 0; i < cap; i++) this.index[i] = i;
    this.run = { offsets: this.cOff, lengths: this.cLen, counterLo: this.counterLo, counterHi: this.counterHi, index: this.index, status: this.status };
  }

  /** Empty the job for reuse. */
  reset(): void {
    this.count = 0;
    this.used = 0;
    this.peers.length = 0;
    for (let i = 0; i < this.keypairs.length; i++) this.keypairs[i] = null;
    this.ctl[CTL_ERROR] = 0;
  }

  /**
   * Reserve room for a packet of `len` bytes (+ up to 32 bytes of padding and tag); returns
   * the offset where its first byte goes, or -1 when the job is full.
   */
  reserve(len: number): number {
    if (this.count >= this.capacity) return -1;
    const start = ((this.used + HEADROOM) + 15) & ~15;
    if (start + len + PACKET_OVERHEAD > this.layout.arena) return -1;
    this.used = start + len + TAILROOM;
    return start;
  }

  // ---- the rest of PacketView (taps only)

  packet(i: number): Uint8Array {
    return this.data.subarray(this.offsets[i], this.offsets[i] + this.lengths[i]);
  }

  endpointOffset(i: number): number {
    return i * ENDPOINT_RECORD_SIZE;
  }
}
