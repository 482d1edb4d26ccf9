import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UapiServer } from '../../../src/uapi/server.js';
import { exchange, FakeHandler, MemLogger, openSocket, sleep, tempDir, waitFor } from './server-helpers.js';

const K1 = 'ab'.repeat(32);
let tmp: ReturnType<typeof tempDir>;
let handler: FakeHandler;
let logger: MemLogger;
let server: UapiServer;
let path: string;

async function start(extra: Partial<ConstructorParameters<typeof UapiServer>[0]> = {}): Promise<void> {
  server = new UapiServer({ handler, logger, dir: tmp.dir, ...extra });
  await server.listen({ name: 'wgtest0' });
  path = server.path!;
}

beforeEach(async () => {
  tmp = tempDir();
  handler = new FakeHandler();
  logger = new MemLogger();
  await start();
});

afterEach(async () => {
  await server.close();
  tmp.cleanup();
});

describe('UapiServer framing (spec §1.3–1.4, G8)', () => {
  it('empty probe connection: no reply, no error log, closed', async () => {
    const r = await exchange(path, '', { halfClose: true });
    expect(r).toEqual({ data: '', closed: true });
    expect(logger.errors).toEqual([]);
    expect(handler.gets + handler.sets.length).toBe(0);
  });

  it('get=1 replies the formatted dump and keeps the connection open', async () => {
    const r = await exchange(path, 'get=1\n\n');
    expect(r).toEqual({ data: 'listen_port=4000\nerrno=0\n\n', closed: false });
  });

  it('pipelined set + get in one write → two replies in order', async () => {
    const r = await exchange(path, 'set=1\nlisten_port=51820\nfwmark=7\n\nget=1\n\nget=1\n\n');
    expect(r.data).toBe('errno=0\n\nlisten_port=51820\nfwmark=7\nerrno=0\n\nlisten_port=51820\nfwmark=7\nerrno=0\n\n');
    expect(r.closed).toBe(false);
  });

  it('requests split into single bytes still frame correctly', async () => {
    const s = await openSocket(path);
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    for (const ch of 'set=1\nlisten_port=1234\n\nget=1\n\n') {
      s.write(ch);
      await sleep(1);
    }
    await waitFor(() => Buffer.concat(got).toString().split('errno=0\n\n').length === 3);
    expect(Buffer.concat(got).toString()).toBe('errno=0\n\nlisten_port=1234\nerrno=0\n\n');
    s.destroy();
  });

  it('get=1 followed by a non-empty line → errno=-22 and close', async () => {
    expect(await exchange(path, 'get=1\nx\n')).toEqual({ data: 'errno=-22\n\n', closed: true });
    expect(logger.errors).toEqual(['IPC error -22: trailing character in UAPI get: "x"']);
  });

  it('get=1 then EOF → closed without reply', async () => {
    expect(await exchange(path, 'get=1\n', { halfClose: true })).toEqual({ data: '', closed: true });
    expect(handler.gets).toBe(0);
  });

  it.each(['foo=1\n\n', 'get=2\n\n', '\n', 'set=1\r\nlisten_port=1\r\n\r\n', 'GET=1\n\n'])(
    'invalid operation %j → closed without reply, logged',
    async (input) => {
      expect(await exchange(path, input)).toEqual({ data: '', closed: true });
      expect(logger.errors).toHaveLength(1);
      expect(logger.errors[0]).toMatch(/^invalid UAPI operation/);
      expect(handler.sets).toHaveLength(0);
    },
  );

  it('set line without = → errno=-71, connection stays usable', async () => {
    const r = await exchange(path, 'set=1\nfoobar\n\nget=1\n\n');
    expect(r.data).toBe('errno=-71\n\nlisten_port=4000\nerrno=0\n\n');
    expect(logger.errors).toEqual(['IPC error -71: failed to parse line "foobar"']);
  });

  it('bad key then valid line → -22, port unchanged, then a full get on the same connection', async () => {
    const r = await exchange(path, 'set=1\nfoo=bar\nlisten_port=51820\n\nget=1\n\n');
    expect(r).toEqual({ data: 'errno=-22\n\nlisten_port=4000\nerrno=0\n\n', closed: false });
    expect(logger.errors).toEqual(['IPC error -22: invalid UAPI device key: foo']);
  });

  it('partial application reaches the handler: ops before the bad line + the error', async () => {
    const r = await exchange(path, `set=1\nlisten_port=5\npublic_key=${K1}\nlisten_port=6\n\n`);
    expect(r.data).toBe('errno=-22\n\n');
    expect(handler.sets[0].ops.map((o) => o.op)).toEqual(['listen_port', 'public_key']);
    expect(handler.sets[0].error?.message).toBe('invalid UAPI peer key: listen_port');
    expect(handler.listenPort).toBe(5);
  });

  it('set then half-close without a blank line → applied, errno=0, closed', async () => {
    const r = await exchange(path, 'set=1\nlisten_port=51820\n', { halfClose: true });
    expect(r).toEqual({ data: 'errno=0\n\n', closed: true });
    expect(handler.listenPort).toBe(51820);
  });

  it('a final line without newline before EOF still counts', async () => {
    const r = await exchange(path, 'set=1\nlisten_port=1', { halfClose: true });
    expect(r).toEqual({ data: 'errno=0\n\n', closed: true });
    expect(handler.listenPort).toBe(1);
  });

  it('a line longer than 65,536 bytes → errno=-5 and close, nothing applied', async () => {
    const r = await exchange(path, `set=1\nlisten_port=1\nallowed_ip=${'1'.repeat(70_000)}\n\n`);
    expect(r).toEqual({ data: 'errno=-5\n\n', closed: true });
    expect(handler.sets).toHaveLength(0);
    expect(logger.errors).toEqual(['IPC error -5: line longer than 65536 bytes']);
  });

  it('a line of exactly 65,536 bytes is read (and rejected by the parser only)', async () => {
    const line = `listen_port=${'0'.repeat(65_536 - 13)}1`;
    expect(Buffer.byteLength(line)).toBe(65_536);
    const r = await exchange(path, `set=1\n${line}\n\n`);
    expect(r).toEqual({ data: 'errno=0\n\n', closed: false });
    expect(handler.listenPort).toBe(1);
  });

  it('a request beyond maxRequestBytes → errno=-5 and close', async () => {
    await server.close();
    await start({ maxRequestBytes: 1000 });
    const body = 'listen_port=1\n'.repeat(100);
    const r = await exchange(path, `set=1\n${body}\n`);
    expect(r).toEqual({ data: 'errno=-5\n\n', closed: true });
    expect(handler.sets).toHaveLength(0);
  });

  it('accepts a 130,560-prefix setconf (≈ 3.5 MB) in one request', async () => {
    const lines = ['set=1', 'replace_peers=true', `public_key=${K1}`, 'replace_allowed_ips=true'];
    for (let i = 0; i < 65_280; i++) lines.push(`allowed_ip=10.${i >> 8}.${i & 255}.0/24`);
    for (let i = 0; i < 65_280; i++) lines.push(`allowed_ip=fd00:${i.toString(16)}::/32`);
    const text = lines.join('\n') + '\n\n';
    expect(text.length).toBeGreaterThan(3_000_000);
    const r = await exchange(path, text, { idleMs: 10_000, until: (d) => d.endsWith('\n\n') });
    expect(r).toEqual({ data: 'errno=0\n\n', closed: false });
    expect(handler.sets[0].error).toBeNull();
    expect(handler.sets[0].ops).toHaveLength(130_563);
  });

  it('invalid UTF-8 and NUL in values → -22 (server decodes, parser rejects)', async () => {
    const bad = Buffer.concat([Buffer.from(`set=1\npublic_key=${K1}\nendpoint=1.2.3.4:5`), Buffer.from([0xc3, 0x28]), Buffer.from('\n\n')]);
    expect((await exchange(path, bad)).data).toBe('errno=-22\n\n');
    expect((await exchange(path, 'set=1\nlisten_port=1\u0000\n\n')).data).toBe('errno=-22\n\n');
  });

  it('handler errors: a thrown exception → -55; a returned UapiError is logged with its reason', async () => {
    handler.set = () => {
      throw new Error('boom');
    };
    expect((await exchange(path, 'set=1\n\n')).data).toBe('errno=-55\n\n');
    handler.set = () => ({ errno: -98, message: 'listen_port 53 in use' });
    expect((await exchange(path, 'set=1\nlisten_port=53\n\n')).data).toBe('errno=-98\n\n');
    expect(logger.errors).toEqual(['IPC error -55: set failed: boom', 'IPC error -98: listen_port 53 in use']);
  });

  it('get may return preformatted text', async () => {
    handler.text = 'listen_port=9\nerrno=0\n\n';
    expect((await exchange(path, 'get=1\n\n')).data).toBe('listen_port=9\nerrno=0\n\n');
  });
});

