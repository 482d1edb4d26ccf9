// @ts-check
/**
 * Two network namespaces joined by a veth pair, each with one WireGuard interface:
 *
 *   ns A                                         ns B
 *   wg  10.201.0.1/24 ── tunnel ── 10.201.0.2/24 wg
 *   veth 10.200.0.1/24 ─────────── 10.200.0.2/24 veth   (UDP 51820 ↔ 51820)
 *
 * Names carry a random suffix so that parallel runs (and tests) never collide; the WireGuard
 * interface names must be unique host-wide because the UAPI socket directory is shared.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, execIn, sleep } from './proc.mjs';
import { cleanup } from './cleanup.mjs';
import { startInterface } from './implementations.mjs';

export const UNDERLAY = { a: '10.200.0.1', b: '10.200.0.2', prefix: 24 };
export const TUNNEL = { a: '10.201.0.1', b: '10.201.0.2', prefix: 24 };
export const LISTEN_PORT = 51820;
/** What wg-quick sets for a 1500-byte underlay (1500 − 80). */
export const TUNNEL_MTU = 1420;

/** @typedef {import('./implementations.mjs').Implementation} Implementation */
/** @typedef {import('./implementations.mjs').WgInterface} WgInterface */

/**
 * @typedef {object} Tunnel
 * @property {string} nsA
 * @property {string} nsB
 * @property {WgInterface} a
 * @property {WgInterface} b
 * @property {number} handshakeMs time from `wg set` to the first successful ping
 */

/** @param {string} ns */
async function genKeys(ns) {
  const priv = (await execIn(ns, 'wg', ['genkey'])).stdout.trim();
  const pub = (await execIn(ns, 'wg', ['pubkey'], { input: `${priv}\n` })).stdout.trim();
  return { priv, pub };
}

/** @param {string} prefix */
async function createNetns(prefix) {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  cleanup.netns(ns);
  await exec('ip', ['netns', 'add', ns]);
  await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

/**
 * Build the topology and bring the tunnel up with `implA` in ns A and `implB` in ns B. Everything
 * is registered in `cleanup`; the caller runs `cleanup.run()` when done with the pair.
 * @param {Implementation} implA @param {Implementation} implB
 * @returns {Promise<Tunnel>}
 */
export async function createTunnel(implA, implB) {
  const id = randomBytes(3).toString('hex');
  const nsA = await createNetns('tsgb-a');
  const nsB = await createNetns('tsgb-b');
  await exec('ip', ['-n', nsA, 'link', 'add', `vb${id}a`, 'type', 'veth', 'peer', 'name', `vb${id}b`, 'netns', nsB]);
  await exec('ip', ['-n', nsA, 'addr', 'add', `${UNDERLAY.a}/${UNDERLAY.prefix}`, 'dev', `vb${id}a`]);
  await exec('ip', ['-n', nsB, 'addr', 'add', `${UNDERLAY.b}/${UNDERLAY.prefix}`, 'dev', `vb${id}b`]);
  await exec('ip', ['-n', nsA, 'link', 'set', `vb${id}a`, 'up']);
  await exec('ip', ['-n', nsB, 'link', 'set', `vb${id}b`, 'up']);

  const a = await startInterface(implA, nsA, `tbw${id}a`);
  const b = await startInterface(implB, nsB, `tbw${id}b`);
  const keyA = await genKeys(nsA);
  const keyB = await genKeys(nsB);
  /** @type {[WgInterface, {priv: string}, {pub: string}, string, string][]} */
  const sides = [
    [a, keyA, keyB, UNDERLAY.b, TUNNEL.a],
    [b, keyB, keyA, UNDERLAY.a, TUNNEL.b],
  ];
  // `wg set` reads the private key from a file (stdin is a socket here, which wg cannot fopen).
  const keyDir = mkdtempSync(join(tmpdir(), 'tsgb-keys-'));
  cleanup.path(keyDir);
  const t0 = Date.now();
  for (const [wgi, mine, theirs, peerUnderlay, myTunnel] of sides) {
    const keyFile = join(keyDir, wgi.ifname);
    writeFileSync(keyFile, `${mine.priv}\n`, { mode: 0o600 });
    await execIn(wgi.ns, 'wg', [
      'set', wgi.ifname, 'private-key', keyFile, 'listen-port', String(LISTEN_PORT),
      'peer', theirs.pub, 'endpoint', `${peerUnderlay}:${LISTEN_PORT}`, 'allowed-ips', `${myTunnel === TUNNEL.a ? TUNNEL.b : TUNNEL.a}/32`,
    ]);
    await exec('ip', ['-n', wgi.ns, 'addr', 'add', `${myTunnel}/${TUNNEL.prefix}`, 'dev', wgi.ifname]);
    await exec('ip', ['-n', wgi.ns, 'link', 'set', wgi.ifname, 'mtu', String(TUNNEL_MTU), 'up']);
  }
  rmSync(keyDir, { recursive: true, force: true });
  // First ping triggers the handshake; retry until it gets through.
  const deadline = Date.now() + 20_000;
  for (;;) {
    a.assertAlive();
    b.assertAlive();
    const r = await execIn(nsA, 'ping', ['-n', '-c', '1', '-W', '1', TUNNEL.b], { allowFailure: true });
    if (r.code === 0) break;
    if (Date.now() > deadline) throw new Error(`no ping through the ${implA.name} ↔ ${implB.name} tunnel after 20 s`);
    await sleep(200);
  }
  return { nsA, nsB, a, b, handshakeMs: Date.now() - t0 };
}
