/**
 * The crypto worker's program. It runs as an `eval` worker built from this function's source
 * text, so the same code runs from `dist/` and from the TypeScript sources under vitest; it
 * must therefore be self-contained (no imports, no closures over module scope).
 *
 * Protocol (crypto-pool.ts is the other side):
 * - workerData: { addonPath, ring: SharedArrayBuffer, ringSize, control: MessagePort,
 *   done: MessagePort | null }.
 * - ring (Int32Array): [0] tail (main writes), [1] head (worker writes), [2] stop flag,
 *   [4 + (n & (ringSize-1))] the id of the n-th job handed to this worker.
 * - control port, drained with receiveMessageOnPort before each job (the main thread posts a
 *   message before it writes the ring entry that depends on it, so it is already queued):
 *   { t: 'key', id, key } install a session key, { t: 'forget', id } drop it,
 *   { t: 'job', id, sab, layout } a job buffer (JobLayout offsets).
 * - a job: ctl[1] op (1 seal, 2 open), ctl[2] count; entry i is key[i], cOff[i], cLen[i],
 *   lo[i], hi[i]; consecutive entries with the same key go in one native batch call. Done:
 *   ctl[0] = 2 with Atomics.store + notify, and a message on `done` when given.
 */
export function cryptoWorkerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const wt = require('node:worker_threads') as typeof import('node:worker_threads');
  const wd = wt.workerData as {
    addonPath: string;
    ring: SharedArrayBuffer;
    ringSize: number;
    control: import('node:worker_threads').MessagePort;
    done: import('node:worker_threads').MessagePort | null;
  };
  type Handle = object;
  interface Native {
    aeadCreate(key: Uint8Array): Handle;
    aeadDestroy(h: Handle): void;
    aeadSealBatch(h: Handle, d: Uint8Array, o: Uint32Array, l: Uint32Array, lo: Uint32Array, hi: Uint32Array, n: number, s: number): number;
    aeadOpenBatch(h: Handle, d: Uint8Array, o: Uint32Array, l: Uint32Array, lo: Uint32Array, hi: Uint32Array, n: number, s: number, st: Uint8Array): number;
  }
  interface JobViews {
    ctl: Int32Array;
    data: Uint8Array;
    cOff: Uint32Array;
    cLen: Uint32Array;
    lo: Uint32Array;
    hi: Uint32Array;
    key: Int32Array;
    status: Uint8Array;
  }
  const native = require(wd.addonPath) as Native;
  const ring = new Int32Array(wd.ring);
  const mask = wd.ringSize - 1;
  const control = wd.control;
  const done = wd.done;
  const keys = new Map<number, Handle>();
  const jobs: JobViews[] = [];

  const drainControl = (): void => {
    for (;;) {
      const m = wt.receiveMessageOnPort(control);
      if (m === undefined) return;
      const msg = m.message as { t: string; id: number; key?: Uint8Array; sab?: SharedArrayBuffer; layout?: Record<string, number> };
      if (msg.t === 'key') {
        keys.set(msg.id, native.aeadCreate(msg.key!));
        msg.key!.fill(0);
      } else if (msg.t === 'forget') {
        const h = keys.get(msg.id);
        if (h !== undefined) native.aeadDestroy(h);
        keys.delete(msg.id);
      } else if (msg.t === 'job') {
        const s = msg.sab!;
        const L = msg.layout!;
        const cap = L.capacity;
        jobs[msg.id] = {
          ctl: new Int32Array(s, 0, 4),
          data: new Uint8Array(s, L.data, L.arena),
          cOff: new Uint32Array(s, L.cOff, cap),
          cLen: new Uint32Array(s, L.cLen, cap),
          lo: new Uint32Array(s, L.lo, cap),
          hi: new Uint32Array(s, L.hi, cap),
          key: new Int32Array(s, L.key, cap),
          status: new Uint8Array(s, L.status, cap),
        };
      }
    }
  };

  const run = (j: JobViews): void => {
    const seal = j.ctl[1] === 1;
    const n = j.ctl[2];
    let s = 0;
    while (s < n) {
      const k = j.key[s];
      let e = s + 1;
      while (e < n && j.key[e] === k) e++;
      const h = keys.get(k);
      if (h === undefined) {
        // Never send plaintext: the main thread drops a job with the error flag.
        j.ctl[3] = 1;
        for (let i = s; i < e; i++) {
          if (seal) j.data.fill(0, j.cOff[i], j.cOff[i] + j.cLen[i]);
          j.status[i] = 0;
        }
      } else if (seal) {
        native.aeadSealBatch(h, j.data, j.cOff, j.cLen, j.lo, j.hi, e - s, s);
      } else {
        native.aeadOpenBatch(h, j.data, j.cOff, j.cLen, j.lo, j.hi, e - s, s, j.status);
      }
      s = e;
    }
  };

  let head = 0;
  for (;;) {
    if (Atomics.load(ring, 2) !== 0) break;
    if (Atomics.load(ring, 0) === head) {
      Atomics.wait(ring, 0, head);
      continue;
    }
    const id = ring[4 + (head & mask)];
    head = (head + 1) | 0;
    Atomics.store(ring, 1, head);
    drainControl();
    const j = jobs[id];
    run(j);
    Atomics.store(j.ctl, 0, 2);
    Atomics.notify(j.ctl, 0);
    if (done !== null) done.postMessage(id);
  }
  for (const h of keys.values()) native.aeadDestroy(h);
  keys.clear();
}

/** The worker's program text for `new Worker(source, { eval: true })`. */
export function cryptoWorkerSource(): string {
  return `(${cryptoWorkerMain.toString()})();`;
}
