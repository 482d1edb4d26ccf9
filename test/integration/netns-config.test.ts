/**
 * Configuration scenarios of the kernel netns suite against the tsguard daemon:
 * F16 keepalive on link up, F17 large UAPI exchanges (D10), F18 per-prefix removal (D12),
 * F19 key and configuration semantics (D11, B11). Each test starts its own tsguard in its
 * own namespace. Needs root, ip, wg, ncat.
 *
 * F18 needs `wg` ≥ 1.0.20250521 for `allowed-ips -prefix`; with an older `wg` the same
 * `allowed_ip=-prefix` lines are sent over the UAPI socket directly.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, generatePresharedKey } from '../helpers/keys.js';
import { Cleanup, createNetns, exec, execIn, execInResult, ip, requireRoot, spawnIn, waitFor } from '../helpers/netns.js';
import { startUserspaceWg, type WgInterface } from '../helpers/wireguard-go.js';

const root = requireRoot('wg', 'ncat', 'ss');
const TSGUARD = [resolve('bin/tsguard'), '-f'];
const reg = new Cleanup();

async function daemon(ns: string): Promise<WgInterface> {
  return startUserspaceWg(ns, { command: TSGUARD, prefix: 'tsgcfg', registry: reg });
}

/** `wg show IF transfer` of the only peer: [rx, tx]. */
async function transfer(wg: WgInterface): Promise<[number, number]> {
  const line = (await wg.wg('show', wg.ifname, 'transfer')).trim();
  const f = line.split('\t');
  expect(f.length, line).toBe(3);
  return [Number(f[1]), Number(f[2])];
}

