import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { lstatSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, existsSync, linkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UapiServer } from '../../../src/uapi/server.js';
import { exchange, FakeHandler, MemLogger, tempDir, waitFor } from './server-helpers.js';

let tmp: ReturnType<typeof tempDir>;
const servers: Array<UapiServer | Server> = [];

function make(extra: Partial<ConstructorParameters<typeof UapiServer>[0]> = {}): UapiServer {
  const s = new UapiServer({ handler: new FakeHandler(), logger: new MemLogger(), dir: tmp.dir, pollIntervalMs: 100, ...extra });
  servers.push(s);
  return s;
}

function listenPlain(path: string): Promise<Server> {
  const s = createServer((c) => c.end());
  servers.push(s);
  return new Promise((r) => s.listen(path, () => r(s)));
}

/** A socket file nobody listens on (as left by a SIGKILLed daemon). */
async function staleSocket(path: string): Promise<void> {
  const other = join(tmp.dir, 'other.sock');
  const s = createServer();
  await new Promise<void>((r) => s.listen(other, () => r()));
  linkSync(other, path);
  await new Promise<void>((r) => s.close(() => r())); // unlinks `other` only
}

beforeEach(() => {
  tmp = tempDir();
});

afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s instanceof UapiServer) await s.close();
    else await new Promise<void>((r) => s.close(() => r()));
  }
  tmp.cleanup();
});

