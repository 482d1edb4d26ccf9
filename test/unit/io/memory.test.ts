import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { BindError, type BindHandler } from '../../../src/io/bind.js';
import { Endpoint, EP_FLAG_LOCAL, EP_FLAGS, EP_LOCAL, ENDPOINT_RECORD_SIZE, formatIPv4, formatIPv6 } from '../../../src/io/endpoint.js';
import { MemoryBind, MemoryNetwork } from '../../../src/io/memory-bind.js';
import { MemoryTun } from '../../../src/io/memory-tun.js';
import { PacketBatch } from '../../../src/io/packet-batch.js';
import type { TunEvent } from '../../../src/io/tun.js';
import { UdpBind } from '../../../src/io/udp-bind.js';
import { buildIcmpEcho, parseIcmpEcho } from '../../helpers/packets.js';

const bytes = (...v: number[]) => Uint8Array.from(v);

interface Received {
  data: number[];
  from: string;
  local: string | null;
  offsetOk: boolean;
}

/** A handler that records every packet (copied) with its source, and the batch sizes. */
function recorder() {
  const got: Received[] = [];
  const batches: number[] = [];
  const handler: BindHandler = {
    packets(b: PacketBatch) {
      batches.push(b.count);
      for (let i = 0; i < b.count; i++) {
        const e = b.endpointOffset(i);
        const ep = Endpoint.fromRecord(b.endpoints, e);
        const flags = b.endpoints[e + EP_FLAGS];
        const local =
          flags & EP_FLAG_LOCAL
            ? ep.family === 4
              ? formatIPv4(b.endpoints, e + EP_LOCAL)
              : formatIPv6(b.endpoints, e + EP_LOCAL)
            : null;
        got.push({ data: [...b.packet(i)], from: ep.toString(), local, offsetOk: b.offsets[i] === b.packetStart(i) });
      }
    },
  };
  return { got, batches, handler };
}

function batchTo(dest: Endpoint, ...packets: Uint8Array[]): PacketBatch {
  const b = new PacketBatch(8, 2048);
  for (const p of packets) b.push(p, dest.record);
  return b;
}

