import { describe, expect, it } from 'vitest';
import { paddedLength } from '../../../src/device/ip.js';
import { buildIcmpEcho, buildUdp } from '../../helpers/packets.js';
import {
  A_ADDR,
  advance,
  B_ADDR,
  b64hex,
  clockedPair,
  FakePeer,
  ofType,
  ping,
  pingAB,
  RawHost,
  solo,
  u32le,
  u64le,
} from './helpers.js';
import { settle } from './pair.js';

const seqOf = (pkt: Uint8Array): number => (pkt[26] << 8) | pkt[27];

/** An IPv4 packet of exactly `size` bytes (UDP when size ≥ 28, else a bare header). */
function udpOfSize(size: number, src = '10.0.0.1', dst = '10.0.0.2'): Uint8Array {
  if (size >= 28) return buildUdp({ src, dst, srcPort: 1, dstPort: 2, payload: new Uint8Array(size - 28) });
  const b = new Uint8Array(size);
  b.set([0x45, 0, size >> 8, size & 0xff, 0, 0, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  return b;
}

describe('C. transport', () => {
  it('C5 send counters are 0, 1, 2, … on the wire', async () => {
    const { p, log } = await clockedPair();
    for (let i = 0; i < 6; i++) await pingAB(p, i);
    expect(ofType(log, 4, A_ADDR).map((r) => u64le(r.bytes, 8))).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  });

  it('C6 padding at MTU 1420: P = 0,1,16,17,84,1405,1419,1420 → 32,48,48,64,128,1440,1452,1452; MTU re-read', async () => {
    const expected: [number, number][] = [[0, 32], [1, 48], [16, 48], [17, 64], [84, 128], [1405, 1440], [1419, 1452], [1420, 1452]];
    for (const [pLen, msg] of expected) expect(16 + paddedLength(pLen, 1420) + 16).toBe(msg);
    const { p, clock, log } = await clockedPair();
    await pingAB(p); // 84 B
    await advance(clock, 10_000, 1000); // B's passive keepalive: P = 0
    const mark = log.length;
    for (const size of [20, 1405, 1419, 1420, 1421]) p.tunA.inject(udpOfSize(size));
    await settle();
    expect(ofType(log, 4, B_ADDR).map((r) => r.bytes.length)).toEqual([32]);
    expect(ofType(log, 4, A_ADDR)[0].bytes.length).toBe(128);
    expect(ofType(log.slice(mark), 4, A_ADDR).map((r) => r.bytes.length)).toEqual([64, 1440, 1452, 1452, 1468]);
    expect(p.tunB.takeWritten().map((x) => x.length)).toEqual([20, 1405, 1419, 1420, 1421]);
    p.tunA.setMtu(1276);
    const mark2 = log.length;
    p.tunA.inject(udpOfSize(1275));
    p.tunA.setMtu(1420);
    p.tunA.inject(udpOfSize(1275));
    expect(ofType(log.slice(mark2), 4, A_ADDR).map((r) => r.bytes.length)).toEqual([1308, 1312]);
  });

  it('C7 a received keepalive updates counters and timers but writes nothing to the TUN', async () => {
    const { p, clock } = await clockedPair();
    await pingAB(p);
    const rx = p.a.peers()[0].rxBytes;
    await advance(clock, 10_000, 1000);
    expect(p.a.peers()[0].rxBytes).toBe(rx + 32n);
    expect(p.tunA.takeWritten()).toHaveLength(0);
  });

  it('C8 decrypted packets are trimmed to their IP length; non-IP plaintext is dropped (G7)', async () => {
    const s = await solo();
    s.dev.setPeer({ publicKey: s.fake.keys.publicKey, allowedIPs: ['10.0.0.9/32', 'fd00::9/128'] });
    await s.fake.handshake(s.clock.wallNs());
    const v4 = buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2', seq: 1 });
    const v6 = buildIcmpEcho({ src: 'fd00::9', dst: 'fd00::2', seq: 2 });
    const pad = (b: Uint8Array, n: number) => {
      const o = new Uint8Array(b.length + n);
      o.set(b);
      return o;
    };
    s.host.send(s.fake.transport(pad(v4, 12)), B_ADDR);
    s.host.send(s.fake.transport(pad(v6, 8)), B_ADDR);
    await settle();
    expect(s.tun.takeWritten()).toEqual([v4, v6]);
    const junk: Uint8Array[] = [];
    const bad = (f: (b: Uint8Array) => void, base = v4) => {
      const b = base.slice();
      f(b);
      junk.push(b);
    };
    bad((b) => (b[0] = 0x55)); // version 5
    bad((b) => (b[0] = 0x44)); // IHL 16
    bad((b) => (b[3] += 1)); // total length > plaintext
    bad((b) => (b[5] += 1), v6); // payload length > plaintext
    junk.push(new Uint8Array(19).fill(0x45)); // shorter than a header
    junk.push(new Uint8Array(40).fill(0x60));
    junk.push(v6.subarray(0, 39));
    for (const j of junk) s.host.send(s.fake.transport(j), B_ADDR);
    await settle();
    expect(s.tun.takeWritten()).toHaveLength(0);
    expect(s.dev.drops.badInnerPacket).toBe(junk.length);
    expect(s.dev.drops.sourceFilter).toBe(0);
  });

  it('C10 the previous session is still accepted after a rekey; an unknown index is dropped', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    const captured: Uint8Array[] = [];
    p.net.onDatagram = (from, to, bytes) => {
      log.push({ from: from.toString(), to: to.toString(), bytes, t: clock.now(), type: bytes[0] });
      if (bytes[0] === 4 && bytes.length > 32 && from.toString() === B_ADDR && captured.length < 2) {
        captured.push(bytes);
        return false;
      }
      return undefined;
    };
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 1);
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 2);
    await settle();
    expect(captured).toHaveLength(2);
    // Delivered as if from B's own address (a relay's address would move A's endpoint, E1).
    const deliver = (bytes: Uint8Array) => p.bindA.enqueue(4, Uint8Array.of(192, 0, 2, 2), 0, 1002, bytes, 0, bytes.length);
    const rekey = async () => {
      await advance(clock, 6000, 1000);
      p.a.setSendCounter(p.keyB.publicKey, (1n << 60n) - 1n);
      await pingAB(p, 99);
    };
    await rekey();
    deliver(captured[0]);
    await settle();
    expect(p.tunA.takeWritten().map(seqOf)).toEqual([1]);
    await rekey();
    deliver(captured[1]);
    await settle();
    expect(p.tunA.takeWritten()).toHaveLength(0);
    expect(p.a.drops.unknownIndex).toBe(1);
  });

  it('C11 bad tag or replayed counter: dropped; window, endpoint and counters unchanged', async () => {
    const s = await solo();
    await s.fake.handshake(s.clock.wallNs());
    const other = await RawHost.create(s.net, '192.0.2.66', 6666);
    const pkt = buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2', seq: 1 });
    const forged = s.fake.transport(pkt, 100n);
    forged[forged.length - 1] ^= 1;
    const rx = s.dev.peers()[0].rxBytes;
    other.send(forged, B_ADDR);
    await settle();
    expect(s.dev.drops.badTag).toBe(1);
    expect(s.dev.peers()[0].rxBytes).toBe(rx);
    expect(s.dev.peers()[0].endpoint).toBe('192.0.2.9:1009');
    // Counter 100 is still fresh.
    const genuine = s.fake.transport(pkt, 100n);
    s.host.send(genuine, B_ADDR);
    await settle();
    expect(s.tun.takeWritten()).toHaveLength(1);
    const rx2 = s.dev.peers()[0].rxBytes;
    other.send(genuine, B_ADDR);
    await settle();
    expect(s.dev.drops.replayed).toBe(1);
    expect(s.tun.takeWritten()).toHaveLength(0);
    expect(s.dev.peers()[0].rxBytes).toBe(rx2);
    expect(s.dev.peers()[0].endpoint).toBe('192.0.2.9:1009');
    expect(other.take()).toHaveLength(0);
  });

  it('C12 byte counters: UDP payloads of handshakes and transport, counted once; rejected datagrams not', async () => {
    const s = await solo();
    await s.fake.handshake(s.clock.wallNs());
    expect(s.dev.peers()[0].rxBytes).toBe(148n + 32n);
    expect(s.dev.peers()[0].txBytes).toBe(92n);
    const pkt = buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2', seq: 1 });
    s.host.send(s.fake.transport(pkt), B_ADDR);
    const bad = s.fake.transport(pkt);
    bad[20] ^= 1;
    s.host.send(bad, B_ADDR);
    await settle();
    expect(s.dev.peers()[0].rxBytes).toBe(148n + 32n + 116n);
    ping(s.tun, '10.0.0.2', '10.0.0.9');
    expect(s.dev.peers()[0].txBytes).toBe(92n + 128n);
  });

  it('C13 packets to one peer leave in TUN order, staged ones first', async () => {
    const { p } = await clockedPair();
    const pk = (seq: number) => buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', seq, payload: new Uint8Array(seq % 50) });
    for (let i = 0; i < 20; i++) p.tunA.inject(pk(i));
    await settle();
    p.tunA.inject(Array.from({ length: 50 }, (_, i) => pk(20 + i)));
    await settle();
    expect(p.tunB.takeWritten().map(seqOf)).toEqual(Array.from({ length: 70 }, (_, i) => i));
  });

  it('C14 staging is bounded (oldest dropped) and flushed right after the handshake', async () => {
    const { p, clock, log } = await clockedPair();
    let block = true;
    p.net.onDatagram = (from, to, bytes) => {
      log.push({ from: from.toString(), to: to.toString(), bytes, t: clock.now(), type: bytes[0] });
      return block ? false : undefined;
    };
    for (let i = 0; i < 130; i++) ping(p.tunA, '10.0.0.1', '10.0.0.2', i);
    expect(p.a.drops.stagedOverflow).toBe(2);
    block = false;
    await advance(clock, 5400, 100);
    expect(p.tunB.takeWritten().map(seqOf)).toEqual(Array.from({ length: 128 }, (_, i) => i + 2));
  });
});

