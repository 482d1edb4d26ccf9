// Tests of the shared test helpers themselves (packets, keys, wg dump parsing, cleanup).
import { describe, expect, it } from 'vitest';
import { clamp, generateKeyPair, publicKeyOf } from '../../helpers/keys.js';
import { Cleanup, waitFor } from '../../helpers/netns.js';
import {
  buildIcmpEcho,
  buildUdp,
  buildUdp4,
  echoReplyFor,
  internetChecksum,
  ipv4HeaderChecksum,
  parseIcmpEcho,
  parseUdp,
} from '../../helpers/packets.js';
import { parseWgDump, uniqueIfname } from '../../helpers/wireguard-go.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('packets helper', () => {
  it('computes the RFC 1071 example and a textbook IPv4 header checksum', () => {
    expect(internetChecksum(hex('0001 f203 f4f5 f6f7'))).toBe(0x220d);
    // 192.168.0.1 → 192.168.0.199, UDP, checksum field zeroed: b861.
    expect(ipv4HeaderChecksum(hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7'))).toBe(0xb861);
  });

  it('builds the 84-byte IPv4 echo request ping sends, and its reply', () => {
    const req = buildIcmpEcho({ src: '192.168.241.2', dst: '192.168.241.1', id: 0x77, seq: 3 });
    expect(req.length).toBe(84);
    expect(req[0]).toBe(0x45);
    expect(req[9]).toBe(1);
    const p = parseIcmpEcho(req)!;
    expect(p).toMatchObject({ family: 4, type: 'request', src: '192.168.241.2', dst: '192.168.241.1', id: 0x77, seq: 3, checksumOk: true });
    const rep = parseIcmpEcho(echoReplyFor(req)!)!;
    expect(rep).toMatchObject({ type: 'reply', src: '192.168.241.1', dst: '192.168.241.2', id: 0x77, seq: 3, checksumOk: true });
    expect([...rep.payload]).toEqual([...p.payload]);
    const bad = req.slice();
    bad[30] ^= 1;
    expect(parseIcmpEcho(bad)!.checksumOk).toBe(false);
  });

  it('builds ICMPv6 echo with the pseudo-header checksum', () => {
    const req = buildIcmpEcho({ src: 'fd00::2', dst: 'fd00::1', seq: 9, payload: Uint8Array.of(1, 2, 3) });
    expect(req.length).toBe(40 + 8 + 3);
    expect(req[6]).toBe(58);
    expect(parseIcmpEcho(req)).toMatchObject({ family: 6, type: 'request', src: 'fd00::2', dst: 'fd00::1', seq: 9, checksumOk: true });
    const moved = req.slice();
    moved[39] ^= 1; // another destination: pseudo-header no longer matches
    expect(parseIcmpEcho(moved)!.checksumOk).toBe(false);
    expect(parseIcmpEcho(echoReplyFor(req)!)).toMatchObject({ family: 6, type: 'reply', checksumOk: true });
  });

  it('builds and parses UDP over IPv4 and IPv6', () => {
    const payload = new TextEncoder().encode('X');
    const u4 = buildUdp4({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 5555, dstPort: 1111, payload });
    expect(u4.length).toBe(29);
    expect(parseUdp(u4)).toMatchObject({ family: 4, srcPort: 5555, dstPort: 1111, checksumOk: true });
    const u6 = buildUdp({ src: '::1', dst: '::1', srcPort: 1, dstPort: 2, payload });
    expect(parseUdp(u6)).toMatchObject({ family: 6, src: '::1', checksumOk: true });
    expect(() => buildUdp4({ src: '::1', dst: '::1', srcPort: 1, dstPort: 2, payload })).toThrow(TypeError);
    const bad = u4.slice();
    bad[28] ^= 0xff;
    expect(parseUdp(bad)!.checksumOk).toBe(false);
  });
});

describe('keys helper', () => {
  it('derives RFC 7748 public keys', () => {
    const priv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64');
    expect(Buffer.from(publicKeyOf(priv), 'base64').toString('hex')).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
  });

  it('generates clamped, distinct key pairs', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.privateKey).not.toBe(b.privateKey);
    const raw = Buffer.from(a.privateKey, 'base64');
    expect(raw.length).toBe(32);
    expect(Buffer.from(clamp(raw)).equals(raw)).toBe(true);
    expect(publicKeyOf(a.privateKey)).toBe(a.publicKey);
  });
});

describe('wireguard-go helper', () => {
  it('parses wg show dump', () => {
    const text =
      'cHJpdg==\tcHVi\t51820\toff\n' +
      'UEVFUjE=\t(none)\t10.0.0.2:51821\t192.168.241.2/32,fd00::2/128\t1700000000\t1372\t1428\t25\n' +
      'UEVFUjI=\tcHNr\t(none)\t(none)\t0\t0\t0\toff\n';
    expect(parseWgDump(text)).toEqual({
      interface: { privateKey: 'cHJpdg==', publicKey: 'cHVi', listenPort: 51820, fwmark: 0 },
      peers: [
        {
          publicKey: 'UEVFUjE=',
          presharedKey: null,
          endpoint: '10.0.0.2:51821',
          allowedIPs: ['192.168.241.2/32', 'fd00::2/128'],
          latestHandshake: 1_700_000_000,
          rxBytes: 1372,
          txBytes: 1428,
          persistentKeepalive: 25,
        },
        {
          publicKey: 'UEVFUjI=',
          presharedKey: 'cHNr',
          endpoint: null,
          allowedIPs: [],
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: 0,
        },
      ],
    });
    expect(parseWgDump('(none)\t(none)\t35506\t0x1\n').interface).toEqual({
      privateKey: null,
      publicKey: null,
      listenPort: 35506,
      fwmark: 1,
    });
  });

  it('makes short unique interface names', () => {
    const a = uniqueIfname();
    expect(a).toMatch(/^wgo[0-9a-f]{6}$/);
    expect(uniqueIfname()).not.toBe(a);
    expect(() => uniqueIfname('a-very-long-name')).toThrow(RangeError);
  });
});

describe('Cleanup and waitFor', () => {
  it('runs every step newest first, even after failures, then reports them', async () => {
    const c = new Cleanup();
    const order: string[] = [];
    c.add('one', () => void order.push('one'));
    c.add('two', () => {
      order.push('two');
      throw new Error('boom');
    });
    c.add('three', async () => void order.push('three'));
    await expect(c.run()).rejects.toThrow(/two: boom/);
    expect(order).toEqual(['three', 'two', 'one']);
    expect(c.size).toBe(0);
    await c.run(); // nothing left: no-op
    expect(order).toHaveLength(3);
  });

  it('waitFor resolves to the first truthy value and times out with the last error', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0), 1000, 1)).toBe(3);
    await expect(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        30,
        5,
      ),
    ).rejects.toThrow(/within 30 ms: not yet/);
  });
});
