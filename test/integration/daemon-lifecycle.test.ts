/**
 * The tsguard daemon end to end (uapi-cli-spec §5–§7, §1.4): readiness of the launcher,
 * `wg show/set`, every shutdown trigger, a second instance, a caller's pipe, and garbage
 * on the live UAPI socket. Root only (TUN); skipping is an error when CI is set.
 *
 * The daemon child is found through TSGUARD_PID_FILE (an extension: the child writes its
 * PID there when ready). Exit codes of shutdowns are observed in foreground mode (`-f`),
 * where the process is our own child.
 */
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, createNetns, exec, requireRoot, spawnProcess, uniqueName, waitFor, type ExecResult } from '../helpers/netns.js';

const root = requireRoot('wg');
const BIN = resolve('bin/tsguard');
const SOCK_DIR = '/var/run/wireguard';
const reg = new Cleanup();
let tmp = '';

const sockPath = (name: string) => join(SOCK_DIR, `${name}.sock`);

/** Process state letter from /proc (null when gone); a detached child may linger as a zombie. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}
function running(pid: number): boolean {
  const s = procState(pid);
  return s !== null && s !== 'Z';
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

async function killPid(pid: number | null): Promise<void> {
  if (pid === null || !running(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const gone = await waitFor(() => !running(pid), 3000).then(() => true, () => false);
  if (!gone) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Registers cleanup for a daemon named `name` (process, link, socket) before it exists. */
function track(name: string, pidFile: string): { pid: number | null } {
  const holder: { pid: number | null } = { pid: null };
  const socket = sockPath(name);
  // Runs last (cleanup is newest first): by then the daemon is gone, so the file is stale.
  reg.add(`socket ${name}`, () => rmSync(socket, { force: true }), () => rmSync(socket, { force: true }));
  reg.link(name);
  reg.add(`daemon ${name}`, async () => killPid(holder.pid ?? readPid(pidFile)), () => {
    const pid = holder.pid ?? readPid(pidFile);
    if (pid !== null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  return holder;
}

interface Started extends ExecResult {
  pid: number | null;
  pidFile: string;
  logFile: string;
}

/** `tsguard NAME` (daemonizing), with a pid file and a log file. */
async function startDaemon(name: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const pidFile = join(tmp, `${name}-${randomBytes(3).toString('hex')}.pid`);
  const logFile = join(tmp, `${name}.log`);
  const holder = track(name, pidFile);
  const r = await exec(BIN, [name], {
    allowFailure: true,
    timeoutMs: 20_000,
    env: { ...process.env, LOG_LEVEL: 'debug', TSGUARD_PID_FILE: pidFile, TSGUARD_LOG_FILE: logFile, ...env },
  });
  holder.pid = readPid(pidFile);
  return { ...r, pid: holder.pid, pidFile, logFile };
}

/** Connect, send `data` (then half-close if `end`), collect the reply until close or `waitMs`. */
function talk(path: string, data: string | Buffer, end: boolean, waitMs = 1500): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const s = connect(path);
    let reply = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolvePromise({ reply, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (reply += d));
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', (e) => {
      if (!done && reply === '') reject(e);
      else finish(true);
    });
    s.on('connect', () => {
      if (end) s.end(data);
      else s.write(data);
    });
  });
}

/** A complete `get=1` over a fresh connection. */
async function uapiGet(path: string): Promise<string> {
  const r = await talk(path, 'get=1\n\n', false, 3000);
  return r.reply;
}

beforeAll(() => {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/cli/main.js missing: run `npm run build` first');
  tmp = mkdtempSync(join(tmpdir(), 'tsgd-life-'));
  reg.path(tmp);
});
afterEach(async () => {
  // Per-test cleanup keeps a failing test from leaking daemons into the next one.
  await reg.run();
  tmp = mkdtempSync(join(tmpdir(), 'tsgd-life-'));
  reg.path(tmp);
});
afterAll(() => reg.run());