describe('MemoryTun', () => {
  function started(tun: MemoryTun) {
    const packets: number[][] = [];
    const batches: number[] = [];
    const offsets: boolean[] = [];
    const events: TunEvent[] = [];
    tun.start({
      packets(b) {
        batches.push(b.count);
        for (let i = 0; i < b.count; i++) {
          packets.push([...b.packet(i)]);
          offsets.push(b.offsets[i] === b.packetStart(i));
        }
      },
      event: (e) => events.push(e),
    });
    return { packets, batches, offsets, events };
  }

  it('delivers injected packets synchronously, in batches, at packetStart', () => {
    const tun = new MemoryTun({ batchCapacity: 2 });
    const r = started(tun);
    expect(tun.inject([bytes(1), bytes(2, 2), bytes(3, 3, 3)])).toBe(3);
    expect(r.packets).toEqual([[1], [2, 2], [3, 3, 3]]);
    expect(r.batches).toEqual([2, 1]);
    expect(r.offsets).toEqual([true, true, true]);
    tun.inject(bytes(9));
    expect(r.packets.at(-1)).toEqual([9]);
  });

  it('queues packets injected before start and from inside the handler', () => {
    const tun = new MemoryTun();
    tun.inject(bytes(1));
    const seen: number[] = [];
    tun.start({
      packets(b) {
        for (let i = 0; i < b.count; i++) {
          const v = b.packet(i)[0];
          seen.push(v);
          if (v === 2) {
            tun.inject(bytes(3)); // re-entrant: delivered after this batch, not inside it
            expect(seen).toEqual([1, 2]);
          }
        }
      },
      event: () => undefined,
    });
    expect(seen).toEqual([1]);
    tun.inject(bytes(2));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('delivers on a microtask when asked to, gathering one batch', async () => {
    const tun = new MemoryTun({ delivery: 'microtask' });
    const r = started(tun);
    tun.inject(bytes(1));
    tun.inject(bytes(2));
    expect(r.packets).toEqual([]);
    await Promise.resolve();
    expect(r.packets).toEqual([[1], [2]]);
    expect(r.batches).toEqual([2]);
  });

  it('hands written packets out as copies (queue or onWrite)', () => {
    const tun = new MemoryTun();
    started(tun);
    const b = new PacketBatch(4, 256);
    b.push(bytes(4, 5, 6));
    b.push(bytes(7));
    tun.write(b);
    b.data.fill(0xee); // the batch is reused by the device
    expect(tun.takeWritten().map((p) => [...p])).toEqual([[4, 5, 6], [7]]);
    expect(tun.written).toHaveLength(0);
    const seen: number[][] = [];
    tun.onWrite = (p) => seen.push([...p]);
    b.clear();
    b.push(bytes(8, 8));
    tun.write(b);
    expect(seen).toEqual([[8, 8]]);
    expect(tun.written).toHaveLength(0);
  });

  it('emits up/down/mtu on change only, drops injections while down, closes once', () => {
    const tun = new MemoryTun({ mtu: 1420 });
    const r = started(tun);
    tun.setUp(true); // already up
    tun.setUp(false);
    expect(tun.isUp).toBe(false);
    expect(tun.inject(bytes(1))).toBe(0);
    expect(tun.dropped).toBe(1);
    tun.setUp(true);
    tun.setMtu(1420);
    tun.setMtu(9000);
    expect(tun.mtu).toBe(9000);
    expect(() => tun.setMtu(70_000)).toThrow(RangeError);
    tun.close();
    tun.close();
    expect(r.events).toEqual([{ type: 'down' }, { type: 'up' }, { type: 'mtu', mtu: 9000 }, { type: 'closed' }]);
    expect(tun.inject(bytes(1))).toBe(0);
    expect(r.packets).toEqual([]);
    const b = new PacketBatch(1, 256);
    b.push(bytes(1));
    tun.write(b);
    expect(tun.written).toHaveLength(0);
  });

  it('carries real ICMP packets unchanged', () => {
    const tun = new MemoryTun();
    const r = started(tun);
    const ping = buildIcmpEcho({ src: '192.168.241.2', dst: '192.168.241.1', seq: 7 });
    tun.inject(ping);
    const parsed = parseIcmpEcho(Uint8Array.from(r.packets[0]));
    expect(parsed).toMatchObject({ family: 4, type: 'request', seq: 7, checksumOk: true });
  });
});

describe('MemoryNetwork / MemoryBind', () => {
  it('carries datagrams both ways over IPv4 and IPv6 with full source records', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net, { v4: '10.0.0.1', v6: 'fd00::1' });
    const b = new MemoryBind(net, { v4: '10.0.0.2', v6: 'fd00:0:0::2' });
    const ra = recorder();
    const rb = recorder();
    a.start(ra.handler);
    b.start(rb.handler);
    expect(await a.bind(1000)).toBe(1000);
    expect(await b.bind(2000)).toBe(2000);

    a.send(batchTo(Endpoint.fromAddress('10.0.0.2', 2000), bytes(1), bytes(2)));
    a.send(batchTo(Endpoint.fromAddress('fd00::2', 2000), bytes(3)));
    expect(rb.got).toEqual([]); // asynchronous
    await net.settle();
    expect(rb.got).toEqual([
      { data: [1], from: '10.0.0.1:1000', local: '10.0.0.2', offsetOk: true },
      { data: [2], from: '10.0.0.1:1000', local: '10.0.0.2', offsetOk: true },
      { data: [3], from: '[fd00::1]:1000', local: 'fd00::2', offsetOk: true },
    ]);
    expect(rb.batches).toEqual([3]); // one turn, one batch

    b.send(batchTo(Endpoint.fromAddress('10.0.0.1', 1000), bytes(4)));
    await net.settle();
    expect(ra.got.map((g) => [g.data, g.from])).toEqual([[[4], '10.0.0.2:2000']]);
    expect(net.stats).toMatchObject({ sent: 4, delivered: 4, dropped: 0, unreachable: 0 });
  });

  it('waits for request/reply chains in settle()', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net);
    const b = new MemoryBind(net);
    const ra = recorder();
    a.start(ra.handler);
    b.start({
      packets(batch) {
        // Echo everything back to its source, from inside the handler.
        const reply = new PacketBatch(batch.count || 1, 2048);
        for (let i = 0; i < batch.count; i++) reply.push(batch.packet(i).map((x) => x + 1), batch.endpoints.subarray(batch.endpointOffset(i)));
        b.send(reply);
      },
    });
    await a.bind(0);
    const port = await b.bind(0);
    a.send(batchTo(Endpoint.fromAddress('::1', port), bytes(41)));
    await net.settle();
    expect(ra.got.map((g) => [g.data, g.from])).toEqual([[[42], `[::1]:${port}`]]);
  });

  it('allocates ephemeral ports like the kernel, the same for both families', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net);
    const b = new MemoryBind(net);
    const pa = await a.bind(0);
    const pb = await b.bind(0);
    for (const p of [pa, pb]) {
      expect(p).toBeGreaterThanOrEqual(32768);
      expect(p).toBeLessThanOrEqual(60999);
    }
    expect(pa).not.toBe(pb); // same addresses: ports must differ
    expect(net.holder('127.0.0.1', pa)).toBe(a);
    expect(net.holder('::1', pa)).toBe(a);
    // Different addresses may share a port (two "hosts").
    const c = new MemoryBind(net, { v4: '10.1.1.1', v6: null });
    expect(await c.bind(pa)).toBe(pa);
  });

  it('rebinds new-before-old and keeps the old port on EADDRINUSE', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net);
    const other = new MemoryBind(net, { v4: null, v6: '::1' });
    const ra = recorder();
    a.start(ra.handler);
    await a.bind(1111);
    await other.bind(2222);

    const err = await a.bind(2222).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BindError);
    expect((err as BindError).errno).toBe(98);
    expect(a.port).toBe(1111);
    expect(net.holder('127.0.0.1', 1111)).toBe(a);
    expect(net.holder('127.0.0.1', 2222)).toBeUndefined(); // nothing half-registered

    expect(await a.bind(1111)).toBe(1111); // same port: no-op
    expect(await a.bind(3333)).toBe(3333);
    expect(net.holder('127.0.0.1', 1111)).toBeUndefined();
    const sender = new MemoryBind(net, { v4: '10.9.9.9', v6: null });
    await sender.bind(5);
    sender.send(batchTo(Endpoint.fromAddress('127.0.0.1', 1111), bytes(1)));
    sender.send(batchTo(Endpoint.fromAddress('127.0.0.1', 3333), bytes(2)));
    await net.settle();
    expect(ra.got.map((g) => g.data)).toEqual([[2]]);
    expect(net.stats.unreachable).toBe(1);

    a.close();
    a.close();
    expect(a.port).toBe(0);
    expect(net.holder('127.0.0.1', 3333)).toBeUndefined();
    expect(await other.bind(3333)).toBe(3333);
  });

  it('drops, duplicates and reorders on request, and the tap sees wire bytes', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net);
    const b = new MemoryBind(net);
    const rb = recorder();
    b.start(rb.handler);
    await a.bind(1);
    await b.bind(2);
    const to = Endpoint.fromAddress('127.0.0.1', 2);
    const tapped: string[] = [];
    net.onDatagram = (from, dest, data) => {
      tapped.push(`${from} ${dest} ${[...data]}`);
      return data[0] !== 0xdd;
    };

    net.conditions = { dropRate: 1 };
    a.send(batchTo(to, bytes(1)));
    net.conditions = { duplicateRate: 1 };
    a.send(batchTo(to, bytes(2)));
    net.conditions = {};
    a.send(batchTo(to, bytes(0xdd))); // dropped by the tap
    await net.settle();
    expect(rb.got.map((g) => g.data)).toEqual([[2], [2]]);
    expect(tapped).toEqual(['127.0.0.1:1 127.0.0.1:2 1', '127.0.0.1:1 127.0.0.1:2 2', '127.0.0.1:1 127.0.0.1:2 221']);
    expect(net.stats).toMatchObject({ sent: 3, dropped: 2, delivered: 2 });

    net.onDatagram = null;
    net.conditions = { reorderRate: 1 };
    rb.got.length = 0;
    a.send(batchTo(to, bytes(1), bytes(2)));
    await net.settle();
    expect(rb.got.map((g) => g.data)).toEqual([[2], [1]]);
    expect(rb.got.map((g) => g.from)).toEqual(['127.0.0.1:1', '127.0.0.1:1']);
  });

  it('delays by the network clock', async () => {
    const { ManualClock } = await import('../../../src/manual-clock.js');
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, delayMs: 50 });
    const a = new MemoryBind(net);
    const b = new MemoryBind(net);
    const rb = recorder();
    b.start(rb.handler);
    await a.bind(1);
    await b.bind(2);
    a.send(batchTo(Endpoint.fromAddress('::1', 2), bytes(5)));
    await net.settle();
    clock.advance(49);
    await net.settle();
    expect(rb.got).toEqual([]);
    clock.advance(1);
    await net.settle();
    expect(rb.got.map((g) => [g.data, g.from])).toEqual([[[5], '[::1]:1']]);
  });

  it('clears a sticky source that is no longer local, and follows address changes', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net, { v4: '10.0.0.1', v6: null });
    const b = new MemoryBind(net, { v4: '10.0.0.2', v6: null });
    const rb = recorder();
    b.start(rb.handler);
    await a.bind(1);
    await b.bind(2);
    const rec = Endpoint.fromAddress('10.0.0.2', 2).record.slice();
    rec[EP_FLAGS] |= EP_FLAG_LOCAL;
    rec.set([10, 0, 0, 1], EP_LOCAL);
    const batch = batchTo(Endpoint.fromRecord(rec), bytes(1));
    a.send(batch);
    expect(batch.endpoints[EP_FLAGS] & EP_FLAG_LOCAL).toBe(EP_FLAG_LOCAL); // still valid: kept

    a.setAddresses({ v4: '10.0.0.3' });
    a.send(batch);
    expect(batch.endpoints[EP_FLAGS] & EP_FLAG_LOCAL).toBe(0);
    expect([...batch.endpoints.subarray(EP_LOCAL, ENDPOINT_RECORD_SIZE)].every((x) => x === 0)).toBe(true);
    await net.settle();
    expect(rb.got.map((g) => g.from)).toEqual(['10.0.0.1:1', '10.0.0.3:1']);
    expect(net.holder('10.0.0.1', 1)).toBeUndefined();
    expect(net.holder('10.0.0.3', 1)).toBe(a);
    // Moving onto an address whose port is taken fails and changes nothing.
    await b.bind(1);
    expect(() => a.setAddresses({ v4: '10.0.0.2' })).toThrow(BindError);
    expect(a.addresses.v4).toBe('10.0.0.3');
    expect(net.holder('10.0.0.3', 1)).toBe(a);
  });

  it('queues datagrams that arrive before start and delivers them after', async () => {
    const net = new MemoryNetwork();
    const a = new MemoryBind(net);
    const b = new MemoryBind(net);
    await a.bind(1);
    await b.bind(2);
    a.send(batchTo(Endpoint.fromAddress('127.0.0.1', 2), bytes(7)));
    await net.settle();
    const rb = recorder();
    b.start(rb.handler);
    await net.settle();
    expect(rb.got.map((g) => g.data)).toEqual([[7]]);
  });
});

