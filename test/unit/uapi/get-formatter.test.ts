import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../../src/io/endpoint.js';
import { formatGetReply, type PeerSnapshot } from '../../../src/uapi/get-formatter.js';

const A_PRIV = 'a0'.repeat(31) + '7f';
const B_PUB = '0f1e2d3c4b5a6978'.repeat(4);
const C_PUB = 'ffeeddccbbaa9988'.repeat(4);
const PSK = '1234567890abcdef'.repeat(4);
const b = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const ep = (t: string) => {
  const e = Endpoint.parse(t);
  if (!e) throw new Error(t);
  return e;
};

function peer(over: Partial<PeerSnapshot>): PeerSnapshot {
  return {
    publicKey: b(C_PUB),
    presharedKey: null,
    endpoint: null,
    lastHandshakeSec: 0n,
    lastHandshakeNsec: 0,
    txBytes: 0n,
    rxBytes: 0n,
    persistentKeepaliveInterval: 0,
    allowedIPs: [],
    ...over,
  };
}

describe('formatGetReply', () => {
  it('produces the §2.3 example exactly', () => {
    const text = formatGetReply({
      privateKey: b(A_PRIV.toUpperCase()),
      listenPort: 51820,
      fwmark: 51820,
      peers: [
        peer({
          publicKey: b(B_PUB),
          presharedKey: b(PSK),
          endpoint: ep('[fd77::2]:51821'),
          lastHandshakeSec: 1700000123n,
          lastHandshakeNsec: 501221610,
          txBytes: 1428n,
          rxBytes: 1372n,
          persistentKeepaliveInterval: 25,
          allowedIPs: [
            { family: 4, addr: Uint8Array.of(10, 9, 0, 2), bits: 32 },
            { family: 6, addr: b('fd090000000000000000000000000002'), bits: 128 },
          ],
        }),
        peer({}),
      ],
    });
    expect(text).toBe(
      `private_key=${A_PRIV}
listen_port=51820
fwmark=51820
public_key=${B_PUB}
preshared_key=${PSK}
protocol_version=1
endpoint=[fd77::2]:51821
last_handshake_time_sec=1700000123
last_handshake_time_nsec=501221610
tx_bytes=1428
rx_bytes=1372
persistent_keepalive_interval=25
allowed_ip=10.9.0.2/32
allowed_ip=fd09::2/128
public_key=${C_PUB}
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
last_handshake_time_sec=0
last_handshake_time_nsec=0
tx_bytes=0
rx_bytes=0
persistent_keepalive_interval=0
errno=0

`,
    );
  });

  it('empty device: only listen_port; zero key and zero port/fwmark omitted', () => {
    expect(formatGetReply({ privateKey: null, listenPort: 40000, fwmark: 0, peers: [] })).toBe('listen_port=40000\nerrno=0\n\n');
    expect(formatGetReply({ privateKey: new Uint8Array(32), listenPort: 0, fwmark: 0, peers: [] })).toBe('errno=0\n\n');
    expect(formatGetReply({ privateKey: null, listenPort: 0, fwmark: 4294967295, peers: new Set() })).toBe('fwmark=4294967295\nerrno=0\n\n');
  });

  it('bigint counters above 2^53 keep every digit', () => {
    const big = (1n << 64n) - 1n;
    const text = formatGetReply({
      privateKey: null,
      listenPort: 1,
      fwmark: 0,
      peers: [peer({ txBytes: big, rxBytes: (1n << 53n) + 1n, lastHandshakeSec: 9007199254740993n })],
    });
    expect(text).toContain('\ntx_bytes=18446744073709551615\nrx_bytes=9007199254740993\n');
    expect(text).toContain('\nlast_handshake_time_sec=9007199254740993\n');
  });

  it('endpoints: IPv4-mapped stays IPv6, zones as index, plain IPv4', () => {
    const lines = (e: Endpoint) =>
      formatGetReply({ privateKey: null, listenPort: 0, fwmark: 0, peers: [peer({ endpoint: e })] })
        .split('\n')
        .find((l) => l.startsWith('endpoint='));
    expect(lines(ep('[::ffff:10.1.2.3]:51820'))).toBe('endpoint=[::ffff:10.1.2.3]:51820');
    expect(lines(ep('[FE80::1%2]:7'))).toBe('endpoint=[fe80::1%2]:7');
    expect(lines(ep('192.0.2.1:1'))).toBe('endpoint=192.0.2.1:1');
  });

  it('allowed IPs: host bits cleared, RFC 5952, insertion order kept', () => {
    const text = formatGetReply({
      privateKey: null,
      listenPort: 0,
      fwmark: 0,
      peers: [
        peer({
          allowedIPs: [
            { family: 6, addr: b('20010db8000000000000000000000001'), bits: 32 },
            { family: 4, addr: Uint8Array.of(10, 1, 2, 3), bits: 8 },
            { family: 6, addr: b('00000000000000000000ffff0a000001'), bits: 128 },
            { family: 6, addr: b('20010000000000010000000000000000'), bits: 64 },
          ],
        }),
      ],
    });
    expect(text.split('\n').filter((l) => l.startsWith('allowed_ip='))).toEqual([
      'allowed_ip=2001:db8::/32',
      'allowed_ip=10.0.0.0/8',
      'allowed_ip=::ffff:10.0.0.1/128',
      'allowed_ip=2001:0:0:1::/64',
    ]);
  });

  it('formats 130,560 allowed IPs quickly', () => {
    const ips: PeerSnapshot['allowedIPs'] = [];
    for (let i = 0; i < 65_280; i++) ips.push({ family: 4, addr: Uint8Array.of(10, i >> 8, i & 255, 0), bits: 24 });
    for (let i = 0; i < 65_280; i++) {
      const a = new Uint8Array(16);
      a[0] = 0xfd;
      a[2] = i >> 8;
      a[3] = i & 255;
      ips.push({ family: 6, addr: a, bits: 32 });
    }
    const t0 = performance.now();
    const text = formatGetReply({ privateKey: null, listenPort: 1, fwmark: 0, peers: [peer({ allowedIPs: ips })] });
    const ms = performance.now() - t0;
    const lines = text.split('\n');
    expect(lines.filter((l) => l.startsWith('allowed_ip='))).toHaveLength(130_560);
    expect(lines).toContain('allowed_ip=10.254.255.0/24');
    expect(lines).toContain('allowed_ip=fd00:feff::/32');
    expect(text.endsWith('allowed_ip=fd00:feff::/32\nerrno=0\n\n')).toBe(true);
    expect(ms).toBeLessThan(1000);
  });
});