/** A file in the daemon's key directory (removed with it). */
function file(wg: WgInterface, name: string, text: string): string {
  const path = join(wg.keyDir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** The `wg` tool's version date (e.g. 20210914), 0 when unknown. */
async function wgVersion(): Promise<number> {
  const out = (await exec('wg', ['--version'], { allowFailure: true })).stdout;
  const m = /v\d+\.\d+\.(\d{8})/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** One UAPI request on a fresh connection; resolves to the reply up to the blank line. */
function uapi(path: string, request: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const s = connect(path);
    let reply = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no UAPI reply: ${JSON.stringify(reply)}`));
    }, 5000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      reply += d;
      if (reply.endsWith('\n\n')) {
        clearTimeout(timer);
        s.destroy();
        resolvePromise(reply);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('connect', () => s.write(request));
  });
}

const hexKey = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

describe.skipIf(!root)('tsguard configuration semantics (F16–F19)', () => {
  afterEach(async () => {
    await reg.run();
  });

  it('F16: a persistent keepalive goes out at link up, or once the private key arrives', async () => {
    const ns1 = await createNetns('tsgc1', reg);
    // The suite's ns1 still holds 10.0.0.1 here: the keepalive goes to a local address.
    await ip('-n', ns1, 'addr', 'add', '10.0.0.1/24', 'dev', 'lo');
    const key1 = generateKeyPair();
    const pub2 = generateKeyPair().publicKey;

    let wg = await daemon(ns1);
    await wg.set({ privateKey: key1.privateKey, peers: [{ publicKey: pub2, endpoint: '10.0.0.1:1', persistentKeepalive: 1 }] });
    expect((await transfer(wg))[1]).toBe(0);
    await wg.up();
    expect((await transfer(wg))[1]).toBeGreaterThan(0);
    await wg.stop();

    wg = await daemon(ns1);
    await wg.set({ peers: [{ publicKey: pub2, endpoint: '10.0.0.1:1', persistentKeepalive: 1 }] });
    expect((await transfer(wg))[1]).toBe(0);
    await wg.up();
    expect((await transfer(wg))[1]).toBe(0);
    await wg.set({ privateKey: key1.privateKey });
    expect((await transfer(wg))[1]).toBeGreaterThan(0);
  });

  it('F17 / D10: 130,560 prefixes on one peer through wg setconf; wg show allowed-ips is complete', async () => {
    const ns0 = await createNetns('tsgc0', reg);
    const wg = await daemon(ns0);
    const lines = ['[Interface]', `PrivateKey = ${generateKeyPair().privateKey}`, '[Peer]', `PublicKey = ${generateKeyPair().publicKey}`];
    for (let a = 1; a <= 255; a++) for (let b = 0; b <= 255; b++) lines.push(`AllowedIPs=${a}.${b}.0.0/16,${a}::${b}/128`);
    const conf = file(wg, 'big.conf', `${lines.join('\n')}\n`);
    const t0 = Date.now();
    await execIn(ns0, 'wg', ['setconf', wg.ifname, conf], { timeoutMs: 60_000 });
    const setMs = Date.now() - t0;
    const shown = await execIn(ns0, 'wg', ['show', wg.ifname, 'allowed-ips'], { timeoutMs: 60_000 });
    const tokens = shown.split(/\s+/).filter(Boolean);
    expect(tokens.length).toBe(255 * 256 * 2 + 1);
    expect(tokens).toContain('255.255.0.0/16');
    expect(tokens).toContain('1::255/128');
    expect(setMs, 'wg setconf of the largest configuration').toBeLessThan(30_000);
  });

  it('F17: 40 peers × 52 prefixes; 29 bare peers + 1 with prefixes without [Interface]; creation order', async () => {
    const ns0 = await createNetns('tsgc0', reg);
    let wg = await daemon(ns0);
    const forty = ['[Interface]', `PrivateKey = ${generateKeyPair().privateKey}`];
    for (let a = 1; a <= 40; a++) {
      forty.push('[Peer]', `PublicKey = ${generateKeyPair().publicKey}`);
      for (let b = 1; b <= 52; b++) forty.push(`AllowedIPs=${a}.${b}.0.0/16`);
    }
    await execIn(ns0, 'wg', ['setconf', wg.ifname, file(wg, 'forty.conf', `${forty.join('\n')}\n`)]);
    const rows = (await wg.wg('show', wg.ifname, 'allowed-ips')).split('\n').filter(Boolean);
    expect(rows.length).toBe(40);
    for (const row of rows) expect(row.split(/\s+/).filter(Boolean).length, row.slice(0, 80)).toBe(53);
    await wg.stop();

    wg = await daemon(ns0);
    const thirty: string[] = [];
    for (let i = 1; i <= 29; i++) thirty.push('[Peer]', `PublicKey = ${generateKeyPair().publicKey}`);
    const last = generateKeyPair().publicKey;
    thirty.push('[Peer]', `PublicKey = ${last}`, 'AllowedIPs=255.2.3.4/32,abcd::255/128');
    await execIn(ns0, 'wg', ['setconf', wg.ifname, file(wg, 'thirty.conf', `${thirty.join('\n')}\n`)]);
    const showconf = await wg.wg('showconf', wg.ifname);
    expect(showconf.match(/^\[Peer\]$/gm)?.length).toBe(30);
    expect(showconf).toContain(`PublicKey = ${last}\nAllowedIPs = 255.2.3.4/32, abcd::255/128`);
    await wg.stop();

    wg = await daemon(ns0);
    const pub1 = generateKeyPair().publicKey;
    const pub2 = generateKeyPair().publicKey;
    const v6 = Array.from({ length: 197 }, (_, i) => `abcd::${i + 1}`);
    await wg.wg('set', wg.ifname, 'peer', pub1);
    await wg.wg('set', wg.ifname, 'peer', pub2, 'allowed-ips', v6.join(','));
    const [first, second, ...rest] = (await wg.wg('show', wg.ifname, 'allowed-ips')).split('\n').filter(Boolean);
    expect(first).toBe(`${pub1}\t(none)`);
    const [pub, list] = second.split('\t');
    expect(pub).toBe(pub2);
    expect(list.split(/\s+/).filter(Boolean).length).toBe(197);
    expect(rest).toEqual([]);
  });

  it('F18 / D12: removing six of 394 prefixes (allowed-ips -p / allowed_ip=-p)', async () => {
    const ns0 = await createNetns('tsgc0', reg);
    const wg = await daemon(ns0);
    const pub1 = generateKeyPair().publicKey;
    const all: string[] = [];
    for (let i = 1; i <= 197; i++) all.push(`192.168.0.${i}`, `abcd::${i}`);
    await wg.wg('set', wg.ifname, 'peer', pub1, 'allowed-ips', all.join(','));
    const removed = ['192.168.0.1/32', '192.168.0.20/32', '192.168.0.100/32', 'abcd::1/128', 'abcd::20/128', 'abcd::100/128'];
    if ((await wgVersion()) >= 20250521) {
      await wg.wg('set', wg.ifname, 'peer', pub1, 'allowed-ips', removed.map((p) => `-${p}`).join(','));
    } else {
      // This `wg` predates `-prefix`: send what the newer one sends.
      const req = `set=1\npublic_key=${hexKey(pub1)}\n${removed.map((p) => `allowed_ip=-${p}\n`).join('')}\n`;
      expect(await uapi(wg.socketPath, req)).toBe('errno=0\n\n');
    }
    const [line, ...rest] = (await wg.wg('show', wg.ifname, 'allowed-ips')).split('\n').filter(Boolean);
    expect(rest).toEqual([]);
    const [pub, list] = line.split('\t');
    expect(pub).toBe(pub1);
    const left = list.split(/\s+/).filter(Boolean);
    expect(left.length).toBe(388);
    for (const p of removed) expect(left).not.toContain(p);
    expect(left).toContain('192.168.0.2/32');
    expect(left).toContain('abcd::197/128');
  });

  it('F19: key semantics, clamping, D11 overlaps; low-order peers send nothing', async () => {
    const ns0 = await createNetns('tsgc0', reg);
    const wg = await daemon(ns0);
    const IF = wg.ifname;
    const show = async (...what: string[]) => (await wg.wg('show', IF, ...what)).replace(/\n$/, '');

    const missing = await execInResult(ns0, 'wg', ['show', 'doesnotexist'], { allowFailure: true });
    expect(missing.code).not.toBe(0);

    const key1 = generateKeyPair();
    const key2 = generateKeyPair();
    const psk = generatePresharedKey();
    const k1 = file(wg, 'key1', `${key1.privateKey}\n`);
    const k2 = file(wg, 'key2', `${key2.privateKey}\n`);
    await wg.wg('set', IF, 'private-key', k1);
    await wg.wg('set', IF, 'peer', key2.publicKey, 'preshared-key', file(wg, 'psk', `${psk}\n`));
    expect(await show('private-key')).toBe(key1.privateKey);
    expect(await show('preshared-keys')).toBe(`${key2.publicKey}\t${psk}`);
    await wg.wg('set', IF, 'private-key', '/dev/null', 'peer', key2.publicKey, 'preshared-key', '/dev/null');
    expect(await show('private-key')).toBe('(none)');
    expect(await show('preshared-keys')).toBe(`${key2.publicKey}\t(none)`);

    // Our own public key as a peer: the peer goes, and cannot be added back.
    await wg.wg('set', IF, 'peer', key2.publicKey);
    await wg.wg('set', IF, 'private-key', k2);
    expect(await show('public-key')).toBe(key2.publicKey);
    expect(await show('peers')).toBe('');
    await wg.wg('set', IF, 'peer', key2.publicKey);
    expect(await show('peers')).toBe('');
    await wg.wg('set', IF, 'private-key', k1);
    await wg.wg('set', IF, 'peer', key2.publicKey);
    expect(await show('peers')).toBe(key2.publicKey);

    // '/' = 0b111111: clamping clears bit 2 of byte 0, which the first character carries.
    await wg.wg('set', IF, 'private-key', file(wg, 'slash', `/${key1.privateKey.slice(1)}\n`));
    expect(await show('private-key')).toBe(`+${key1.privateKey.slice(1)}`);

    for (const list of [
      '0.0.0.0/0,10.0.0.0/8,100.0.0.0/10,172.16.0.0/12,192.168.0.0/16',
      '0.0.0.0/0',
      '::/0,1700::/111,5000::/4,e000::/37,9000::/75',
      '::/0',
    ]) {
      await wg.wg('set', IF, 'peer', key2.publicKey, 'allowed-ips', list);
    }
    expect(await show('allowed-ips')).toBe(`${key2.publicKey}\t::/0`);
    await wg.wg('set', IF, 'peer', key2.publicKey, 'remove');
    expect(await show('peers')).toBe('');

    const lowOrder = [
      'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=',
      'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=',
      '7P///////////////////////////////////////38=',
      '7f///////////////////////////////////////38=',
      '7v///////////////////////////////////////38=',
    ];
    for (const p of lowOrder) await wg.wg('set', IF, 'peer', p, 'persistent-keepalive', '1', 'endpoint', '127.0.0.1:1111');
    expect((await show('peers')).split('\n').sort()).toEqual([...lowOrder].sort());
    const listener = spawnIn(ns0, 'ncat', ['-l', '-u', '127.0.0.1', '1111'], { registry: reg });
    await waitFor(async () => (await execIn(ns0, 'ss', ['-uln'])).includes('127.0.0.1:1111') || listener.exited, 5000);
    expect(listener.exited, listener.stderr()).toBe(false);
    await wg.up();
    await new Promise((r) => setTimeout(r, 2000));
    expect(listener.stdout()).toBe('');
    // The listener did work: a datagram from the test itself arrives.
    await execIn(ns0, 'ncat', ['-u', '--send-only', '127.0.0.1', '1111'], { input: 'probe' });
    await waitFor(() => listener.stdout() === 'probe', 2000);
    const peers = (await wg.dump()).peers;
    expect(peers.every((p) => p.txBytes === 0 && p.latestHandshake === 0)).toBe(true);
  });
});
