/**
 * Run a userspace WireGuard daemon (wireguard-go, or tsguard through `command`) inside a
 * network namespace and drive it with the `wg` tool.
 *
 *   const ns = await createNetns('ns1');
 *   const wg = await startWireguardGo(ns);                    // unique ifname, socket ready
 *   await wg.set({ privateKey, listenPort: 1, peers: [{ publicKey, endpoint: '10.0.0.2:2',
 *                  allowedIPs: ['192.168.241.2/32'] }] });
 *   await wg.addAddress('192.168.241.1/24');
 *   await wg.up();
 *   const dump = await wg.dump();   // { interface: {...}, peers: [{ latestHandshake, ... }] }
 *   await wg.stop();                // also done by cleanup.run()
 *
 * The UAPI socket directory (/var/run/wireguard) lives in the mount namespace, shared by all
 * network namespaces, so interface names must be unique on the host: `uniqueIfname`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup as defaultCleanup, execIn, exec, spawnIn, uniqueName, waitFor, type Cleanup, type ExitStatus, type ProcessHandle } from './netns.js';

export const WG_SOCKET_DIR = '/var/run/wireguard';
/** Linux IFNAMSIZ - 1. */
const MAX_IFNAME = 15;

/** `prefix` + 6 random characters (default `wgo` + 6 = 9 characters), at most 15. */
export function uniqueIfname(prefix = 'wgo'): string {
  const name = uniqueName(prefix, 6);
  if (name.length > MAX_IFNAME) throw new RangeError(`interface name too long: ${name}`);
  return name;
}

export interface PeerConfig {
  publicKey: string;
  /** base64 preshared key. */
  presharedKey?: string;
  /** `a.b.c.d:port` or `[v6]:port`. */
  endpoint?: string;
  /** CIDRs; replaces the peer's list (`wg set ... allowed-ips`). */
  allowedIPs?: string[];
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
  /** Remove this peer instead. */
  remove?: boolean;
}

export interface InterfaceConfig {
  /** base64 private key (written to a file for `wg`). */
  privateKey?: string;
  listenPort?: number;
  /** 0 = off. */
  fwmark?: number;
  peers?: PeerConfig[];
}

export interface WgDumpInterface {
  privateKey: string | null;
  publicKey: string | null;
  listenPort: number;
  /** 0 when off. */
  fwmark: number;
}

export interface WgDumpPeer {
  publicKey: string;
  presharedKey: string | null;
  /** `addr:port` text as `wg` prints it, null when none. */
  endpoint: string | null;
  allowedIPs: string[];
  /** Unix seconds of the latest handshake, 0 when never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  /** Seconds, 0 when off. */
  persistentKeepalive: number;
}

export interface WgDump {
  interface: WgDumpInterface;
  peers: WgDumpPeer[];
}

const none = (s: string): string | null => (s === '(none)' ? null : s);
const offOr = (s: string): number => (s === 'off' ? 0 : Number(s));

/** Parse the output of `wg show IFNAME dump` (tab separated; interface line, then peers). */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error('empty wg dump');
  const [priv, pub, port, fwmark] = lines[0].split('\t');
  const peers = lines.slice(1).map((line): WgDumpPeer => {
    const f = line.split('\t');
    if (f.length !== 8) throw new Error(`unexpected wg dump peer line: ${line}`);
    return {
      publicKey: f[0],
      presharedKey: none(f[1]),
      endpoint: none(f[2]),
      allowedIPs: f[3] === '(none)' ? [] : f[3].split(','),
      latestHandshake: Number(f[4]),
      rxBytes: Number(f[5]),
      txBytes: Number(f[6]),
      persistentKeepalive: offOr(f[7]),
    };
  });
  return {
    interface: { privateKey: none(priv), publicKey: none(pub), listenPort: Number(port), fwmark: offOr(fwmark) },
    peers,
  };
}

export interface StartOptions {
  /** Interface name (default `uniqueIfname(prefix)`). */
  ifname?: string;
  /** Prefix for the generated name (default `wgo`). */
  prefix?: string;
  /** Daemon command; the interface name is appended (default `wireguard-go -f`). */
  command?: readonly string[];
  /** Extra environment (WG_PROCESS_FOREGROUND=1 is always set). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the UAPI socket (default 10 s). */
  startTimeoutMs?: number;
  registry?: Cleanup;
}

/** A running daemon and its interface. */
export class WgInterface {
  private stopped: Promise<ExitStatus> | null = null;

  constructor(
    readonly ns: string,
    readonly ifname: string,
    readonly process: ProcessHandle,
    /** Private directory for key files. */
    readonly keyDir: string,
  ) {}

  get socketPath(): string {
    return join(WG_SOCKET_DIR, `${this.ifname}.sock`);
  }

  /** Run `wg ARGS` inside the namespace; resolves to stdout. */
  wg(...args: string[]): Promise<string> {
    return execIn(this.ns, 'wg', args);
  }

