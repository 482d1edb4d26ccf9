import { describe, expect, it } from 'vitest';
import { parseSetRequest, type SetOp } from '../../../src/uapi/set-parser.js';

const K1 = '0123456789abcdef'.repeat(4);
const K2 = 'fedcba9876543210'.repeat(4);
const PEER = `public_key=${K1}\n`;

function parse(body: string, resolveZone?: (n: string) => number | undefined) {
  return parseSetRequest(body, { resolveZone });
}
function errnoOf(body: string): number {
  return parse(body).error?.errno ?? 0;
}
function bytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

describe('parseSetRequest: G8 rows that concern parsing', () => {
  it('a line without = is -71 (EPROTO)', () => {
    expect(errnoOf('foobar\n')).toBe(-71);
  });

  it.each([
    'foo=bar',
    'listen_port = 1',
    'listen_port =1',
    'listen_port= 1',
    'listen_port=',
    'listen_port=-1',
    'listen_port=+5',
    'listen_port=70000',
    'listen_port=65536',
    'listen_port=0x10',
    'fwmark=4294967296',
    'fwmark=0x10',
    'fwmark=',
    'private_key=abcd',
    `private_key=${K1}0`,
    `private_key=${K1.slice(0, 63)}g`,
    'replace_peers=false',
    'replace_peers=TRUE',
    'replace_peers=',
    'public_key=zz',
    'protocol_version=1', // device section
    'preshared_key=' + K2, // peer key before any public_key
    'endpoint=1.2.3.4:5',
    'allowed_ip=10.0.0.0/8',
  ])('device section %j → -22', (line) => {
    expect(errnoOf(`${line}\n`)).toBe(-22);
  });

  it.each([
    'foo=1',
    'listen_port=1',
    'private_key=' + K2,
    'fwmark=1',
    'replace_peers=true',
    'remove=false',
    'update_only=yes',
    'replace_allowed_ips=1',
    'preshared_key=00',
    'endpoint=example.com:51820',
    'endpoint=fd77::9:51820',
    'endpoint=1.2.3.4',
    'endpoint=[::1]',
    'endpoint=[::1]:',
    'endpoint=1.2.3.4:65536',
    'endpoint=[1.2.3.4]:5',
    'endpoint=01.2.3.4:5',
    'endpoint=1.2.3.4:+5',
    'endpoint=',
    'persistent_keepalive_interval=65536',
    'persistent_keepalive_interval=-1',
    'persistent_keepalive_interval=',
    'allowed_ip=10.1.1.1',
    'allowed_ip=10.1.1.1/33',
    'allowed_ip=fd00::/129',
    'allowed_ip=+10.0.0.0/8',
    'allowed_ip=10.0.0.0/',
    'allowed_ip=fe80::1%1/64',
    'allowed_ip=--10.0.0.0/8',
    'allowed_ip=',
    'protocol_version=2',
    'protocol_version=',
  ])('after public_key: %j → -22', (line) => {
    const r = parse(`${PEER}${line}\n`);
    expect(r.error?.errno).toBe(-22);
    expect(r.ops).toHaveLength(1);
  });

  it('device key after public_key names the peer key error', () => {
    const r = parse(`${PEER}listen_port=1\n`);
    expect(r.error).toEqual({ errno: -22, message: 'invalid UAPI peer key: listen_port' });
  });

  it('NUL bytes and invalid UTF-8 (decoded to U+FFFD) in values → -22', () => {
    expect(errnoOf('listen_port=1\u0000\n')).toBe(-22);
    expect(errnoOf(`${PEER}endpoint=[fe80::1%eth\u0000]:1\n`)).toBe(-22);
    const invalid = Buffer.concat([Buffer.from(`${PEER}endpoint=[fe80::1%e`), Buffer.from([0xff, 0xfe]), Buffer.from(']:1\n')]);
    let asked: string | null = null;
    const r = parse(invalid.toString('utf8'), (n) => {
      asked = n;
      return 3;
    });
    expect(r.error?.errno).toBe(-22);
    expect(asked).toBeNull();
  });

  it('accepts uppercase hex, odd endpoint spelling and protocol_version=1', () => {
    const r = parse(`private_key=${K1.toUpperCase()}\npublic_key=${K2.toUpperCase()}\nendpoint=[FD77:0::0002]:051820\nprotocol_version=1\n`);
    expect(r.error).toBeNull();
    expect(r.ops.map((o) => o.op)).toEqual(['private_key', 'public_key', 'endpoint', 'protocol_version']);
    expect(r.ops[0]).toEqual({ op: 'private_key', key: bytes(K1) });
    expect(r.ops[1]).toEqual({ op: 'public_key', key: bytes(K2) });
    const ep = r.ops[2] as Extract<SetOp, { op: 'endpoint' }>;
    expect(ep.endpoint.toString()).toBe('[fd77::2]:51820');
  });
});

