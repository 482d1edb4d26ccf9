/**
 * Daemon traffic in the F0 layout (see netns-f0.ts): F1 byte counters, F2 traffic suite,
 * F3 large MTU over IPv4 and IPv6 outer transport, F4 IPv6 outer transport; over
 * tsguard ↔ tsguard and tsguard ↔ wireguard-go in both roles. wireguard-go ↔ wireguard-go
 * runs F1 and F2 as the reference, so the iperf3 TCP figures printed at the end compare the
 * three pairings in the same run on the same machine.
 *
 * Timing is kept short: iperf3 runs of 2 s instead of the suite's 3 s (TSGUARD_IPERF_SECONDS
 * overrides; the figures of 2 s runs are noisy on a busy 2-core machine).
 * Root only; skipping is an error when CI is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, execIn, requireRoot } from '../helpers/netns.js';
import { createF0, daemonLog, floodPings, iperf, IPERF_SECONDS, nproc, pairName, PAIRS, setEndpoints, stopF0, wgShow, type F0, type Impl } from './netns-f0.js';

const root = requireRoot('wg', 'wireguard-go', 'ping', 'iperf3', 'ss');

/** TCP throughput (Mbit/s) per pair, printed after the suite. */
const figures = new Map<string, { tcp4: number; tcp6: number; tcp4par: number }>();

const F2_PAIRS: ReadonlyArray<readonly [Impl, Impl]> = [...PAIRS, ['wireguard-go', 'wireguard-go']];
const mbps = (bps: number) => Math.round(bps / 1e5) / 10;

describe.skipIf(!root)('daemon traffic in netns (F1–F4)', () => {
  afterAll(() => {
    if (figures.size === 0) return;
    const rows = [...figures].map(([pair, f]) => ({ pair, 'TCP v4 Mbit/s': f.tcp4, 'TCP v6 Mbit/s': f.tcp6, 'TCP v4 ×CPU Mbit/s': f.tcp4par }));
    console.log(`iperf3 TCP throughput through the tunnel (${IPERF_SECONDS} s runs, receiver side, same machine, same run):`);
    console.table(rows);
  });

  for (const pair of F2_PAIRS) {
    const reference = pair[0] === 'wireguard-go' && pair[1] === 'wireguard-go';
    describe(pairName(pair), () => {
      const reg = new Cleanup();
      let t: F0 | undefined;
      const cpus = { n: 1 };

      beforeAll(async () => {
        cpus.n = await nproc();
        t = await createF0(reg, pair[0], pair[1]);
      });

      afterAll(async () => {
        try {
          await stopF0(t);
        } finally {
          await reg.run();
        }
      });

      it('F1 exact transfer counters and handshake times after 10 flood pings', async () => {
        const { s1, s2, ns2 } = t!;
        // Before any endpoint: nothing may have been sent (F1 "setting an endpoint sends nothing" too).
        await setEndpoints(t!, '127.0.0.1');
        expect(await wgShow(s2, 'transfer')).toBe(`${s1.key.publicKey}\t0\t0`);
        expect(await wgShow(s1, 'transfer')).toBe(`${s2.key.publicKey}\t0\t0`);
        await execIn(ns2, 'ping', ['-c', '10', '-f', '-W', '1', s1.v4]);
        const tx2 = (await s2.wg.dump()).peers[0].txBytes;
        expect([1428, 1460]).toContain(tx2);
        expect(await wgShow(s2, 'transfer')).toBe(`${s1.key.publicKey}\t1372\t${tx2}`);
        expect(await wgShow(s1, 'transfer')).toBe(`${s2.key.publicKey}\t${tx2}\t1372`);
        for (const [me, other] of [[s1, s2], [s2, s1]] as const) {
          const [pub, when] = (await wgShow(me, 'latest-handshakes')).split('\t');
          expect(pub).toBe(other.key.publicKey);
          expect(Number(when)).toBeGreaterThan(0);
          expect(Math.abs(Number(when) - Date.now() / 1000)).toBeLessThan(30);
        }
      });

      it('F2 flood pings v4/v6 both ways; iperf3 TCP v4/v6, UDP v4/v6 (-b 0), parallel TCP', async () => {
        const { s1, s2 } = t!;
        await setEndpoints(t!, '127.0.0.1'); // as F1 left them; lets F2 run alone (-t F2)
        await floodPings(t!);
        const tcp4 = await iperf(reg, s2, s1, 4, []);
        const tcp6 = await iperf(reg, s1, s2, 6, []);
        await iperf(reg, s1, s2, 4, ['-u', '-b', '0']);
        await iperf(reg, s2, s1, 6, ['-u', '-b', '0']);
        const par = await iperf(reg, s2, s1, 4, ['-P', String(cpus.n)]);
        for (const r of [tcp4, tcp6, par]) expect(r.bitsPerSecond).toBeGreaterThan(0);
        figures.set(pairName(pair), { tcp4: mbps(tcp4.bitsPerSecond), tcp6: mbps(tcp6.bitsPerSecond), tcp4par: mbps(par.bitsPerSecond) });
        // The tunnel still works after the UDP floods.
        await execIn(s1.ns, 'ping', ['-c', '1', '-W', '2', s2.v4]);
      });

      if (reference) return;

      for (const outer of ['127.0.0.1', '[::1]'] as const) {
        it(`F3 MTU 34,736 with ${outer === '[::1]' ? 'IPv6' : 'IPv4'} outer transport: pings, 34 KB pings, iperf3 TCP`, async () => {
          const { s1, s2 } = t!;
          await setEndpoints(t!, outer);
          for (const s of [s1, s2]) await execIn(s.ns, 'ip', ['link', 'set', s.ifname, 'mtu', '34736']);
          try {
            await floodPings(t!);
            // Whole 34.7 KB packets through the TUN (IPv4 34,000 + 28; IPv6 34,000 + 48).
            await floodPings(t!, ['-s', '34000', '-M', 'do']);
            await iperf(reg, s2, s1, 4, []);
          } finally {
            for (const s of [s1, s2]) await execIn(s.ns, 'ip', ['link', 'set', s.ifname, 'mtu', '1420']);
          }
        });
      }

      it('F4 IPv6 outer transport ([::1]:port): pings, iperf3 TCP v4/v6, endpoints as set', async () => {
        const { s1, s2 } = t!;
        await setEndpoints(t!, '[::1]');
        await floodPings(t!);
        await iperf(reg, s2, s1, 4, []);
        await iperf(reg, s1, s2, 6, ['-u', '-b', '0']);
        expect(await wgShow(s1, 'endpoints')).toBe(`${s2.key.publicKey}\t[::1]:2`);
        expect(await wgShow(s2, 'endpoints')).toBe(`${s1.key.publicKey}\t[::1]:1`);
      });

      it('both daemons survived the run and exit 0 on SIGTERM', async () => {
        for (const s of [t!.s1, t!.s2]) {
          expect(s.wg.process.exited, `${s.impl} ${s.ifname} died:\n${daemonLog(s.wg)}`).toBe(false);
        }
        const st = await Promise.all([t!.s1.wg.stop(), t!.s2.wg.stop()]);
        expect(st).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
      });
    });
  }
});
