/**
 * `wg-quick up/down` with WG_QUICK_USERSPACE_IMPLEMENTATION=bin/tsguard (uapi-cli-spec §8),
 * inside a fresh network namespace, with a full-tunnel peer (`AllowedIPs = 0.0.0.0/0, ::/0`:
 * fwmark 51820 and policy rules). `wg-quick up … | cat` must return (the daemon child does
 * not hold the caller's pipe). The host must lack the WireGuard kernel module.
 *
 * The daemon is found through TSGUARD_PID_FILE, which wg-quick passes through its environment.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, createNetns, exec, execIn, execInResult, requireRoot, uniqueName, waitFor } from '../helpers/netns.js';

const root = requireRoot('wg', 'wg-quick', 'bash');
const BIN = resolve('bin/tsguard');
const reg = new Cleanup();

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function killSync(pid: number | null, sig: NodeJS.Signals): void {
  if (pid === null) return;
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

interface Setup {
  ns: string;
  name: string;
  conf: string;
  pidFile: string;
  env: NodeJS.ProcessEnv;
  pid: () => number | null;
}

async function setup(config: (priv: string, peerPub: string) => string): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgq-'));
  reg.path(dir);
  const ns = await createNetns('tsgq', reg);
  const name = uniqueName('tsgq');
  const conf = join(dir, `${name}.conf`);
  const pidFile = join(dir, 'daemon.pid');
  let pid: number | null = null;
  const sock = `/var/run/wireguard/${name}.sock`;
  reg.add(`socket ${name}`, () => rmSync(sock, { force: true }), () => rmSync(sock, { force: true }));
  reg.add(
    `daemon ${name}`,
    async () => {
      const p = pid ?? readPid(pidFile);
      if (p === null || !running(p)) return;
      killSync(p, 'SIGTERM');
      if (!(await waitFor(() => !running(p), 3000).then(() => true, () => false))) killSync(p, 'SIGKILL');
    },
    () => killSync(pid ?? readPid(pidFile), 'SIGKILL'),
  );
  const priv = (await exec('wg', ['genkey'])).stdout.trim();
  const peerPriv = (await exec('wg', ['genkey'])).stdout.trim();
  const peerPub = (await exec('wg', ['pubkey'], { input: peerPriv })).stdout.trim();
  writeFileSync(conf, config(priv, peerPub), { mode: 0o600 });
  const env = { ...process.env, WG_QUICK_USERSPACE_IMPLEMENTATION: BIN, TSGUARD_PID_FILE: pidFile, LOG_LEVEL: 'debug' };
  return {
    ns,
    name,
    conf,
    pidFile,
    env,
    pid: () => {
      pid ??= readPid(pidFile);
      return pid;
    },
  };
}

beforeAll(() => {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/cli/main.js missing: run `npm run build` first');
  if (root && existsSync('/sys/module/wireguard')) throw new Error('the wireguard kernel module is loaded: wg-quick would not use tsguard');
});
afterEach(() => reg.run());
afterAll(() => reg.run());

describe.skipIf(!root)('wg-quick with tsguard', () => {
  it('up (piped through cat) / down with a full-tunnel peer: fwmark 0xca6c, policy rules, clean exit', async () => {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const s = await setup(
      (priv, peerPub) => `[Interface]
PrivateKey = ${priv}
Address = 10.77.0.1/24, fd77::1/64
ListenPort = ${port}

[Peer]
PublicKey = ${peerPub}
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 192.0.2.7:51820
PersistentKeepalive = 25
`,
    );
    // `| cat`: would hang if the daemon child kept wg-quick's stdout/stderr open.
    const up = await execInResult(s.ns, 'bash', ['-c', `set -o pipefail; wg-quick up "${s.conf}" 2>&1 | cat`], {
      env: s.env,
      timeoutMs: 30_000,
      allowFailure: true,
    });
    expect(up.signal, up.stdout).toBeNull();
    expect(up.code, up.stdout).toBe(0);
    expect(up.stdout).toContain('Missing WireGuard kernel module');
    expect(up.stdout).toContain(`${BIN} ${s.name}`);
    const pid = s.pid();
    expect(pid).not.toBeNull();
    expect(running(pid!)).toBe(true);

    expect((await execIn(s.ns, 'wg', ['show', s.name, 'fwmark'])).trim()).toBe('0xca6c');
    expect((await execIn(s.ns, 'wg', ['show', s.name, 'listen-port'])).trim()).toBe(String(port));
    const allowed = await execIn(s.ns, 'wg', ['show', s.name, 'allowed-ips']);
    expect(allowed).toContain('0.0.0.0/0');
    expect(allowed).toContain('::/0');
    expect(await execIn(s.ns, 'wg', ['show', s.name, 'endpoints'])).toContain('192.0.2.7:51820');
    expect(await execIn(s.ns, 'ip', ['-4', 'rule'])).toMatch(/not from all fwmark 0xca6c lookup 51820/);
    expect(await execIn(s.ns, 'ip', ['-6', 'rule'])).toMatch(/not from all fwmark 0xca6c lookup 51820/);
    expect(await execIn(s.ns, 'ip', ['-4', 'route', 'show', 'table', '51820'])).toContain(`default dev ${s.name}`);
    const link = await execIn(s.ns, 'ip', ['link', 'show', s.name]);
    expect(link).toMatch(/mtu 1420/);
    expect(link).toMatch(/<[^>]*\bUP\b/);
    expect(await execIn(s.ns, 'ip', ['-4', 'addr', 'show', s.name])).toContain('10.77.0.1/24');
    // SO_MARK really is on the UDP sockets (ss -e shows fwmark for marked sockets).
    const ss = await execIn(s.ns, 'ss', ['-u', '-a', '-n', '-e', '-p']);
    const ours = ss.split('\n').filter((l) => l.includes(`:${port} `));
    expect(ours.length).toBeGreaterThan(0);
    for (const l of ours) expect(l).toMatch(/fwmark:0xca6c/);

    const down = await execInResult(s.ns, 'wg-quick', ['down', s.conf], { env: s.env, timeoutMs: 30_000, allowFailure: true });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    await waitFor(() => !running(pid!), 5000);
    expect(existsSync(`/var/run/wireguard/${s.name}.sock`)).toBe(false);
    expect((await execInResult(s.ns, 'ip', ['link', 'show', s.name], { allowFailure: true })).code).not.toBe(0);
    expect(await execIn(s.ns, 'ip', ['-4', 'rule'])).not.toContain('51820');
    expect(await execIn(s.ns, 'ip', ['-6', 'rule'])).not.toContain('51820');
  });

  it('up / down with a split-tunnel peer (no fwmark), then up again under the same name', async () => {
    const s = await setup(
      (priv, peerPub) => `[Interface]
PrivateKey = ${priv}
Address = 10.78.0.1/24

[Peer]
PublicKey = ${peerPub}
AllowedIPs = 10.78.0.2/32, 10.79.0.0/16
`,
    );
    for (let round = 0; round < 2; round++) {
      rmSync(s.pidFile, { force: true });
      const up = await execInResult(s.ns, 'wg-quick', ['up', s.conf], { env: s.env, timeoutMs: 30_000, allowFailure: true });
      expect(up.code, up.stdout + up.stderr).toBe(0);
      const pid = readPid(s.pidFile);
      expect(pid).not.toBeNull();
      expect((await execIn(s.ns, 'wg', ['show', s.name, 'fwmark'])).trim()).toBe('off');
      expect(await execIn(s.ns, 'ip', ['-4', 'route'])).toContain(`10.79.0.0/16 dev ${s.name}`);
      const down = await execInResult(s.ns, 'wg-quick', ['down', s.conf], { env: s.env, timeoutMs: 30_000, allowFailure: true });
      expect(down.code, down.stdout + down.stderr).toBe(0);
      await waitFor(() => !running(pid!), 5000);
      expect(existsSync(`/var/run/wireguard/${s.name}.sock`)).toBe(false);
    }
  });
});
