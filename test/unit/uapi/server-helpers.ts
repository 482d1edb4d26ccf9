import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceSnapshot } from '../../../src/uapi/get-formatter.js';
import type { SetOp } from '../../../src/uapi/set-parser.js';
import type { SetResult, UapiHandler, UapiLogger } from '../../../src/uapi/server.js';
import type { UapiError } from '../../../src/uapi/errors.js';

export class MemLogger implements UapiLogger {
  errors: string[] = [];
  debugs: string[] = [];
  error(msg: string): void {
    this.errors.push(msg);
  }
  debug(msg: string): void {
    this.debugs.push(msg);
  }
}

/** A device stand-in: applies listen_port/fwmark, records every set. */
export class FakeHandler implements UapiHandler {
  listenPort = 4000;
  fwmark = 0;
  sets: Array<{ ops: SetOp[]; error: UapiError | null }> = [];
  gets = 0;
  /** When set, get() returns this text instead of a snapshot. */
  text: string | null = null;
  /** Delay (ms) before a set takes effect, to test the global queue. */
  setDelayMs = 0;
  beforeRequest?: () => void;

  get(): DeviceSnapshot | string {
    this.gets++;
    if (this.text !== null) return this.text;
    return { privateKey: null, listenPort: this.listenPort, fwmark: this.fwmark, peers: [] };
  }

  set(ops: SetOp[], error: UapiError | null): SetResult | Promise<SetResult> {
    const apply = (): SetResult => {
      this.sets.push({ ops, error });
      for (const op of ops) {
        if (op.op === 'listen_port') this.listenPort = op.port;
        if (op.op === 'fwmark') this.fwmark = op.mark;
      }
      return error ? error.errno : 0;
    };
    if (this.setDelayMs === 0) return apply();
    return new Promise((r) => setTimeout(() => r(apply()), this.setDelayMs));
  }
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-uapi-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Exchange {
  data: string;
  /** The server closed the connection (within the wait). */
  closed: boolean;
}

/**
 * Connect, send `input`, optionally half-close, and collect what arrives until the server
 * closes or `idleMs` pass without data.
 */
export function exchange(path: string, input: string | Buffer, opts: { halfClose?: boolean; idleMs?: number; until?: (data: string) => boolean } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = connect({ path, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    const done = (closed: boolean) => {
      if (timer) clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks).toString('utf8'), closed });
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => done(false), opts.idleMs ?? 300);
    };
    s.on('connect', () => {
      if (input.length) s.write(input);
      if (opts.halfClose) s.end();
      arm();
    });
    s.on('data', (d) => {
      chunks.push(d);
      if (opts.until?.(Buffer.concat(chunks).toString('utf8'))) return done(false);
      arm();
    });
    s.on('end', () => done(true));
    s.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE') done(true);
      else reject(e);
    });
  });
}

export function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}