describe('parseSetRequest: values', () => {
  it('parses every key of a wg setconf in order', () => {
    const body = [
      `private_key=${K1}`,
      'listen_port=51820',
      'fwmark=4294967295',
      'replace_peers=true',
      `public_key=${K2}`,
      'update_only=true',
      `preshared_key=${'0'.repeat(64)}`,
      'endpoint=10.0.0.1:0051820',
      'persistent_keepalive_interval=65535',
      'replace_allowed_ips=true',
      'allowed_ip=10.1.2.3/8',
      'allowed_ip=-fd00::ff/120',
      'allowed_ip=::ffff:10.0.0.1/128',
      'allowed_ip=0.0.0.0/0',
      `public_key=${K1}`,
      'remove=true',
      '',
    ].join('\n');
    const r = parse(body);
    expect(r.error).toBeNull();
    expect(r.ops).toEqual([
      { op: 'private_key', key: bytes(K1) },
      { op: 'listen_port', port: 51820 },
      { op: 'fwmark', mark: 4294967295 },
      { op: 'replace_peers' },
      { op: 'public_key', key: bytes(K2) },
      { op: 'update_only' },
      { op: 'preshared_key', key: new Uint8Array(32) },
      { op: 'endpoint', endpoint: expect.anything() },
      { op: 'persistent_keepalive_interval', seconds: 65535 },
      { op: 'replace_allowed_ips' },
      { op: 'allowed_ip', family: 4, addr: Uint8Array.of(10, 0, 0, 0), bits: 8, remove: false },
      { op: 'allowed_ip', family: 6, addr: bytes('fd000000000000000000000000000000'), bits: 120, remove: true },
      { op: 'allowed_ip', family: 6, addr: bytes('00000000000000000000ffff0a000001'), bits: 128, remove: false },
      { op: 'allowed_ip', family: 4, addr: Uint8Array.of(0, 0, 0, 0), bits: 0, remove: false },
      { op: 'public_key', key: bytes(K1) },
      { op: 'remove' },
    ]);
    expect((r.ops[7] as Extract<SetOp, { op: 'endpoint' }>).endpoint.toString()).toBe('10.0.0.1:51820');
  });

  it('range edges: port 0 and 65535, fwmark 0, keepalive 0, leading zeros', () => {
    expect(parse('listen_port=0\nlisten_port=65535\nfwmark=0\nfwmark=007\n').ops).toEqual([
      { op: 'listen_port', port: 0 },
      { op: 'listen_port', port: 65535 },
      { op: 'fwmark', mark: 0 },
      { op: 'fwmark', mark: 7 },
    ]);
    expect(parse(`${PEER}persistent_keepalive_interval=0\n`).ops[1]).toEqual({ op: 'persistent_keepalive_interval', seconds: 0 });
    expect(errnoOf(`listen_port=${'9'.repeat(400)}\n`)).toBe(-22);
  });

  it('zones: numeric kept, names resolved through resolveZone, unknown → -22', () => {
    const zones = (n: string) => (n === 'eth0' ? 7 : undefined);
    const ok = parse(`${PEER}endpoint=[fe80::1%2]:51820\nendpoint=[fe80::1%eth0]:1\n`, zones);
    expect(ok.error).toBeNull();
    expect(ok.ops.slice(1).map((o) => (o as Extract<SetOp, { op: 'endpoint' }>).endpoint.toString())).toEqual([
      '[fe80::1%2]:51820',
      '[fe80::1%7]:1',
    ]);
    expect(parse(`${PEER}endpoint=[fe80::1%nope]:1\n`, zones).error?.errno).toBe(-22);
    expect(parse(`${PEER}endpoint=[fe80::1%eth0]:1\n`).error?.errno).toBe(-22); // no resolver
    expect(parse(`${PEER}endpoint=[fe80::1%]:1\n`, zones).error?.errno).toBe(-22);
  });

  it('IPv4-mapped endpoints stay IPv6', () => {
    const r = parse(`${PEER}endpoint=[::ffff:10.1.2.3]:51820\n`);
    expect((r.ops[1] as Extract<SetOp, { op: 'endpoint' }>).endpoint.toString()).toBe('[::ffff:10.1.2.3]:51820');
  });

  it('partial application: ops before the bad line are returned, nothing after', () => {
    const r = parse(`listen_port=1\n${PEER}allowed_ip=10.0.0.0/8\nendpoint=bogus\nallowed_ip=10.1.0.0/16\n`);
    expect(r.error?.errno).toBe(-22);
    expect(r.error?.message).toContain('endpoint');
    expect(r.ops.map((o) => o.op)).toEqual(['listen_port', 'public_key', 'allowed_ip']);
    const r2 = parse('foo=bar\nlisten_port=51820\n');
    expect(r2.ops).toEqual([]);
    expect(r2.error?.message).toBe('invalid UAPI device key: foo');
  });

  it('splits at the first =; a blank line or missing final newline ends the body', () => {
    expect(parse('listen_port=1=2\n').error?.errno).toBe(-22);
    expect(parse('listen_port=5').ops).toEqual([{ op: 'listen_port', port: 5 }]);
    expect(parse('listen_port=5\n\nfoo\n')).toEqual({ ops: [{ op: 'listen_port', port: 5 }], error: null });
    expect(parse('')).toEqual({ ops: [], error: null });
    expect(parse('listen_port=1\r\n').error?.errno).toBe(-22);
  });

  it('parses a 130,560-prefix body in under 2 s', () => {
    const lines = [`public_key=${K1}`, 'replace_allowed_ips=true'];
    for (let i = 0; i < 65_280; i++) lines.push(`allowed_ip=10.${i >> 8}.${i & 255}.0/24`);
    for (let i = 0; i < 65_280; i++) lines.push(`allowed_ip=fd00:${i.toString(16)}::/32`);
    const body = lines.join('\n') + '\n';
    const t0 = performance.now();
    const r = parse(body);
    const ms = performance.now() - t0;
    expect(r.error).toBeNull();
    expect(r.ops).toHaveLength(130_562);
    expect(r.ops[130_561]).toEqual({ op: 'allowed_ip', family: 6, addr: bytes('fd00feff000000000000000000000000'), bits: 32, remove: false });
    expect(ms).toBeLessThan(2000);
  });
});
