/**
 * Root-only: LinuxTun inside a network namespace created for the test. The TUN logic runs in
 * a child node process started with `ip netns exec` (the test process stays in its own
 * namespace); the child reports what it saw as JSON lines.
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

/** Runs inside the namespace; argv[2] = 'create' | 'fromfd'. */
const CHILD = String.raw`
import { execFileSync, execFile } from 'node:child_process';
import { LinuxTun } from './dist/io/linux-tun.js';
import { PacketBatch } from './dist/io/packet-batch.js';

const mode = process.argv[2];
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const ip = (...a) => execFileSync('ip', a, { encoding: 'utf8' });
const events = [];
let onPacket = null;

function checksum(b, start, end) {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function echoReply(req) {
  const p = req.slice();
  const ihl = (p[0] & 15) * 4;
  p.set(req.subarray(16, 20), 12);
  p.set(req.subarray(12, 16), 16);
  p[8] = 64;
  p[10] = p[11] = 0;
  const c = checksum(p, 0, ihl);
  p[10] = c >> 8; p[11] = c & 255;
  p[ihl] = 0; // echo reply
  p[ihl + 2] = p[ihl + 3] = 0;
  const ic = checksum(p, ihl, p.length);
  p[ihl + 2] = ic >> 8; p[ihl + 3] = ic & 255;
  return p;
}

try {
  const tun = mode === 'fromfd'
    ? LinuxTun.fromFd(Number(process.env.WG_TUN_FD), { mtu: 1420 })
    : LinuxTun.create('tsgt%d', { mtu: 1420 });
  const link = JSON.parse(ip('-j', '-d', 'link', 'show', 'dev', tun.name))[0];
  out({ step: 'created', name: tun.name, mtu: tun.mtu, ifindex: tun.ifindex, isUp: tun.isUp,
        observable: tun.linkObservable, linkMtu: link.mtu, txqlen: link.txqlen, linkIndex: link.ifindex,
        addrGenMode: ip('-d', 'link', 'show', 'dev', tun.name).match(/addrgenmode (\S+)/)?.[1] ?? null });
  tun.start({
    packets(batch) {
      for (let i = 0; i < batch.count; i++) {
        const pkt = batch.packet(i);
        if (onPacket) onPacket(pkt.slice(), batch.offsets[i] - batch.slotStart(i));
      }
    },
    event(e) { events.push({ type: e.type, mtu: e.mtu, error: e.error?.code }); },
  });

  ip('link', 'set', tun.name, 'up');
  tun.drainEvents(); // synchronous: no waiting for the loop
  out({ step: 'up', events: events.splice(0), isUp: tun.isUp });

  ip('addr', 'add', '10.77.0.1/24', 'dev', tun.name);
  const seen = [];
  onPacket = (pkt, headroom) => {
    const isEcho = pkt[0] >> 4 === 4 && pkt[9] === 1 && pkt[20] === 8 && pkt[16] === 10 && pkt[19] === 2;
    seen.push({ len: pkt.length, version: pkt[0] >> 4, headroom, isEcho, head: Buffer.from(pkt.subarray(0, 24)).toString('hex') });
    if (!isEcho) return;
    const reply = new PacketBatch(4);
    reply.push(echoReply(pkt));
    tun.write(reply);
  };
  const ping = await new Promise((res) => {
    execFile('ping', ['-c', '2', '-i', '0.2', '-W', '3', '10.77.0.2'], (err, stdout) => res({ code: err ? err.code ?? 1 : 0, stdout }));
  });
  out({ step: 'ping', code: ping.code, received: /(\d+) received/.exec(ping.stdout)?.[1], seen: seen.filter((s) => s.isEcho), other: seen.filter((s) => !s.isEcho).slice(0, 3) });
  onPacket = null;

  ip('link', 'set', tun.name, 'mtu', '1300');
  tun.drainEvents();
  ip('link', 'set', tun.name, 'down');
  tun.drainEvents();
  // Writing while down must not look like a deletion.
  const b = new PacketBatch(1);
  b.push(echoReply(new Uint8Array([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 77, 0, 2, 10, 77, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0])));
  tun.write(b);
  out({ step: 'down', events: events.splice(0), isUp: tun.isUp, mtu: tun.mtu });

  ip('link', 'del', tun.name);
  const deadline = Date.now() + 5000;
  while (!events.some((e) => e.type === 'closed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  out({ step: 'deleted', events: events.splice(0) });
  tun.close();
  tun.close();
} catch (e) {
  out({ step: 'error', message: String(e && e.message), code: e && e.code });
}
`;

