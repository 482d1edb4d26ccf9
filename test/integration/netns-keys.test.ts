/**
 * Daemon keys and configuration in the F0 layout (see netns-f0.ts): F7 (a private key change
 * followed at once by a working handshake) and what `wg show` / `wg showconf` report on both
 * sides compared with what was configured, with IPv4 and IPv6 inside and outside the tunnel;
 * over tsguard ↔ tsguard and tsguard ↔ wireguard-go in both roles.
 * Root only; skipping is an error when CI is set.
 */
import { afterAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../helpers/keys.js';
import { Cleanup, execIn, execInResult, requireRoot, waitFor } from '../helpers/netns.js';
import { createF0, daemonLog, pairName, PAIRS, stopF0, wgShow, type F0, type F0Side } from './netns-f0.js';

const root = requireRoot('wg', 'wireguard-go', 'ping');

interface Expected {
  listenPort: number;
  fwmark: number;
  privateKey: string;
  peer: { publicKey: string; presharedKey: string; allowedIPs: string[]; endpoint: string | null; keepalive: number };
}

/** `wg showconf` text as wireguard-tools prints it for one peer. */
function showconf(e: Expected): string {
  const lines = ['[Interface]', `ListenPort = ${e.listenPort}`];
  if (e.fwmark) lines.push(`FwMark = 0x${e.fwmark.toString(16)}`);
  lines.push(`PrivateKey = ${e.privateKey}`, '', '[Peer]', `PublicKey = ${e.peer.publicKey}`, `PresharedKey = ${e.peer.presharedKey}`);
  lines.push(`AllowedIPs = ${e.peer.allowedIPs.join(', ')}`);
  if (e.peer.endpoint) lines.push(`Endpoint = ${e.peer.endpoint}`);
  if (e.peer.keepalive) lines.push(`PersistentKeepalive = ${e.peer.keepalive}`);
  return `${lines.join('\n')}\n`;
}

async function expectConfig(side: F0Side, e: Expected, why: string): Promise<void> {
  expect(await side.wg.wg('showconf', side.ifname), `${why}\n${daemonLog(side.wg)}`).toBe(showconf(e));
  expect(await wgShow(side, 'public-key')).toBe(side.key.publicKey);
  expect(await wgShow(side, 'private-key')).toBe(e.privateKey);
  expect(await wgShow(side, 'listen-port')).toBe(String(e.listenPort));
  expect(await wgShow(side, 'fwmark')).toBe(e.fwmark ? `0x${e.fwmark.toString(16)}` : 'off');
  expect(await wgShow(side, 'peers')).toBe(e.peer.publicKey);
  expect(await wgShow(side, 'preshared-keys')).toBe(`${e.peer.publicKey}\t${e.peer.presharedKey}`);
  expect(await wgShow(side, 'allowed-ips')).toBe(`${e.peer.publicKey}\t${e.peer.allowedIPs.join(' ')}`);
  expect(await wgShow(side, 'endpoints')).toBe(`${e.peer.publicKey}\t${e.peer.endpoint ?? '(none)'}`);
  expect(await wgShow(side, 'persistent-keepalive')).toBe(`${e.peer.publicKey}\t${e.peer.keepalive || 'off'}`);
}

/** One ping each way, IPv4 and IPv6 inside the tunnel, `from` first. */
async function pingBoth(from: F0Side, to: F0Side): Promise<void> {
  await execIn(from.ns, 'ping', ['-c', '1', '-W', '2', to.v4]);
  await execIn(from.ns, 'ping', ['-6', '-c', '1', '-W', '2', to.v6]);
  await execIn(to.ns, 'ping', ['-c', '1', '-W', '2', from.v4]);
  await execIn(to.ns, 'ping', ['-6', '-c', '1', '-W', '2', from.v6]);
}

describe.skipIf(!root)('daemon keys and configuration in netns (F7, wg show/showconf)', () => {
  for (const pair of PAIRS) {
    describe(pairName(pair), () => {
      const reg = new Cleanup();
      let t: F0 | undefined;

      beforeEach(async () => {
        t = await createF0(reg, pair[0], pair[1]);
      });

      afterEach(async () => {
        try {
          await stopF0(t);
        } finally {
          t = undefined;
          await reg.run();
        }
      });

      it('wg show / showconf report what was configured; v4 and v6 inside and outside the tunnel', async () => {
        const { s1, s2, psk } = t!;
        const e1: Expected = {
          listenPort: 1,
          fwmark: 0x1234,
          privateKey: s1.key.privateKey,
          peer: { publicKey: s2.key.publicKey, presharedKey: psk, allowedIPs: ['192.168.241.2/32', 'fd00::2/128'], endpoint: '127.0.0.1:2', keepalive: 25 },
        };
        const e2: Expected = {
          listenPort: 2,
          fwmark: 0,
          privateKey: s2.key.privateKey,
          peer: { publicKey: s1.key.publicKey, presharedKey: psk, allowedIPs: ['192.168.241.1/32', 'fd00::1/128'], endpoint: null, keepalive: 0 },
        };
        await s1.wg.set({ fwmark: e1.fwmark });
        await expectConfig(s1, { ...e1, peer: { ...e1.peer, endpoint: null, keepalive: 0 } }, 'ns1 before traffic');
        await expectConfig(s2, e2, 'ns2 before traffic');
        // Persistent keepalive set on a running interface sends one at once (handshake first):
        // ns2 learns ns1's IPv4 source from it.
        await s1.wg.set({ peers: [{ publicKey: s2.key.publicKey, endpoint: '127.0.0.1:2', persistentKeepalive: 25 }] });
        e2.peer.endpoint = '127.0.0.1:1';
        await waitFor(async () => (await wgShow(s2, 'endpoints')) === `${s1.key.publicKey}\t127.0.0.1:1`, 3000);
        await expectConfig(s1, e1, 'ns1 after setting endpoint and keepalive');
        await expectConfig(s2, e2, 'ns2 after the first keepalive');

        // IPv4 outside.
        await pingBoth(s1, s2);
        await expectConfig(s1, e1, 'ns1 after IPv4-outer traffic');
        await expectConfig(s2, e2, 'ns2 after IPv4-outer traffic');

        // IPv6 outside: ns2 now sends to [::1]:1 and ns1 learns [::1]:2.
        await s2.wg.set({ peers: [{ publicKey: s1.key.publicKey, endpoint: '[::1]:1' }] });
        await pingBoth(s2, s1);
        e1.peer.endpoint = '[::1]:2';
        e2.peer.endpoint = '[::1]:1';
        await expectConfig(s1, e1, 'ns1 after IPv6-outer traffic');
        await expectConfig(s2, e2, 'ns2 after IPv6-outer traffic');

        // Keepalive off and fwmark off read back as such; a rewritten allowed-ips list too.
        await s1.wg.set({ fwmark: 0, peers: [{ publicKey: s2.key.publicKey, persistentKeepalive: 0, allowedIPs: ['fd00::2/128', '192.168.241.2/32'] }] });
        Object.assign(e1, { fwmark: 0 });
        e1.peer.keepalive = 0;
        e1.peer.allowedIPs = ['fd00::2/128', '192.168.241.2/32'];
        await expectConfig(s1, e1, 'ns1 after turning keepalive and fwmark off');
        await pingBoth(s1, s2);

        for (const [me, other] of [[s1, s2], [s2, s1]] as const) {
          const d = await me.wg.dump();
          expect(d.peers[0].publicKey).toBe(other.key.publicKey);
          expect(d.peers[0].latestHandshake).toBeGreaterThan(0);
          expect(d.peers[0].rxBytes).toBeGreaterThan(0);
          expect(d.peers[0].txBytes).toBeGreaterThan(0);
        }
      });

      it('F7 private key change followed at once by a working handshake', async () => {
        const { ns1, s1, s2, psk } = t!;
        await s1.wg.set({ peers: [{ publicKey: s2.key.publicKey, endpoint: '127.0.0.1:2' }] });
        await execIn(ns1, 'ping', ['-c', '1', '-W', '1', s2.v4]);

        const key3 = generateKeyPair();
        await s1.wg.set({ privateKey: key3.privateKey });
        expect(await wgShow(s1, 'public-key')).toBe(key3.publicKey);
        // One `wg set`: add pub3 (taking 192.168.241.1/32 over) and remove pub1.
        await s2.wg.set({
          peers: [
            { publicKey: key3.publicKey, presharedKey: psk, allowedIPs: ['192.168.241.1/32'] },
            { publicKey: s1.key.publicKey, remove: true },
          ],
        });
        const r = await execInResult(ns1, 'ping', ['-c', '1', '-W', '1', s2.v4], { allowFailure: true });
        expect(r.code, `${r.stdout}\nns1 log:\n${daemonLog(s1.wg)}\nns2 log:\n${daemonLog(s2.wg)}`).toBe(0);
        expect(await wgShow(s2, 'peers')).toBe(key3.publicKey);
        expect(await wgShow(s2, 'endpoints')).toBe(`${key3.publicKey}\t127.0.0.1:1`);
        const [, when] = (await wgShow(s2, 'latest-handshakes')).split('\t');
        expect(Number(when)).toBeGreaterThan(0);
      });
    });
  }
});
