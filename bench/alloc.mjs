#!/usr/bin/env node
// Packet-path allocation check: pushes N packets (default 1,000,000) from device A's TUN
// through A's send path (route, pad, seal), straight into device B's receive path (open,
// replay window, source filter) and B's TUN — in one process, with TUN/bind doubles that
// allocate nothing themselves. Reports heap growth and GC time; a packet path that
// allocated per packet would show tens of MB of garbage and many GCs.
//
//   npm run build && node --expose-gc bench/alloc.mjs [packets] [size] [--cipher=native|js] [--batch=64]
//
// `allocatedBytes` is every byte allocated during the run (V8's sampling heap profiler,
// counting objects already collected too); running at two batch sizes separates what is
// allocated per batch from what is allocated per packet (test/unit/device/no-alloc.test.ts).
//       [--workers=N] [--completion=atomics|port] [--window=BATCHES]
//
// --workers=N gives both devices N crypto workers (Device cryptoWorkers); the pump then keeps
// at most --window batches (default 16) in flight per device and yields to the event loop
// so that finished batches are delivered. CPU per packet counts every thread of the process.
import { PerformanceObserver } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { Device, PacketBatch, generateKeyPair } from '../dist/index.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 1_000_000);
const SIZE = Number(args[1] ?? 1400);
const cipher = process.argv.find((a) => a.startsWith('--cipher='))?.slice(9) ?? 'native';
const BATCH = Number(process.argv.find((a) => a.startsWith('--batch='))?.slice(8) ?? 64);
const opt = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const workers = Number(opt('workers', '0'));
const completion = opt('completion', 'atomics');
const WINDOW = Number(opt('window', '16'));

/** A TUN whose reads come from `pump()` (a copy of one template batch) and whose writes are counted. */
class PumpTun {
  name = 'pump0'; mtu = 1420; isUp = true; written = 0; writtenBytes = 0;
  batch = new PacketBatch(BATCH);
  start(h) { this.h = h; }
  write(b) { this.written += b.count; for (let i = 0; i < b.count; i++) this.writtenBytes += b.lengths[i]; }
  close() {}
  pump(template, count) {
    const b = this.batch;
    for (let i = 0; i < count; i++) {
      const off = b.packetStart(i);
      b.data.set(template, off);
      b.offsets[i] = off;
      b.lengths[i] = template.length;
    }
    b.count = count;
    this.h.packets(b);
  }
}

/** A bind wired to another: send() hands the batch to the other side's receive path at once. */
class WireBind {
  port = 0; other = null; sent = 0;
  constructor(port) { this.wantPort = port; }
  async bind() { this.port = this.wantPort; return this.port; }
  start(h) { this.h = h; }
  send(b) {
    this.sent += b.count;
    // The receiving side sees the sender's address in each record.
    for (let i = 0; i < b.count; i++) {
      const o = i * 48;
      b.endpoints.fill(0, o, o + 48);
      b.endpoints[o] = 4; b.endpoints[o + 2] = this.port >> 8; b.endpoints[o + 3] = this.port & 0xff;
      b.endpoints[o + 8] = 127; b.endpoints[o + 11] = 1;
    }
    this.other.h.packets(b);
  }
  setMark() {}
  close() {}
}

const ka = generateKeyPair(), kb = generateKeyPair();
const tunA = new PumpTun(), tunB = new PumpTun();
const bindA = new WireBind(1), bindB = new WireBind(2);
bindA.other = bindB; bindB.other = bindA;
const a = new Device({ tun: tunA, bind: bindA, privateKey: ka.privateKey, cipher, cryptoWorkers: workers, cryptoCompletion: completion });
const b = new Device({ tun: tunB, bind: bindB, privateKey: kb.privateKey, cipher, cryptoWorkers: workers, cryptoCompletion: completion });
const pools = [a.cryptoPool, b.cryptoPool].filter((p) => p);
/** With workers: wait until every pool has fewer than `max` batches in flight. */
async function throttle(max) {
  // Wait on the pools' own completions (no spinning: the main thread sleeps like a daemon's would).
  for (;;) {
    const busy = pools.find((p) => p.inFlight >= max);
    if (!busy) return;
    await busy.waitBelow(max);
  }
}
/** Pump `n` packets in batches, synchronously (no workers: the loop the allocation test measures). */
function pumpSync(n) {
  for (let sent = 0; sent < n; sent += BATCH) tunA.pump(pkt, Math.min(BATCH, n - sent));
}
/** With workers: at most WINDOW batches in flight per device. */
async function pumpAll(n) {
  for (let sent = 0; sent < n; sent += BATCH) {
    tunA.pump(pkt, Math.min(BATCH, n - sent));
    if (pools.length) await throttle(WINDOW);
  }
  if (pools.length) await throttle(1);
}
a.setPeer({ publicKey: kb.publicKey, endpoint: '127.0.0.1:2', allowedIPs: ['10.0.0.2/32'] });
b.setPeer({ publicKey: ka.publicKey, endpoint: '127.0.0.1:1', allowedIPs: ['10.0.0.1/32'] });
await a.up(); await b.up();