/** Creates a TUN without IFF_NO_PI (4-byte packet-information header) and execs node on it. */
const PI_LAUNCHER = String.raw`
import fcntl, os, struct, sys
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', b'tsgpi%d', 0x0001))
os.set_inheritable(fd, True)
os.environ['WG_TUN_FD'] = str(fd)
os.execvp('node', ['node', sys.argv[1], 'fromfd'])
`;

suite('LinuxTun in a network namespace (root)', () => {
  const ns = `tsg-nat-${randomBytes(4).toString('hex')}`;
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsg-native-tun-'));
    // Compile the TUN wrapper and its imports; native/ is linked so the loader's path resolves.
    execFileSync(join(repo, 'node_modules/.bin/tsc'), [
      '--outDir', join(dir, 'dist'), '--rootDir', join(repo, 'src'), '--module', 'NodeNext',
      '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node',
      '--typeRoots', join(repo, 'node_modules/@types'), join(repo, 'src/io/linux-tun.ts'),
    ]);
    symlinkSync(join(repo, 'native'), join(dir, 'native'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'child.mjs'), CHILD);
    writeFileSync(join(dir, 'pi.py'), PI_LAUNCHER);
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

  async function runChild(args: string[]): Promise<Record<string, any>[]> {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.step === 'error'), stderr).toBeUndefined();
    expect(code, stderr).toBe(0);
    return lines;
  }

  function checkRun(steps: Record<string, any>[], namePattern: RegExp, expectAddrGen: boolean) {
    const by = (s: string) => steps.find((l) => l.step === s) ?? {};
    const created = by('created');
    expect(created.name).toMatch(namePattern);
    expect(created.mtu).toBe(1420);
    expect(created.linkMtu).toBe(1420);
    expect(created.ifindex).toBe(created.linkIndex);
    expect(created.isUp).toBe(false);
    expect(created.observable).toBe(true);
    if (expectAddrGen) {
      expect(created.txqlen).toBe(4096);
      expect(created.addrGenMode).toBe('none');
    }
    expect(by('up').events).toEqual([{ type: 'up' }]);
    expect(by('up').isUp).toBe(true);
    const ping = by('ping');
    expect(ping.code).toBe(0);
    expect(ping.received).toBe('2');
    expect(ping.seen.length).toBeGreaterThanOrEqual(2);
    for (const s of ping.seen) {
      expect(s.len).toBe(84); // 20 IP + 8 ICMP + 56 data
      expect(s.version).toBe(4);
      expect(s.headroom).toBe(64);
    }
    expect(by('down').events).toEqual([{ type: 'mtu', mtu: 1300 }, { type: 'down' }]);
    expect(by('down').isUp).toBe(false);
    expect(by('down').mtu).toBe(1300);
    // RTM_DELLINK may arrive first: it is not a deletion (a netns move looks the same), so
    // the link is treated as up from then on; the fd's EBADFD is what reports the deletion.
    const deleted = by('deleted').events as { type: string; error?: string }[];
    expect(deleted.length).toBeGreaterThanOrEqual(1);
    expect(deleted.slice(0, -1)).toEqual(deleted.length === 2 ? [{ type: 'up' }] : []);
    expect(deleted.at(-1)).toEqual({ type: 'closed', error: 'EBADFD' });
  }

  it('creates tsgt%d, follows up/mtu/down, carries ping both ways, reports deletion', async () => {
    checkRun(await runChild(['node', 'child.mjs', 'create']), /^tsgt\d+$/, true);
  });

  it('adopts an inherited TUN fd with the 4-byte PI header (WG_TUN_FD)', async () => {
    checkRun(await runChild(['python3', 'pi.py', 'child.mjs']), /^tsgpi\d+$/, false);
  });

  it('throws a clear errno error for an invalid name instead of crashing', async () => {
    const { LinuxTun } = await import('../../src/io/linux-tun.js');
    expect(() => LinuxTun.create('bad name/x')).toThrow(/TUNSETIFF bad name\/x: Invalid argument/);
  });
});
