/**
 * Crypto workers (issue "fast data path", item 5): devices with `cryptoWorkers: 2` on the
 * in-memory network — handshake, data both ways, per-peer order of 10,000 packets, rekey and
 * session drop while batches are in flight, close while in flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Device, type DeviceOptions } from '../../../src/device/device.js';
import { nativeAeadAvailable } from '../../../src/crypto/native-aead.js';
import { MemoryBind, MemoryNetwork } from '../../../src/io/memory-bind.js';
import { MemoryTun } from '../../../src/io/memory-tun.js';
import { generateKeyPair, type KeyPair } from '../../../src/keys.js';
import { ManualClock } from '../../../src/manual-clock.js';
import { REKEY_AFTER_MESSAGES } from '../../../src/constants.js';
import { buildUdp } from '../../helpers/packets.js';

const native = nativeAeadAvailable();
const opened: Device[] = [];

afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
});

interface Node {
  dev: Device;
  tun: MemoryTun;
  key: KeyPair;
  addr: string;
  port: number;
  ip: string;
}

function makeNode(net: MemoryNetwork, clock: ManualClock, n: number, extra: Partial<DeviceOptions>): Node {
  const key = generateKeyPair();
  const tun = new MemoryTun({ name: `w${n}` });
  const ip = `192.0.2.${n}`;
  const port = 1000 + n;
  // Deep queues: the tests push thousands of packets per event-loop turn.
  const bind = new MemoryBind(net, { v4: ip, v6: null, queueLimit: 1 << 20 });
  const dev = new Device({ tun, bind, privateKey: key.privateKey, listenPort: port, clock, ...extra });
  opened.push(dev);
  return { dev, tun, key, addr: `10.0.0.${n}`, port, ip };
}

function link(a: Node, b: Node): void {
  a.dev.setPeer({ publicKey: b.key.publicKey, endpoint: `${b.ip}:${b.port}`, allowedIPs: [`${b.addr}/32`] });
  b.dev.setPeer({ publicKey: a.key.publicKey, endpoint: `${a.ip}:${a.port}`, allowedIPs: [`${a.addr}/32`] });
}

/** Up to three nodes, all peered with node 1, each with 2 crypto workers. */
async function mesh(count: 2 | 3, extra: Partial<DeviceOptions> = {}): Promise<{ nodes: Node[]; clock: ManualClock; net: MemoryNetwork }> {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const nodes: Node[] = [];
  for (let i = 1; i <= count; i++) nodes.push(makeNode(net, clock, i, { cryptoWorkers: 2, ...extra }));
  for (let i = 1; i < count; i++) link(nodes[0], nodes[i]);
  for (const n of nodes) await n.dev.up();
  return { nodes, clock, net };
}

/** UDP packet src → dst whose payload carries `seq` (4 bytes) and is `size` bytes in all. */
function pkt(src: string, dst: string, seq: number, size = 120): Uint8Array {
  const payload = new Uint8Array(size - 28);
  payload[0] = seq >>> 24;
  payload[1] = seq >>> 16;
  payload[2] = seq >>> 8;
  payload[3] = seq;
  for (let i = 4; i < payload.length; i++) payload[i] = (seq + i) & 0xff;
  return buildUdp({ src, dst, srcPort: 7, dstPort: 9, payload });
}

const seqOf = (p: Uint8Array): number => ((p[28] << 24) | (p[29] << 16) | (p[30] << 8) | p[31]) >>> 0;

/** Wait (real time: workers run on other threads) until `cond`, or fail after `ms`. */
async function until(cond: () => boolean, ms = 10_000, state?: () => unknown): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out${state ? `: ${JSON.stringify(state())}` : ''}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function pool(d: Device) {
  const p = d.cryptoPool;
  if (!p) throw new Error('no crypto pool');
  return p;
}

