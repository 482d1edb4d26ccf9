import { afterEach, describe, expect, it } from 'vitest';
import { BindError } from '../../../src/io/bind.js';
import {
  Endpoint, ENDPOINT_RECORD_SIZE, EP_FLAG_LOCAL, EP_FLAGS, EP_IFINDEX, EP_LOCAL, formatIPv4, formatIPv6,
} from '../../../src/io/endpoint.js';
import { NativeBind, SEND_DROPPED, SEND_SOURCE_CLEARED } from '../../../src/io/native-bind.js';
import { PacketBatch } from '../../../src/io/packet-batch.js';

interface Received { bytes: Uint8Array; from: Endpoint; local: string | null; ifindex: number }

const open: NativeBind[] = [];
afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

/** A started bind that collects copies of what it receives. */
async function receiver(port = 0): Promise<{ bind: NativeBind; got: Received[]; waitFor(n: number): Promise<void> }> {
  const bind = new NativeBind();
  open.push(bind);
  await bind.bind(port);
  const got: Received[] = [];
  let wake: (() => void) | null = null;
  bind.start({
    packets(batch) {
      for (let i = 0; i < batch.count; i++) {
        const e = batch.endpointOffset(i);
        const rec = batch.endpoints;
        const hasLocal = (rec[e + EP_FLAGS] & EP_FLAG_LOCAL) !== 0;
        const local = !hasLocal ? null : rec[e] === 4 ? formatIPv4(rec, e + EP_LOCAL) : formatIPv6(rec, e + EP_LOCAL);
        const ifindex = new DataView(rec.buffer, rec.byteOffset).getUint32(e + EP_IFINDEX, true);
        got.push({ bytes: batch.packet(i).slice(), from: Endpoint.fromRecord(rec, e), local, ifindex });
      }
      wake?.();
    },
  });
  return {
    bind,
    got,
    async waitFor(n: number) {
      const deadline = Date.now() + 5000;
      while (got.length < n && Date.now() < deadline) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}

function payload(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
}

const SIZES = [0, 1, 2, 60, 148, 1280, 1420, 1452, 4000, 9000, 32768, 65000];

describe('NativeBind over loopback', () => {
  it('binds IPv4 and IPv6 on the same random port', async () => {
    const b = new NativeBind();
    open.push(b);
    const port = await b.bind(0);
    expect(port).toBeGreaterThan(0);
    expect(b.port).toBe(port);
    expect(b.families).toEqual({ v4: true, v6: true });
  });

  it('sends a batch of 64 datagrams over 127.0.0.1 and ::1 and reports sources and local addresses', async () => {
    const rx = await receiver();
    const tx = new NativeBind();
    open.push(tx);
    await tx.bind(0);
    const batch = new PacketBatch(64);
    const to4 = Endpoint.fromAddress('127.0.0.1', rx.bind.port);
    const to6 = Endpoint.fromAddress('::1', rx.bind.port);
    const sent = new Map<string, number>();
    for (let i = 0; i < 64; i++) {
      const p = payload(i, SIZES[i % SIZES.length]);
      const v6 = i >= 32; // every size goes over both families
      expect(batch.push(p, (v6 ? to6 : to4).record)).toBe(i);
      const key = `${v6 ? 6 : 4}:${Buffer.from(p).toString('base64')}`;
      sent.set(key, (sent.get(key) ?? 0) + 1); // empty payloads repeat
    }
    tx.send(batch);
    expect(Array.from(tx.sendStatus.subarray(0, 64))).toEqual(new Array(64).fill(0));
    await rx.waitFor(64);
    expect(rx.got.length).toBe(64);
    for (const r of rx.got) {
      const key = `${r.from.family}:${Buffer.from(r.bytes).toString('base64')}`;
      expect(sent.has(key), `unexpected datagram ${key.slice(0, 20)}`).toBe(true);
      if (sent.get(key) === 1) sent.delete(key);
      else sent.set(key, (sent.get(key) ?? 0) - 1);
      expect(r.from.port).toBe(tx.port);
      expect(r.from.address).toBe(r.from.family === 4 ? '127.0.0.1' : '::1');
      expect(r.local).toBe(r.from.family === 4 ? '127.0.0.1' : '::1');
      expect(r.ifindex).toBe(1); // lo
    }
    expect(sent.size).toBe(0);
  });

  it('sends to itself, replying from the sticky source it learned', async () => {
    const rx = await receiver();
    const batch = new PacketBatch(4);
    batch.push(payload(1, 100), Endpoint.fromAddress('127.0.0.1', rx.bind.port).record);
    rx.bind.send(batch);
    await rx.waitFor(1);
    expect(rx.got[0].from.port).toBe(rx.bind.port);
    // Reply using the received record as it is (remote + local source flagged).
    const reply = new PacketBatch(4);
    reply.push(payload(2, 50), rx.got[0].from.record);
    expect(reply.endpoints[EP_FLAGS] & EP_FLAG_LOCAL).toBe(EP_FLAG_LOCAL);
    rx.bind.send(reply);
    expect(rx.bind.sendStatus[0]).toBe(0);
    await rx.waitFor(2);
    expect(Buffer.from(rx.got[1].bytes).equals(Buffer.from(payload(2, 50)))).toBe(true);
  });

  it('clears a sticky source the kernel refuses and re-sends without it', async () => {
    const rx = await receiver();
    const tx = new NativeBind();
    open.push(tx);
    await tx.bind(0);
    const batch = new PacketBatch(4);
    for (const [addr, bogusLocal] of [['127.0.0.1', [192, 0, 2, 77]], ['::1', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]]] as const) {
      const rec = Endpoint.fromAddress(addr, rx.bind.port).record.slice();
      rec[EP_FLAGS] |= EP_FLAG_LOCAL;
      rec.set(bogusLocal, EP_LOCAL);
      batch.push(payload(3, 64), rec);
    }
    tx.send(batch);
    for (let i = 0; i < 2; i++) {
      expect(tx.sendStatus[i]).toBe(SEND_SOURCE_CLEARED);
      const e = batch.endpointOffset(i);
      expect(batch.endpoints[e + EP_FLAGS] & EP_FLAG_LOCAL).toBe(0);
      expect(Array.from(batch.endpoints.subarray(e + EP_LOCAL, e + ENDPOINT_RECORD_SIZE)).every((x) => x === 0)).toBe(true);
    }
    await rx.waitFor(2);
    expect(rx.got.length).toBe(2);
    expect(rx.got.map((g) => g.local).sort()).toEqual(['127.0.0.1', '::1']);
  });

  it('drops datagrams for a family without a socket or without an endpoint', async () => {
    const tx = new NativeBind();
    open.push(tx);
    await tx.bind(0);
    const batch = new PacketBatch(2);
    batch.push(payload(1, 10)); // family 0
    batch.push(payload(1, 10), Endpoint.fromAddress('127.0.0.1', 9).record);
    tx.send(batch);
    expect(tx.sendStatus[0]).toBe(SEND_DROPPED);
    expect(tx.sendStatus[1]).toBe(0);
  });

  it('rebinds to a new port and keeps receiving', async () => {
    const rx = await receiver();
    const first = rx.bind.port;
    const second = await rx.bind.bind(0);
    expect(second).not.toBe(first);
    expect(rx.bind.port).toBe(second);
    expect(rx.bind.families).toEqual({ v4: true, v6: true });
    const tx = new NativeBind();
    open.push(tx);
    await tx.bind(0);
    const batch = new PacketBatch(2);
    batch.push(payload(7, 33), Endpoint.fromAddress('127.0.0.1', second).record);
    batch.push(payload(8, 44), Endpoint.fromAddress('::1', second).record);
    tx.send(batch);
    await rx.waitFor(2);
    expect(rx.got.map((g) => g.bytes.length).sort()).toEqual([33, 44]);
    // Binding the current port again is a no-op.
    expect(await rx.bind.bind(second)).toBe(second);
  });

  it('refuses a port in use with errno 98 and keeps the old sockets working', async () => {
    const other = new NativeBind();
    open.push(other);
    const taken = await other.bind(0);
    const rx = await receiver();
    const before = rx.bind.port;
    let err: unknown;
    try {
      await rx.bind.bind(taken);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BindError);
    expect((err as BindError).errno).toBe(98);
    expect(rx.bind.port).toBe(before);
    const batch = new PacketBatch(2);
    batch.push(payload(9, 99), Endpoint.fromAddress('127.0.0.1', before).record);
    batch.push(payload(9, 98), Endpoint.fromAddress('::1', before).record);
    other.send(batch);
    await rx.waitFor(2);
    expect(rx.got.map((g) => g.bytes.length).sort()).toEqual([98, 99]);
  });

  it('refuses a port whose IPv6 half is taken (the pair is atomic)', async () => {
    const v4only = await import('node:dgram').then((d) => d.createSocket({ type: 'udp6', ipv6Only: true }));
    const port = await new Promise<number>((r) => v4only.bind(0, '::', () => r(v4only.address().port)));
    try {
      const b = new NativeBind();
      open.push(b);
      await expect(b.bind(port)).rejects.toMatchObject({ errno: 98 });
      expect(b.port).toBe(0);
    } finally {
      v4only.close();
    }
  });

  const root = process.getuid?.() === 0;
  const markTest = root || process.env.CI ? it : it.skip;
  markTest('sets and clears SO_MARK on both sockets, re-applied after rebind (needs CAP_NET_ADMIN)', async () => {
    const b = new NativeBind();
    open.push(b);
    await b.bind(0);
    b.setMark(0x1234);
    expect(b.getMark(4)).toBe(0x1234);
    expect(b.getMark(6)).toBe(0x1234);
    await b.bind(0);
    expect(b.getMark(4)).toBe(0x1234);
    expect(b.getMark(6)).toBe(0x1234);
    b.setMark(0);
    expect(b.getMark(4)).toBe(0);
    expect(b.getMark(6)).toBe(0);
  });

  it('close is idempotent and stops reporting a port', async () => {
    const b = new NativeBind();
    await b.bind(0);
    b.close();
    b.close();
    expect(b.port).toBe(0);
    await expect(b.bind(0)).rejects.toBeInstanceOf(BindError);
  });
});