describe('UapiServer serialization and robustness (G9, G10)', () => {
  it('requests from all connections run one at a time: a get never overtakes an async set', async () => {
    handler.setDelayMs = 150;
    let started = 0;
    handler.beforeRequest = () => started++;
    const order: string[] = [];
    const a = exchange(path, 'set=1\nlisten_port=777\n\n', { idleMs: 400 }).then((r) => {
      order.push('set');
      return r;
    });
    await waitFor(() => started === 1); // the set is in the queue, awaiting its delay
    const b = exchange(path, 'get=1\n\n', { idleMs: 400 }).then((r) => {
      order.push('get');
      return r;
    });
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.data).toBe('errno=0\n\n');
    expect(rb.data).toBe('listen_port=777\nerrno=0\n\n');
    expect(order).toEqual(['set', 'get']);
    expect(started).toBe(2);
  });

  it('1000 connections of random bytes, then a valid get is still answered', async () => {
    const junk: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      const bytes = randomBytes(1 + (i % 200));
      junk.push(exchange(path, bytes, { halfClose: i % 2 === 0, idleMs: 50 }).catch(() => undefined));
    }
    await Promise.all(junk);
    const r = await exchange(path, 'get=1\n\n');
    expect(r.data).toBe('listen_port=4000\nerrno=0\n\n');
    await waitFor(() => server.connectionCount === 0);
  });

  it('a client that never reads holds one reply at most and does not block others', async () => {
    handler.text = 'x='.padEnd(1 << 20, 'y') + '\nerrno=0\n\n'; // ≈ 1 MiB per reply
    const slow = await openSocket(path);
    slow.pause();
    slow.write('get=1\n\n'.repeat(2000));
    await sleep(300);
    const served = handler.gets;
    // The kernel buffer holds part of one reply; the rest waits in one pending write.
    expect(served).toBeLessThanOrEqual(3);
    handler.text = null;
    const r = await exchange(path, 'get=1\n\n');
    expect(r.data).toBe('listen_port=4000\nerrno=0\n\n');
    await sleep(200);
    expect(handler.gets).toBe(served + 1);
    slow.destroy();
    await waitFor(() => server.connectionCount === 0);
  });

  it('a slow reader that finally reads gets every reply in order', async () => {
    handler.text = 'x='.padEnd(300_000, 'y') + '\nerrno=0\n\n';
    const s = await openSocket(path);
    s.pause();
    s.write('get=1\n\n'.repeat(20));
    await sleep(200);
    expect(handler.gets).toBeLessThan(20);
    let total = 0;
    s.on('data', (d: Buffer) => (total += d.length));
    s.resume();
    await waitFor(() => total === 20 * handler.text!.length, 5000);
    expect(handler.gets).toBe(20);
    s.destroy();
  });

  it('100 idle connections do not stop service; close() drops them', async () => {
    const idle = await Promise.all(Array.from({ length: 100 }, () => openSocket(path)));
    expect((await exchange(path, 'get=1\n\n')).data).toBe('listen_port=4000\nerrno=0\n\n');
    await waitFor(() => server.connectionCount === 100);
    const closed = Promise.all(idle.map((s) => new Promise((r) => s.on('close', r))));
    await server.close();
    await closed;
  });
});
