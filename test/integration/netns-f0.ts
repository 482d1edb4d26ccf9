/**
 * The F0 three-namespace layout (conformance.md §F0) for the daemon netns suites
 * (netns-traffic, netns-roaming, netns-keys), with either implementation on either side.
 *
 *   const t = await createF0(reg, 'tsguard', 'wireguard-go');
 *   await t.s1.wg.set(...);                // `wg` talks to the UAPI socket (shared directory)
 *   await execIn(t.s1.ns, 'ping', [...]);  // the tunnel addresses live in ns1 / ns2
 *
 * ns0 holds only `lo`. Both daemons are started inside ns0 and their interfaces are then
 * moved with `ip -n ns0 link set IF netns nsX`, so the UDP sockets stay in ns0 and talk over
 * 127.0.0.1 / ::1, exactly like the kernel suite's interfaces. Base configuration: side n has
 * key n, listen port n, 192.168.241.n/24 and fd00::n/112 and peers with the other side
 * (one PSK, allowed IPs 192.168.241.m/32 and fd00::m/128); both links up; no endpoints.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeyPair, generatePresharedKey, type KeyPair } from '../helpers/keys.js';
import { createNetns, exec, execIn, ip, spawnIn, waitFor, type Cleanup } from '../helpers/netns.js';
import { startUserspaceWg, type WgInterface } from '../helpers/wireguard-go.js';

export type Impl = 'tsguard' | 'wireguard-go';

export const TSGUARD = resolve(import.meta.dirname, '../../bin/tsguard');

/** The peer pairs each scenario runs over: [ns1 side, ns2 side]. */
export const PAIRS: ReadonlyArray<readonly [Impl, Impl]> = [
  ['tsguard', 'tsguard'],
  ['tsguard', 'wireguard-go'],
  ['wireguard-go', 'tsguard'],
];

export const pairName = ([a, b]: readonly [Impl, Impl]): string => `${a} ↔ ${b}`;

export interface F0Side {
  impl: Impl;
  /** 1 or 2. */
  n: 1 | 2;
  /** Namespace holding the interface (ns1 or ns2); the daemon and its UDP sockets are in ns0. */
  ns: string;
  wg: WgInterface;
  ifname: string;
  key: KeyPair;
  /** Tunnel addresses without prefix length. */
  v4: string;
  v6: string;
}

export interface F0 {
  ns0: string;
  ns1: string;
  ns2: string;
  s1: F0Side;
  s2: F0Side;
  psk: string;
}

/**
 * Start `impl` inside `ns` with a unique name (`tsga` / `wgoa` + 6 random characters).
 * tsguard logs (at LOG_LEVEL, default error) to stdout and to a file; a startup failure
 * quotes that file, since the helper only quotes stderr.
 */
export async function startDaemon(reg: Cleanup, ns: string, impl: Impl): Promise<WgInterface> {
  if (impl === 'wireguard-go') return startUserspaceWg(ns, { prefix: 'wgoa', command: ['wireguard-go', '-f'], registry: reg });
  const dir = mkdtempSync(join(tmpdir(), 'tsga-log-'));
  reg.path(dir);
  const logFile = join(dir, 'tsguard.log');
  try {
    const wg = await startUserspaceWg(ns, { prefix: 'tsga', command: [TSGUARD, '-f'], registry: reg, env: { TSGUARD_LOG_FILE: logFile } });
    logFiles.set(wg, logFile);
    return wg;
  } catch (err) {
    (err as Error).message += `\n${readLog(logFile)}`;
    throw err;
  }
}

const logFiles = new WeakMap<WgInterface, string>();

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

/** tsguard's log so far ('' for wireguard-go), for failure messages. */
export function daemonLog(wg: WgInterface): string {
  const file = logFiles.get(wg);
  return file ? readLog(file) : '';
}

/** Build the F0 layout with `impl1` in ns1 and `impl2` in ns2 (base configuration, links up). */
export async function createF0(reg: Cleanup, impl1: Impl, impl2: Impl): Promise<F0> {
  const ns0 = await createNetns('tsg-n0', reg);
  const ns1 = await createNetns('tsg-n1', reg);
  const ns2 = await createNetns('tsg-n2', reg);
  const psk = generatePresharedKey();
  const sides: F0Side[] = [];
  for (const [n, impl, ns] of [[1, impl1, ns1], [2, impl2, ns2]] as const) {
    const wg = await startDaemon(reg, ns0, impl);
    // Registered so a failure before the daemon stops still removes the moved link.
    reg.link(wg.ifname, ns);
    await ip('-n', ns0, 'link', 'set', wg.ifname, 'netns', ns);
    sides.push({ impl, n, ns, wg, ifname: wg.ifname, key: generateKeyPair(), v4: `192.168.241.${n}`, v6: `fd00::${n}` });
  }
  const [s1, s2] = sides;
  for (const [me, other] of [[s1, s2], [s2, s1]] as const) {
    await me.wg.set({
      privateKey: me.key.privateKey,
      listenPort: me.n,
      peers: [{ publicKey: other.key.publicKey, presharedKey: psk, allowedIPs: [`${other.v4}/32`, `${other.v6}/128`] }],
    });
    await ip('-n', me.ns, 'addr', 'add', `${me.v4}/24`, 'dev', me.ifname);
    await ip('-n', me.ns, 'addr', 'add', `${me.v6}/112`, 'dev', me.ifname, 'nodad');
    await ip('-n', me.ns, 'link', 'set', me.ifname, 'up');
  }
  return { ns0, ns1, ns2, s1, s2, psk };
}

