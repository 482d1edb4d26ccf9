/**
 * Robustness of the tsguard daemon in network namespaces:
 *   F20 namespace teardown (tsguard started in ns0, its interface moved to ns1, ns1 deleted);
 *   G1/G12 a flood of random UDP datagrams (0..65,507 B) at the listen port while a ping
 *   through the tunnel keeps working and `wg show` answers within 1 s (G14 style);
 *   G9 UAPI stress: thousands of connections with random bytes, cut requests, abrupt closes,
 *   half-closes, plus 100 idle connections (daemon-lifecycle.test.ts covers single malformed
 *   requests); open fds and RSS stay bounded.
 * Needs root, ip, wg, ping, node.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../helpers/keys.js';
import { Cleanup, createNetns, execInResult, ip, isAlive, requireRoot, spawnIn, waitFor } from '../helpers/netns.js';
import { startUserspaceWg, type WgInterface } from '../helpers/wireguard-go.js';

const root = requireRoot('wg', 'ping');
const TSGUARD = [resolve('bin/tsguard'), '-f'];
const reg = new Cleanup();

/** VmRSS of a process in MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** `wg show IF` timed; throws if it fails. */
async function timedShow(wg: WgInterface): Promise<number> {
  const t0 = Date.now();
  const r = await execInResult(wg.ns, 'wg', ['show', wg.ifname], { timeoutMs: 10_000 });
  expect(r.stdout).toContain(`interface: ${wg.ifname}`);
  return Date.now() - t0;
}

/**
 * Sends random datagrams to host:port for `ms` milliseconds: fully random bytes of random
 * size up to 65,507, initiation-sized junk with type 1, and transport-looking junk (type 4,
 * random receiver index). Prints the number sent.
 */
const FLOODER = `
import { createSocket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
const [host, port, ms] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('error', () => {});
const pool = randomBytes(1 << 17);
const end = Date.now() + ms;
let sent = 0;
function datagram(i) {
  const kind = i % 4;
  const len = kind === 0 ? randomInt(0, 65508) : kind === 1 ? 148 : kind === 2 ? randomInt(32, 1500) : randomInt(0, 200);
  const off = randomInt(0, pool.length - len);
  const b = Buffer.from(pool.subarray(off, off + len));
  if (kind === 1 && len > 0) b.writeUInt32LE(1, 0);
  if (kind === 2) b.writeUInt32LE(4, 0);
  return b;
}
function burst() {
  if (Date.now() >= end) {
    console.log(String(sent));
    s.close();
    return;
  }
  // Bounded: about 8,000 datagrams/s (~65 MB/s), whatever else the machine runs.
  let pending = 32;
  for (let i = 0; i < 32; i++) {
    s.send(datagram(sent + i), port, host, () => {
      if (--pending === 0) setTimeout(burst, 4);
    });
  }
  sent += 32;
}
burst();
`;