const pkt = new Uint8Array(SIZE);
pkt.set([0x45, 0, SIZE >> 8, SIZE & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);

// Handshake: the first packet is staged and starts it; let the handshake queue run.
tunA.pump(pkt, 1);
for (let i = 0; i < 5000 && a.peers()[0].lastHandshake === 0; i++) await new Promise((r) => setImmediate(r));
if (a.peers()[0].lastHandshake === 0) throw new Error('no handshake');
tunB.pump(new Uint8Array([0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]), 1); // confirm B's side
if (pools.length) await throttle(1);

// Warm up, then measure.
if (pools.length) await pumpAll(2000 * BATCH);
else pumpSync(2000 * BATCH);
let gcCount = 0, gcMs = 0;
const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) { gcCount++; gcMs += e.duration; } });
obs.observe({ entryTypes: ['gc'] });
globalThis.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const before = tunB.written;
const cpu0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const inspector = new Session();
inspector.connect();
await inspector.post('HeapProfiler.enable');
await inspector.post('HeapProfiler.startSampling', {
  samplingInterval: 64,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const t0 = performance.now();
if (pools.length) await pumpAll(N);
else pumpSync(N);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const allocatedBytes = await stopAllocationSampling(inspector);
const elu = performance.eventLoopUtilization(elu0);
const heapAfterRun = process.memoryUsage().heapUsed;
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 50));
const heap1 = process.memoryUsage().heapUsed;
obs.disconnect();
const delivered = tunB.written - before;
const result = {
  packets: N, delivered, size: SIZE, cipher, workers: pools.length ? workers : 0, completion: pools.length ? completion : null,
  seconds: +(ms / 1000).toFixed(3),
  packetsPerSecond: Math.round(N / (ms / 1000)),
  gbitPerSecond: +((delivered * SIZE * 8) / (ms / 1000) / 1e9).toFixed(2),
  cpuMicrosPerPacket: +((cpu.user + cpu.system) / N).toFixed(3),
  // Time the main thread was busy (not idle in the event loop): the part workers cannot take.
  mainThreadMicrosPerPacket: +((elu.active * 1000) / N).toFixed(3),
  heapGrowthBytes: heap1 - heap0,
  heapGrowthDuringRunBytes: heapAfterRun - heap0,
  batch: BATCH,
  allocatedBytes,
  allocatedBytesPerPacket: +(allocatedBytes / N).toFixed(2),
  gcCount, gcMs: +gcMs.toFixed(1),
  drops: Object.fromEntries(Object.entries(b.drops).filter(([, v]) => v > 0)),
  ...(pools.length ? { pools: pools.map((p) => p.stats) } : {}),
};
console.log(JSON.stringify(result, null, 2));
await a.close(); await b.close();
if (delivered !== N) process.exit(1);

/** Total bytes the sampling profiler saw allocated; the profile itself is dropped here. */
async function stopAllocationSampling(session) {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  await session.post('HeapProfiler.disable');
  session.disconnect();
  if (process.env.ALLOC_PROFILE_OUT) (await import('node:fs')).writeFileSync(process.env.ALLOC_PROFILE_OUT, JSON.stringify(profile));
  return sumSelfSizes(profile.head);
}

function sumSelfSizes(node) {
  let total = node.selfSize;
  for (const c of node.children ?? []) total += sumSelfSizes(c);
  return total;
}
