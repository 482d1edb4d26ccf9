/**
 * Daemon roaming and the cryptokey source filter in the F0 layout (see netns-f0.ts):
 * F5 (listen-port and source-address changes, IPv4 then IPv6 outer; exact `wg show IF
 * endpoints`) and F6 (a packet whose inner source belongs to another peer is dropped, yet its
 * outer source is learned); over tsguard ↔ tsguard and tsguard ↔ wireguard-go in both roles.
 * Root only; skipping is an error when CI is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../helpers/keys.js';
import { Cleanup, execIn, ip, requireRoot, spawnIn, waitFor, type ProcessHandle } from '../helpers/netns.js';
import { createF0, daemonLog, pairName, PAIRS, setEndpoints, stopF0, wgShow, type F0 } from './netns-f0.js';

const root = requireRoot('wg', 'wireguard-go', 'ping', 'ncat', 'ss');

/** `ncat -l -u -p 1111` in `ns`, once it is bound. */
async function udpListener(reg: Cleanup, ns: string): Promise<ProcessHandle> {
  const p = spawnIn(ns, 'ncat', ['-l', '-u', '-p', '1111'], { registry: reg });
  await waitFor(async () => {
    if (p.exited) throw new Error(`ncat exited: ${p.stderr()}`);
    return (await execIn(ns, 'ss', ['-Huln', 'sport = :1111'])).includes(':1111');
  }, 5000);
  return p;
}

/** Whether the listener printed "X" within `ms`. */
async function receivedX(p: ProcessHandle, ms: number): Promise<boolean> {
  return waitFor(() => p.stdout().includes('X'), ms).then(
    () => true,
    () => false,
  );
}

describe.skipIf(!root)('daemon roaming in netns (F5, F6)', () => {
  for (const pair of PAIRS) {
    describe(pairName(pair), () => {
      const reg = new Cleanup();
      let t: F0 | undefined;
      const fail = (what: string) => `${what}\nns1 log:\n${daemonLog(t!.s1.wg)}\nns2 log:\n${daemonLog(t!.s2.wg)}`;

      beforeAll(async () => {
        t = await createF0(reg, pair[0], pair[1]);
      });

      afterAll(async () => {
        try {
          await stopF0(t);
        } finally {
          await reg.run();
        }
      });

      it('F5 roaming: new source address and listen port (IPv4), then IPv6 outer and another port', async () => {
        const { ns0, ns1, s1, s2 } = t!;
        await setEndpoints(t!, '127.0.0.1');
        await execIn(ns1, 'ping', ['-c', '1', '-W', '2', s2.v4]);
        expect(await wgShow(s2, 'endpoints')).toBe(`${s1.key.publicKey}\t127.0.0.1:1`);

        await ip('-n', ns0, 'addr', 'del', '127.0.0.1/8', 'dev', 'lo');
        await ip('-n', ns0, 'addr', 'add', '127.212.121.99/8', 'dev', 'lo');
        await s1.wg.set({ listenPort: 9999, peers: [{ publicKey: s2.key.publicKey, endpoint: '127.0.0.1:2' }] });
        await execIn(ns1, 'ping', ['-6', '-c', '1', '-W', '1', s2.v6]);
        expect(await wgShow(s2, 'endpoints'), fail('after the v4 roam')).toBe(`${s1.key.publicKey}\t127.212.121.99:9999`);
        expect(await wgShow(s1, 'listen-port')).toBe('9999');

        await s1.wg.set({ listenPort: 9998, peers: [{ publicKey: s2.key.publicKey, endpoint: '[::1]:2' }] });
        await execIn(ns1, 'ping', ['-c', '1', '-W', '1', s2.v4]);
        expect(await wgShow(s2, 'endpoints'), fail('after the v6 roam')).toBe(`${s1.key.publicKey}\t[::1]:9998`);
        expect(await wgShow(s1, 'endpoints')).toBe(`${s2.key.publicKey}\t[::1]:2`);
        // And back the other way over the learned endpoint.
        await execIn(t!.ns2, 'ping', ['-c', '1', '-W', '1', s1.v4]);
      });
    });
  }

  for (const pair of PAIRS) {
    describe(pairName(pair), () => {
      const reg = new Cleanup();
      let t: F0 | undefined;
      const fail = (what: string) => `${what}\nns1 log:\n${daemonLog(t!.s1.wg)}\nns2 log:\n${daemonLog(t!.s2.wg)}`;

      beforeAll(async () => {
        t = await createF0(reg, pair[0], pair[1]);
        await setEndpoints(t, '[::1]');
      });

      afterAll(async () => {
        try {
          await stopF0(t);
        } finally {
          await reg.run();
        }
      });

      it('F6 cryptokey source filter: dropped by allowed IPs, endpoint still learned', async () => {
        const { ns1, ns2, s1, s2 } = t!;
        await s1.wg.set({ peers: [{ publicKey: s2.key.publicKey, allowedIPs: ['192.168.241.0/24'] }] });
        let nc = await udpListener(reg, ns1);
        await execIn(ns2, 'ncat', ['-u', s1.v4, '1111'], { input: 'X\n', timeoutMs: 5000 });
        expect(await receivedX(nc, 2000), fail('the allowed datagram did not arrive')).toBe(true);
        await nc.stop();

        const moreSpecific = generateKeyPair().publicKey;
        await s1.wg.set({ peers: [{ publicKey: moreSpecific, allowedIPs: ['192.168.241.2/32'] }] });
        await s2.wg.set({ listenPort: 9997 });
        nc = await udpListener(reg, ns1);
        await execIn(ns2, 'ncat', ['-u', s1.v4, '1111'], { input: 'X\n', timeoutMs: 5000 });
        expect(await receivedX(nc, 1000), 'a datagram from a source owned by another peer arrived').toBe(false);
        await nc.stop();

        await s1.wg.set({ peers: [{ publicKey: moreSpecific, remove: true }] });
        expect(await wgShow(s1, 'endpoints'), fail('endpoint not learned from the dropped packet')).toBe(
          `${s2.key.publicKey}\t[::1]:9997`,
        );
        expect(await wgShow(s1, 'allowed-ips')).toBe(`${s2.key.publicKey}\t192.168.241.0/24`);
      });
    });
  }
});
