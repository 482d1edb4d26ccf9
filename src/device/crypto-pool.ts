/**
 * A pool of worker threads that seal and open batches of transport messages (opt-in:
 * `Device({ cryptoWorkers: n })`). The device prepares a batch as on the synchronous path
 * (routing, padding, headers and counters on send; classification and the replay pre-check
 * on receive), copies it into a pooled SharedArrayBuffer job and hands the job to the least
 * busy worker through that worker's ring. Jobs are delivered back strictly in submission
 * order — a FIFO of in-flight jobs drained from the head only — so the packets of every peer
 * leave and arrive in the order they came in, whichever worker finished first.
 *
 *   sendTunBatch ─► submitSend ─► [ring w] ─► worker seals ─► FIFO head done? ─► sealed(job): bind.send
 *   receiveUdpBatch pass 1 ─► submitOpen ─► worker opens ─► FIFO head done? ─► opened(job): pass 3
 *
 * Keys: each session key goes to every worker once (`registerKey`, on session install via the
 * cipher factory); `forgetKey` (cipher destroyed) reaches the workers only after every job
 * submitted before it has come back. Counters, replay windows and all peer state stay on the
 * main thread.
 *
 * Completion: `Atomics.waitAsync` on the head job's state word ('atomics', default), or a
 * message from the worker per finished job ('port'); both are per batch, never per packet.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { TransportCipher } from '../crypto/index.js';
import { ENDPOINT_RECORD_SIZE } from '../io/endpoint.js';
import type { PacketBatch } from '../io/packet-batch.js';
import type { Keypair } from '../session/keypair.js';
import type { RunScratch } from './cipher-runs.js';
import { CryptoJob, CTL_COUNT, CTL_ERROR, CTL_OP, CTL_STATE, jobLayout, OP_OPEN, OP_SEAL, STATE_DONE, STATE_IDLE, STATE_SUBMITTED, type JobLayout } from './crypto-job.js';
import { cryptoWorkerSource } from './crypto-worker.js';
import type { Peer } from './peer.js';

export type CompletionMode = 'atomics' | 'port';

export interface CryptoPoolOptions {
  /** Worker threads (≥ 1). */
  workers: number;
  /** Absolute path of the native addon (workers load it themselves). */
  addonPath: string;
  /** How finished jobs are noticed (default 'atomics'). */
  completion?: CompletionMode;
  /** Packets per job (default 64). */
  jobCapacity?: number;
  /** Data bytes per job (default 192 KiB; one job always fits the largest transport message). */
  arena?: number;
  /** Jobs in flight at most; a batch that finds none free is dropped and counted (default 64). */
  maxJobs?: number;
  /** A sealed job, in submission order: send it (it has the PacketBatch shape). */
  sealed(job: CryptoJob): void;
  /** An opened job, in submission order (entries: job.run, job.keypairs; count: job.count). */
  opened(job: CryptoJob): void;
}

/** What the pool counts (for tests and benchmarks). */
export interface CryptoPoolStats {
  submitted: number;
  delivered: number;
  /** Packets dropped because every job buffer was in flight. */
  droppedFull: number;
  /** Jobs dropped because a worker did not have the key (never expected). */
  droppedError: number;
  /** Jobs discarded by close() while in flight. */
  discarded: number;
}

/** A cipher whose key the workers also hold, under `poolKey`. */
export class PooledCipher implements TransportCipher {
  constructor(private readonly inner: TransportCipher, private readonly pool: CryptoPool, readonly poolKey: number) {}

  seal(counterLo: number, counterHi: number, buf: Uint8Array, off: number, len: number): void {
    this.inner.seal(counterLo, counterHi, buf, off, len);
  }

  open(counterLo: number, counterHi: number, buf: Uint8Array, off: number, sealedLen: number): boolean {
    return this.inner.open(counterLo, counterHi, buf, off, sealedLen);
  }

  destroy(): void {
    this.inner.destroy();
    this.pool.forgetKey(this.poolKey);
  }
}

/** The pool key id of a cipher, or -1 when it is not pooled. */
export function poolKeyOf(c: TransportCipher): number {
  return c instanceof PooledCipher ? c.poolKey : -1;
}

/**
 * The default number of crypto workers: 0 (see bench/results/crypto-workers.md — on the
 * 2-core machine every worker count was slower than sealing inline).
 */
export function defaultCryptoWorkers(): number {
  return 0;
}

/**
 * A worker count from text (the daemon's TSGUARD_CRYPTO_WORKERS): a whole number 0..64, or
 * 'auto' for defaultCryptoWorkers(); anything else (or absent) = undefined, the default.
 */
