/**
 * The UAPI unix-socket server (spec §1): accepts connections, frames requests
 * (request-reader.ts), runs them one at a time across all connections through a global
 * queue, and replies in order per connection with backpressure.
 *
 *   socket bytes → RequestReader → frame → global queue → handler.get()/set() → reply write
 *
 * A connection reads only while it is idle: during a request and until its reply has drained
 * the socket is paused, so a client that never reads holds at most one reply in memory.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  UAPI_EINVAL,
  UAPI_EIO,
  UAPI_ENOANO,
  formatIpcError,
  quoteForLog,
  uapiError,
  type UapiError,
} from './errors.js';
import { formatGetReply, type DeviceSnapshot } from './get-formatter.js';
import { RequestReader, type RequestLimits, type UapiFrame } from './request-reader.js';
import { parseSetRequest, type SetOp } from './set-parser.js';
import { bindSocketFile, SocketFileWatch, unlinkIfOurs, type SocketIdentity } from './socket-file.js';
import { resolveZoneByName } from './zone.js';

export { UapiListenError } from './socket-file.js';

export interface UapiLogger {
  error(msg: string): void;
  debug(msg: string): void;
}

/** errno (0 or negative), or an error whose reason the server logs. */
export type SetResult = number | UapiError;

export interface UapiHandler {
  /** The current state, or an already formatted complete reply (ending in `errno=0\n\n`). */
  get(): DeviceSnapshot | string;
  /**
   * Apply `ops` in order, then (if `parseError` is set) report it. Return the errno to reply.
   * The server logs `IPC error <n>: <reason>` once for a non-zero result: the reason is the
   * returned UapiError's message, else parseError's message when its errno matches. Do not
   * log the same error again in the handler.
   */
  set(ops: SetOp[], parseError: UapiError | null): SetResult | Promise<SetResult>;
  /** Called inside the global queue right before each get or set. */
  beforeRequest?(): void;
}

export interface UapiServerOptions extends RequestLimits {
  handler: UapiHandler;
  logger: UapiLogger;
  /** Directory of `<name>.sock` (default /var/run/wireguard). */
  dir?: string;
  /** Endpoint zone names → interface index (default: /sys/class/net/<name>/ifindex). */
  resolveZone?: (name: string) => number | undefined;
  /** The socket file disappeared or was replaced (spec §1.2 step 5): the daemon should shut down. */
  onGone?: (reason: string) => void;
  /** The listening server failed after it was started. */
  onError?: (err: Error) => void;
  /** lstat poll interval of the socket-file watch (default 1000 ms). */
  pollIntervalMs?: number;
}

export const DEFAULT_UAPI_DIR = '/var/run/wireguard';

/** Where to listen: `<dir>/<name>.sock`, or an inherited listening socket (WG_UAPI_FD). */
export type UapiListenTarget = { name: string } | { fd: number };

export class UapiServer {
  private readonly opts: UapiServerOptions;
  private readonly server: Server;
  private readonly conns = new Set<UapiConnection>();
  private queueTail: Promise<void> = Promise.resolve();
  private watch: SocketFileWatch | null = null;
  private identity: SocketIdentity | null = null;
  private socketPath: string | null = null;
  private listening = false;
  private closed = false;

  constructor(opts: UapiServerOptions) {
    this.opts = opts;
    // allowHalfOpen: a `set` ending in EOF still gets its reply (spec §1.4).
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
  }

  /** The socket file path (null for an fd listener or before listen()). */
  get path(): string | null {
    return this.socketPath;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Throws UapiListenError (`UAPI listen error: …`). */
  async listen(target: UapiListenTarget): Promise<void> {
    if (this.listening || this.closed) throw new Error('UapiServer.listen() called twice');
    if ('fd' in target) {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen({ fd: target.fd }, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } else {
      const { path, id } = await bindSocketFile(this.server, this.opts.dir ?? DEFAULT_UAPI_DIR, target.name);
      this.socketPath = path;
      this.identity = id;
      this.watch = new SocketFileWatch(path, id, (reason) => this.opts.onGone?.(reason), this.opts.pollIntervalMs);
    }
    this.listening = true;
    this.server.on('error', (e) => this.opts.onError?.(e));
  }

  /**
   * Stop accepting, drop open connections, and unlink the socket file only if it is still ours.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watch?.stop();
    this.watch = null;
    if (this.socketPath && this.identity) unlinkIfOurs(this.socketPath, this.identity);
    for (const c of this.conns) c.destroy();
    if (!this.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Run `task` after every request queued before it (all connections share one queue). */
  enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queueTail.then(task);
    this.queueTail = run.catch(() => undefined);
    return run;
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn = new UapiConnection(socket, this, this.opts);
    this.conns.add(conn);
    socket.once('close', () => this.conns.delete(conn));
  }
}

/** One client connection: framing, in-order replies, backpressure. */
class UapiConnection {
  private readonly reader: RequestReader;
  private busy = false;
  private gone = false;