describe('UAPI socket file lifecycle (spec §1.2)', () => {
  it('creates the directory 0755 and the socket srwx------, leaving no temporary names', async () => {
    const dir = join(tmp.dir, 'run', 'wireguard');
    const s = make({ dir });
    await s.listen({ name: 'wg7' });
    expect(s.path).toBe(join(dir, 'wg7.sock'));
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    const st = lstatSync(s.path!);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['wg7.sock']);
    expect((await exchange(s.path!, 'get=1\n\n')).data).toBe('listen_port=4000\nerrno=0\n\n');
    await s.close();
    expect(existsSync(join(dir, 'wg7.sock'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('replaces a stale socket', async () => {
    const path = join(tmp.dir, 'wg0.sock');
    await staleSocket(path);
    const before = lstatSync(path).ino;
    const s = make();
    await s.listen({ name: 'wg0' });
    expect(lstatSync(path).ino).not.toBe(before);
    expect((await exchange(path, 'get=1\n\n')).data).toBe('listen_port=4000\nerrno=0\n\n');
  });

  it('refuses a live socket ("unix socket in use") and leaves it working', async () => {
    const path = join(tmp.dir, 'wg0.sock');
    await listenPlain(path);
    const ino = lstatSync(path).ino;
    const s = make();
    await expect(s.listen({ name: 'wg0' })).rejects.toThrow('UAPI listen error: unix socket in use');
    expect(lstatSync(path).ino).toBe(ino);
    expect(readdirSync(tmp.dir)).toEqual(['wg0.sock']);
    expect((await exchange(path, '', { halfClose: true })).closed).toBe(true);
  });

  it('refuses a non-socket file at the path and does not unlink it', async () => {
    const path = join(tmp.dir, 'wg0.sock');
    writeFileSync(path, 'precious');
    const s = make();
    await expect(s.listen({ name: 'wg0' })).rejects.toThrow(/^UAPI listen error: .*wg0\.sock exists and is not a socket$/);
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readdirSync(tmp.dir)).toEqual(['wg0.sock']);
  });

  it('a second UapiServer on the same name fails while the first keeps its file', async () => {
    const a = make();
    await a.listen({ name: 'wg0' });
    const ino = lstatSync(a.path!).ino;
    await expect(make().listen({ name: 'wg0' })).rejects.toThrow('unix socket in use');
    expect(lstatSync(a.path!).ino).toBe(ino);
  });

  it('fires onGone when the socket file is deleted', async () => {
    const reasons: string[] = [];
    const s = make({ onGone: (r) => reasons.push(r), pollIntervalMs: 60_000 }); // inotify alone
    await s.listen({ name: 'wg0' });
    unlinkSync(s.path!);
    await waitFor(() => reasons.length > 0, 2000);
    expect(reasons).toEqual([`${s.path} was removed`]);
  });

  it('fires onGone when the socket file is replaced (poll fallback covers it too)', async () => {
    const reasons: string[] = [];
    const s = make({ onGone: (r) => reasons.push(r) });
    await s.listen({ name: 'wg0' });
    writeFileSync(join(tmp.dir, 'x'), '');
    renameSync(join(tmp.dir, 'x'), s.path!);
    await waitFor(() => reasons.length > 0, 2000);
    expect(reasons).toEqual([`${s.path} was replaced`]);
  });

  it('close() leaves a file that replaced ours alone', async () => {
    const s = make();
    await s.listen({ name: 'wg0' });
    const path = s.path!;
    unlinkSync(path);
    await listenPlain(path); // another daemon took the name
    const ino = lstatSync(path).ino;
    await s.close();
    expect(lstatSync(path).ino).toBe(ino);
    expect((await exchange(path, '', { halfClose: true })).closed).toBe(true);
  });

  it('reports a directory that cannot be created', async () => {
    writeFileSync(join(tmp.dir, 'file'), '');
    await expect(make({ dir: join(tmp.dir, 'file', 'sub') }).listen({ name: 'wg0' })).rejects.toThrow(/^UAPI listen error: /);
  });
});

describe.runIf(process.getuid?.() === 0 && hasWg())('real wg against a fake handler in /var/run/wireguard', () => {
  it('wg show / showconf / set talk to the server', async () => {
    const name = `tsgu${Math.floor(Math.random() * 1e6)}`;
    mkdirSync('/var/run/wireguard', { recursive: true, mode: 0o755 });
    const handler = new FakeHandler();
    const priv = Buffer.alloc(32, 0x11);
    priv[0] &= 248;
    priv[31] = (priv[31] & 127) | 64;
    const peerKey = Buffer.alloc(32, 0x22);
    handler.get = () => ({
      privateKey: priv,
      listenPort: 51820,
      fwmark: 0x1234,
      peers: [
        {
          publicKey: peerKey,
          presharedKey: null,
          endpoint: null,
          lastHandshakeSec: 0n,
          lastHandshakeNsec: 0,
          txBytes: (1n << 60n) + 5n,
          rxBytes: 42n,
          persistentKeepaliveInterval: 25,
          allowedIPs: [
            { family: 4, addr: Uint8Array.of(10, 9, 0, 2), bits: 32 },
            { family: 6, addr: Uint8Array.from(Buffer.from('fd090000000000000000000000000000', 'hex')), bits: 64 },
          ],
        },
      ],
    });
    const s = new UapiServer({ handler, logger: new MemLogger() });
    servers.push(s);
    await s.listen({ name });
    expect(s.path).toBe(`/var/run/wireguard/${name}.sock`);
    const dump = await wg('show', name, 'dump');
    expect(dump.split('\n')[0]).toBe(`${priv.toString('base64')}\t${execPub(priv)}\t51820\t0x1234`);
    expect(dump.split('\n')[1]).toBe(
      `${peerKey.toString('base64')}\t(none)\t(none)\t10.9.0.2/32,fd09::/64\t0\t42\t${(1n << 60n) + 5n}\t25`,
    );
    expect((await wg('show', 'interfaces')).split(/\s+/)).toContain(name);
    const pretty = await wg('show', name);
    expect(pretty).toContain(`interface: ${name}`);
    expect(pretty).toContain('listening port: 51820');
    expect(pretty).toContain('fwmark: 0x1234');
    expect(pretty).toContain('allowed ips: 10.9.0.2/32, fd09::/64');
    expect(pretty).toContain('persistent keepalive: every 25 seconds');
    const key = Buffer.alloc(32, 0x33).toString('base64');
    await wg('set', name, 'listen-port', '1234', 'peer', key, 'allowed-ips', '10.1.0.0/16', 'endpoint', '[fd77::2]:51821');
    const ops = handler.sets.at(-1)!.ops.map((o) => o.op);
    expect(ops).toEqual(['listen_port', 'public_key', 'endpoint', 'replace_allowed_ips', 'allowed_ip']);
    expect(handler.listenPort).toBe(1234);
    await s.close();
    expect(existsSync(`/var/run/wireguard/${name}.sock`)).toBe(false);
  });
});

/** Async: wg talks to a server in this very process, so the event loop must keep running. */
async function wg(...args: string[]): Promise<string> {
  return (await promisify(execFile)('wg', args, { encoding: 'utf8' })).stdout;
}

function hasWg(): boolean {
  try {
    execFileSync('wg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function execPub(priv: Buffer): string {
  return execFileSync('wg', ['pubkey'], { input: priv.toString('base64') + '\n', encoding: 'utf8' }).trim();
}
