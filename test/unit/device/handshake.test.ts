import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeX25519 } from '../../../src/crypto/index.js';
import { generateKeyPair, generatePresharedKey } from '../../helpers/keys.js';
import {
  A_ADDR,
  advance,
  B_ADDR,
  b64hex,
  clockedPair,
  FakePeer,
  ofType,
  peerOf,
  ping,
  pingAB,
  RawHost,
  solo,
  u32le,
} from './helpers.js';
import { settle } from './pair.js';

const LOW_ORDER = [
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=',
  'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=',
  '7P///////////////////////////////////////38=',
  '7f///////////////////////////////////////38=',
  '7v///////////////////////////////////////38=',
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('B. handshake and cookies', () => {
  it('B3 wrong mac1: dropped and counted before any Curve25519 work, no reply, no state change', async () => {
    const s = await solo();
    s.dev.forceUnderLoad(true); // not even a cookie reply
    const msg = s.fake.initiation(s.clock.wallNs());
    msg[130] ^= 1; // inside mac1 (116..132)
    const before = s.dev.ipcGet();
    const dh = vi.spyOn(nodeX25519, 'dh');
    s.host.send(msg, B_ADDR);
    await settle();
    expect(dh).not.toHaveBeenCalled();
    expect(s.dev.drops.badMac1).toBe(1);
    expect(s.host.take()).toHaveLength(0);
    expect(s.dev.ipcGet()).toBe(before);
    // Outgoing messages carry a mac1 made with the peer's key: the fake's own checker accepts it.
    dh.mockRestore();
    s.dev.forceUnderLoad(false);
    s.host.send(s.fake.initiation(s.clock.wallNs()), B_ADDR);
    await settle();
    const resp = s.host.take().find((r) => r.bytes[0] === 2)!;
    expect(resp.bytes.length).toBe(92);
    expect(s.fake.consume(resp.bytes)).toBe(true);
  });

  it('B4 B6 B9 under load: cookie reply instead of a response; the next retransmission carries mac2 and succeeds; cookie replies are not counted and do not move the endpoint', async () => {
    const { p, clock, log } = await clockedPair();
    p.b.forceUnderLoad(true);
    // B's cookie replies are re-sent to A from an unrelated address.
    const relay = await RawHost.create(p.net, '192.0.2.50', 5555);
    p.net.onDatagram = (from, to, bytes) => {
      log.push({ from: from.toString(), to: to.toString(), bytes, t: clock.now(), type: bytes[0] });
      if (bytes[0] === 3 && from.toString() === B_ADDR) {
        queueMicrotask(() => relay.send(bytes, A_ADDR));
        return false;
      }
      return undefined;
    };
    ping(p.tunA, '10.0.0.1', '10.0.0.2');
    await settle();
    const first = ofType(log, 1, A_ADDR);
    expect(first).toHaveLength(1);
    expect(first[0].bytes.subarray(132).every((x) => x === 0)).toBe(true); // B4: no cookie → mac2 zero
    const cookies = ofType(log, 3, B_ADDR);
    expect(cookies).toHaveLength(1);
    expect(cookies[0].bytes.length).toBe(64);
    expect(u32le(cookies[0].bytes, 4)).toBe(u32le(first[0].bytes, 4)); // receiver = sender index
    expect(ofType(log, 2)).toHaveLength(0);
    expect(p.b.drops.underLoad).toBe(1);
    // B9: no immediate resend; nothing counted for the cookie reply; endpoint unchanged.
    expect(ofType(log, 1, A_ADDR)).toHaveLength(1);
    expect(p.a.drops.badCookie).toBe(0);
    expect(p.a.drops.unknownIndex).toBe(0);
    const pa = p.a.peers()[0];
    expect(pa.txBytes).toBe(148n);
    expect(pa.rxBytes).toBe(0n);
    expect(pa.endpoint).toBe(B_ADDR);
    expect(p.b.peers()[0].txBytes).toBe(0n);
    expect(p.b.peers()[0].rxBytes).toBe(0n);
    // The retransmission ~5 s later carries mac2 and is answered.
    await advance(clock, 5400, 100);
    const inits = ofType(log, 1, A_ADDR);
    expect(inits).toHaveLength(2);
    expect(inits[1].t).toBeGreaterThanOrEqual(5000);
    expect(inits[1].bytes.subarray(132).some((x) => x !== 0)).toBe(true);
    expect(ofType(log, 2, B_ADDR)).toHaveLength(1);
    expect(p.tunB.takeWritten()).toHaveLength(1);
    expect(p.a.peers()[0].txBytes).toBe(2n * 148n + 128n);
  });

  it('B7 a mac2 made with a cookie issued to another port fails; from the right source it passes', async () => {
    const s = await solo();
    s.dev.forceUnderLoad(true);
    const other = await RawHost.create(s.net, '192.0.2.9', 2009);
    s.host.send(s.fake.initiation(s.clock.wallNs()), B_ADDR);
    await settle();
    const reply = s.host.take();
    expect(reply.map((r) => [r.bytes[0], r.bytes.length])).toEqual([[3, 64]]);
    expect(s.fake.cookie.consumeReply(reply[0].bytes, s.clock.now())).toBe(true);
    s.clock.advance(50);
    other.send(s.fake.initiation(s.clock.wallNs(), s.clock.now()), B_ADDR);
    await settle();
    expect(other.take().map((r) => r.bytes[0])).toEqual([3]);
    s.clock.advance(50);
    s.host.send(s.fake.initiation(s.clock.wallNs(), s.clock.now()), B_ADDR);
    await settle();
    expect(s.host.take().map((r) => r.bytes[0])).toEqual([2]);
    expect(s.dev.drops.underLoad).toBe(2);
  });

  it('B10 under load, valid-mac2 initiations from one source pass a burst of 5', async () => {
    const s = await solo();
    s.dev.forceUnderLoad(true);
    s.host.send(s.fake.initiation(s.clock.wallNs()), B_ADDR);
    await settle();
    expect(s.fake.cookie.consumeReply(s.host.take()[0].bytes, s.clock.now())).toBe(true);
    for (let i = 0; i < 10; i++) s.host.send(s.fake.initiation(s.clock.wallNs() + BigInt(i), s.clock.now()), B_ADDR);
    await settle();
    expect(s.host.take().map((r) => r.bytes[0])).toEqual([2]);
    expect(s.dev.drops.underLoad).toBe(1 + 5); // the first (no mac2) + 5 rate-limited
    expect(s.dev.drops.replayedInitiation).toBe(4); // passed the limiter, refused by A16
  });

  it('B11 low-order peer keys are accepted by set but never cause traffic', async () => {
    const { p, clock, log } = await clockedPair();
    let body = '';
    LOW_ORDER.forEach((k, i) => {
      body += `public_key=${b64hex(k)}\nendpoint=192.0.2.3:1003\npersistent_keepalive_interval=1\nallowed_ip=10.1.0.${i}/32\n`;
    });
    expect(await p.a.ipcSet(body)).toBe(0);
    expect(p.a.peers()).toHaveLength(1 + LOW_ORDER.length);
    for (let i = 0; i < LOW_ORDER.length; i++) ping(p.tunA, '10.0.0.1', `10.1.0.${i}`);
    await advance(clock, 30_000, 1000);
    expect(log.filter((r) => r.to === '192.0.2.3:1003')).toHaveLength(0);
    for (const peer of p.a.peers().slice(1)) expect(peer.txBytes).toBe(0n);
  });

  it('B12 a peer section with the own public key is ignored; a private key equal to a peer’s removes that peer', async () => {
    const { p } = await clockedPair();
    expect(await p.a.ipcSet(`public_key=${b64hex(p.keyA.publicKey)}\nendpoint=192.0.2.3:1003\nallowed_ip=10.9.9.9/32\n`)).toBe(0);
    expect(p.a.peers().map((x) => x.publicKey)).toEqual([p.keyB.publicKey]);
    expect(await p.a.ipcSet(`private_key=${b64hex(p.keyB.privateKey)}\n`)).toBe(0);
    expect(p.a.peers()).toHaveLength(0);
  });

  it('B13 private key change drops sessions; a handshake with a peer knowing the new key succeeds at once', async () => {
    const { p, clock, log } = await clockedPair();
    expect(await pingAB(p)).toHaveLength(1);
    clock.advance(6000);
    const next = generateKeyPair();
    expect(await p.a.ipcSet(`private_key=${b64hex(next.privateKey)}\n`)).toBe(0);
    expect(peerOf(p.a, p.keyB.publicKey).keypairs.current).toBeNull();
    await p.b.ipcSet(
      `public_key=${b64hex(p.keyA.publicKey)}\nremove=true\npublic_key=${b64hex(next.publicKey)}\nallowed_ip=10.0.0.1/32\n`,
    );
    const mark = log.length;
    expect(await pingAB(p, 2)).toHaveLength(1);
    expect(log.slice(mark).map((r) => r.type)).toEqual([1, 2, 4]);
  });

  it('B14 without a private key: no initiation, incoming initiations ignored, no private_key in get', async () => {
    const s = await solo({ fakeEndpoint: true });
    expect(await s.dev.ipcSet(`private_key=${'0'.repeat(64)}\n`)).toBe(0);
    expect(s.dev.ipcGet()).not.toMatch(/private_key=/);
    ping(s.tun, '10.0.0.2', '10.0.0.9');
    await advance(s.clock, 20_000, 1000);
    expect(s.log.filter((r) => r.from === B_ADDR)).toHaveLength(0);
    s.host.send(s.fake.initiation(s.clock.wallNs()), B_ADDR);
    await settle();
    expect(s.host.take()).toHaveLength(0);
    expect(s.dev.drops.deviceDown).toBe(2); // the TUN packet and the initiation
  });

  it('B15 the responder sends nothing on its new session before confirmation; confirmation sets the handshake time', async () => {
    const s = await solo();
    s.host.send(s.fake.initiation(s.clock.wallNs()), B_ADDR);
    await settle();
    const resp = s.host.take();
    expect(resp.map((r) => r.bytes[0])).toEqual([2]);
    expect(s.fake.consume(resp[0].bytes)).toBe(true);
    expect(s.dev.peers()[0].lastHandshake).toBe(0);
    expect(s.dev.ipcGet()).toMatch(/last_handshake_time_sec=0\n/);
    ping(s.tun, '10.0.0.2', '10.0.0.9', 7);
    await settle();
    s.clock.advance(1000);
    await settle();
    // Neither data nor a competing initiation right after our response.
    expect(s.host.take()).toHaveLength(0);
    s.host.send(s.fake.transport(new Uint8Array(0)), B_ADDR);
    await settle();
    const got = s.host.take();
    expect(got).toHaveLength(1);
    const pt = s.fake.open(got[0].bytes)!;
    expect(pt).not.toBeNull();
    expect((pt[26] << 8) | pt[27]).toBe(7);
    expect(s.dev.peers()[0].lastHandshake).toBe(Number(s.clock.wallNs() / 1_000_000n));
  });

  it('B16 the initiator sends staged packets at once after the response, else a keepalive', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    expect(log.map((r) => [r.type, r.bytes.length])).toEqual([
      [1, 148],
      [2, 92],
      [4, 128],
    ]);
    // A rekey without staged packets (A2): keepalive after the response.
    await advance(clock, 121_000, 10_000);
    const mark = log.length;
    await pingAB(p, 2);
    expect(log.slice(mark).map((r) => [r.type, r.bytes.length])).toEqual([
      [4, 128],
      [1, 148],
      [2, 92],
      [4, 32],
    ]);
  });

  it('B17 a PSK mismatch makes the handshake fail silently; an all-zero PSK means none', async () => {
    {
      const { p } = await clockedPair();
      p.a.setPeer({ publicKey: p.keyB.publicKey, presharedKey: generatePresharedKey() });
      expect(await pingAB(p)).toHaveLength(0);
      expect(p.a.drops.badHandshake).toBe(1);
      expect(p.a.peers()[0].lastHandshake).toBe(0);
      expect(p.b.peers()[0].lastHandshake).toBe(0);
    }
    {
      const { p } = await clockedPair();
      p.a.setPeer({ publicKey: p.keyB.publicKey, presharedKey: 'A'.repeat(43) + '=' });
      expect(p.a.ipcGet()).toMatch(new RegExp(`preshared_key=${'0'.repeat(64)}\n`));
      expect(await pingAB(p)).toHaveLength(1);
    }
  });

  it('B18 bad tags, unknown static keys and unexpected responses are inert', async () => {
    const { p, clock, log } = await clockedPair();
    await pingAB(p);
    const kp = peerOf(p.a, p.keyB.publicKey).keypairs.current;
    const kpB = peerOf(p.b, p.keyA.publicKey).keypairs.current;
    const oldResponse = ofType(log, 2)[0].bytes;
    clock.advance(1000);
    const host = await RawHost.create(p.net, '192.0.2.66', 6666);
    // Unknown static key.
    const stranger = new FakePeer(host, B_ADDR, p.keyB.publicKey);
    host.send(stranger.initiation(clock.wallNs()), B_ADDR);
    // Wrong AEAD tag (encrypted static altered, mac1 recomputed).
    const bad = stranger.initiation(clock.wallNs() + 1n);
    bad[60] ^= 0x80;
    stranger.cookie.stamp(bad, bad.length, clock.now());
    host.send(bad, B_ADDR);
    // Unexpected response (no initiation outstanding).
    host.send(oldResponse, A_ADDR);
    await settle();
    expect(host.take()).toHaveLength(0);
    expect(p.b.drops.badHandshake).toBe(2);
    expect(p.a.drops.unknownIndex).toBe(1);
    expect(peerOf(p.a, p.keyB.publicKey).keypairs.current).toBe(kp);
    expect(peerOf(p.b, p.keyA.publicKey).keypairs.current).toBe(kpB);
    expect(p.a.peers()[0].endpoint).toBe(B_ADDR);
    expect(await pingAB(p, 2)).toHaveLength(1);
  });
});

