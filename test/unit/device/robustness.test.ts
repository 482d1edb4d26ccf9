import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../../src/io/endpoint.js';
import { consumeInitiation, CookieChecker, createResponse } from '../../../src/noise/index.js';
import { cryptoRandom } from '../../../src/crypto/index.js';
import type { Device } from '../../../src/device/device.js';
import { buildIcmpEcho } from '../../helpers/packets.js';
import { B_ADDR, clockedPair, ping, pingAB, RawHost, solo, totalDrops } from './helpers.js';
import { settle } from './pair.js';

/** Send datagrams in chunks (the bind queue and the handshake queue's under-load mark stay clear). */
async function sendAll(host: RawHost, dev: Device, msgs: Uint8Array[], to = B_ADDR): Promise<void> {
  for (let i = 0; i < msgs.length; i += 100) {
    for (const m of msgs.slice(i, i + 100)) host.send(m, to);
    await settle();
    dev.handshakes.drain();
  }
  await settle();
}

function flips(msg: Uint8Array, skip: (byte: number) => boolean = () => false): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let bit = 0; bit < msg.length * 8; bit++) {
    if (skip(bit >> 3)) continue;
    const m = msg.slice();
    m[bit >> 3] ^= 1 << (bit & 7);
    out.push(m);
  }
  return out;
}

function withHeader(type: number, len: number): Uint8Array {
  const m = randomBytes(len);
  if (len > 0) m[0] = type;
  for (let i = 1; i < 4 && i < len; i++) m[i] = 0;
  return new Uint8Array(m);
}

