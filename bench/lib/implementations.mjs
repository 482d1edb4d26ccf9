// @ts-check
/**
 * WireGuard implementations under test. A userspace one is any wireguard-go-compatible daemon:
 * `COMMAND... -f IFNAME` creates the TUN in the current network namespace and serves the UAPI
 * socket /var/run/wireguard/IFNAME.sock that `wg` talks to. The kernel one is an interface made
 * by `ip link add IFNAME type wireguard`.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { exec, execIn, spawnBackground, waitFor } from './proc.mjs';
import { cleanup } from './cleanup.mjs';

export const WG_SOCKET_DIR = '/var/run/wireguard';

/**
 * @typedef {{ name: string, kind: 'userspace', command: string[] }
 *   | { name: string, kind: 'kernel' }} Implementation
 */

/** @typedef {{ available: true, version: string } | { available: false, reason: string }} Availability */

/**
 * The built-in implementations.
 * @param {string} repoRoot @returns {Map<string, Implementation>}
 */
export function defaultImplementations(repoRoot) {
  return new Map([
    ['tsguard', { name: 'tsguard', kind: 'userspace', command: [join(repoRoot, 'bin', 'tsguard')] }],
    ['wireguard-go', { name: 'wireguard-go', kind: 'userspace', command: ['wireguard-go'] }],
    ['kernel', { name: 'kernel', kind: 'kernel' }],
  ]);
}

/**
 * Parse `--impl NAME=COMMAND` (COMMAND split on spaces), e.g. `tsguard=wireguard-go` to develop
 * the harness before tsguard works, or `tsguard=node /path/to/cli.js`.
 * @param {string} spec @returns {Implementation}
 */
export function parseImplementation(spec) {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new Error(`--impl wants NAME=COMMAND, got "${spec}"`);
  const name = spec.slice(0, eq);
  const rest = spec.slice(eq + 1).trim();
  if (rest === 'kernel') return { name, kind: 'kernel' };
  return { name, kind: 'userspace', command: rest.split(/\s+/) };
}

/** @param {string} cmd */
function resolveCommand(cmd) {
  if (cmd.includes('/')) {
    try {
      accessSync(cmd, constants.X_OK);
      return cmd;
    } catch {
      return null;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir || '.', cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

/**
 * Can this implementation run here? The kernel one is probed by actually creating an interface
 * in a throwaway namespace.
 * @param {Implementation} impl @returns {Promise<Availability>}
 */
export async function probe(impl) {
  if (impl.kind === 'kernel') {
    const ns = `tsgb-probe-${randomBytes(3).toString('hex')}`;
    cleanup.netns(ns);
    try {
      await exec('ip', ['netns', 'add', ns]);
      const r = await exec('ip', ['-n', ns, 'link', 'add', 'wgprobe0', 'type', 'wireguard'], { allowFailure: true });
      if (r.code !== 0) {
        const why = (r.stderr.trim() || `exit ${r.code}`).replace(/\s+/g, ' ');
        return { available: false, reason: `kernel WireGuard: not available on this machine (ip link add type wireguard failed: ${why})` };
      }
      let version = 'in-kernel';
      try {
        const { readFileSync } = await import('node:fs');
        version = `module ${readFileSync('/sys/module/wireguard/version', 'utf8').trim()}`;
      } catch {
        // built in, or no version file
      }
      return { available: true, version };
    } finally {
      await exec('ip', ['netns', 'del', ns], { allowFailure: true });
    }
  }
  const path = resolveCommand(impl.command[0]);
  if (!path) return { available: false, reason: `${impl.name}: not available (${impl.command[0]} not found or not executable)` };
  // wireguard-go prints its version with --version; a daemon that does not know the flag still
  // counts as available (a real start failure is reported by the pair that needed it).
  const r = await exec(impl.command[0], [...impl.command.slice(1), '--version'], { allowFailure: true, timeoutMs: 10_000 }).catch(
    () => null,
  );
  const first = r && r.code === 0 ? r.stdout.split('\n').find((l) => l.trim()) : undefined;
  return { available: true, version: first?.trim() ?? 'unknown' };
}

/** A WireGuard interface running inside a namespace. */
export class WgInterface {
  /**
   * @param {Implementation} impl @param {string} ns @param {string} ifname
   * @param {import('./proc.mjs').Background | null} daemon null for the kernel implementation
   */
  constructor(impl, ns, ifname, daemon) {
    this.impl = impl;
    this.ns = ns;
    this.ifname = ifname;
    this.daemon = daemon;
  }

  /** Root PID of the daemon (null for kernel WireGuard: no process to measure). */
  get pid() {
    return this.daemon ? this.daemon.pid : null;
  }

  /** @param {...string} args */
  async wg(...args) {
    return (await execIn(this.ns, 'wg', args)).stdout;
  }

  /** Throw if the daemon has died (with the tail of its output). */
  assertAlive() {
    if (this.daemon?.exited()) {
      const output = (this.daemon.stderr().trim() || this.daemon.stdout().trim()).slice(-1500) || '(no output)';
      throw new Error(`${this.impl.name} (${this.ifname}) exited (${this.daemon.status()}): ${output}`);
    }
  }

  async stop() {
    if (this.daemon) await this.daemon.stop(3000);
    await exec('ip', ['-n', this.ns, 'link', 'del', this.ifname], { allowFailure: true });
  }
}

/**
 * Create a WireGuard interface `ifname` in `ns` with `impl`. The interface name must be unique on
 * the host: /var/run/wireguard is shared by all network namespaces.
 * @param {Implementation} impl @param {string} ns @param {string} ifname
 * @returns {Promise<WgInterface>}
 */
export async function startInterface(impl, ns, ifname) {
  if (impl.kind === 'kernel') {
    await exec('ip', ['-n', ns, 'link', 'add', ifname, 'type', 'wireguard']);
    return new WgInterface(impl, ns, ifname, null);
  }
  const socket = join(WG_SOCKET_DIR, `${ifname}.sock`);
  cleanup.path(socket); // removed after the daemon is stopped (cleanup runs newest first)
  const daemon = spawnBackground('ip', ['netns', 'exec', ns, ...impl.command, '-f', ifname], {
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
  });
  const wgi = new WgInterface(impl, ns, ifname, daemon);
  try {
    await waitFor(() => existsSync(socket) || daemon.exited(), 15_000, `${impl.name}: no UAPI socket ${socket} after 15 s`);
    wgi.assertAlive();
  } catch (err) {
    await wgi.stop();
    throw err;
  }
  return wgi;
}