  /** Run `ip ARGS` inside the namespace. */
  async ip(...args: string[]): Promise<string> {
    return (await exec('ip', ['-n', this.ns, ...args])).stdout;
  }

  /** Apply `config` with one `wg set` (keys through files in `keyDir`). */
  async set(config: InterfaceConfig): Promise<void> {
    const args = ['set', this.ifname];
    if (config.privateKey !== undefined) args.push('private-key', this.keyFile(config.privateKey));
    if (config.listenPort !== undefined) args.push('listen-port', String(config.listenPort));
    if (config.fwmark !== undefined) args.push('fwmark', config.fwmark === 0 ? 'off' : String(config.fwmark));
    for (const p of config.peers ?? []) {
      args.push('peer', p.publicKey);
      if (p.remove) {
        args.push('remove');
        continue;
      }
      if (p.presharedKey !== undefined) args.push('preshared-key', this.keyFile(p.presharedKey));
      if (p.endpoint !== undefined) args.push('endpoint', p.endpoint);
      if (p.persistentKeepalive !== undefined) args.push('persistent-keepalive', String(p.persistentKeepalive || 'off'));
      if (p.allowedIPs !== undefined) args.push('allowed-ips', p.allowedIPs.join(','));
    }
    await execIn(this.ns, 'wg', args);
  }

  /** `wg setconf IFNAME FILE` with `text` in wg-quick-less config format. */
  async setconf(text: string): Promise<void> {
    const file = join(this.keyDir, `setconf-${Date.now()}.conf`);
    writeFileSync(file, text, { mode: 0o600 });
    try {
      await execIn(this.ns, 'wg', ['setconf', this.ifname, file]);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async addAddress(cidr: string): Promise<void> {
    await this.ip('addr', 'add', cidr, 'dev', this.ifname);
  }

  async up(): Promise<void> {
    await this.ip('link', 'set', this.ifname, 'up');
  }

  async setMtu(mtu: number): Promise<void> {
    await this.ip('link', 'set', this.ifname, 'mtu', String(mtu));
  }

  /** `wg show IFNAME dump`, parsed. */
  async dump(): Promise<WgDump> {
    return parseWgDump(await this.wg('show', this.ifname, 'dump'));
  }

  /**
   * SIGTERM, wait (then SIGKILL after `graceMs`), delete the interface if it survived, remove
   * a stale socket and the key directory. Idempotent.
   */
  stop(graceMs = 3000): Promise<ExitStatus> {
    this.stopped ??= (async () => {
      const status = await this.process.stop(graceMs);
      await exec('ip', ['-n', this.ns, 'link', 'del', this.ifname], { allowFailure: true });
      rmSync(this.socketPath, { force: true });
      rmSync(this.keyDir, { recursive: true, force: true });
      return status;
    })();
    return this.stopped;
  }

  private keyFile(base64: string): string {
    const file = join(this.keyDir, `k${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, `${base64}\n`, { mode: 0o600 });
    return file;
  }
}

/**
 * Start a userspace daemon (`command` + ifname, in the foreground) inside `ns` and wait for
 * its UAPI socket. Stopped by `registry.run()` if the test does not stop it.
 */
export async function startUserspaceWg(ns: string, options: StartOptions = {}): Promise<WgInterface> {
  const registry = options.registry ?? defaultCleanup;
  const ifname = options.ifname ?? uniqueIfname(options.prefix ?? 'wgo');
  const command = options.command ?? ['wireguard-go', '-f'];
  const keyDir = mkdtempSync(join(tmpdir(), `${ifname}-`));
  const socket = join(WG_SOCKET_DIR, `${ifname}.sock`);
  // Registered before the daemon: undone after it is stopped (cleanup runs newest first).
  registry.path(keyDir);
  registry.path(socket);
  registry.link(ifname, ns);
  const proc = spawnIn(ns, command[0], [...command.slice(1), ifname], {
    env: { ...process.env, ...options.env, WG_PROCESS_FOREGROUND: '1' },
    registry,
  });
  const wg = new WgInterface(ns, ifname, proc, keyDir);
  try {
    await waitFor(() => existsSync(socket) || proc.exited, options.startTimeoutMs ?? 10_000);
    if (proc.exited) {
      const st = await proc.exit;
      throw new Error(`${command.join(' ')} ${ifname} exited (${st.code ?? st.signal}): ${proc.stderr().trim()}`);
    }
  } catch (err) {
    await wg.stop(500);
    throw err;
  }
  return wg;
}

/** Start wireguard-go (`wireguard-go -f IFNAME`) inside `ns`. */
export function startWireguardGo(ns: string, options: Omit<StartOptions, 'command'> = {}): Promise<WgInterface> {
  return startUserspaceWg(ns, { ...options, command: ['wireguard-go', '-f'] });
}