describe('D. routing at the device', () => {
  it('D7 no route → no datagram, counted; a peer without endpoint → no datagram, staged then discarded', async () => {
    const { p, log } = await clockedPair();
    ping(p.tunA, '10.0.0.1', '10.9.9.9');
    expect(p.a.drops.noRoute).toBe(1);
    const s = await solo();
    ping(s.tun, '10.0.0.2', '10.0.0.9');
    await advance(s.clock, 120_000, 10_000);
    expect(s.log).toHaveLength(0);
    expect(log).toHaveLength(0);
    expect(s.dev.drops.stagedDiscarded).toBe(1);
  });

  it('D8 a decrypted packet whose source does not route to its peer is dropped', async () => {
    const { p } = await clockedPair();
    await pingAB(p);
    p.tunA.inject(buildIcmpEcho({ src: '10.0.0.5', dst: '10.0.0.2', seq: 2 }));
    await settle();
    expect(p.tunB.takeWritten()).toHaveLength(0);
    expect(p.b.drops.sourceFilter).toBe(1);
  });

  it('D9 moving a prefix to another peer: get and traffic follow at once', async () => {
    const { p, log } = await clockedPair();
    await pingAB(p);
    const host = await RawHost.create(p.net, '192.0.2.9', 1009);
    const c = new FakePeer(host, A_ADDR, p.keyA.publicKey);
    p.a.setPeer({ publicKey: c.keys.publicKey, endpoint: '192.0.2.9:1009', allowedIPs: ['10.0.0.9/32'] });
    expect(await p.a.ipcSet(`public_key=${b64hex(c.keys.publicKey)}\nallowed_ip=10.0.0.2/32\n`)).toBe(0);
    const peers = p.a.peers();
    expect(peers[0].allowedIPs).toEqual([]);
    expect(peers[1].allowedIPs.sort()).toEqual(['10.0.0.2/32', '10.0.0.9/32']);
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 5);
    expect(log.slice(mark).map((r) => [r.type, r.to])).toEqual([[1, '192.0.2.9:1009']]);
    // Inbound from B with source 10.0.0.2 no longer passes A's source check.
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 6);
    await settle();
    expect(p.tunA.takeWritten()).toHaveLength(0);
    expect(p.a.drops.sourceFilter).toBe(1);
  });
});