describe('G. robustness', () => {
  it('G1 oversized garbage datagrams (65,507 B) are dropped and counted; a handshake right after works', async () => {
    const s = await solo();
    const msgs = [new Uint8Array(randomBytes(65_507)), withHeader(4, 65_507), withHeader(1, 65_507), withHeader(3, 65_507)];
    msgs[0][1] = 1; // reserved byte non-zero
    await sendAll(s.host, s.dev, msgs);
    expect(s.dev.drops.malformed).toBe(3);
    expect(s.dev.drops.unknownIndex).toBe(1);
    expect(totalDrops(s.dev)).toBe(4);
    expect(s.host.take()).toHaveLength(0);
    await s.fake.handshake(s.clock.wallNs());
    s.host.send(s.fake.transport(buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2' })), B_ADDR);
    await settle();
    expect(s.tun.takeWritten()).toHaveLength(1);
  });

  it('G2 every truncated or extended length of each type is dropped with the right counter', async () => {
    const s = await solo();
    const sizes: Record<number, number> = { 1: 148, 2: 92, 3: 64 };
    const msgs: Uint8Array[] = [];
    const expected = { malformed: 0, badMac1: 0, unknownIndex: 0 };
    for (const type of [1, 2, 3]) {
      for (let len = 0; len <= sizes[type] + 1; len++) {
        msgs.push(withHeader(type, len));
        if (len === sizes[type]) expected[type === 3 ? 'unknownIndex' : 'badMac1']++;
        else expected.malformed++;
      }
    }
    const transportLens = [...Array.from({ length: 65 }, (_, i) => i), 100, 1000, 4097, 30_000, 65_527];
    for (const len of transportLens) {
      msgs.push(withHeader(4, len));
      if (len < 32) expected.malformed++;
      else expected.unknownIndex++;
    }
    await sendAll(s.host, s.dev, msgs);
    expect({ malformed: s.dev.drops.malformed, badMac1: s.dev.drops.badMac1, unknownIndex: s.dev.drops.unknownIndex }).toEqual(expected);
    expect(totalDrops(s.dev)).toBe(msgs.length);
    expect(s.host.take()).toHaveLength(0);
    await s.fake.handshake(s.clock.wallNs());
  });

  it('G3 types 0 and 5–255, and types 1–4 with non-zero reserved bytes, are dropped as malformed', async () => {
    const s = await solo();
    const msgs: Uint8Array[] = [];
    for (let type = 0; type < 256; type++) if (type === 0 || type > 4) msgs.push(withHeader(type, 148));
    const sizes = [148, 92, 64, 48];
    for (let type = 1; type <= 4; type++) {
      for (let r = 1; r < 4; r++) {
        const m = withHeader(type, sizes[type - 1]);
        m[r] = 0x80;
        msgs.push(m);
      }
    }
    await sendAll(s.host, s.dev, msgs);
    expect(s.dev.drops.malformed).toBe(msgs.length);
    expect(totalDrops(s.dev)).toBe(msgs.length);
    expect(s.host.take()).toHaveLength(0);
    await s.fake.handshake(s.clock.wallNs());
  });

  it('G4 every single-bit flip of a valid initiation is rejected (mac2 excepted while not under load)', async () => {
    const s = await solo();
    const init = s.fake.initiation(s.clock.wallNs());
    const bad = flips(init, (byte) => byte >= 132);
    await sendAll(s.host, s.dev, bad);
    expect(s.host.take()).toHaveLength(0);
    expect(s.dev.drops.malformed).toBe(32); // type and reserved bits
    expect(s.dev.drops.badMac1).toBe(bad.length - 32);
    expect(totalDrops(s.dev)).toBe(bad.length);
    expect(s.dev.peers()[0].rxBytes).toBe(0n);
    // Under load, every mac2 flip is refused with a cookie reply and not processed.
    s.dev.forceUnderLoad(true);
    const mac2Flips = flips(init, (byte) => byte < 132);
    await sendAll(s.host, s.dev, mac2Flips);
    const replies = s.host.take();
    expect(replies).toHaveLength(mac2Flips.length);
    expect(replies.every((r) => r.bytes[0] === 3 && r.bytes.length === 64)).toBe(true);
    expect(s.dev.drops.underLoad).toBe(mac2Flips.length);
    s.dev.forceUnderLoad(false);
    // mac2 is ignored when not under load: a flipped mac2 is still answered.
    const m2 = init.slice();
    m2[140] ^= 4;
    s.host.send(m2, B_ADDR);
    await settle();
    expect(s.host.take().map((r) => r.bytes[0])).toEqual([2]);
  });

  it('G4 every single-bit flip of a valid response is rejected; the genuine one then completes', async () => {
    const s = await solo({ fakeEndpoint: true });
    ping(s.tun, '10.0.0.2', '10.0.0.9', 1);
    await settle();
    const init = s.host.take().find((r) => r.bytes[0] === 1)!.bytes;
    const consumed = consumeInitiation(s.fake.local, init, () => s.fake.remote)!;
    const created = createResponse(s.fake.local, s.fake.remote, consumed.state, {
      senderIndex: 0xabcdef,
      ephemeralPrivate: new Uint8Array(randomBytes(32)),
    })!;
    s.fake.cookie.stamp(created.message, created.message.length, s.clock.now());
    const bad = flips(created.message, (byte) => byte >= 76);
    await sendAll(s.host, s.dev, bad);
    expect(s.host.take()).toHaveLength(0);
    expect(s.dev.drops.malformed).toBe(32);
    expect(s.dev.drops.badMac1).toBe(bad.length - 32);
    expect(totalDrops(s.dev)).toBe(bad.length);
    expect(s.dev.peers()[0].lastHandshake).toBe(0);
    s.host.send(created.message, B_ADDR);
    await settle();
    // The staged ping follows on the session.
    const out = s.host.take();
    expect(out.map((r) => [r.bytes[0], r.bytes.length])).toEqual([[4, 128]]);
  });

  it('G4 every single-bit flip of a valid cookie reply is rejected; the genuine one is taken', async () => {
    const s = await solo({ fakeEndpoint: true });
    ping(s.tun, '10.0.0.2', '10.0.0.9', 1);
    await settle();
    const init = s.host.take().find((r) => r.bytes[0] === 1)!.bytes;
    const checker = new CookieChecker(s.fake.local, cryptoRandom);
    const sender = init[4] | (init[5] << 8) | (init[6] << 16) | (init[7] * 2 ** 24);
    const reply = checker.createReply(init, init.length, sender, Endpoint.parse(B_ADDR)!.record, 0, s.clock.now())!;
    const bad = flips(reply);
    await sendAll(s.host, s.dev, bad);
    expect(s.dev.drops.malformed).toBe(32);
    expect(s.dev.drops.unknownIndex).toBe(32);
    expect(s.dev.drops.badCookie).toBe(bad.length - 64);
    expect(totalDrops(s.dev)).toBe(bad.length);
    s.host.send(reply, B_ADDR);
    await settle();
    expect(totalDrops(s.dev)).toBe(bad.length);
    // The retransmission carries a mac2 the fake (as cookie issuer) accepts.
    s.clock.advance(5400);
    await settle();
    const retry = s.host.take().find((r) => r.bytes[0] === 1)!.bytes;
    expect(checker.checkMac2(retry, retry.length, Endpoint.parse(B_ADDR)!.record, 0, s.clock.now())).toBe(true);
  });

  it('G4 every single-bit flip of a valid transport message is rejected; the genuine one is delivered once', async () => {
    const s = await solo();
    await s.fake.handshake(s.clock.wallNs());
    const pkt = buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2' });
    const padded = new Uint8Array(96);
    padded.set(pkt);
    const msg = s.fake.transport(padded);
    const rx = s.dev.peers()[0].rxBytes;
    const bad = flips(msg);
    await sendAll(s.host, s.dev, bad);
    expect(s.tun.takeWritten()).toHaveLength(0);
    expect(s.dev.drops.malformed).toBe(32);
    expect(s.dev.drops.unknownIndex).toBe(32);
    // Flipping the counter (1) to 0, already used by the keepalive, is a replay: refused before opening.
    expect(s.dev.drops.replayed).toBe(1);
    expect(s.dev.drops.badTag).toBe(bad.length - 64 - 1);
    expect(s.dev.peers()[0].rxBytes).toBe(rx);
    s.host.send(msg, B_ADDR);
    s.host.send(msg, B_ADDR);
    await settle();
    expect(s.tun.takeWritten()).toEqual([pkt]);
    expect(s.dev.drops.replayed).toBe(2);
  });

  it('G6 TUN junk is dropped before routing and counted; a ping right after works', async () => {
    const { p, log } = await clockedPair();
    await pingAB(p);
    const mark = log.length;
    const good = buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2' });
    const v6 = buildIcmpEcho({ src: 'fd00::1', dst: 'fd00::2' });
    const junk: Uint8Array[] = [new Uint8Array(0), good.subarray(0, 19), new Uint8Array(19).fill(0x45)];
    const mod = (base: Uint8Array, f: (b: Uint8Array) => void) => {
      const b = base.slice();
      f(b);
      junk.push(b);
    };
    mod(good, (b) => (b[0] = 0x55)); // version 5
    mod(good, (b) => (b[0] = 0x44)); // IHL 16
    mod(good.subarray(0, 40), (b) => {
      b[0] = 0x4f; // IHL 60 > total length 40
      b[3] = 40;
    });
    mod(good, (b) => (b[3] += 1)); // total length > packet
    mod(v6, (b) => (b[5] += 1)); // payload length > packet
    mod(v6.subarray(0, 39), () => undefined);
    // 65,535 B: larger than any transport message can carry.
    const big = new Uint8Array(65_535);
    big.set(good.subarray(0, 20));
    big[2] = 0xff;
    big[3] = 0xff;
    junk.push(big);
    for (const j of junk) p.tunA.inject(j);
    await settle();
    expect(p.a.drops.tunInvalid).toBe(junk.length);
    expect(totalDrops(p.a)).toBe(junk.length);
    expect(log.slice(mark)).toHaveLength(0);
    expect(p.tunB.takeWritten()).toHaveLength(0);
    expect(await pingAB(p, 2)).toHaveLength(1);
  });

  it('G7 authenticated plaintext that is not an IP packet is dropped and counted', async () => {
    const s = await solo();
    await s.fake.handshake(s.clock.wallNs());
    let n = 0;
    for (let len = 1; len <= 80; len += 3) {
      const junk = new Uint8Array(randomBytes(len));
      junk[0] = (junk[0] & 0x0f) | 0x50; // version 5
      s.host.send(s.fake.transport(junk), B_ADDR);
      n++;
    }
    await settle();
    expect(s.tun.takeWritten()).toHaveLength(0);
    expect(s.dev.drops.badInnerPacket).toBe(n);
    expect(totalDrops(s.dev)).toBe(n);
    s.host.send(s.fake.transport(buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2' })), B_ADDR);
    await settle();
    expect(s.tun.takeWritten()).toHaveLength(1);
  });
});
