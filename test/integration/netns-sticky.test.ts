/**
 * F15 source-address stickiness against the tsguard daemon (conformance F15, E7): tsguard runs
 * inside ns1 and ns2, joined by veth1 ↔ veth2 (and veth3 ↔ veth4 for d).
 *   a) fall-over: the cached source disappears → the next packet leaves from a new one;
 *   b) reply to sender: ns1 answers from the address ns2 targeted (IP_PKTINFO);
 *   c) the targeted address sits on another interface (dummy0);
 *   d) route precedence: a better route with another src replaces the cached source.
 * wireguard-go 0.0.20220316 fails b and c; tsguard's NativeBind keeps sticky sources.
 * Needs root, ip, wg, ping.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, generatePresharedKey, type KeyPair } from '../helpers/keys.js';
import { Cleanup, createNetns, execIn, execInResult, ip, requireRoot, waitFor } from '../helpers/netns.js';
import { startUserspaceWg, type WgInterface } from '../helpers/wireguard-go.js';

const root = requireRoot('wg', 'ping');
const TSGUARD = [resolve('bin/tsguard'), '-f'];
const reg = new Cleanup();

interface Pair {
  ns1: string;
  ns2: string;
  wg1: WgInterface;
  wg2: WgInterface;
  key1: KeyPair;
  key2: KeyPair;
}

const sysctl = (ns: string, key: string, value: string) => execIn(ns, 'sysctl', ['-qw', `${key}=${value}`]);

/** F0 base configuration, tsguard inside ns1/ns2, plus the veth1 ↔ veth2 pair (no addresses, down). */
async function setup(): Promise<Pair> {
  const ns1 = await createNetns('tsgs1', reg);
  const ns2 = await createNetns('tsgs2', reg);
  const key1 = generateKeyPair();
  const key2 = generateKeyPair();
  const psk = generatePresharedKey();
  const wg1 = await startUserspaceWg(ns1, { command: TSGUARD, prefix: 'tsgsty', registry: reg });
  const wg2 = await startUserspaceWg(ns2, { command: TSGUARD, prefix: 'tsgsty', registry: reg });
  await wg1.set({
    privateKey: key1.privateKey,
    listenPort: 1,
    peers: [{ publicKey: key2.publicKey, presharedKey: psk, allowedIPs: ['192.168.241.2/32', 'fd00::2/128'] }],
  });
  await wg2.set({
    privateKey: key2.privateKey,
    listenPort: 2,
    peers: [{ publicKey: key1.publicKey, presharedKey: psk, allowedIPs: ['192.168.241.1/32', 'fd00::1/128'] }],
  });
  for (const [wg, n] of [[wg1, 1], [wg2, 2]] as const) {
    await wg.addAddress(`192.168.241.${n}/24`);
    await wg.ip('addr', 'add', `fd00::${n}/112`, 'dev', wg.ifname, 'nodad');
    await wg.up();
  }
  await ip('-n', ns1, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth2', 'netns', ns2);
  for (const [ns, dev] of [[ns1, 'veth1'], [ns2, 'veth2']]) {
    await sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0');
    await sysctl(ns, `net.ipv6.conf.${dev}.accept_dad`, '0');
  }
  await sysctl(ns1, 'net.ipv4.conf.veth1.promote_secondaries', '1');
  return { ns1, ns2, wg1, wg2, key1, key2 };
}

async function ping(ns: string, dst: string, step: string): Promise<void> {
  const r = await execInResult(ns, 'ping', ['-W', '1', '-c', '1', dst], { allowFailure: true });
  expect(r.code, `${step}: ping ${dst}: ${r.stdout}`).toBe(0);
}

/** Exactly one line `<pub>\t<endpoint>`. */
async function endpoints(wg: WgInterface): Promise<string> {
  return wg.wg('show', wg.ifname, 'endpoints');
}

/** `ip link set up`, then the suite's `waitiface`: until the carrier is up, packets are dropped. */
async function upLinks(p: Pair, links: [string, string][]): Promise<void> {
  for (const [ns, dev] of links) await ip('-n', ns, 'link', 'set', dev, 'up');
  for (const [ns, dev] of links) {
    await waitFor(async () => (await execIn(ns, 'cat', [`/sys/class/net/${dev}/operstate`])).trim() === 'up', 5000);
  }
}

describe.skipIf(!root)('tsguard source-address stickiness (F15)', () => {
  afterEach(async () => {
    await reg.run();
  });

  it('a) falls over to a new local address when the cached one is removed (v4 and v6)', async () => {
    const p = await setup();
    await ip('-n', p.ns1, 'addr', 'add', '10.0.0.1/24', 'dev', 'veth1');
    await ip('-n', p.ns1, 'addr', 'add', 'fd00:aa::1/96', 'dev', 'veth1', 'nodad');
    await ip('-n', p.ns2, 'addr', 'add', '10.0.0.2/24', 'dev', 'veth2');
    await ip('-n', p.ns2, 'addr', 'add', 'fd00:aa::2/96', 'dev', 'veth2', 'nodad');
    await upLinks(p, [[p.ns1, 'veth1'], [p.ns2, 'veth2']]);
    await p.wg1.set({ peers: [{ publicKey: p.key2.publicKey, endpoint: '10.0.0.2:2' }] });
    await ping(p.ns1, '192.168.241.2', 'initial v4');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t10.0.0.1:1\n`);
    await ip('-n', p.ns1, 'addr', 'add', '10.0.0.10/24', 'dev', 'veth1');
    await ip('-n', p.ns1, 'addr', 'del', '10.0.0.1/24', 'dev', 'veth1');
    await ping(p.ns1, '192.168.241.2', 'after 10.0.0.1 replaced by 10.0.0.10');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t10.0.0.10:1\n`);
    await p.wg1.set({ peers: [{ publicKey: p.key2.publicKey, endpoint: '[fd00:aa::2]:2' }] });
    await ping(p.ns1, '192.168.241.2', 'v6 endpoint');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t[fd00:aa::1]:1\n`);
    await ip('-n', p.ns1, 'addr', 'add', 'fd00:aa::10/96', 'dev', 'veth1', 'nodad');
    await ip('-n', p.ns1, 'addr', 'del', 'fd00:aa::1/96', 'dev', 'veth1');
    await ping(p.ns1, '192.168.241.2', 'after fd00:aa::1 replaced by fd00:aa::10');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t[fd00:aa::10]:1\n`);
  });

  it('b) replies leave from the address the peer targeted; c) also when it sits on another interface', async () => {
    const p = await setup();
    for (const a of ['10.0.0.1/24', '10.0.0.2/24']) await ip('-n', p.ns1, 'addr', 'add', a, 'dev', 'veth1');
    for (const a of ['fd00:aa::1/96', 'fd00:aa::2/96']) await ip('-n', p.ns1, 'addr', 'add', a, 'dev', 'veth1', 'nodad');
    await ip('-n', p.ns2, 'addr', 'add', '10.0.0.3/24', 'dev', 'veth2');
    await ip('-n', p.ns2, 'addr', 'add', 'fd00:aa::3/96', 'dev', 'veth2', 'nodad');
    await upLinks(p, [[p.ns1, 'veth1'], [p.ns2, 'veth2']]);
    for (const target of ['10.0.0.1:1', '[fd00:aa::1]:1', '10.0.0.2:1', '[fd00:aa::2]:1']) {
      await p.wg2.set({ peers: [{ publicKey: p.key1.publicKey, endpoint: target }] });
      await ping(p.ns2, '192.168.241.1', `targeting ${target}`);
      expect(await endpoints(p.wg2), `targeting ${target}`).toBe(`${p.key1.publicKey}\t${target}\n`);
    }

    // The suite's dummy0; a veth pair inside ns1 does the same where the dummy module is missing.
    await ip('-n', p.ns1, 'link', 'add', 'dummy0', 'type', 'veth', 'peer', 'name', 'dummy1');
    await ip('-n', p.ns1, 'addr', 'add', '10.50.0.1/24', 'dev', 'dummy0');
    await upLinks(p, [[p.ns1, 'dummy0'], [p.ns1, 'dummy1']]);
    await ip('-n', p.ns2, 'route', 'add', '10.50.0.0/24', 'dev', 'veth2');
    await p.wg2.set({ peers: [{ publicKey: p.key1.publicKey, endpoint: '10.50.0.1:1' }] });
    await ping(p.ns2, '192.168.241.1', 'targeting 10.50.0.1:1');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t10.50.0.1:1\n`);
  });

  it('d) a route that takes precedence (other device, other src) replaces the cached source', async () => {
    const p = await setup();
    await ip('-n', p.ns1, 'link', 'add', 'veth3', 'type', 'veth', 'peer', 'name', 'veth4', 'netns', p.ns2);
    await ip('-n', p.ns1, 'addr', 'add', '10.0.0.1/24', 'dev', 'veth1');
    await ip('-n', p.ns2, 'addr', 'add', '10.0.0.2/24', 'dev', 'veth2');
    await ip('-n', p.ns1, 'addr', 'add', '10.0.0.3/24', 'dev', 'veth3');
    await upLinks(p, [[p.ns1, 'veth1'], [p.ns2, 'veth2'], [p.ns1, 'veth3'], [p.ns2, 'veth4']]);
    await ip('-n', p.ns1, 'route', 'flush', 'dev', 'veth1');
    await ip('-n', p.ns1, 'route', 'flush', 'dev', 'veth3');
    await ip('-n', p.ns1, 'route', 'add', '10.0.0.0/24', 'dev', 'veth1', 'src', '10.0.0.1', 'metric', '2');
    await p.wg1.set({ peers: [{ publicKey: p.key2.publicKey, endpoint: '10.0.0.2:2' }] });
    await ping(p.ns1, '192.168.241.2', 'metric-2 route');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t10.0.0.1:1\n`);
    await ip('-n', p.ns1, 'route', 'add', '10.0.0.0/24', 'dev', 'veth3', 'src', '10.0.0.3', 'metric', '1');
    await sysctl(p.ns1, 'net.ipv4.conf.veth1.rp_filter', '0');
    await sysctl(p.ns2, 'net.ipv4.conf.veth4.rp_filter', '0');
    await sysctl(p.ns1, 'net.ipv4.conf.all.rp_filter', '0');
    await sysctl(p.ns2, 'net.ipv4.conf.all.rp_filter', '0');
    await ping(p.ns1, '192.168.241.2', 'metric-1 route added');
    expect(await endpoints(p.wg2)).toBe(`${p.key1.publicKey}\t10.0.0.3:1\n`);
  });
});
