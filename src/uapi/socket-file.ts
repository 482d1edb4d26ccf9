/**
 * The UAPI socket file (spec §1.2): creation without a permission window, stale-socket
 * replacement, the (dev, ino) identity, the watch for deletion/replacement, and removal
 * only while the path is still ours.
 *
 * Node's net.Server.close() unlinks the path it was bound to unconditionally (libuv), which
 * would delete a socket another daemon put in our place. So the server binds a random
 * temporary name in the same directory and the final name is created with link(2): the
 * kernel refuses an existing name (EEXIST plays the role of EADDRINUSE, and a live or foreign
 * file is never overwritten), the temporary name is then unlinked, and close() later makes
 * libuv unlink only that already-gone temporary name. The final name is removed by
 * unlinkIfOurs() after an inode check; nothing here races with another daemon.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, type FSWatcher, linkSync, lstatSync, mkdirSync, unlinkSync, watch } from 'node:fs';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';

export class UapiListenError extends Error {
  constructor(reason: string) {
    super(`UAPI listen error: ${reason}`);
    this.name = 'UapiListenError';
  }
}

export interface SocketIdentity {
  dev: bigint;
  ino: bigint;
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SUN_PATH = 107;

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function identityOf(path: string): SocketIdentity | null {
  try {
    const st = lstatSync(path, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

function sameIdentity(a: SocketIdentity | null, b: SocketIdentity): boolean {
  return a !== null && a.dev === b.dev && a.ino === b.ino;
}

/** Listen on `path` with umask 077, so the socket is srwx------ from the first instant. */
function listenPrivately(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // bind(2) happens synchronously inside listen(), so the umask only needs to cover that call.
    // process.umask(mask) throws in worker threads; the temporary name is random and not yet
    // published, and its mode is fixed below before the final name exists.
    let old: number | null = null;
    try {
      old = process.umask(0o077);
    } catch {
      old = null;
    }
    try {
      server.listen(path);
    } finally {
      if (old !== null) process.umask(old);
    }
  });
}

/** Connect to `path`: resolves 'live' on success, 'stale' on ECONNREFUSED, else rejects. */
function probe(path: string): Promise<'live' | 'stale'> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve('live');
    });
    s.once('error', (e) => {
      s.destroy();
      if (errCode(e) === 'ECONNREFUSED') resolve('stale');
      else reject(e);
    });
  });
}

/**
 * Create `<dir>/<name>.sock` served by `server` (spec §1.2 steps 1–4) and return its identity.
 * Throws UapiListenError (`UAPI listen error: unix socket in use`, …); on failure the server
 * is closed and nothing at the final path was touched except a stale socket.
 */
export async function bindSocketFile(server: Server, dir: string, name: string): Promise<{ path: string; id: SocketIdentity }> {
  const path = join(dir, `${name}.sock`);
  if (Buffer.byteLength(path) > MAX_SUN_PATH) throw new UapiListenError(`socket path too long: ${path}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new UapiListenError(errMessage(e));
  }
  let temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  if (Buffer.byteLength(temp) > MAX_SUN_PATH) temp = join(dir, `.${randomBytes(3).toString('hex')}`);
  try {
    await listenPrivately(server, temp);
  } catch (e) {
    throw new UapiListenError(errMessage(e));
  }
  try {
    chmodSync(temp, 0o700); // already so under umask 077; needed where umask() is unavailable
    await publish(temp, path);
  } catch (e) {
    safeUnlink(temp);
    await new Promise<void>((r) => server.close(() => r()));
    throw e instanceof UapiListenError ? e : new UapiListenError(errMessage(e));
  }
  safeUnlink(temp);
  const id = identityOf(path);
  if (!id) {
    await new Promise<void>((r) => server.close(() => r()));
    throw new UapiListenError(`${path} disappeared right after creation`);
  }
  return { path, id };
}

async function publish(temp: string, path: string): Promise<void> {
  try {
    linkSync(temp, path);
    return;
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e;
  }
  // Something exists at the path (spec §1.2 step 3).
  const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (st && !st.isSocket()) throw new UapiListenError(`${path} exists and is not a socket`);
  if (st) {
    let state: 'live' | 'stale';
    try {
      state = await probe(path);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
      state = 'stale';
    }
    if (state === 'live') throw new UapiListenError('unix socket in use');
    // Unlink only the very file found stale (it may have been replaced meanwhile).
    const now = identityOf(path);
    if (sameIdentity(now, { dev: st.dev, ino: st.ino })) safeUnlink(path);
  }
  try {
    linkSync(temp, path);
  } catch (e) {
    if (errCode(e) === 'EEXIST') throw new UapiListenError('unix socket in use');
    throw e;
  }
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Unlink `path` only if it is still the file with identity `id` (spec §1.2 step 6). */
export function unlinkIfOurs(path: string, id: SocketIdentity): boolean {
  if (!sameIdentity(identityOf(path), id)) return false;
  safeUnlink(path);
  return true;
}

/**
 * Calls `onGone` once when `path` disappears or stops being the file `id` (spec §1.2 step 5):
 * fs.watch on the directory (inotify) plus an lstat poll as a fallback; nothing keeps the
 * process alive.
 */
export class SocketFileWatch {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private fired = false;

  constructor(
    private readonly path: string,
    private readonly id: SocketIdentity,
    private readonly onGone: (reason: string) => void,
    pollMs = 1000,
  ) {
    const dir = join(path, '..');
    const base = path.slice(dir.length + 1);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || file === base) this.check();
      });
      this.watcher.on('error', () => {
        this.check();
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // the poll still covers it
    }
    this.timer = setInterval(() => this.check(), pollMs);
    this.timer.unref();
  }

  check(): void {
    if (this.fired) return;
    const now = identityOf(this.path);
    if (sameIdentity(now, this.id)) return;
    this.fired = true;
    this.stop();
    this.onGone(now ? `${this.path} was replaced` : `${this.path} was removed`);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