describe('UdpBind (node:dgram, loopback)', () => {
  const binds: UdpBind[] = [];
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const b of binds.splice(0)) b.close();
    for (const s of sockets.splice(0)) s.close();
  });

  function udp(options?: ConstructorParameters<typeof UdpBind>[0]) {
    const b = new UdpBind(options);
    binds.push(b);
    const r = recorder();
    b.start(r.handler);
    return { bind: b, ...r };
  }

  it('binds both families to one port and exchanges datagrams with correct source records', async () => {
    const a = udp();
    const b = udp();
    const pa = await a.bind.bind(0);
    const pb = await b.bind.bind(0);
    expect(pa).toBeGreaterThan(0);
    expect(a.bind.port).toBe(pa);

    a.bind.send(batchTo(Endpoint.fromAddress('127.0.0.1', pb), bytes(1, 2, 3), bytes(4)));
    a.bind.send(batchTo(Endpoint.fromAddress('::1', pb), bytes(5)));
    await waitUntil(() => b.got.length === 3);
    const sorted = [...b.got].sort((x, y) => x.data[0] - y.data[0]);
    expect(sorted).toEqual([
      { data: [1, 2, 3], from: `127.0.0.1:${pa}`, local: null, offsetOk: true },
      { data: [4], from: `127.0.0.1:${pa}`, local: null, offsetOk: true },
      { data: [5], from: `[::1]:${pa}`, local: null, offsetOk: true },
    ]);

    b.bind.send(batchTo(Endpoint.fromAddress('::1', pa), bytes(6)));
    await waitUntil(() => a.got.length === 1);
    expect(a.got[0]).toMatchObject({ data: [6], from: `[::1]:${pb}` });
  });

  it('batches datagrams that arrive in one event-loop turn', async () => {
    const a = udp();
    const b = udp();
    await a.bind.bind(0);
    const pb = await b.bind.bind(0);
    const batch = new PacketBatch(32, 2048);
    const to = Endpoint.fromAddress('127.0.0.1', pb);
    for (let i = 0; i < 32; i++) batch.push(bytes(i), to.record);
    a.bind.send(batch);
    await waitUntil(() => b.got.length === 32);
    expect(b.got.map((g) => g.data[0])).toEqual([...Array(32).keys()]);
    expect(b.batches.length).toBeLessThan(32);
  });

  it('copies on send: reusing the batch right away does not corrupt datagrams', async () => {
    const a = udp();
    const b = udp();
    await a.bind.bind(0);
    const pb = await b.bind.bind(0);
    const batch = batchTo(Endpoint.fromAddress('127.0.0.1', pb), bytes(1, 1, 1));
    a.bind.send(batch);
    batch.data.fill(9);
    await waitUntil(() => b.got.length === 1);
    expect(b.got[0].data).toEqual([1, 1, 1]);
  });

  it('rebinds to a new port, and keeps the old one when the new one is in use', async () => {
    const a = udp();
    const peer = udp();
    const old = await a.bind.bind(0);
    const pp = await peer.bind.bind(0);

    // Occupy a port with a plain socket on udp6 only: the v4 bind succeeds, the v6 one fails.
    const blocker = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    sockets.push(blocker);
    await new Promise<void>((r) => blocker.bind(0, '::', () => r()));
    const busy = blocker.address().port;
    const err = await a.bind.bind(busy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BindError);
    expect((err as BindError).errno).toBe(98);
    expect(a.bind.port).toBe(old);
    // The old sockets still work, and the v4 socket of the failed attempt was released.
    peer.bind.send(batchTo(Endpoint.fromAddress('127.0.0.1', old), bytes(1)));
    await waitUntil(() => a.got.length === 1);
    const probe = dgram.createSocket('udp4');
    sockets.push(probe);
    await new Promise<void>((r, j) => {
      probe.once('error', j);
      probe.bind(busy, '0.0.0.0', () => r());
    });

    const next = await a.bind.bind(0);
    expect(next).not.toBe(old);
    expect(a.bind.port).toBe(next);
    // The old port is closed: something else can take it now.
    const again = udp();
    expect(await again.bind.bind(old)).toBe(old);
    peer.bind.send(batchTo(Endpoint.fromAddress('::1', next), bytes(2)));
    await waitUntil(() => a.got.length === 2);
    expect(a.got[1]).toMatchObject({ data: [2], from: `[::1]:${pp}` });
  });

  it('same port twice is a no-op; SO_MARK is refused except 0; close is idempotent', async () => {
    const a = udp();
    const p = await a.bind.bind(0);
    expect(await a.bind.bind(p)).toBe(p);
    a.bind.setMark(0);
    let err: unknown;
    try {
      a.bind.setMark(1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BindError);
    expect((err as BindError).errno).toBe(95);
    a.bind.close();
    a.bind.close();
    expect(a.bind.port).toBe(0);
    const b = udp();
    expect(await b.bind.bind(p)).toBe(p);
  });

  it('binds IPv4 only when asked', async () => {
    const a = udp({ v6Address: null });
    const b = udp();
    const pa = await a.bind.bind(0);
    const pb = await b.bind.bind(0);
    b.bind.send(batchTo(Endpoint.fromAddress('::1', pa), bytes(1))); // nobody on v6
    b.bind.send(batchTo(Endpoint.fromAddress('127.0.0.1', pa), bytes(2)));
    await waitUntil(() => a.got.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(a.got.map((g) => [g.data, g.from])).toEqual([[[2], `127.0.0.1:${pb}`]]);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