export function parseCryptoWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'auto') return defaultCryptoWorkers();
  if (!/^\d{1,2}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 64 ? n : undefined;
}

/** Cores of this machine (for callers that size the pool themselves). */
export function cpuCount(): number {
  return availableParallelism();
}

interface WorkerSlot {
  readonly worker: Worker;
  readonly ring: Int32Array;
  readonly control: MessagePort;
  readonly done: MessagePort | null;
  tail: number;
}

const RING_HEADER = 4;

/** Atomics.waitAsync (V8 ≥ 8.7, Node ≥ 16; typed in lib es2024, newer than this project's es2022). */
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class CryptoPool {
  readonly stats: CryptoPoolStats = { submitted: 0, delivered: 0, droppedFull: 0, droppedError: 0, discarded: 0 };
  private readonly slots: WorkerSlot[] = [];
  private readonly layout: JobLayout;
  private readonly maxJobs: number;
  private readonly ringMask: number;
  private readonly mode: CompletionMode;
  private readonly all: CryptoJob[] = [];
  private readonly free: CryptoJob[] = [];
  /** In-flight jobs in submission order (a ring of maxJobs entries). */
  private readonly fifo: (CryptoJob | null)[];
  private fifoHead = 0;
  private fifoLen = 0;
  private seq = 0;
  private nextKey = 1;
  /** Forgets waiting for earlier jobs: pairs (key id, seq of the last job submitted before it). */
  private readonly pendingForget: number[] = [];
  private waiting = false;
  private closed = false;
  private readonly belowWaiters: { max: number; resolve: () => void }[] = [];
  /**
   * Referenced only while jobs are in flight: a pending Atomics.waitAsync does not keep the
   * event loop alive by itself, and in-flight packets must not be lost to an early exit.
   */
  // It also drains every 20 ms: if a waitAsync wake-up were ever missed (one CI run stalled
  // with finished jobs undelivered), the cost is a short delay instead of a stall.
  private readonly keepAlive = setInterval(() => {
    if (this.fifoLen > 0 && !this.closed) this.drain();
  }, 20);
  private readonly onWake = (): void => {
    this.waiting = false;
    this.drain();
  };

  constructor(private readonly options: CryptoPoolOptions) {
    const n = Math.floor(options.workers);
    if (!(n >= 1)) throw new RangeError('a crypto pool needs at least one worker');
    this.keepAlive.unref();
    this.mode = options.completion ?? 'atomics';
    this.maxJobs = options.maxJobs ?? 64;
    this.layout = jobLayout(options.jobCapacity ?? 64, options.arena ?? 192 * 1024);
    let ringSize = 1;
    while (ringSize < this.maxJobs) ringSize <<= 1;
    this.ringMask = ringSize - 1;
    this.fifo = new Array<CryptoJob | null>(this.maxJobs).fill(null);
    const source = cryptoWorkerSource();
    for (let i = 0; i < n; i++) {
      const ringSab = new SharedArrayBuffer((RING_HEADER + ringSize) * 4);
      const control = new MessageChannel();
      const done = this.mode === 'port' ? new MessageChannel() : null;
      const transfer: MessagePort[] = [control.port2];
      if (done) transfer.push(done.port2);
      const worker = new Worker(source, {
        eval: true,
        workerData: { addonPath: options.addonPath, ring: ringSab, ringSize, control: control.port2, done: done?.port2 ?? null },
        transferList: transfer,
        name: `tsguard-crypto-${i}`,
      });
      worker.unref();
      // A worker that dies takes its jobs with it; the device then stops making progress
      // on the pool, so fail loudly rather than hang.
      worker.on('error', (e) => {
        if (!this.closed) throw e;
      });
      control.port1.unref();
      if (done) {
        done.port1.on('message', this.onWake);
        done.port1.unref();
      }
      this.slots.push({ worker, ring: new Int32Array(ringSab), control: control.port1, done: done?.port1 ?? null, tail: 0 });
    }
  }

  get workers(): number {
    return this.slots.length;
  }

  /** Jobs handed to workers and not yet delivered. */
  get inFlight(): number {
    return this.fifoLen;
  }

  // ---------------------------------------------------------------- keys

  /** Give a session key to every worker; returns its id. */
  registerKey(key: Uint8Array): number {
    const id = this.nextKey++;
    for (const s of this.slots) {
      const copy = key.slice(); // structured clone copies it; the worker wipes its copy
      s.control.postMessage({ t: 'key', id, key: copy });
      copy.fill(0);
    }
    return id;
  }

  /** Workers drop the key once every job submitted so far has come back. */
  forgetKey(id: number): void {
    if (this.closed) return;
    if (this.fifoLen === 0) this.postForget(id);
    else this.pendingForget.push(id, this.seq);
  }

  /** Wrap a freshly created cipher so that workers get its key (the cipher factory hook). */
  wrapCipher(inner: TransportCipher, key: Uint8Array): TransportCipher {
    return new PooledCipher(inner, this, this.registerKey(key));
  }

  private postForget(id: number): void {
    for (const s of this.slots) s.control.postMessage({ t: 'forget', id });
  }

  // ---------------------------------------------------------------- submission

  /**
   * Hand prepared transport messages [0, count) of `batch` to the workers for sealing: batch
   * offsets/lengths/endpoints/meta as the synchronous path leaves them, run.offsets/lengths/
   * counters as for sealRun, and run.index[i] the pool key of packet i's session. `peers`
   * is what meta indexes. The batch may be reused as soon as this returns.
   */
  submitSend(batch: PacketBatch, count: number, run: RunScratch, peers: readonly Peer[]): void {
    let job = this.take(OP_SEAL);
    if (job === null) {
      this.stats.droppedFull += count;
      return;
    }
    copyPeers(job, peers);
    const src = batch.data;
    for (let i = 0; i < count; i++) {
      const off = batch.offsets[i];
      const total = batch.lengths[i];
      let at = job.reserve(total);
      if (at < 0) {
        this.submit(job);
        job = this.take(OP_SEAL);
        if (job === null) {
          this.stats.droppedFull += count - i;
          return;
        }
        copyPeers(job, peers);
        at = job.reserve(total);
      }
      const j = job.count++;
      const sealed = run.lengths[i];
      // The tag is written by the worker: copy header + padded plaintext only.
      job.data.set(src.subarray(off, off + total - 16), at);
      job.offsets[j] = at;
      job.lengths[j] = total;
      job.cOff[j] = at + (run.offsets[i] - off);
      job.cLen[j] = sealed;
      job.counterLo[j] = run.counterLo[i];
      job.counterHi[j] = run.counterHi[i];
      job.key[j] = run.index[i];
      job.meta[j] = batch.meta[i];
      copyRecord(batch.endpoints, i, job.endpoints, j);
    }
    this.submit(job);
  }

  /**
   * Hand transport messages to the workers for opening: candidate k (of `count`) is datagram
   * run.index[k] of `batch`, with run.counterLo/Hi[k] and session kps[k] (cleared here).
   * The job's entries are re-indexed from 0; job.keypairs[k] names each one's session.
   */
  submitOpen(batch: PacketBatch, run: RunScratch, kps: (Keypair | null)[], count: number): void {
    let job = this.take(OP_OPEN);
    if (job === null) {
      this.stats.droppedFull += count;
      for (let k = 0; k < count; k++) kps[k] = null;
      return;
    }
    const src = batch.data;
    for (let k = 0; k < count; k++) {
      const i = run.index[k];
      const off = batch.offsets[i];
      const len = batch.lengths[i];
      let at = job.reserve(len);
      if (at < 0) {
        this.submit(job);
        job = this.take(OP_OPEN);
        if (job === null) {
          this.stats.droppedFull += count - k;
          for (; k < count; k++) kps[k] = null;
          return;
        }
        at = job.reserve(len);
      }
      const j = job.count++;
      const kp = kps[k]!;
      kps[k] = null;
      job.data.set(src.subarray(off, off + len), at);
      job.offsets[j] = at;
      job.lengths[j] = len;
      job.cOff[j] = at + 16;
      job.cLen[j] = len - 16;
      job.counterLo[j] = run.counterLo[k];
      job.counterHi[j] = run.counterHi[k];
      job.key[j] = poolKeyOf(kp.receiveCipher);
      job.status[j] = 0;
      job.keypairs[j] = kp;
      copyRecord(batch.endpoints, i, job.endpoints, j);
    }
    this.submit(job);
  }

  private take(op: number): CryptoJob | null {
    if (this.closed) return null;
    let job = this.free.pop();
    if (job === undefined) {
      if (this.all.length >= this.maxJobs) return null;
      job = new CryptoJob(this.all.length, this.layout);
      this.all.push(job);
      for (const s of this.slots) s.control.postMessage({ t: 'job', id: job.id, sab: job.sab, layout: this.layout });
    }
    job.reset();
    job.ctl[CTL_OP] = op;
    return job;
  }

  private submit(job: CryptoJob): void {
    if (job.count === 0) {
      this.release(job);
      return;
    }
    job.ctl[CTL_COUNT] = job.count;
    job.seq = ++this.seq;
    Atomics.store(job.ctl, CTL_STATE, STATE_SUBMITTED);
    const slot = this.pickWorker();
    const ring = slot.ring;
    ring[RING_HEADER + (slot.tail & this.ringMask)] = job.id;
    slot.tail = (slot.tail + 1) | 0;
    Atomics.store(ring, 0, slot.tail);
    Atomics.notify(ring, 0, 1);
    this.fifo[(this.fifoHead + this.fifoLen) % this.maxJobs] = job;
    if (this.fifoLen++ === 0) this.keepAlive.ref();
    this.stats.submitted++;
    this.armWait();
  }

  /** The worker with the fewest queued jobs (the first one on ties). */
  private pickWorker(): WorkerSlot {
    let best = this.slots[0];
    let bestQueued = (best.tail - Atomics.load(best.ring, 1)) | 0;
    for (let i = 1; i < this.slots.length && bestQueued > 0; i++) {
      const s = this.slots[i];
      const q = (s.tail - Atomics.load(s.ring, 1)) | 0;
      if (q < bestQueued) {
        best = s;
        bestQueued = q;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- completion

  /** Wait (asynchronously) for the head job; delivery always happens outside the caller's stack. */
  private armWait(): void {
    if (this.mode !== 'atomics' || this.waiting || this.fifoLen === 0 || this.closed) return;
    this.waiting = true;
    const head = this.fifo[this.fifoHead]!;
    const r = waitAsync(head.ctl, CTL_STATE, STATE_SUBMITTED);
    if (r.async) void r.value.then(this.onWake);
    else queueMicrotask(this.onWake);
  }

  /** Deliver finished jobs from the head of the FIFO, in order. */
  private drain(): void {
    if (this.closed) return;
    let error: unknown = null;
    while (this.fifoLen > 0) {
      const job = this.fifo[this.fifoHead]!;
      if (Atomics.load(job.ctl, CTL_STATE) !== STATE_DONE) break;
      this.fifo[this.fifoHead] = null;
      this.fifoHead = (this.fifoHead + 1) % this.maxJobs;
      this.fifoLen--;
      this.stats.delivered++;
      try {
        if (job.ctl[CTL_ERROR] !== 0) this.stats.droppedError++;
        else if (job.ctl[CTL_OP] === OP_SEAL) this.options.sealed(job);
        else this.options.opened(job);
      } catch (e) {
        error ??= e;
      }
      this.release(job);
      this.flushForgets(job.seq);
      if (this.closed) return;
    }
    if (this.fifoLen === 0) this.keepAlive.unref();
    this.armWait();
    if (this.belowWaiters.length > 0) this.wakeBelow();
    if (error !== null) throw error;
  }

  /**
   * Resolves once fewer than `max` jobs are in flight (benchmarks and tests: a producer that
   * waits without spinning). Not for the packet path: it allocates a promise.
   */
  waitBelow(max: number): Promise<void> {
    if (this.fifoLen < max || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.belowWaiters.push({ max, resolve }));
  }

  private wakeBelow(): void {
    const w = this.belowWaiters;
    for (let i = w.length - 1; i >= 0; i--) {
      if (this.closed || this.fifoLen < w[i].max) {
        w[i].resolve();
        w.splice(i, 1);
      }
    }
  }

  private flushForgets(doneSeq: number): void {
    const p = this.pendingForget;
    if (p.length === 0) return;
    let k = 0;
    while (k < p.length && p[k + 1] <= doneSeq) {
      this.postForget(p[k]);
      k += 2;
    }
    if (k > 0) p.splice(0, k);
  }

  private release(job: CryptoJob): void {
    Atomics.store(job.ctl, CTL_STATE, STATE_IDLE);
    job.reset();
    this.free.push(job);
  }

  // ---------------------------------------------------------------- life cycle

  /** Stop the workers; in-flight jobs are discarded. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stats.discarded += this.fifoLen;
    for (let k = 0; k < this.fifoLen; k++) {
      const job = this.fifo[(this.fifoHead + k) % this.maxJobs]!;
      job.reset();
    }
    this.fifo.fill(null);
    this.fifoLen = 0;
    this.pendingForget.length = 0;
    clearInterval(this.keepAlive);
    this.wakeBelow();
    for (const s of this.slots) {
      Atomics.store(s.ring, 2, 1);
      Atomics.notify(s.ring, 0);
      s.control.close();
      s.done?.close();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function copyPeers(job: CryptoJob, peers: readonly Peer[]): void {
  for (let i = 0; i < peers.length; i++) job.peers[i] = peers[i];
}

function copyRecord(src: Uint8Array, i: number, dst: Uint8Array, j: number): void {
  const s = i * ENDPOINT_RECORD_SIZE;
  const d = j * ENDPOINT_RECORD_SIZE;
  for (let b = 0; b < ENDPOINT_RECORD_SIZE; b++) dst[d + b] = src[s + b];
}
