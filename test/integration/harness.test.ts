/**
 * Proves the integration harness (test/helpers) against the reference implementation and
 * records how wireguard-go 0.0.20220316 behaves: two namespaces joined by a veth, a
 * wireguard-go in each, configured with `wg`, traffic through the tunnel, `wg show dump`.
 * Needs root, ip, wg, wireguard-go, ping.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, generatePresharedKey, publicKeyOf, wgPubKey, type KeyPair } from '../helpers/keys.js';
import { cleanup, createNetns, execIn, exec, ip, isAlive, requireRoot, waitFor } from '../helpers/netns.js';
import { startUserspaceWg, startWireguardGo, type WgInterface } from '../helpers/wireguard-go.js';

const root = requireRoot('wg', 'wireguard-go', 'ping');

describe.skipIf(!root)('harness: wireguard-go ↔ wireguard-go over a veth', () => {
  let ns1 = '';
  let ns2 = '';
  let wg1: WgInterface;
  let wg2: WgInterface;
  let key1: KeyPair;
  let key2: KeyPair;
  const psk = generatePresharedKey();
  const port1 = 10_001;
  const port2 = 10_002;

  beforeAll(async () => {
    ns1 = await createNetns('tsg-h1');
    ns2 = await createNetns('tsg-h2');
    // The veth lives in the two namespaces only: its names cannot clash with the host's.
    await ip('-n', ns1, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth2', 'netns', ns2);
    await ip('-n', ns1, 'addr', 'add', '10.99.0.1/24', 'dev', 'veth1');
    await ip('-n', ns2, 'addr', 'add', '10.99.0.2/24', 'dev', 'veth2');
    await ip('-n', ns1, 'link', 'set', 'veth1', 'up');
    await ip('-n', ns2, 'link', 'set', 'veth2', 'up');

    key1 = generateKeyPair();
    key2 = generateKeyPair();
    wg1 = await startWireguardGo(ns1);
    wg2 = await startWireguardGo(ns2);
    // ns1 has no endpoint for its peer: it must learn it from the first handshake.
    await wg1.set({
      privateKey: key1.privateKey,
      listenPort: port1,
      peers: [{ publicKey: key2.publicKey, presharedKey: psk, allowedIPs: ['192.168.241.2/32', 'fd00::2/128'] }],
    });
    await wg2.set({
      privateKey: key2.privateKey,
      listenPort: port2,
      peers: [
        {
          publicKey: key1.publicKey,
          presharedKey: psk,
          endpoint: `10.99.0.1:${port1}`,
          allowedIPs: ['192.168.241.1/32', 'fd00::1/128'],
        },
      ],
    });
    for (const [wg, n] of [[wg1, 1], [wg2, 2]] as const) {
      await wg.addAddress(`192.168.241.${n}/24`);
      await wg.ip('addr', 'add', `fd00::${n}/112`, 'dev', wg.ifname, 'nodad');
      await wg.up();
    }
  });

  afterAll(async () => {
    const names = [ns1, ns2].filter(Boolean);
    const procs = [wg1, wg2].filter(Boolean);
    await Promise.all(procs.map((w) => w.stop()));
    await cleanup.run();
    // Nothing may survive the suite.
    const list = await ip('netns', 'list');
    for (const ns of names) expect(list).not.toContain(ns);
    for (const w of procs) {
      expect(isAlive(w.process.pid)).toBe(false);
      expect(existsSync(w.socketPath)).toBe(false);
      const link = await exec('ip', ['link', 'show', w.ifname], { allowFailure: true });
      expect(link.code).not.toBe(0);
    }
    expect(cleanup.size).toBe(0);
  });

  it('node:crypto keys agree with wg pubkey', async () => {
    expect(await wgPubKey(key1.privateKey)).toBe(key1.publicKey);
    expect(publicKeyOf(key2.privateKey)).toBe(key2.publicKey);
  });

  it('shows the configuration before any traffic', async () => {
    const d1 = await wg1.dump();
    const d2 = await wg2.dump();
    expect(d1.interface).toEqual({ privateKey: key1.privateKey, publicKey: key1.publicKey, listenPort: port1, fwmark: 0 });
    expect(d1.peers).toEqual([
      {
        publicKey: key2.publicKey,
        presharedKey: psk,
        endpoint: null,
        allowedIPs: ['192.168.241.2/32', 'fd00::2/128'],
        latestHandshake: 0,
        rxBytes: 0,
        txBytes: 0,
        persistentKeepalive: 0,
      },
    ]);
    expect(d2.peers[0]).toMatchObject({ endpoint: `10.99.0.1:${port1}`, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
  });

  it('pings through the tunnel; byte counters match the kernel suite (F1 arithmetic)', async () => {
    const before = Math.floor(Date.now() / 1000);
    await execIn(ns2, 'ping', ['-c', '10', '-f', '-W', '1', '192.168.241.1']);
    const d1 = await wg1.dump();
    const d2 = await wg2.dump();
    const p1 = d1.peers[0];
    const p2 = d2.peers[0];
    // The responder learned the initiator's endpoint from the handshake.
    expect(p1.endpoint).toBe(`10.99.0.2:${port2}`);
    expect(p1.latestHandshake).toBeGreaterThanOrEqual(before - 1);
    expect(p2.latestHandshake).toBeGreaterThanOrEqual(before - 1);
    // 148 initiation + 10 × 128 (84-B echo padded to 96 + 32) [+ 32 keepalive]; 92 + 10 × 128 back.
    expect(p2.rxBytes).toBe(1372);
    expect([1428, 1460]).toContain(p2.txBytes);
    expect(p1.txBytes).toBe(1372);
    expect(p1.rxBytes).toBe(p2.txBytes);
  });

  it('pings back over IPv6 inside the tunnel using the learned endpoint', async () => {
    await execIn(ns1, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00::2']);
    const d1 = await waitFor(async () => {
      const d = await wg1.dump();
      return d.peers[0].rxBytes > 1428 ? d : null;
    }, 3000);
    expect(d1.peers[0].endpoint).toBe(`10.99.0.2:${port2}`);
  });

  it('reports a daemon that dies on start, with its stderr, and leaves nothing behind', async () => {
    const err = await startUserspaceWg(ns1, {
      prefix: 'wgx',
      command: ['sh', '-c', 'echo "cannot open tun: boom" >&2; exit 3', 'sh'],
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited \(3\): cannot open tun: boom/);
  });

  it('reconfigures at runtime: a new listen port is learned by the peer', async () => {
    await wg1.set({ listenPort: port1 + 100, peers: [{ publicKey: key2.publicKey, endpoint: `10.99.0.2:${port2}` }] });
    await execIn(ns1, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '192.168.241.2']);
    expect((await wg1.dump()).interface.listenPort).toBe(port1 + 100);
    expect((await wg2.dump()).peers[0].endpoint).toBe(`10.99.0.1:${port1 + 100}`);
  });
});