describe.skipIf(!root)('tsguard daemon', () => {
  it('launcher exits 0 only once the link (MTU 1420) and the socket are ready; wg show/set work', async () => {
    const name = uniqueName('tsgd');
    const r = await startDaemon(name);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Readiness guarantees, checked right after the launcher returned.
    const link = (await exec('ip', ['link', 'show', name])).stdout;
    expect(link).toMatch(/ mtu 1420 /);
    const st = lstatSync(sockPath(name));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    const reply = await uapiGet(sockPath(name));
    expect(reply).toMatch(/^listen_port=\d+\nerrno=0\n\n$/);
    // The child's LOG lines were relayed by the launcher.
    expect(r.stdout).toMatch(new RegExp(`^DEBUG: \\(${name}\\) \\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d Device started$`, 'm'));
    expect(r.stdout).toContain('UAPI listener started');

    // The child: own session, stdio on /dev/null.
    const pid = r.pid!;
    expect(pid).toBeGreaterThan(0);
    expect(running(pid)).toBe(true);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[3])).toBe(pid); // session id
    for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe('/dev/null');

    const show = await exec('wg', ['show', name]);
    expect(show.stdout).toContain(`interface: ${name}`);

    const key = (await exec('wg', ['genkey'])).stdout.trim();
    const keyFile = join(tmp, 'key');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const port = 20000 + Math.floor(Math.random() * 30000);
    await exec('wg', ['set', name, 'listen-port', String(port), 'private-key', keyFile]);
    expect((await exec('wg', ['show', name, 'listen-port'])).stdout.trim()).toBe(String(port));
    expect((await exec('wg', ['show', name, 'private-key'])).stdout.trim()).toBe(key);
    const pub = (await exec('wg', ['pubkey'], { input: key })).stdout.trim();
    expect((await exec('wg', ['show', name, 'public-key'])).stdout.trim()).toBe(pub);

    // Daemonized shutdown by SIGTERM: process, socket and link gone.
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !running(pid), 5000);
    expect(existsSync(sockPath(name))).toBe(false);
    expect((await exec('ip', ['link', 'show', name], { allowFailure: true })).code).not.toBe(0);
    expect(existsSync(r.pidFile)).toBe(false);
    const log = readFileSync(r.logFile, 'utf8');
    expect(log).toMatch(/Device closing\n.*Device closed\n.*Shutting down\n$/);
  });

  it('a %d name: the kernel picks the real name, socket and OK use it', async () => {
    const prefix = uniqueName('tsgp', 5);
    const real = `${prefix}0`;
    const pidFile = join(tmp, `${prefix}.pid`);
    track(real, pidFile);
    const r = await exec(BIN, [`${prefix}%d`], {
      allowFailure: true,
      timeoutMs: 20_000,
      env: { ...process.env, LOG_LEVEL: 'debug', TSGUARD_PID_FILE: pidFile },
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`DEBUG: (${real}) `);
    expect(lstatSync(sockPath(real)).isSocket()).toBe(true);
    expect((await exec('wg', ['show', real])).stdout).toContain(`interface: ${real}`);
  });

  it('daemonized: `ip link del` makes the daemon exit and remove its socket', async () => {
    const name = uniqueName('tsgd');
    const r = await startDaemon(name);
    expect(r.code, r.stdout).toBe(0);
    await exec('ip', ['link', 'del', name]);
    await waitFor(() => !running(r.pid!), 5000);
    expect(existsSync(sockPath(name))).toBe(false);
  });

  const triggers = ['SIGTERM', 'SIGINT', 'SIGHUP', 'ip link del', 'rm socket', 'replace socket'] as const;
  it.each(triggers)('foreground: %s → exit 0, socket and interface gone', async (trigger) => {
    const name = uniqueName('tsgd');
    track(name, join(tmp, 'none.pid'));
    const p = spawnProcess(BIN, ['-f', name], { env: { ...process.env, LOG_LEVEL: 'debug' }, registry: reg });
    await waitFor(() => p.stdout().includes('UAPI listener started') || p.exited, 10_000);
    expect(p.exited, p.stdout() + p.stderr()).toBe(false);
    const sock = sockPath(name);
    expect(lstatSync(sock).isSocket()).toBe(true);
    let replacement: string | null = null;
    switch (trigger) {
      case 'ip link del':
        await exec('ip', ['link', 'del', name]);
        break;
      case 'rm socket':
        await exec('rm', [sock]);
        break;
      case 'replace socket': {
        replacement = `${sock}.new`;
        writeFileSync(replacement, 'not ours');
        renameSync(replacement, sock);
        break;
      }
      default:
        p.kill(trigger);
    }
    const status = await Promise.race([p.exit, new Promise<null>((r) => setTimeout(() => r(null), 8000))]);
    expect(status, p.stdout()).toEqual({ code: 0, signal: null });
    expect(p.stdout()).toMatch(/Device closed\n.*Shutting down\n$/);
    if (trigger === 'replace socket') {
      // Not ours any more: left alone.
      expect(readFileSync(sock, 'utf8')).toBe('not ours');
      await exec('rm', ['-f', sock]);
    } else {
      expect(existsSync(sock)).toBe(false);
    }
    expect((await exec('ip', ['link', 'show', name], { allowFailure: true })).code).not.toBe(0);
  });

  it('a second daemon for the same name exits 1 and leaves the first serving', async () => {
    const name = uniqueName('tsgd');
    const first = await startDaemon(name);
    expect(first.code).toBe(0);
    const before = lstatSync(sockPath(name));
    const port = (await exec('wg', ['show', name, 'listen-port'])).stdout.trim();

    const second = await startDaemon(name);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/^ERROR: .*Failed to create TUN device: /m);
    expect(second.pid).toBeNull();

    expect(running(first.pid!)).toBe(true);
    const after = lstatSync(sockPath(name));
    expect(after.ino).toBe(before.ino);
    expect((await exec('wg', ['show', name, 'listen-port'])).stdout.trim()).toBe(port);
    // Foreground second instance too.
    const fg = await exec(BIN, ['-f', name], { allowFailure: true, timeoutMs: 15_000 });
    expect(fg.code).toBe(1);
    expect((await uapiGet(sockPath(name))).endsWith('errno=0\n\n')).toBe(true);
  });

  it('same name in another netns: TUN created there, but the live socket is refused (exit 1), first untouched', async () => {
    const name = uniqueName('tsgd');
    const first = await startDaemon(name);
    expect(first.code).toBe(0);
    const ino = lstatSync(sockPath(name)).ino;
    const ns = await createNetns('tsgd', reg);
    const second = await exec('ip', ['netns', 'exec', ns, BIN, name], { allowFailure: true, timeoutMs: 20_000 });
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/^ERROR: .*UAPI listen error: unix socket in use$/m);
    // The second daemon's TUN went away with it.
    expect((await exec('ip', ['-n', ns, 'link', 'show', name], { allowFailure: true })).code).not.toBe(0);
    expect(running(first.pid!)).toBe(true);
    expect(lstatSync(sockPath(name)).ino).toBe(ino);
    expect((await uapiGet(sockPath(name))).endsWith('errno=0\n\n')).toBe(true);
  });

  it('`tsguard NAME | cat` returns: the daemon does not hold the pipe', async () => {
    const name = uniqueName('tsgd');
    const pidFile = join(tmp, `${name}.pid`);
    track(name, pidFile);
    const r = await exec('bash', ['-c', `set -o pipefail; "${BIN}" "${name}" | cat; echo "rc=$?"`], {
      timeoutMs: 15_000,
      env: { ...process.env, LOG_LEVEL: 'debug', TSGUARD_PID_FILE: pidFile },
    });
    expect(r.signal).toBeNull();
    expect(r.stdout).toContain('Device started');
    expect(r.stdout.trim().endsWith('rc=0')).toBe(true);
    expect(running(readPid(pidFile)!)).toBe(true);
  });

  it('garbage and truncated requests on the live socket: errno reply or close; daemon keeps serving', async () => {
    const name = uniqueName('tsgd');
    const r = await startDaemon(name);
    expect(r.code).toBe(0);
    const sock = sockPath(name);

    // Empty probe (what `wg` does first): silent.
    expect(await talk(sock, '', true)).toEqual({ reply: '', closed: true });

    expect(await talk(sock, 'get=2\n\n', false)).toEqual({ reply: '', closed: true });
    expect(await talk(sock, 'set=1\r\n\r\n', false)).toEqual({ reply: '', closed: true });
    expect(await talk(sock, 'get=1\nx\n', false)).toEqual({ reply: 'errno=-22\n\n', closed: true });
    expect(await talk(sock, 'set=1\nprivate_key=abc', true)).toEqual({ reply: 'errno=-22\n\n', closed: true });
    expect(await talk(sock, `set=1\n${'a'.repeat(70_000)}`, false)).toEqual({ reply: 'errno=-5\n\n', closed: true });
    expect(await talk(sock, 'get=1\n', true)).toEqual({ reply: '', closed: true });

    // A line without '=' fails the request but keeps the connection usable (pipelined get).
    const piped = await talk(sock, 'set=1\nfoo\n\nget=1\n\n', false);
    expect(piped.closed).toBe(false);
    expect(piped.reply).toMatch(/^errno=-71\n\nlisten_port=\d+\nerrno=0\n\n$/);
    // One log line per failed request (the device's own line is folded into the server's).
    await waitFor(() => readFileSync(r.logFile, 'utf8').includes('IPC error -71'), 2000);
    expect(readFileSync(r.logFile, 'utf8').match(/IPC error -71/g)?.length).toBe(1);

    for (let i = 0; i < 20; i++) {
      const junk = randomBytes(1 + Math.floor(Math.random() * 8192));
      const res = await talk(sock, junk, i % 2 === 0, 1000);
      // Either an errno reply (then close or wait) or a close without reply.
      if (res.reply !== '') expect(res.reply).toMatch(/^(errno=-\d+\n\n)+$/);
      else expect(res.closed).toBe(true);
    }
    // Truncated at every byte of a valid set.
    const valid = `set=1\nlisten_port=${20000 + Math.floor(Math.random() * 30000)}\nfwmark=7\n\n`;
    for (let cut = 1; cut < valid.length; cut += 3) {
      const res = await talk(sock, valid.slice(0, cut), true, 1000);
      if (res.reply !== '') expect(res.reply).toMatch(/^errno=-?\d+\n\n$/);
      expect(res.closed).toBe(true);
    }

    expect(running(r.pid!)).toBe(true);
    expect((await uapiGet(sock)).endsWith('errno=0\n\n')).toBe(true);
    const show = await exec('wg', ['show', name]);
    expect(show.stdout).toContain(`interface: ${name}`);

    const log = readFileSync(r.logFile, 'utf8');
    expect(log).toContain('invalid UAPI operation');
  });

  it('inherited WG_TUN_FD and WG_UAPI_FD (daemon mode): used as is, socket watched and unlinked', async () => {
    const name = uniqueName('tsgd');
    const pidFile = join(tmp, `${name}.pid`);
    track(name, pidFile);
    const script = join(tmp, 'fdlaunch.py');
    // Creates the TUN and the listening socket, then execs tsguard with both fds inherited.
    writeFileSync(
      script,
      [
        'import fcntl, os, socket, struct, sys',
        'name, tsguard = sys.argv[1], sys.argv[2]',
        "tun = os.open('/dev/net/tun', os.O_RDWR)",
        "fcntl.ioctl(tun, 0x400454ca, struct.pack('16sH22x', name.encode(), 0x0001 | 0x1000))",
        "os.makedirs('/var/run/wireguard', exist_ok=True)",
        's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        "s.bind('/var/run/wireguard/%s.sock' % name)",
        's.listen(16)',
        'os.set_inheritable(tun, True)',
        'os.set_inheritable(s.fileno(), True)',
        'env = dict(os.environ, WG_TUN_FD=str(tun), WG_UAPI_FD=str(s.fileno()))',
        'os.execve(tsguard, [tsguard, name], env)',
        '',
      ].join('\n'),
    );
    const r = await exec('python3', [script, name, BIN], {
      allowFailure: true,
      timeoutMs: 20_000,
      env: { ...process.env, TSGUARD_PID_FILE: pidFile },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const pid = readPid(pidFile)!;
    expect(running(pid)).toBe(true);
    expect((await exec('ip', ['link', 'show', name])).stdout).toMatch(/ mtu 1420 /);
    expect((await exec('wg', ['show', name])).stdout).toContain(`interface: ${name}`);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !running(pid), 5000);
    expect(existsSync(sockPath(name))).toBe(false);
    expect((await exec('ip', ['link', 'show', name], { allowFailure: true })).code).not.toBe(0);
  });

  it('a broken stdout (reader gone: EPIPE) does not kill a foreground daemon', async () => {
    const name = uniqueName('tsgd');
    track(name, join(tmp, 'none.pid'));
    const p = spawnProcess(BIN, ['-f', name], { env: { ...process.env, LOG_LEVEL: 'debug' }, registry: reg });
    await waitFor(() => p.stdout().includes('UAPI listener started') || p.exited, 10_000);
    expect(p.exited).toBe(false);
    p.child.stdout!.destroy(); // close our read end: the daemon's next log write gets EPIPE
    // Requests that log (invalid operations), several times.
    for (let i = 0; i < 5; i++) await talk(sockPath(name), 'bogus=1\n\n', false, 300);
    expect((await uapiGet(sockPath(name))).endsWith('errno=0\n\n')).toBe(true);
    expect(p.exited).toBe(false);
    p.kill('SIGTERM');
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(existsSync(sockPath(name))).toBe(false);
  });
});
