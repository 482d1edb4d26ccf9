/**
 * Root-only: TUN offloads against the real kernel, in a network namespace created for the
 * test. A child process opens a LinuxTun and reflects TCP through it (NAT: A→B becomes C→A,
 * A→C becomes B→A, so a local client talking to B reaches a local server on A), so every
 * data segment is read from the TUN (TSO super-packets split by the addon) and written back
 * (coalesced into GSO frames). The child checks every packet it reads (IP/TCP checksums in
 * JS, size ≤ MTU) and that the transferred bytes are identical.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = process.getuid?.() === 0;
const suite = root || process.env.CI ? describe : describe.skip;
const repo = resolve(import.meta.dirname, '../..');

const CHILD = String.raw`
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { LinuxTun } from './dist/io/linux-tun.js';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const ip = (...a) => execFileSync('ip', a, { encoding: 'utf8' });
const MTU = 1420;

function sum16(b, s, e, init) {
  let x = init;
  for (let i = s; i < e; i += 2) x += (b[i] << 8) | (i + 1 < e ? b[i + 1] : 0);
  while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
  return x;
}
function l4sum(b, off, len, v6) {
  const iphl = v6 ? 40 : (b[off] & 15) * 4;
  const l4len = len - iphl;
  let s = v6 ? sum16(b, off + 8, off + 40, 0) : sum16(b, off + 12, off + 20, 0);
  s = sum16(Uint8Array.of(0, 6, l4len >> 8, l4len & 255), 0, 4, s);
  return sum16(b, off + iphl, off + len, s);
}
function fixSums(b, off, len, v6) {
  const iphl = v6 ? 40 : 20;
  if (!v6) {
    b[off + 10] = b[off + 11] = 0;
    const c = ~sum16(b, off, off + 20, 0) & 0xffff;
    b[off + 10] = c >> 8; b[off + 11] = c & 255;
  }
  b[off + iphl + 16] = b[off + iphl + 17] = 0;
  const c = ~l4sum(b, off, len, v6) & 0xffff;
  b[off + iphl + 16] = c >> 8; b[off + iphl + 17] = c & 255;
}

const stats = { packets: 0, tcp: 0, badSum: 0, tooBig: 0, maxLen: 0, multiSegBatches: 0 };
const tun = process.argv[2] === 'fromfd'
  ? LinuxTun.fromFd(Number(process.env.WG_TUN_FD), { mtu: MTU })
  : LinuxTun.create('tsgo%d', { mtu: MTU });
out({ step: 'created', vnetHdr: tun.vnetHdr, offloads: tun.offloads });
ip('link', 'set', tun.name, 'up');
ip('addr', 'add', '10.88.0.1/24', 'dev', tun.name);
ip('addr', 'add', 'fd88::1/64', 'dev', tun.name, 'nodad');
// Last address byte: A = 1 (ours), B = 2 (what the client dials), C = 3 (the server's peer).
tun.start({
  packets(batch) {
    const d = batch.data;
    let w = 0, segs = 0;
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offsets[i], len = batch.lengths[i];
      stats.packets++;
      stats.maxLen = Math.max(stats.maxLen, len);
      if (len > MTU) stats.tooBig++;
      const v6 = d[off] >> 4 === 6;
      if ((v6 ? d[off + 6] : d[off + 9]) !== 6) continue;
      stats.tcp++;
      if ((!v6 && sum16(d, off, off + (d[off] & 15) * 4, 0) !== 0xffff) || l4sum(d, off, len, v6) !== 0xffff) stats.badSum++;
      const iphl = v6 ? 40 : 20;
      if (len - iphl - (d[off + iphl + 12] >> 4) * 4 > 0) segs++;
      const src = off + (v6 ? 23 : 15), dst = off + (v6 ? 39 : 19);
      if (d[dst] === 2) { d[src] = 3; d[dst] = 1; } else if (d[dst] === 3) { d[src] = 2; d[dst] = 1; } else continue;
      fixSums(d, off, len, v6);
      batch.offsets[w] = off;
      batch.lengths[w] = len;
      w++;
    }
    if (segs > 1) stats.multiSegBatches++;
    batch.count = w;
    tun.write(batch);
  },
  event() {},
});

function transfer(host, bytes) {
  return new Promise((resolve, reject) => {
    const data = randomBytes(bytes);
    const server = net.createServer((s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (c) => { h.update(c); n += c.length; });
      s.on('end', () => { server.close(); s.end(); resolve({ sent: createHash('sha256').update(data).digest('hex'), got: h.digest('hex'), n }); });
    });
    server.listen(5201, host.startsWith('fd') ? 'fd88::1' : '10.88.0.1', () => {
      const c = net.connect(5201, host);
      c.on('error', reject);
      c.end(data);
    });
    setTimeout(() => reject(new Error('transfer timed out')), 20000).unref();
  });
}

try {
  const mode = process.argv[2];
  const results = [];
  for (const host of ['10.88.0.2', 'fd88::2']) {
    const r = await transfer(host, 8 << 20);
    results.push({ host, ...r, stats: tun.offloadStats });
  }
  out({ step: 'on', results, stats: { ...stats } });
  if (mode === 'toggle') {
    const flags = tun.setOffloads(false);
    const before = tun.offloadStats;
    const r = await transfer('10.88.0.2', 4 << 20);
    out({ step: 'off', flags, ...r, before, after: tun.offloadStats, stats: { ...stats } });
    const flags2 = tun.setOffloads(true);
    const r2 = await transfer('fd88::2', 4 << 20);
    out({ step: 'again', flags: flags2, ...r2, after: tun.offloadStats });
  }
  tun.close();
  process.exit(0);
} catch (e) {
  out({ step: 'error', message: String(e?.stack ?? e) });
  process.exit(1);
}
`;

/** Creates a TUN with IFF_TUN|IFF_NO_PI|IFF_VNET_HDR and execs node on it (WG_TUN_FD). */
const VNET_LAUNCHER = String.raw`
import fcntl, os, struct, sys
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', b'tsgov%d', 0x5001))
os.set_inheritable(fd, True)
os.environ['WG_TUN_FD'] = str(fd)
os.execvp('node', ['node', 'child.mjs', 'fromfd'])
`;