/** tsguard in ns1 and ns2 over a veth (10.99.0.1 ↔ .2), tunnel 192.168.241.1 ↔ .2, handshake done. */
async function tunnelPair(): Promise<{ ns1: string; ns2: string; wg1: WgInterface; wg2: WgInterface }> {
  const ns1 = await createNetns('tsgr1', reg);
  const ns2 = await createNetns('tsgr2', reg);
  await ip('-n', ns1, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth2', 'netns', ns2);
  await ip('-n', ns1, 'addr', 'add', '10.99.0.1/24', 'dev', 'veth1');
  await ip('-n', ns2, 'addr', 'add', '10.99.0.2/24', 'dev', 'veth2');
  await ip('-n', ns1, 'link', 'set', 'veth1', 'up');
  await ip('-n', ns2, 'link', 'set', 'veth2', 'up');
  const key1 = generateKeyPair();
  const key2 = generateKeyPair();
  const wg1 = await startUserspaceWg(ns1, { command: TSGUARD, prefix: 'tsgrob', registry: reg });
  const wg2 = await startUserspaceWg(ns2, { command: TSGUARD, prefix: 'tsgrob', registry: reg });
  await wg1.set({ privateKey: key1.privateKey, listenPort: 1, peers: [{ publicKey: key2.publicKey, allowedIPs: ['192.168.241.2/32'] }] });
  await wg2.set({
    privateKey: key2.privateKey,
    listenPort: 2,
    peers: [{ publicKey: key1.publicKey, endpoint: '10.99.0.1:1', allowedIPs: ['192.168.241.1/32'] }],
  });
  await wg1.addAddress('192.168.241.1/24');
  await wg2.addAddress('192.168.241.2/24');
  await wg1.up();
  await wg2.up();
  // Until the veth carrier is up packets are dropped: retry the first ping.
  await waitFor(async () => (await execInResult(ns2, 'ping', ['-c', '1', '-W', '1', '192.168.241.1'], { allowFailure: true })).code === 0, 10_000, 100);
  return { ns1, ns2, wg1, wg2 };
}

/** Any PID inside `ns` (null if none). */
async function netnsPid(ns: string): Promise<number | null> {
  const r = await ip('netns', 'pids', ns).catch(() => '');
  const pid = Number(r.split(/\s+/).find(Boolean));
  return pid > 0 ? pid : null;
}

describe.skipIf(!root)('tsguard daemon robustness', () => {
  afterEach(async () => {
    await reg.run();
  });

  it('F20: deleting the namespace that holds the interface → exit 0 within 2 s, socket gone', async () => {
    const ns0 = await createNetns('tsgr0', reg);
    const ns1 = await createNetns('tsgr1', reg);
    const wg = await startUserspaceWg(ns0, { command: TSGUARD, prefix: 'tsgrob', registry: reg, env: { LOG_LEVEL: 'debug' } });
    const key = generateKeyPair();
    await wg.set({ privateKey: key.privateKey, listenPort: 1, peers: [{ publicKey: generateKeyPair().publicKey, endpoint: '127.0.0.1:2', allowedIPs: ['192.168.241.2/32'] }] });
    // F0: the UDP sockets stay in ns0, the interface goes to ns1.
    await ip('-n', ns0, 'link', 'set', wg.ifname, 'netns', ns1);
    await ip('-n', ns1, 'addr', 'add', '192.168.241.1/24', 'dev', wg.ifname);
    await ip('-n', ns1, 'link', 'set', wg.ifname, 'up');
    // Still serving after the move.
    await new Promise((r) => setTimeout(r, 300));
    expect(wg.process.exited, wg.process.stdout()).toBe(false);
    expect(await execInResult(ns0, 'wg', ['show', wg.ifname, 'listen-port'])).toMatchObject({ stdout: '1\n' });

    const t0 = Date.now();
    await ip('netns', 'del', ns1);
    const status = await Promise.race([wg.process.exit, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
    expect(status, `after ${Date.now() - t0} ms:\n${wg.process.stdout()}${wg.process.stderr()}`).toEqual({ code: 0, signal: null });
    expect(readdirSync('/var/run/wireguard')).not.toContain(`${wg.ifname}.sock`);
    expect(isAlive(wg.process.pid)).toBe(false);
    expect(await netnsPid(ns0)).toBeNull();
  });

  it('G1/G12/G14: random UDP at the listen port; the tunnel, wg show and memory stay fine', async () => {
    const { ns1, ns2, wg1, wg2 } = await tunnelPair();
    const pid = wg1.process.pid;
    const rss0 = rssMiB(pid);
    const dir = mkdtempSync(join(tmpdir(), 'tsgflood-'));
    reg.path(dir);
    const script = join(dir, 'flood.mjs');
    writeFileSync(script, FLOODER);
    const hs0 = (await wg1.dump()).peers[0].latestHandshake;

    const floodMs = 4000;
    const flood = spawnIn(ns2, process.execPath, [script, '10.99.0.1', '1', String(floodMs)], { registry: reg });
    const ping = execInResult(ns1, 'ping', ['-q', '-c', '100', '-i', '0.03', '-W', '1', '192.168.241.2'], { allowFailure: true, timeoutMs: 20_000 });
    const showTimes: number[] = [];
    while (!flood.exited) {
      showTimes.push(await timedShow(wg1));
      await new Promise((r) => setTimeout(r, 300));
    }
    const pinged = await ping;
    const floodStatus = await flood.exit;
    expect(floodStatus.code, flood.stderr()).toBe(0);
    const sent = Number(flood.stdout().trim());

    const m = /(\d+) packets transmitted, (\d+) received/.exec(pinged.stdout);
    expect(m, pinged.stdout).not.toBeNull();
    const [tx, rx] = [Number(m![1]), Number(m![2])];
    expect(sent, 'datagrams flooded').toBeGreaterThan(1000);
    const udp = (await execInResult(ns1, 'cat', ['/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:')).join('\n');
    expect(rx / tx, `ping during a flood of ${sent} datagrams: ${pinged.stdout}\n${udp}`).toBeGreaterThanOrEqual(0.95);
    expect(showTimes.length).toBeGreaterThan(3);
    expect(Math.max(...showTimes), `wg show times ${showTimes.join(',')}`).toBeLessThan(1000);

    expect(wg1.process.exited, wg1.process.stderr()).toBe(false);
    // Garbage changed no state: same peer, same session, no learned endpoint from the flooder.
    const d = await wg1.dump();
    expect(d.peers).toHaveLength(1);
    expect(d.peers[0].endpoint).toBe('10.99.0.2:2');
    expect(d.peers[0].latestHandshake).toBe(hs0);
    await execInResult(ns2, 'ping', ['-c', '3', '-W', '1', '192.168.241.1']);
    const rss1 = rssMiB(pid);
    expect(rss1 - rss0, `RSS ${rss0.toFixed(1)} → ${rss1.toFixed(1)} MiB`).toBeLessThan(64);
    expect(wg2.process.exited).toBe(false);
  });

  it('G9: thousands of hostile UAPI connections and 100 idle ones; fds and RSS come back', async () => {
    const ns = await createNetns('tsgr0', reg);
    const wg = await startUserspaceWg(ns, { command: TSGUARD, prefix: 'tsgrob', registry: reg });
    await wg.set({ privateKey: generateKeyPair().privateKey, listenPort: 1, peers: [{ publicKey: generateKeyPair().publicKey, allowedIPs: ['10.0.0.0/8'] }] });
    const pid = wg.process.pid;
    await timedShow(wg);
    const fd0 = openFds(pid);
    const rss0 = rssMiB(pid);

    const idle: Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = connect(wg.socketPath);
      s.on('error', () => undefined);
      idle.push(s);
    }
    await waitFor(() => idle.every((s) => !s.connecting), 5000);

    const valid = 'set=1\nlisten_port=1\nfwmark=0\npublic_key=' + '11'.repeat(32) + '\nallowed_ip=10.1.0.0/16\n\n';
    const one = (i: number) =>
      new Promise<void>((done) => {
        const s = connect(wg.socketPath);
        const finish = () => {
          s.destroy();
          done();
        };
        s.on('error', finish);
        s.on('close', finish);
        s.on('data', () => undefined);
        s.setTimeout(2000, finish);
        s.on('connect', () => {
          switch (i % 5) {
            case 0: // random bytes, then half-close
              s.end(randomBytes(1 + (i % 4096)));
              break;
            case 1: // a valid set cut anywhere, then half-close
              s.end(valid.slice(0, i % valid.length));
              break;
            case 2: // a cut request, then gone without a half-close (a unix socket has no RST)
              s.write(valid.slice(0, 1 + (i % (valid.length - 1))));
              setTimeout(finish, 5);
              break;
            case 3: // random bytes and gone at once
              s.write(randomBytes(1 + (i % 512)));
              s.destroy();
              break;
            default: // a get, not waiting for the whole reply
              s.write('get=1\n\n');
              setImmediate(finish);
          }
        });
      });
    const total = 3000;
    for (let i = 0; i < total; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => one(i + j)));

    // Responsive while the idle connections are still open.
    expect(await timedShow(wg)).toBeLessThan(1000);
    for (const s of idle) s.destroy();
    expect(wg.process.exited, wg.process.stderr()).toBe(false);
    const d = await wg.dump();
    expect(d.interface.listenPort).toBe(1);
    expect(d.peers.map((p) => p.allowedIPs)).toContainEqual(['10.0.0.0/8']);
    await waitFor(() => openFds(pid) <= fd0 + 2, 5000).catch(() => undefined);
    expect(openFds(pid), 'open fds after the storm').toBeLessThanOrEqual(fd0 + 2);
    const rss1 = rssMiB(pid);
    expect(rss1 - rss0, `RSS ${rss0.toFixed(1)} → ${rss1.toFixed(1)} MiB`).toBeLessThan(48);
  });
});