/** Stop both daemons (SIGTERM) so their exit is observed; the registry does the rest. */
export async function stopF0(t: F0 | undefined): Promise<void> {
  if (!t) return;
  await Promise.all([t.s1.wg.stop(), t.s2.wg.stop()]);
}

/** Set each side's endpoint to the other's listen port on `host` (`127.0.0.1` or `[::1]`). */
export async function setEndpoints(t: F0, host: string): Promise<void> {
  await t.s1.wg.set({ peers: [{ publicKey: t.s2.key.publicKey, endpoint: `${host}:${t.s2.n}` }] });
  await t.s2.wg.set({ peers: [{ publicKey: t.s1.key.publicKey, endpoint: `${host}:${t.s1.n}` }] });
}

/** `wg show IF SUBCOMMAND` output without the trailing newline. */
export async function wgShow(side: F0Side, what: string): Promise<string> {
  return (await side.wg.wg('show', side.ifname, what)).replace(/\n$/, '');
}

/** Flood pings (`ping -c 10 -f -W 1`) v4 and v6 in both directions; throws if one fails. */
export async function floodPings(t: F0, extra: string[] = []): Promise<void> {
  for (const [from, to] of [[t.s2, t.s1], [t.s1, t.s2]] as const) {
    await execIn(from.ns, 'ping', ['-c', '10', '-f', '-W', '1', ...extra, to.v4]);
    await execIn(from.ns, 'ping', ['-6', '-c', '10', '-f', '-W', '1', ...extra, to.v6]);
  }
}

export interface IperfRun {
  /** Receiver-side throughput, bits per second. */
  bitsPerSecond: number;
}

let iperfPort = 5201;

/** Length of each iperf3 run: 2 s keeps the suite short; TSGUARD_IPERF_SECONDS for steadier figures. */
export const IPERF_SECONDS = Number(process.env.TSGUARD_IPERF_SECONDS) || 2;

/**
 * One iperf3 run (server `-s -1 -B addr` in `server.ns`, client in `client.ns`, `-Z -t secs`)
 * plus `args` (e.g. `-u -b 0`, `-P 2`). Throws if either side exits non-zero.
 */
export async function iperf(
  reg: Cleanup,
  server: F0Side,
  client: F0Side,
  family: 4 | 6,
  args: string[],
  seconds = IPERF_SECONDS,
): Promise<IperfRun> {
  const port = String(iperfPort++);
  const addr = family === 4 ? server.v4 : server.v6;
  const srv = spawnIn(server.ns, 'iperf3', ['-s', '-1', '-B', addr, '-p', port], { registry: reg });
  await waitFor(async () => {
    if (srv.exited) throw new Error(`iperf3 server exited: ${srv.stderr()}`);
    return (await execIn(server.ns, 'ss', ['-Htln', `sport = :${port}`])).includes(`:${port}`);
  }, 5000);
  const out = await execIn(client.ns, 'iperf3', ['-Z', '-J', '-t', String(seconds), '-p', port, '-c', addr, ...args], {
    timeoutMs: (seconds + 15) * 1000,
  });
  const st = await Promise.race([srv.exit, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
  if (st === null) {
    await srv.stop(500);
    throw new Error('iperf3 server did not exit after the run');
  }
  if (st.code !== 0) throw new Error(`iperf3 server exited with ${st.code ?? st.signal}: ${srv.stderr()}`);
  const json = JSON.parse(out) as {
    end: { sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number } };
  };
  const bps = json.end.sum_received?.bits_per_second ?? json.end.sum?.bits_per_second ?? NaN;
  return { bitsPerSecond: bps };
}

/** CPUs, for one parallel TCP stream each (the kernel suite's `-P $(nproc)`). */
export async function nproc(): Promise<number> {
  return Number((await exec('nproc', [])).stdout.trim()) || 1;
}
