import { describe, expect, it } from 'vitest';
import { consumeInitiation, tai64n } from '../../../src/noise/index.js';
import { bytesToHex } from '../../../src/crypto/index.js';
import { generateKeyPair } from '../../../src/keys.js';
import type { ManualClock } from '../../../src/manual-clock.js';
import {
  A_ADDR,
  advance,
  B_ADDR,
  b64hex,
  clockedPair,
  ofType,
  peerOf,
  ping,
  pingAB,
  RawHost,
  solo,
  u32le,
  u64le,
} from './helpers.js';
import { settle } from './pair.js';

const fromA = A_ADDR;

/** tx_bytes of the first peer in a get reply. */
function firstTx(get: string): number {
  return Number(/tx_bytes=(\d+)\n/.exec(get)![1]);
}
const fromB = B_ADDR;

describe('A. timers', () => {
  it('A2 initiator rekeys on send at 120 s (not at 119.9 s); data still goes out on the old session', async () => {
    const { p, clock, log } = await clockedPair();
    expect((await pingAB(p)).length).toBe(1);
    await advance(clock, 119_900, 1000);
    await settle();
    const before = log.length;
    expect((await pingAB(p, 2)).length).toBe(1);
    expect(ofType(log.slice(before), 1, fromA)).toHaveLength(0);
    clock.advance(200);
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 3);
    const sent = log.slice(mark);
    // Data first on the old session, then an initiation.
    expect(sent.map((r) => r.type)).toEqual([4, 1]);
    expect(sent[0].bytes.length).toBe(128);
    await settle();
    expect(p.tunB.takeWritten()).toHaveLength(1);
    // A responder never rekeys on age: B sending at 120.1 s (on its session) starts nothing.
  });

  it('A2 a responder does not rekey on age when sending', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    await advance(clock, 121_000, 1000);
    await settle();
    const mark = log.length;
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 1);
    await settle();
    expect(ofType(log.slice(mark), 1, fromB)).toHaveLength(0);
    expect(p.tunA.takeWritten()).toHaveLength(1);
  });

  it('A3 initiator receiving data on a ≥165 s old session sends one initiation, once per session', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    // Initiations from A vanish so that the session stays the old one.
    p.net.onDatagram = (from, _to, bytes) => {
      log.push({ from: from.toString(), to: '', bytes, t: clock.now(), type: bytes[0] });
      return bytes[0] === 1 && from.toString() === fromA ? false : undefined;
    };
    await advance(clock, 100_000, 1000);
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 1);
    await settle();
    await advance(clock, 64_000, 1000); // 164 s
    let mark = log.length;
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 2);
    await settle();
    expect(ofType(log.slice(mark), 1, fromA)).toHaveLength(0);
    clock.advance(2_000); // 166 s
    mark = log.length;
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 3);
    await settle();
    expect(ofType(log.slice(mark), 1, fromA)).toHaveLength(1);
    clock.advance(1_000);
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 4);
    await settle();
    clock.advance(1_000);
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 5);
    await settle();
    expect(ofType(log.slice(mark), 1, fromA)).toHaveLength(1);
    expect(p.tunA.takeWritten()).toHaveLength(5);
  });

  it('A4 a session ≥180 s old is not used: data is staged behind a handshake; incoming packets dropped', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    // Copy one B→A transport message at 100 s (it is delivered too).
    let captured: Uint8Array | null = null;
    p.net.onDatagram = (from, _to, bytes) => {
      log.push({ from: from.toString(), to: '', bytes, t: clock.now(), type: bytes[0] });
      if (!captured && bytes[0] === 4 && bytes.length > 32 && from.toString() === fromB) captured = bytes;
      return undefined;
    };
    await advance(clock, 100_000, 10_000);
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 1);
    await settle();
    expect(captured).not.toBeNull();
    await advance(clock, 81_000, 10_000); // 181 s
    // Incoming on the expired session: dropped and counted.
    const host = await RawHost.create(p.net, '192.0.2.2', 4000);
    host.send(captured!, A_ADDR);
    await settle();
    expect(p.a.drops.expiredSession).toBe(1);
    expect(p.a.drops.replayed).toBe(0);
    expect(p.tunA.takeWritten()).toHaveLength(1); // the original at 100 s only
    // Outgoing: an initiation first, the data only on the new session.
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 9);
    expect(log.slice(mark).map((r) => r.type)).toEqual([1]);
    await settle();
    const got = p.tunB.takeWritten();
    expect(got).toHaveLength(1);
    const seq = (got[0][26] << 8) | got[0][27];
    expect(seq).toBe(9);
  });

  it('A5 retransmissions follow after RekeyTimeout + jitter, each fresh (index, ephemeral)', async () => {
    const { p, clock, log } = await clockedPair();
    p.net.onDatagram = (from, _to, bytes) => {
      log.push({ from: from.toString(), to: '', bytes, t: clock.now(), type: bytes[0] });
      return false; // unreachable
    };
    ping(p.tunA, '10.0.0.1', '10.0.0.2');
    clock.advance(60_000);
    const inits = ofType(log, 1, fromA);
    expect(inits.length).toBeGreaterThanOrEqual(11);
    for (let i = 1; i < inits.length; i++) {
      const gap = inits[i].t - inits[i - 1].t;
      expect(gap).toBeGreaterThanOrEqual(5000);
      expect(gap).toBeLessThan(5334);
    }
    const indices = new Set(inits.map((r) => u32le(r.bytes, 4)));
    const ephemerals = new Set(inits.map((r) => bytesToHex(r.bytes.subarray(8, 40))));
    expect(indices.size).toBe(inits.length);
    expect(ephemerals.size).toBe(inits.length);
    for (const r of inits) expect(r.bytes.length).toBe(148);
  });

  it('A6 gives up after exactly 20 initiations, drops the staged packet, and a new packet restarts', async () => {
    const { p, clock, log } = await clockedPair();
    p.net.onDatagram = (from, _to, bytes) => {
      log.push({ from: from.toString(), to: '', bytes, t: clock.now(), type: bytes[0] });
      return false;
    };
    ping(p.tunA, '10.0.0.1', '10.0.0.2');
    clock.advance(200_000);
    expect(ofType(log, 1, fromA)).toHaveLength(20);
    expect(p.a.drops.stagedDiscarded).toBe(1);
    const last = ofType(log, 1, fromA)[19].t;
    expect(last).toBeGreaterThanOrEqual(19 * 5000);
    expect(last).toBeLessThan(19 * 5334);
    // Restart: an initiation at once, and another full cycle.
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 2);
    expect(ofType(log.slice(mark), 1, fromA)).toHaveLength(1);
    clock.advance(200_000);
    expect(ofType(log.slice(mark), 1, fromA)).toHaveLength(20);
    expect(p.a.drops.stagedDiscarded).toBe(2);
  });

  it('A7 100 packets to a peer without a session → 1 initiation', async () => {
    const { p, clock, log } = await clockedPair();
    p.net.onDatagram = (from, _to, bytes) => {
      log.push({ from: from.toString(), to: '', bytes, t: clock.now(), type: bytes[0] });
      return false;
    };
    for (let i = 0; i < 100; i++) {
      ping(p.tunA, '10.0.0.1', '10.0.0.2', i);
      clock.advance(40); // 4 s in all, below RekeyTimeout
    }
    expect(ofType(log, 1, fromA)).toHaveLength(1);
    expect(log).toHaveLength(1);
  });

  it('A8 passive keepalive: exactly one 32-B keepalive 10 s after receiving data, none if something was sent', async () => {
    {
      const { p, clock, log } = await clockedPair();
      await pingAB(p);
      const mark = log.length;
      await advance(clock, 30_000, 500);
      const fromBmsgs = log.slice(mark).filter((r) => r.from === fromB);
      expect(fromBmsgs.map((r) => [r.type, r.bytes.length])).toEqual([[4, 32]]);
      expect(fromBmsgs[0].t).toBe(10_000);
    }
    {
      const { p, clock, log } = await clockedPair();
      await pingAB(p);
      await advance(clock, 5_000, 500);
      ping(p.tunB, '10.0.0.2', '10.0.0.1', 1, 56);
      await settle();
      const mark = log.length;
      await advance(clock, 25_000, 500);
      expect(log.slice(mark).filter((r) => r.from === fromB)).toHaveLength(0);
      // A received data at 5 s and answers with its own keepalive at 15 s.
      const fromAmsgs = log.slice(mark).filter((r) => r.from === fromA);
      expect(fromAmsgs.map((r) => [r.type, r.bytes.length, r.t])).toEqual([[4, 32, 15_000]]);
    }
  });

  it('A9 no authenticated reply within 15 s (+jitter) after sending data → new handshake', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    await advance(clock, 11_000, 1000); // B's keepalive at 10 s arrived
    p.net.onDatagram = (from, _to, bytes) => {
      log.push({ from: from.toString(), to: '', bytes, t: clock.now(), type: bytes[0] });
      return from.toString() === fromB ? false : undefined;
    };
    await advance(clock, 9_000, 1000); // 20 s
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 2);
    await advance(clock, 20_000, 100);
    const inits = ofType(log.slice(mark), 1, fromA);
    expect(inits.length).toBeGreaterThanOrEqual(1);
    expect(inits[0].t).toBeGreaterThanOrEqual(35_000);
    expect(inits[0].t).toBeLessThan(35_334);
  });

  it('A10 540 s after the last session was derived, keys are erased; the next packet sends a 148-B initiation', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    const peer = peerOf(p.a, p.keyB.publicKey);
    await advance(clock, 539_000, 30_000);
    expect(peer.keypairs.current).not.toBeNull();
    await advance(clock, 1_500, 500);
    expect(peer.keypairs.current).toBeNull();
    expect(peer.keypairs.previous).toBeNull();
    expect(peer.handshake).toBeNull();
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 2);
    const out = log.slice(mark);
    expect(out.map((r) => [r.type, r.bytes.length])).toEqual([[1, 148]]);
  });

  it('A11 passing 2^60 on the send counter starts a handshake (both roles)', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    await advance(clock, 6_000, 1000);
    // Initiator side (A).
    p.a.setSendCounter(p.keyB.publicKey, (1n << 60n) - 2n);
    let mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 2);
    expect(ofType(log.slice(mark), 1, fromA)).toHaveLength(0);
    expect(u64le(log[log.length - 1].bytes, 8)).toBe((1n << 60n) - 2n);
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 3);
    const after = log.slice(mark);
    expect(after.map((r) => r.type)).toEqual([4, 4, 1]);
    expect(u64le(after[1].bytes, 8)).toBe((1n << 60n) - 1n);
    await settle();
    expect(p.tunB.takeWritten()).toHaveLength(2);
    // Responder side (B), with its own (fresh) session after that handshake.
    await advance(clock, 6_000, 1000);
    const bPeer = peerOf(p.b, p.keyA.publicKey);
    expect(bPeer.keypairs.current?.isInitiator).toBe(false);
    p.b.setSendCounter(p.keyA.publicKey, (1n << 60n) - 1n);
    mark = log.length;
    ping(p.tunB, '10.0.0.2', '10.0.0.1', 1);
    expect(log.slice(mark).map((r) => [r.type, r.from])).toEqual([
      [4, fromB],
      [1, fromB],
    ]);
  });

  it('A12 no packet is ever sent with a counter ≥ RejectAfterMessages; a handshake starts and the data follows on it', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    await advance(clock, 6_000, 1000);
    const R = (1n << 64n) - (1n << 13n) - 1n;
    p.a.setSendCounter(p.keyB.publicKey, R - 1n);
    const mark = log.length;
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 2);
    ping(p.tunA, '10.0.0.1', '10.0.0.2', 3);
    const sent = log.slice(mark).filter((r) => r.from === fromA);
    expect(sent.map((r) => r.type)).toEqual([4, 1]);
    expect(u64le(sent[0].bytes, 8)).toBe(R - 1n);
    await settle();
    const all = log.slice(mark).filter((r) => r.from === fromA && r.type === 4);
    for (const r of all) expect(u64le(r.bytes, 8) < R).toBe(true);
    // Packet 3 went out on the new session (counter 0).
    expect(u64le(all[1].bytes, 8)).toBe(0n);
    const got = p.tunB.takeWritten().map((x) => (x[26] << 8) | x[27]);
    expect(got).toEqual([2, 3]);
  });

  it('A13 persistent keepalive 1 s: one 32-B keepalive per idle second; 0 = never', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    await advance(clock, 12_000, 1000);
    expect(await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=1\n`)).toBe(0);
    await settle();
    const mark = log.length;
    await advance(clock, 10_000, 100);
    const ka = log.slice(mark).filter((r) => r.from === fromA);
    expect(ka.every((r) => r.type === 4 && r.bytes.length === 32)).toBe(true);
    expect(ka.length).toBeGreaterThanOrEqual(9);
    expect(ka.length).toBeLessThanOrEqual(11);
    expect(log.slice(mark).filter((r) => r.from === fromB)).toHaveLength(0);
    // Back to 0: silence.
    await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=0\n`);
    const mark2 = log.length;
    await advance(clock, 10_000, 500);
    expect(log.slice(mark2)).toHaveLength(0);
  });

  it('A14 enabling persistent keepalive over UAPI sends at the end of that section, only to that peer', async () => {
    const { p, clock, log } = await clockedPair();
    const other = await RawHost.create(p.net, '192.0.2.7', 1007);
    const c = generateKeyPair();
    p.a.setPeer({ publicKey: c.publicKey, endpoint: '192.0.2.7:1007', allowedIPs: ['10.0.0.7/32'] });
    // No session yet: an initiation at once, to B only.
    const errno = await p.a.ipcSet(
      `public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=25\npublic_key=${b64hex(c.publicKey)}\nendpoint=192.0.2.7:1007\n`,
    );
    expect(errno).toBe(0);
    expect(log.map((r) => [r.type, r.to])).toEqual([[1, B_ADDR]]);
    await settle();
    expect(other.take()).toHaveLength(0);
    // The handshake completes and the keepalive goes out on the session.
    expect(ofType(log, 4, fromA).map((r) => r.bytes.length)).toEqual([32]);
    // With a session: 0 → N sends a 32-B keepalive right away.
    await advance(clock, 1000, 1000);
    await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=0\n`);
    const mark = log.length;
    await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=7\n`);
    expect(log.slice(mark).map((r) => [r.type, r.bytes.length, r.to])).toEqual([[4, 32, B_ADDR]]);
    // N → M (not from 0): nothing.
    const mark2 = log.length;
    await p.a.ipcSet(`public_key=${b64hex(p.keyB.publicKey)}\npersistent_keepalive_interval=9\n`);
    expect(log.slice(mark2)).toHaveLength(0);
  });

  it('A15 link down→up: keepalive (initiation) to peers with N>0 only, visible in the next get', async () => {
    const { p, log } = await clockedPair();
    const c = generateKeyPair();
    p.a.setPeer({ publicKey: c.publicKey, endpoint: '192.0.2.7:1007', allowedIPs: ['10.0.0.7/32'] });
    p.a.setPeer({ publicKey: p.keyB.publicKey, persistentKeepalive: 1 });
    await settle();
    p.tunA.setUp(false);
    await settle();
    // Within RekeyTimeout of the last initiation (the pacing must not hold this one back),
    // beyond B's 20-ms initiation limit.
    (p.clock as ManualClock).advance(1000);
    const mark = log.length;
    const txBefore = firstTx(p.a.ipcGet());
    p.tunA.setUp(true);
    expect(log.slice(mark).map((r) => [r.type, r.to])).toEqual([[1, B_ADDR]]);
    expect(firstTx(p.a.ipcGet())).toBe(txBefore + 148);
    await settle();
    expect(ofType(log.slice(mark), 4, fromA).map((r) => r.bytes.length)).toEqual([32]);
  });

  it('A15 without a private key nothing is sent at link up; setting the key then sends at once', async () => {
    const { p, log } = await clockedPair();
    await p.a.ipcSet('private_key=' + '0'.repeat(64) + '\n');
    p.a.setPeer({ publicKey: p.keyB.publicKey, persistentKeepalive: 1 });
    p.tunA.setUp(false);
    p.tunA.setUp(true);
    await settle();
    expect(log).toHaveLength(0);
    expect(p.a.ipcGet()).toMatch(/tx_bytes=0\n/);
    await p.a.ipcSet(`private_key=${b64hex(p.keyA.privateKey)}\n`);
    expect(log.map((r) => [r.type, r.to])).toEqual([[1, B_ADDR]]);
    expect(p.a.ipcGet()).toMatch(/tx_bytes=148\n/);
  });

  it('A16 two valid initiations 5 ms apart → 1 response; 25 ms apart → 2 responses', async () => {
    const s = await solo();
    const { clock, fake, host } = s;
    host.send(fake.initiation(clock.wallNs()), B_ADDR);
    await settle();
    clock.advance(5);
    host.send(fake.initiation(clock.wallNs()), B_ADDR);
    await settle();
    expect(host.take().filter((r) => r.bytes[0] === 2)).toHaveLength(1);
    expect(s.dev.drops.replayedInitiation).toBe(1);
    clock.advance(100);
    host.send(fake.initiation(clock.wallNs()), B_ADDR);
    await settle();
    clock.advance(25);
    host.send(fake.initiation(clock.wallNs()), B_ADDR);
    await settle();
    expect(host.take().filter((r) => r.bytes[0] === 2)).toHaveLength(2);
    expect(s.dev.drops.replayedInitiation).toBe(1);
  });

  it('A17 a replayed initiation gets no response and changes no counter or endpoint', async () => {
    const s = await solo();
    const { clock, fake, host, dev } = s;
    const init = fake.initiation(clock.wallNs());
    host.send(init, B_ADDR);
    await settle();
    expect(host.take().filter((r) => r.bytes[0] === 2)).toHaveLength(1);
    const before = dev.ipcGet();
    clock.advance(1000);
    const other = await RawHost.create(s.net, '192.0.2.66', 6666);
    other.send(init, B_ADDR);
    host.send(init, B_ADDR);
    await settle();
    expect(other.take()).toHaveLength(0);
    expect(host.take()).toHaveLength(0);
    expect(dev.drops.replayedInitiation).toBe(2);
    expect(dev.ipcGet()).toBe(before);
    // An older timestamp is refused too, even far later on the local clock.
    clock.advance(60_000);
    host.send(fake.initiation(clock.wallNs() - 120_000_000_000n), B_ADDR);
    await settle();
    expect(host.take()).toHaveLength(0);
  });

  it('A17 outgoing TAI64N: Unix 1700000000.123456789 → 400000006553f10a07000000', async () => {
    expect(bytesToHex(tai64n(1_700_000_000_123_456_789n))).toBe('400000006553f10a07000000');
    const s = await solo({ fakeEndpoint: true });
    s.clock.setWallNs(1_700_000_000_123_456_789n);
    ping(s.tun, '10.0.0.2', '10.0.0.9');
    await settle();
    const init = s.host.take().find((r) => r.bytes[0] === 1)!;
    const consumed = consumeInitiation(s.fake.local, init.bytes, () => s.fake.remote);
    expect(consumed).not.toBeNull();
    expect(bytesToHex(consumed!.timestamp)).toBe('400000006553f10a07000000');
  });
});