describe('E. roaming', () => {
  it('E1 the peer switches source port: the endpoint follows after its next authenticated packet', async () => {
    const { p } = await clockedPair();
    await pingAB(p);
    expect(p.b.peers()[0].endpoint).toBe(A_ADDR);
    const seen: string[] = [];
    p.b.on('endpoint', (e) => seen.push(e.endpoint));
    expect(await p.a.ipcSet('listen_port=2001\n')).toBe(0);
    await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=25\n`); // keepalive now
    await settle();
    expect(p.b.peers()[0].endpoint).toBe('192.0.2.1:2001');
    expect(p.b.ipcGet()).toMatch(/endpoint=192\.0\.2\.1:2001\n/);
    expect(seen).toEqual(['192.0.2.1:2001']);
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 3);
    await settle();
    expect(p.tunA.takeWritten().map(seqOf)).toEqual([3]);
  });

  it('E2 no learning from garbage, bad tags, replays, cookie replies, bad mac1 or refused initiations', async () => {
    const s = await solo();
    await s.fake.handshake(s.clock.wallNs());
    const genuine = s.fake.transport(buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2', seq: 1 }));
    s.host.send(genuine, B_ADDR);
    await settle();
    const other = await RawHost.create(s.net, '192.0.2.66', 6666);
    const badTag = s.fake.transport(new Uint8Array(0));
    badTag[20] ^= 1;
    const cookie = new Uint8Array(64);
    cookie[0] = 3;
    cookie.set(genuine.subarray(4, 8), 4);
    const badMac = s.fake.initiation(s.clock.wallNs() + 5n);
    badMac[120] ^= 1;
    s.clock.advance(5);
    const tooSoon = s.fake.initiation(s.clock.wallNs()); // A16: 5 ms after the consumed one
    const sent = [new Uint8Array(200).fill(7), badTag, genuine, cookie, badMac, tooSoon];
    for (const m of sent) other.send(m, B_ADDR);
    await settle();
    expect(s.dev.peers()[0].endpoint).toBe('192.0.2.9:1009');
    expect(other.take()).toHaveLength(0);
    expect(s.dev.drops.replayedInitiation).toBe(1);
    expect(s.dev.drops.badMac1).toBe(1);
    expect(s.dev.drops.badTag).toBe(1);
    expect(s.dev.drops.replayed).toBe(1);
  });

  it('E6 an endpoint set over UAPI is used for the very next packet', async () => {
    const { p, log } = await clockedPair();
    await pingAB(p);
    const host = await RawHost.create(p.net, '192.0.2.3', 1003);
    expect(await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\nendpoint=192.0.2.3:1003\n`)).toBe(0);
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 2);
    expect(log.slice(mark).map((r) => [r.type, r.to])).toEqual([[4, '192.0.2.3:1003']]);
    await settle();
    expect(host.take()).toHaveLength(1);
    expect(u32le(log[log.length - 1].bytes, 0)).toBe(4);
  });
});
