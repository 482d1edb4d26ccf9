/**
 * F10 (NAT + persistent keepalive) and F13 (wg-quick-style policy routing) against the tsguard
 * daemon, on the kernel suite's NAT topology (conformance F0, F10, F13):
 *
 *   ns1 vethc 192.168.1.100/24 ── ns0 vethrc 192.168.1.1/24 | vethrs 10.0.0.1/24 ── ns2 veths 10.0.0.100/24
 *
 * ns0 forwards and SNATs 192.168.1.0/24 → 10.0.0.1, with UDP conntrack timeouts of 2 s. A fresh
 * tsguard runs inside ns1 and inside ns2 (their UDP sockets live there).
 * Needs root, ip, wg, ping, iptables.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, generatePresharedKey, type KeyPair } from '../helpers/keys.js';
import { Cleanup, createNetns, execIn, execInResult, ip } from '../helpers/netns.js';
import { requireRoot } from '../helpers/netns.js';
import { startUserspaceWg, type WgInterface } from '../helpers/wireguard-go.js';

const root = requireRoot('wg', 'ping', 'iptables');
const TSGUARD = [resolve('bin/tsguard'), '-f'];
const reg = new Cleanup();

describe.skipIf(!root)('tsguard behind NAT (F10, F13)', () => {
  let ns0 = '';
  let ns1 = '';
  let ns2 = '';
  let wg1: WgInterface;
  let wg2: WgInterface;
  let key1: KeyPair;
  let key2: KeyPair;
  const psk = generatePresharedKey();

  const sysctl = (ns: string, key: string, value: string) => execIn(ns, 'sysctl', ['-qw', `${key}=${value}`]);

  beforeAll(async () => {
    ns0 = await createNetns('tsgn0', reg);
    ns1 = await createNetns('tsgn1', reg);
    ns2 = await createNetns('tsgn2', reg);
    await ip('-n', ns0, 'link', 'add', 'vethrc', 'type', 'veth', 'peer', 'name', 'vethc', 'netns', ns1);
    await ip('-n', ns0, 'link', 'add', 'vethrs', 'type', 'veth', 'peer', 'name', 'veths', 'netns', ns2);
    await ip('-n', ns0, 'addr', 'add', '192.168.1.1/24', 'dev', 'vethrc');
    await ip('-n', ns0, 'addr', 'add', '10.0.0.1/24', 'dev', 'vethrs');
    await ip('-n', ns1, 'addr', 'add', '192.168.1.100/24', 'dev', 'vethc');
    await ip('-n', ns2, 'addr', 'add', '10.0.0.100/24', 'dev', 'veths');
    for (const [ns, dev] of [[ns0, 'vethrc'], [ns0, 'vethrs'], [ns1, 'vethc'], [ns2, 'veths']]) {
      await ip('-n', ns, 'link', 'set', dev, 'up');
    }
    await ip('-n', ns1, 'route', 'add', 'default', 'via', '192.168.1.1');
    await sysctl(ns0, 'net.ipv4.ip_forward', '1');
    await execIn(ns0, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-s', '192.168.1.0/24', '-d', '10.0.0.0/24', '-j', 'SNAT', '--to', '10.0.0.1']);
    // The table exists once the NAT rule loaded conntrack.
    await sysctl(ns0, 'net.netfilter.nf_conntrack_udp_timeout', '2');
    await sysctl(ns0, 'net.netfilter.nf_conntrack_udp_timeout_stream', '2');

    key1 = generateKeyPair();
    key2 = generateKeyPair();
    wg1 = await startUserspaceWg(ns1, { command: TSGUARD, prefix: 'tsgnat', registry: reg });
    wg2 = await startUserspaceWg(ns2, { command: TSGUARD, prefix: 'tsgnat', registry: reg });
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
  });

  afterAll(async () => {
    await Promise.all([wg1, wg2].filter(Boolean).map((w) => w.stop()));
    await reg.run();
  });

  it('F10: persistent keepalive holds the NAT mapping; ns2 reaches ns1 after 3 s idle', async () => {
    await wg1.set({ peers: [{ publicKey: key2.publicKey, endpoint: '10.0.0.100:2', persistentKeepalive: 1 }] });
    await execIn(ns1, 'ping', ['-W', '1', '-c', '1', '192.168.241.2']);
    await execIn(ns2, 'ping', ['-W', '1', '-c', '1', '192.168.241.1']);
    expect(await wg2.wg('show', wg2.ifname, 'endpoints')).toBe(`${key1.publicKey}\t10.0.0.1:1\n`);
    // Longer than the 2-s conntrack timeout: only the keepalives keep the mapping alive.
    await new Promise((r) => setTimeout(r, 3000));
    const late = await execInResult(ns2, 'ping', ['-W', '1', '-c', '1', '192.168.241.1'], { allowFailure: true });
    expect(late.code, late.stdout).toBe(0);
    await wg1.set({ peers: [{ publicKey: key2.publicKey, persistentKeepalive: 0 }] });
  });

  it('F13: wg-quick-style policy routing (fwmark 51820, table 51820, suppress_prefixlength 0), v4 and v6', async () => {
    await wg1.set({ peers: [{ publicKey: key2.publicKey, endpoint: '10.0.0.100:2' }] });
    await ip('-n', ns1, '-6', 'addr', 'add', 'fc00::9/96', 'dev', 'vethc', 'nodad');
    await ip('-n', ns1, '-6', 'route', 'add', 'default', 'via', 'fc00::1');
    await wg2.ip('-4', 'addr', 'add', '192.168.99.7/32', 'dev', wg2.ifname);
    await wg2.ip('-6', 'addr', 'add', 'abab::1111/128', 'dev', wg2.ifname, 'nodad');
    await wg1.wg('set', wg1.ifname, 'fwmark', '51820', 'peer', key2.publicKey, 'allowed-ips', '192.168.99.7,abab::1111');
    expect((await wg1.dump()).interface.fwmark).toBe(51820);
    for (const fam of ['-6', '-4']) {
      await ip('-n', ns1, fam, 'route', 'add', 'default', 'dev', wg1.ifname, 'table', '51820');
      await ip('-n', ns1, fam, 'rule', 'add', 'not', 'fwmark', '51820', 'table', '51820');
      await ip('-n', ns1, fam, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0');
    }
    await sysctl(ns1, 'net.ipv4.conf.vethc.rp_filter', '0');
    // Without SO_MARK on tsguard's sockets its own UDP would loop into the tunnel.
    for (const dst of ['192.168.99.7', 'abab::1111']) {
      const r = await execInResult(ns1, 'ping', ['-W', '1', '-c', '100', '-f', dst], { allowFailure: true, timeoutMs: 30_000 });
      expect(r.code, `${dst}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/100 packets transmitted, 100 received/);
    }
  });
});
