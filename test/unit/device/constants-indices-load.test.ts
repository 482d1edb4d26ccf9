import { describe, expect, it } from 'vitest';
import * as C from '../../../src/constants.js';
import { Device } from '../../../src/device/device.js';
import { IndexTable } from '../../../src/device/index-table.js';
import { cryptoRandom } from '../../../src/crypto/index.js';
import { MemoryBind, MemoryNetwork } from '../../../src/io/memory-bind.js';
import { MemoryTun } from '../../../src/io/memory-tun.js';
import { generateKeyPair } from '../../../src/keys.js';
import { ManualClock } from '../../../src/manual-clock.js';
import { settle } from './pair.js';
import { B_ADDR, FakePeer, RawHost } from './helpers.js';

describe('A1 protocol constants', () => {
  it('A1 the values of the conformance table', () => {
    expect(C.REKEY_AFTER_MESSAGES).toBe(2n ** 60n);
    expect(C.REJECT_AFTER_MESSAGES).toBe(2n ** 64n - 2n ** 13n - 1n);
    expect(C.REKEY_AFTER_TIME).toBe(120_000);
    expect(C.REJECT_AFTER_TIME).toBe(180_000);
    expect(C.REKEY_ATTEMPT_TIME).toBe(90_000);
    expect(C.REKEY_TIMEOUT).toBe(5_000);
    expect(C.REKEY_TIMEOUT_JITTER_MAX).toBe(334); // jitter in [0, 333] ms
    expect(C.KEEPALIVE_TIMEOUT).toBe(10_000);
    expect(C.COOKIE_REFRESH_TIME).toBe(120_000);
    expect(C.ZERO_KEYS_AFTER).toBe(540_000);
    expect(C.MAX_TIMER_HANDSHAKES).toBe(20);
    expect(C.HANDSHAKE_INITIATION_RATE).toBe(20);
    expect(C.UNDER_LOAD_AFTER_TIME).toBe(1_000);
    expect(C.PADDING_MULTIPLE).toBe(16);
    expect(C.MAX_PEERS).toBe(65_536);
    expect(C.DEFAULT_MTU).toBe(1420);
    expect(C.REPLAY_WINDOW_BITS).toBeGreaterThanOrEqual(8128);
    expect([C.MESSAGE_INITIATION_SIZE, C.MESSAGE_RESPONSE_SIZE, C.MESSAGE_COOKIE_REPLY_SIZE, C.MESSAGE_KEEPALIVE_SIZE]).toEqual([148, 92, 64, 32]);
  });
});

describe('C9 receiver indices', () => {
  it('C9 10,000 indices from the CSPRNG are unique and not arithmetically related', () => {
    const table = new IndexTable<number>(cryptoRandom);
    const seen = new Set<number>();
    const list: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const idx = table.allocate(i);
      expect(idx).toBeGreaterThanOrEqual(0);
      expect(idx).toBeLessThanOrEqual(0xffffffff);
      seen.add(idx);
      list.push(idx);
    }
    expect(seen.size).toBe(10_000);
    expect(table.size).toBe(10_000);
    // No constant step, no counter: consecutive differences are (almost) all distinct.
    const diffs = new Set(list.slice(1).map((v, i) => (v - list[i]) >>> 0));
    expect(diffs.size).toBeGreaterThan(9_990);
    // Spread over the whole 32-bit space, not a small range.
    expect(Math.max(...list) - Math.min(...list)).toBeGreaterThan(0xf0000000);
  });

  it('C9 an index still in use is never handed out again', () => {
    // A random source that repeats itself must not produce a duplicate entry.
    let n = 0;
    const repeating = { fill: (b: Uint8Array) => (b.fill(0), (b[0] = n++ % 3), b) };
    const table = new IndexTable<string>(repeating);
    const a = table.allocate('a');
    const b = table.allocate('b');
    const c = table.allocate('c');
    expect(new Set([a, b, c]).size).toBe(3);
    table.delete(b);
    expect(table.allocate('d')).toBe(b);
  });
});

describe('B5 under load', () => {
  it('B5 a queue at 1/8 of its capacity demands cookies; 1 s after it drains, it does not', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork();
    const keys = generateKeyPair();
    const dev = new Device({
      tun: new MemoryTun(),
      bind: new MemoryBind(net, { v4: '192.0.2.2', v6: null }),
      privateKey: keys.privateKey,
      listenPort: 1002,
      clock,
      handshakeQueueCapacity: 64, // under load at 8 queued messages
    });
    const host = await RawHost.create(net, '192.0.2.9', 1009);
    const fake = new FakePeer(host, B_ADDR, keys.publicKey);
    dev.setPeer({ publicKey: fake.keys.publicKey, allowedIPs: ['10.0.0.9/32'] });
    await dev.up();

    // 20 valid initiations arrive in one turn: the queue passes 8 while they are enqueued.
    for (let i = 0; i < 20; i++) host.send(fake.initiation(clock.wallNs() + BigInt(i)), B_ADDR);
    await settle();
    const replies = host.take().map((r) => r.bytes);
    expect(replies.length).toBe(20);
    expect(replies.every((b) => b[0] === 3 && b.length === 64)).toBe(true); // cookie replies only
    expect(dev.drops.underLoad).toBe(20);

    // Still under load within 1 s of the last time the queue was long.
    clock.advance(900);
    host.send(fake.initiation(clock.wallNs() + 100n), B_ADDR);
    await settle();
    expect(host.take().map((r) => r.bytes[0])).toEqual([3]);

    // More than 1 s later with a short queue: mac2 is not required, the initiation is answered.
    clock.advance(1_100);
    host.send(fake.initiation(clock.wallNs() + 200n), B_ADDR);
    await settle();
    expect(host.take().map((r) => r.bytes[0])).toEqual([2]);
    await dev.close();
  });
});
