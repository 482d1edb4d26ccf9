/**
 * B1 (interop), issue "protocol core" item 8: a tsguard Device — in-memory TUN, plain UDP bind
 * (node:dgram) — talks to wireguard-go 0.0.20220316 inside a network namespace. Handshakes in
 * both directions of initiation, with and without PSK, IPv4 and IPv6 outer transport, and ICMP
 * echoes crafted by the test host checked through the tunnel.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, generatePresharedKey, type KeyPair } from '../helpers/keys.js';
import { cleanup, createNetns, execInResult, requireRoot, spawnIn, waitFor, type ProcessHandle } from '../helpers/netns.js';
import { startWireguardGo, type WgInterface } from '../helpers/wireguard-go.js';

const root = requireRoot('wg', 'wireguard-go', 'ping');
const fixture = resolve(__dirname, 'fixtures/library-peer.mjs');

interface PeerResult {
  replies: number;
  requestsAnswered: number;
  endpoint: string | null;
  lastHandshake: number;
  txBytes: string;
  rxBytes: string;
}

function startLibraryPeer(ns: string, env: Record<string, string>): ProcessHandle {
  return spawnIn(ns, process.execPath, [fixture], { env: { ...process.env, ...env } });
}

async function readyPort(p: ProcessHandle): Promise<number> {
  const m = await waitFor(() => /READY (\d+)/.exec(p.stdout()) ?? (p.exited ? ['', '-1'] : null), 10_000);
  if (m[1] === '-1') throw new Error(`library peer exited: ${p.stderr()}`);
  return Number(m[1]);
}

async function result(p: ProcessHandle, timeoutMs = 10_000): Promise<PeerResult> {
  const m = await waitFor(() => /RESULT (.*)/.exec(p.stdout()), timeoutMs);
  return JSON.parse(m[1]) as PeerResult;
}

describe.skipIf(!root)('B1 interop: tsguard library peer ↔ wireguard-go', () => {
  let ns = '';
  let wgo: WgInterface;
  const wgoKey: KeyPair = generateKeyPair();
  const wgoPort = 41_001;

  beforeAll(async () => {
    ns = await createNetns('tsg-lib');
    wgo = await startWireguardGo(ns);
    await wgo.set({ privateKey: wgoKey.privateKey, listenPort: wgoPort });
    await wgo.addAddress('10.77.0.1/24');
    await wgo.ip('addr', 'add', 'fd77::1/64', 'dev', wgo.ifname, 'nodad');
    await wgo.up();
  });

  afterAll(async () => {
    await cleanup.run();
  });

  const cases = [
    { name: 'tsguard initiates, IPv4 outer, PSK', psk: true, outer: '127.0.0.1', inner: ['10.77.0.2', '10.77.0.1'] },
    { name: 'tsguard initiates, IPv6 outer, no PSK, IPv6 inner', psk: false, outer: '::1', inner: ['fd77::2', 'fd77::1'] },
  ];
  for (const c of cases) {
    it(`${c.name}: handshake and 5 echo round trips`, async () => {
      const me = generateKeyPair();
      const psk = c.psk ? generatePresharedKey() : '';
      const host = c.outer.includes(':') ? `[${c.outer}]` : c.outer;
      await wgo.set({ peers: [{ publicKey: me.publicKey, presharedKey: psk || undefined, allowedIPs: ['10.77.0.2/32', 'fd77::2/128'] }] });
      const p = startLibraryPeer(ns, {
        PRIVATE_KEY: me.privateKey,
        PEER_PUBLIC_KEY: wgoKey.publicKey,
        PSK: psk,
        PEER_ENDPOINT: `${host}:${wgoPort}`,
        PEER_ALLOWED_IPS: '10.77.0.0/24,fd77::/64',
        SELF_IP: c.inner[0],
        PING_TARGET: c.inner[1],
        COUNT: '5',
      });
      const port = await readyPort(p);
      const r = await result(p);
      expect(r.replies).toBe(5);
      expect(r.lastHandshake).toBeGreaterThan(0);
      const dump = await wgo.dump();
      const peer = dump.peers.find((x) => x.publicKey === me.publicKey)!;
      expect(peer.latestHandshake).toBeGreaterThan(0);
      expect(peer.endpoint).toBe(`${host}:${port}`);
      // wireguard-go's counters and ours describe the same datagrams.
      expect(BigInt(peer.rxBytes)).toBe(BigInt(r.txBytes));
      expect(BigInt(peer.txBytes)).toBe(BigInt(r.rxBytes));
      await p.stop();
      await wgo.set({ peers: [{ publicKey: me.publicKey, remove: true }] });
    });
  }

  it('wireguard-go initiates (PSK): its ping to the library peer is answered, endpoint learned', async () => {
    const me = generateKeyPair();
    const psk = generatePresharedKey();
    const p = startLibraryPeer(ns, {
      PRIVATE_KEY: me.privateKey,
      PEER_PUBLIC_KEY: wgoKey.publicKey,
      PSK: psk,
      PEER_ALLOWED_IPS: '10.77.0.1/32',
      SELF_IP: '10.77.0.3',
      BIND_V6: '',
    });
    const port = await readyPort(p);
    await wgo.set({
      peers: [{ publicKey: me.publicKey, presharedKey: psk, endpoint: `127.0.0.1:${port}`, allowedIPs: ['10.77.0.3/32'] }],
    });
    const ping = await execInResult(ns, 'ping', ['-c', '5', '-i', '0.2', '-W', '2', '10.77.0.3'], { allowFailure: true });
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/5 received/);
    p.kill('SIGUSR1');
    const r = await result(p);
    expect(r.requestsAnswered).toBe(5);
    expect(r.lastHandshake).toBeGreaterThan(0);
    expect(r.endpoint).toBe(`127.0.0.1:${wgoPort}`);
    await p.stop();
  });
});