suite('LinuxTun offloads in a network namespace (root)', () => {
  const ns = `tsg-off-${randomBytes(4).toString('hex')}`;
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsg-tun-offload-'));
    execFileSync(join(repo, 'node_modules/.bin/tsc'), [
      '--outDir', join(dir, 'dist'), '--rootDir', join(repo, 'src'), '--module', 'NodeNext',
      '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node',
      '--typeRoots', join(repo, 'node_modules/@types'), join(repo, 'src/io/linux-tun.ts'),
    ]);
    symlinkSync(join(repo, 'native'), join(dir, 'native'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'child.mjs'), CHILD);
    writeFileSync(join(dir, 'vnet.py'), VNET_LAUNCHER);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });

  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      /* already gone */
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function runChild(mode: string, env: Record<string, string> = {}): Promise<Record<string, any>[]> {
    const cmd = mode === 'fromfd' ? ['python3', 'vnet.py'] : ['node', 'child.mjs', mode];
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.step === 'error'), stdout + stderr).toBeUndefined();
    expect(code, stderr).toBe(0);
    return lines;
  }

  const by = (lines: Record<string, any>[], s: string) => lines.find((l) => l.step === s) ?? {};

  it('splits TSO super-packets into checksummed MTU-sized segments and coalesces writes (IPv4 and IPv6)', async () => {
    const lines = await runChild('toggle', { TSGUARD_OFFLOADS: '1' }); // on whatever the suite's setting
    if (process.env.TSG_DEBUG) console.log(JSON.stringify(lines));
    const created = by(lines, 'created');
    expect(created.vnetHdr).toBe(true);
    expect(created.offloads & 0x07).toBe(0x07); // CSUM|TSO4|TSO6
    const on = by(lines, 'on');
    let prev = { superPackets: 0, gsoFramesWritten: 0 };
    for (const r of on.results) {
      expect(r.n).toBe(8 << 20);
      expect(r.got).toBe(r.sent);
      // Each family's transfer added super-packets and GSO writes.
      expect(r.stats.superPackets).toBeGreaterThan(prev.superPackets);
      expect(r.stats.gsoFramesWritten).toBeGreaterThan(prev.gsoFramesWritten);
      prev = r.stats;
    }
    const s = on.results[1].stats;
    expect(s.segments).toBeGreaterThan(s.superPackets * 2);
    expect(s.droppedReads).toBe(0);
    expect(on.stats.badSum).toBe(0);
    expect(on.stats.tooBig).toBe(0);
    expect(on.stats.maxLen).toBe(1420);
    expect(on.stats.multiSegBatches).toBeGreaterThan(0);
    // Runtime toggle: no more super-packets or GSO writes while off; back on afterwards.
    const off = by(lines, 'off');
    expect(off.flags).toBe(0);
    expect(off.got).toBe(off.sent);
    expect(off.after.superPackets).toBe(off.before.superPackets);
    expect(off.after.gsoFramesWritten).toBe(off.before.gsoFramesWritten);
    expect(off.stats.badSum).toBe(0);
    const again = by(lines, 'again');
    expect(again.flags & 0x07).toBe(0x07);
    expect(again.got).toBe(again.sent);
    expect(again.after.superPackets).toBeGreaterThan(off.after.superPackets);
  });

  it('adopts an inherited IFF_VNET_HDR fd (WG_TUN_FD) with offloads', async () => {
    const lines = await runChild('fromfd', { TSGUARD_OFFLOADS: '1' });
    const created = by(lines, 'created');
    expect(created.vnetHdr).toBe(true);
    expect(created.offloads & 0x07).toBe(0x07);
    const on = by(lines, 'on');
    for (const r of on.results) {
      expect(r.got).toBe(r.sent);
      expect(r.stats.superPackets).toBeGreaterThan(0);
    }
    expect(on.stats.badSum).toBe(0);
    expect(on.stats.tooBig).toBe(0);
  });

  it('with TSGUARD_OFFLOADS=0 opens the TUN without a virtio header and still carries TCP intact', async () => {
    const lines = await runChild('plain', { TSGUARD_OFFLOADS: '0' });
    expect(by(lines, 'created')).toMatchObject({ vnetHdr: false, offloads: 0 });
    const on = by(lines, 'on');
    for (const r of on.results) {
      expect(r.got).toBe(r.sent);
      expect(r.stats.superPackets).toBe(0);
      expect(r.stats.gsoFramesWritten).toBe(0);
    }
    expect(on.stats.badSum).toBe(0);
    expect(on.stats.maxLen).toBeLessThanOrEqual(1420);
  });
});
