/**
 * NativeBind UDP offloads over loopback: GSO runs on send, GRO splitting on receive, the
 * `gso: false` / `gro: false` fallbacks and the runtime toggle. Every datagram must arrive
 * intact, as its own batch entry, in order per destination.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Endpoint } from '../../../src/io/endpoint.js';
import { NativeBind, type NativeBindOptions } from '../../../src/io/native-bind.js';
import { HEADROOM, PacketBatch } from '../../../src/io/packet-batch.js';

interface Rx {
  bind: NativeBind;
  got: { bytes: Uint8Array; from: string }[];
  /** Entries that did not start at a slot's packet start: parts of a GRO-coalesced receive. */
  coalesced: number;
  deliveries: number;
  waitFor(n: number): Promise<void>;
}

const open: NativeBind[] = [];
afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

async function receiver(opts: NativeBindOptions): Promise<Rx> {
  const bind = new NativeBind(opts);
  open.push(bind);
  await bind.bind(0);
  const rx: Rx = {
    bind, got: [], coalesced: 0, deliveries: 0,
    async waitFor(n: number) {
      const deadline = Date.now() + 5000;
      while (rx.got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 30)); // and nothing more arrives
    },
  };
  bind.start({
    packets(batch) {
      rx.deliveries++;
      for (let i = 0; i < batch.count; i++) {
        if ((batch.offsets[i] - HEADROOM) % batch.slotSize !== 0) rx.coalesced++;
        rx.got.push({ bytes: batch.packet(i).slice(), from: Endpoint.fromRecord(batch.endpoints, batch.endpointOffset(i)).toString() });
      }
    },
  });
  return rx;
}

async function sender(opts: NativeBindOptions): Promise<NativeBind> {
  const b = new NativeBind(opts);
  open.push(b);
  await b.bind(0);
  return b;
}

/** Datagram i of a test: its index in the first two bytes, then a pattern. */
function datagram(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let j = 0; j < len; j++) b[j] = (i * 131 + j * 7 + 3) & 0xff;
  if (len >= 2) {
    b[0] = i >> 8;
    b[1] = i & 255;
  }
  return b;
}

/** Sends datagrams of `sizes` to `to[i % to.length]` (or per-item destinations) in one batch. */
function sendBatch(tx: NativeBind, sizes: number[], dests: Endpoint[]): Uint8Array[] {
  const batch = new PacketBatch(Math.max(sizes.length, 1));
  const sent: Uint8Array[] = [];
  sizes.forEach((len, i) => {
    const d = datagram(i, len);
    sent.push(d);
    expect(batch.push(d, dests[i].record)).toBe(i);
  });
  tx.send(batch);
  expect(Array.from(tx.sendStatus.subarray(0, sizes.length))).toEqual(new Array(sizes.length).fill(0));
  return sent;
}

const equalRun = (n: number, len: number): number[] => new Array<number>(n).fill(len);