  constructor(
    private readonly socket: Socket,
    private readonly server: UapiServer,
    private readonly opts: UapiServerOptions,
  ) {
    this.reader = new RequestReader(opts);
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.pump();
    });
    socket.on('end', () => {
      this.reader.end();
      this.pump();
    });
    socket.on('drain', () => {
      if (!this.busy || this.gone) return;
      this.busy = false;
      this.pump();
    });
    socket.on('error', (e) => this.opts.logger.debug(`UAPI connection error: ${e.message}`));
    socket.on('close', () => {
      this.gone = true;
    });
    socket.resume();
  }

  destroy(): void {
    this.gone = true;
    this.socket.destroy();
  }

  /** Handle every complete frame until the connection needs input, is busy, or is done. */
  private pump(): void {
    while (!this.busy && !this.gone) {
      const frame = this.reader.next();
      if (!frame) {
        this.socket.resume();
        return;
      }
      this.handle(frame);
    }
  }

  private handle(frame: UapiFrame): void {
    const log = this.opts.logger;
    switch (frame.kind) {
      case 'end':
        this.finish();
        return;
      case 'invalid-op':
        log.error(`invalid UAPI operation: ${quoteForLog(frame.line)}`);
        this.finish();
        return;
      case 'too-large':
        this.fail(uapiError(UAPI_EIO, frame.reason));
        return;
      case 'invalid-get':
        this.fail(uapiError(UAPI_EINVAL, `trailing character in UAPI get: ${quoteForLog(frame.next)}`));
        return;
      case 'get':
      case 'set':
        this.busy = true;
        this.socket.pause();
        void this.server.enqueue(() => this.run(frame));
        return;
    }
  }

  /** Log once, reply `errno=<n>`, close. */
  private fail(err: UapiError): void {
    this.opts.logger.error(formatIpcError(err));
    this.finish(`errno=${err.errno}\n\n`);
  }

  /** End the connection after an optional last reply; never read again. */
  private finish(reply?: string): void {
    this.gone = true;
    this.socket.pause();
    const s = this.socket;
    if (reply === undefined) s.end(() => s.destroy());
    else s.end(reply, () => s.destroy());
  }

  private async run(frame: Extract<UapiFrame, { kind: 'get' | 'set' }>): Promise<void> {
    if (this.gone) return;
    const reply = frame.kind === 'get' ? this.runGet() : await this.runSet(frame.body);
    if (this.gone) return;
    if (frame.kind === 'set' && frame.eof) {
      this.finish(reply);
      return;
    }
    if (this.socket.write(reply)) {
      this.busy = false;
      this.pump();
    }
    // else: stay busy (and paused) until 'drain'.
  }

  private runGet(): string {
    try {
      this.opts.handler.beforeRequest?.();
      const r = this.opts.handler.get();
      return typeof r === 'string' ? r : formatGetReply(r);
    } catch (e) {
      this.opts.logger.error(formatIpcError(uapiError(UAPI_ENOANO, `get failed: ${describe(e)}`)));
      return `errno=${UAPI_ENOANO}\n\n`;
    }
  }

  private async runSet(body: string): Promise<string> {
    let err: UapiError | null;
    try {
      this.opts.handler.beforeRequest?.();
      const parsed = parseSetRequest(body, { resolveZone: this.opts.resolveZone ?? resolveZoneByName });
      const result = await this.opts.handler.set(parsed.ops, parsed.error);
      err = normalize(result, parsed.error);
    } catch (e) {
      err = uapiError(UAPI_ENOANO, `set failed: ${describe(e)}`);
    }
    if (!err) return 'errno=0\n\n';
    this.opts.logger.error(formatIpcError(err));
    return `errno=${err.errno}\n\n`;
  }
}

function normalize(result: SetResult, parseError: UapiError | null): UapiError | null {
  if (typeof result !== 'number') return result.errno === 0 ? null : result;
  if (result === 0) return null;
  if (parseError && parseError.errno === result) return parseError;
  return uapiError(result, 'set operation failed');
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