describe.skipIf(!native)('crypto workers (cryptoWorkers: 2)', () => {
  it('a device without the option has no pool (the synchronous path runs)', async () => {
    const net = new MemoryNetwork();
    const n = makeNode(net, new ManualClock(), 9, {});
    expect(n.dev.cryptoPool).toBeNull();
    const w0 = makeNode(net, new ManualClock(), 8, { cryptoWorkers: 0 });
    expect(w0.dev.cryptoPool).toBeNull();
    const js = makeNode(net, new ManualClock(), 7, { cryptoWorkers: 2, cipher: 'js' });
    expect(js.dev.cryptoPool).toBeNull();
  });

  it('handshake, then data both ways, byte-exact', async () => {
    const { nodes } = await mesh(2);
    const [a, b] = nodes;
    expect(pool(a.dev).workers).toBe(2);
    let handshakes = 0;
    a.dev.on('handshake', () => handshakes++);
    const ab = pkt(a.addr, b.addr, 1, 300);
    a.tun.inject(ab);
    await until(() => b.tun.written.length === 1);
    expect(handshakes).toBe(1);
    expect(b.tun.takeWritten()[0]).toEqual(ab);
    const ba = [pkt(b.addr, a.addr, 2, 1400), pkt(b.addr, a.addr, 3, 28), pkt(b.addr, a.addr, 4, 1420)];
    b.tun.inject(ba);
    await until(() => a.tun.written.length === 3);
    expect(a.tun.takeWritten()).toEqual(ba);
    expect(pool(a.dev).stats.submitted).toBeGreaterThan(0);
    expect(pool(b.dev).stats.submitted).toBeGreaterThan(0);
    expect(pool(a.dev).stats.droppedError + pool(b.dev).stats.droppedError).toBe(0);
    const peerB = a.dev.peers()[0];
    expect(peerB.txBytes).toBeGreaterThan(0n);
    expect(peerB.rxBytes).toBeGreaterThan(0n);
  });

  it('10,000 packets to each of two peers, interleaved, arrive complete and in order per peer', async () => {
    const { nodes } = await mesh(3);
    const [a, b, c] = nodes;
    a.tun.inject([pkt(a.addr, b.addr, 0), pkt(a.addr, c.addr, 0)]);
    await until(() => b.tun.written.length === 1 && c.tun.written.length === 1);
    b.tun.takeWritten();
    c.tun.takeWritten();
    const N = 10_000;
    const CHUNK = 500;
    for (let s = 1; s <= N; s += CHUNK) {
      const chunk: Uint8Array[] = [];
      for (let k = s; k < s + CHUNK; k++) {
        // Sizes vary so that jobs fill unevenly and workers finish out of order.
        chunk.push(pkt(a.addr, b.addr, k, 60 + (k % 7) * 200));
        chunk.push(pkt(a.addr, c.addr, k, 60 + (k % 5) * 280));
      }
      a.tun.inject(chunk);
      // Keep several jobs in flight but below the pool's limit.
      await until(() => pool(a.dev).inFlight < 24);
    }
    // A loaded CI machine runs the two workers slowly; a lost packet shows in the state.
    await until(
      () => b.tun.written.length === N && c.tun.written.length === N,
      60_000,
      () => ({ b: b.tun.written.length, c: c.tun.written.length, pool: pool(a.dev).stats, dropsB: b.dev.drops, dropsC: c.dev.drops }),
    );
    for (const rx of [b, c]) {
      const seqs = rx.tun.takeWritten().map(seqOf);
      expect(seqs.length).toBe(N);
      let inOrder = true;
      for (let i = 0; i < N; i++) if (seqs[i] !== i + 1) inOrder = false;
      expect(inOrder).toBe(true);
    }
    expect(pool(a.dev).stats.droppedFull).toBe(0);
    expect(a.dev.drops.replayed + b.dev.drops.replayed + c.dev.drops.badTag).toBe(0);
  }, 90_000);

  it('rekey while batches are in flight: every packet arrives in order, on the old then the new session', async () => {
    const { nodes, clock } = await mesh(2);
    const [a, b] = nodes;
    let handshakes = 0;
    a.dev.on('handshake', () => handshakes++);
    a.tun.inject(pkt(a.addr, b.addr, 0));
    await until(() => b.tun.written.length === 1);
    b.tun.takeWritten();
    expect(handshakes).toBe(1);
    clock.advance(6000); // past REKEY_TIMEOUT, so that a new initiation is not paced (no timer is due yet)
    let seq = 1;
    const burst = (n: number): void => {
      const chunk: Uint8Array[] = [];
      for (let k = 0; k < n; k++) chunk.push(pkt(a.addr, b.addr, seq++, 200 + (k % 3) * 500));
      a.tun.inject(chunk);
    };
    burst(600); // in flight now
    expect(pool(a.dev).inFlight).toBeGreaterThan(0);
    // 300 messages before the rekey threshold: the next burst crosses it and starts a handshake.
    a.dev.setSendCounter(b.key.publicKey, REKEY_AFTER_MESSAGES - 300n);
    burst(600);
    await until(() => handshakes === 2);
    burst(600);
    await until(() => b.tun.written.length === seq - 1);
    const seqs = b.tun.takeWritten().map(seqOf);
    expect(seqs).toEqual(Array.from({ length: seq - 1 }, (_, i) => i + 1));
    // Packets sent on the new session decrypt (B opened them with the key the workers got).
    expect(b.dev.drops.badTag + b.dev.drops.unknownIndex).toBe(0);
    expect(pool(a.dev).stats.droppedError + pool(b.dev).stats.droppedError).toBe(0);
  });

  it('sessions dropped while batches are in flight: their keys are forgotten only after those batches', async () => {
    const { nodes } = await mesh(2);
    const [a, b] = nodes;
    a.tun.inject(pkt(a.addr, b.addr, 0));
    await until(() => b.tun.written.length === 1);
    b.tun.takeWritten();
    const chunk: Uint8Array[] = [];
    for (let k = 1; k <= 640; k++) chunk.push(pkt(a.addr, b.addr, k, 1000));
    a.tun.inject(chunk);
    const inFlight = pool(a.dev).inFlight;
    expect(inFlight).toBeGreaterThan(0);
    // Same peer, new PSK: A's sessions are destroyed now, with their batches still in the workers.
    a.dev.setPeer({ publicKey: b.key.publicKey, presharedKey: new Uint8Array(32).fill(1) });
    expect(a.dev.peers()[0].publicKey).toBeDefined();
    await until(() => pool(a.dev).inFlight === 0);
    // The workers still had the key for every batch submitted before the drop.
    expect(pool(a.dev).stats.droppedError).toBe(0);
    await until(() => b.tun.written.length === 640);
    expect(b.tun.takeWritten().map(seqOf)).toEqual(Array.from({ length: 640 }, (_, i) => i + 1));
  });

  it('close while batches are in flight: resolves, discards them, nothing arrives afterwards', async () => {
    const { nodes } = await mesh(2);
    const [a, b] = nodes;
    a.tun.inject(pkt(a.addr, b.addr, 0));
    await until(() => b.tun.written.length === 1);
    b.tun.takeWritten();
    const chunk: Uint8Array[] = [];
    for (let k = 1; k <= 1280; k++) chunk.push(pkt(a.addr, b.addr, k, 1400));
    a.tun.inject(chunk);
    const p = pool(a.dev);
    expect(p.inFlight).toBeGreaterThan(0);
    await a.dev.close();
    expect(p.inFlight).toBe(0);
    expect(p.stats.delivered + p.stats.discarded).toBe(p.stats.submitted);
    const sentAtClose = b.tun.written.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(b.tun.written.length).toBe(sentAtClose);
    await a.dev.close(); // idempotent
    // B closes cleanly too, with its own workers idle or busy.
    await b.dev.close();
    expect(pool(b.dev).inFlight).toBe(0);
  });
});

describe('parseCryptoWorkers (TSGUARD_CRYPTO_WORKERS)', () => {
  it('accepts 0..64 and auto; anything else means the default', async () => {
    const { parseCryptoWorkers, defaultCryptoWorkers } = await import('../../../src/device/crypto-pool.js');
    expect(parseCryptoWorkers(undefined)).toBeUndefined();
    expect(parseCryptoWorkers('0')).toBe(0);
    expect(parseCryptoWorkers(' 3 ')).toBe(3);
    expect(parseCryptoWorkers('64')).toBe(64);
    expect(parseCryptoWorkers('65')).toBeUndefined();
    expect(parseCryptoWorkers('-1')).toBeUndefined();
    expect(parseCryptoWorkers('two')).toBeUndefined();
    expect(parseCryptoWorkers('auto')).toBe(defaultCryptoWorkers());
  });
});