describe('NativeBind GSO/GRO over loopback', () => {
  for (const [host, fam] of [['127.0.0.1', 4], ['::1', 6]] as const) {
    it(`GSO send + GRO receive over IPv${fam}: 128 equal datagrams arrive as 128 entries, in order`, async () => {
      const rx = await receiver({ gro: true, batchCapacity: 128 });
      const tx = await sender({ gso: true });
      expect(tx.offloads).toMatchObject({ gso: true, gsoRefused: false });
      expect(rx.bind.offloads.gro).toBe(true);
      const to = Endpoint.fromAddress(host, rx.bind.port);
      const sent = sendBatch(tx, equalRun(128, 1452), new Array(128).fill(to));
      await rx.waitFor(128);
      expect(rx.got.map((g) => g.bytes)).toEqual(sent);
      expect(new Set(rx.got.map((g) => g.from))).toEqual(new Set([`${fam === 4 ? host : `[${host}]`}:${tx.port}`]));
      // The runs went out as GSO messages and came in coalesced (split back by the bind).
      expect(rx.coalesced).toBeGreaterThan(100);
      expect(tx.offloads.gsoRefused).toBe(false);
    });
  }

  it('keeps order and content with mixed sizes (runs end at a shorter datagram; longer ones start a run)', async () => {
    const rx = await receiver({ gro: true });
    const tx = await sender({ gso: true });
    const to = Endpoint.fromAddress('127.0.0.1', rx.bind.port);
    const sizes = [1000, 1000, 1000, 1000, 1000, 400, 1000, 1000, 1000, 1200, 1200, 50, 0, 2, 2, 2, 9000, 9000, 1452, 1452, 1451, 1452];
    const sent = sendBatch(tx, sizes, new Array(sizes.length).fill(to));
    await rx.waitFor(sizes.length);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
  });

  it('groups only consecutive datagrams to the same endpoint; each receiver sees its own in order', async () => {
    const a = await receiver({ gro: true });
    const b = await receiver({ gro: false });
    const tx = await sender({ gso: true });
    const ea = Endpoint.fromAddress('127.0.0.1', a.bind.port);
    const eb = Endpoint.fromAddress('::1', b.bind.port);
    const eb4 = Endpoint.fromAddress('127.0.0.1', b.bind.port);
    const dests = [ea, ea, ea, eb, eb, ea, ea, eb4, eb4, eb4, ea, eb, ea, ea, ea, ea];
    const sizes = dests.map(() => 700);
    const sent = sendBatch(tx, sizes, dests);
    const forA = sent.filter((_, i) => dests[i] === ea);
    const forB = sent.filter((_, i) => dests[i] !== ea);
    await a.waitFor(forA.length);
    await b.waitFor(forB.length);
    expect(a.got.map((g) => g.bytes)).toEqual(forA);
    // b has two sockets (v4 and v6): order holds per source family.
    for (const fam of [4, 6]) {
      const want = sent.filter((_, i) => dests[i] !== ea && dests[i].family === fam);
      expect(b.got.filter((g) => (fam === 6) === g.from.startsWith('[')).map((g) => g.bytes)).toEqual(want);
    }
    expect(b.coalesced).toBe(0); // GRO off: the kernel segmented the GSO messages
  });

  it('splits GRO receives across several deliveries when the batch is smaller than a message', async () => {
    const rx = await receiver({ gro: true, batchCapacity: 8 });
    const tx = await sender({ gso: true });
    const to = Endpoint.fromAddress('127.0.0.1', rx.bind.port);
    const sent = sendBatch(tx, [...equalRun(40, 1400), 100], new Array(41).fill(to));
    await rx.waitFor(41);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
    expect(rx.deliveries).toBeGreaterThanOrEqual(6);
  });

  it('with gso: false and gro: false sends and receives one datagram at a time', async () => {
    const rx = await receiver({ gro: false });
    const tx = await sender({ gso: false, gro: false });
    expect(tx.offloads).toEqual({ gso: false, gro: false, gsoRefused: false });
    const to = Endpoint.fromAddress('::1', rx.bind.port);
    const sizes = [...equalRun(70, 1452), 3, 1452];
    const sent = sendBatch(tx, sizes, new Array(sizes.length).fill(to));
    await rx.waitFor(sizes.length);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
    expect(rx.coalesced).toBe(0);
  });

  it('GSO to a receiver without GRO: the kernel delivers separate datagrams', async () => {
    const rx = await receiver({ gro: false });
    const tx = await sender({ gso: true });
    const to = Endpoint.fromAddress('127.0.0.1', rx.bind.port);
    const sent = sendBatch(tx, equalRun(64, 1200), new Array(64).fill(to));
    await rx.waitFor(64);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
    expect(rx.coalesced).toBe(0);
  });

  it('turns GSO and GRO off and on at run time', async () => {
    const rx = await receiver({ gro: true });
    const tx = await sender({ gso: true });
    const to = Endpoint.fromAddress('127.0.0.1', rx.bind.port);
    expect(rx.bind.setOffloads({ gro: false })).toMatchObject({ gro: false });
    let sent = sendBatch(tx, equalRun(32, 1000), new Array(32).fill(to));
    await rx.waitFor(32);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
    expect(rx.coalesced).toBe(0);
    rx.got.length = 0;
    expect(rx.bind.setOffloads({ gro: true })).toMatchObject({ gro: true });
    expect(tx.setOffloads({ gso: false })).toMatchObject({ gso: false });
    sent = sendBatch(tx, equalRun(32, 1000), new Array(32).fill(to));
    await rx.waitFor(32);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
    expect(rx.coalesced).toBe(0); // nothing was sent as GSO
    rx.got.length = 0;
    expect(tx.setOffloads({ gso: true })).toMatchObject({ gso: true });
    sent = sendBatch(tx, equalRun(32, 1000), new Array(32).fill(to));
    await rx.waitFor(32);
    expect(rx.got.map((g) => g.bytes)).toEqual(sent);
    expect(rx.coalesced).toBeGreaterThan(0);
  });

  it('TSGUARD_OFFLOADS=0 turns both off by default; options still win', async () => {
    const saved = process.env.TSGUARD_OFFLOADS;
    try {
      for (const v of ['0', 'off', 'OFF']) {
        process.env.TSGUARD_OFFLOADS = v;
        const b = new NativeBind();
        open.push(b);
        await b.bind(0);
        expect(b.offloads).toEqual({ gso: false, gro: false, gsoRefused: false });
      }
      const forced = new NativeBind({ gso: true });
      open.push(forced);
      await forced.bind(0);
      expect(forced.offloads.gso).toBe(true);
      process.env.TSGUARD_OFFLOADS = '1';
      const on = new NativeBind();
      open.push(on);
      await on.bind(0);
      expect(on.offloads).toEqual({ gso: true, gro: true, gsoRefused: false });
    } finally {
      if (saved === undefined) delete process.env.TSGUARD_OFFLOADS;
      else process.env.TSGUARD_OFFLOADS = saved;
    }
  });
});
