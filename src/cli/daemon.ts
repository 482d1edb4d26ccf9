/**
 * The running daemon (§7): TUN with MTU 1420, NativeBind, Device, UAPI listener, and the
 * ordered shutdown of §7.3. Signals and the readiness report are wired by foreground.ts.
 */
import { join } from 'node:path';
import { Device } from '../device/device.js';
import { parseCryptoWorkers } from '../device/crypto-pool.js';
import { LinuxTun } from '../io/linux-tun.js';
import { NativeBind } from '../io/native-bind.js';
import { DEFAULT_UAPI_DIR, UapiServer } from '../uapi/server.js';
import { identityOf, SocketFileWatch, unlinkIfOurs, type SocketIdentity } from '../uapi/socket-file.js';
import { interfaceNameError, parseFdVar } from './args.js';
import type { CliLogger } from './log.js';

/** The MTU the TUN gets once at creation (as wireguard-go). */
export const DAEMON_MTU = 1420;

/** A startup failure; `message` is the log line text (`Failed to create TUN device: …`). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface DaemonOptions {
  /** The requested interface name (may contain `%d`). */
  name: string;
  /** WG_TUN_FD and WG_UAPI_FD are read from here. */
  env: NodeJS.ProcessEnv;
  logger: CliLogger;
  /** Directory of the UAPI socket (default /var/run/wireguard). */
  uapiDir?: string;
}

/** How a shutdown was triggered; `error` ones are logged at ERROR level. */
export interface ShutdownReason {
  message: string;
  level: 'debug' | 'error';
}

export class Daemon {
  private shuttingDown: Promise<void> | null = null;
  private resolveFinished!: () => void;
  /** Resolves once the shutdown sequence has completed. */
  readonly finished: Promise<void>;
  /** An inherited socket (WG_UAPI_FD) is watched and unlinked by path here, not by the server. */
  private fdSocketWatch: SocketFileWatch | null = null;
  private fdSocket: { path: string; id: SocketIdentity } | null = null;

  private constructor(
    readonly tun: LinuxTun,
    readonly device: Device,
    private readonly server: UapiServer,
    private readonly logger: CliLogger,
  ) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  /** The real interface name (after `%d` expansion). */
  get name(): string {
    return this.tun.name;
  }

  /** The UAPI socket path. */
  get socketPath(): string | null {
    return this.server.path ?? this.fdSocket?.path ?? null;
  }

  /** Creates everything; on failure releases what was created and throws StartupError. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const { logger, env } = opts;
    const dir = opts.uapiDir ?? DEFAULT_UAPI_DIR;
    let tunFd: number | null;
    let uapiFd: number | null;
    try {
      tunFd = parseFdVar(env.WG_TUN_FD, 'WG_TUN_FD');
      uapiFd = parseFdVar(env.WG_UAPI_FD, 'WG_UAPI_FD');
    } catch (e) {
      throw new StartupError(describe(e));
    }

    let tun: LinuxTun;
    try {
      if (tunFd !== null) {
        tun = LinuxTun.fromFd(tunFd, { mtu: DAEMON_MTU });
      } else {
        const bad = interfaceNameError(opts.name);
        if (bad) throw new Error(bad);
        tun = LinuxTun.create(opts.name, { mtu: DAEMON_MTU });
      }
    } catch (e) {
      throw new StartupError(`Failed to create TUN device: ${describe(e)}`);
    }
    logger.ifname = tun.name;

    let bind: NativeBind | null = null;
    let device: Device | null = null;
    try {
      bind = new NativeBind();
      // TSGUARD_CRYPTO_WORKERS=n: crypto worker threads (absent: the library default).
      device = new Device({ tun, bind, logger, cryptoWorkers: parseCryptoWorkers(opts.env.TSGUARD_CRYPTO_WORKERS) });
      await device.up();
      logger.debug('Device started');

      let daemon: Daemon | null = null;
      const server = new UapiServer({
        handler: {
          get: () => device!.ipcGet(),
          set: (ops, parseError) => device!.applyParsed(ops, parseError),
          beforeRequest: () => tun.drainEvents(),
        },
        logger,
        dir,
        onGone: (reason) => void daemon?.shutdown({ message: `UAPI socket: ${reason}`, level: 'debug' }),
        onError: (err) => void daemon?.shutdown({ message: `UAPI listener error: ${err.message}`, level: 'error' }),
      });
      daemon = new Daemon(tun, device, server, logger);
      try {
        if (uapiFd !== null) {
          await server.listen({ fd: uapiFd });
          daemon.watchInheritedSocket(join(dir, `${tun.name}.sock`));
        } else {
          await server.listen({ name: tun.name });
        }
      } catch (e) {
        await server.close().catch(() => undefined);
        const msg = describe(e);
        throw new Error(msg.startsWith('UAPI listen error: ') ? msg : `UAPI listen error: ${msg}`);
      }
      logger.debug('UAPI listener started');
      device.on('closed', ({ reason }) => void daemon!.shutdown({ message: `Interface closed: ${reason}`, level: 'debug' }));
      if (device.isClosed) void daemon.shutdown({ message: 'Interface closed', level: 'debug' });
      return daemon;
    } catch (e) {
      if (device) await device.close().catch(() => undefined);
      else {
        bind?.close();
        tun.close();
      }
      throw e instanceof StartupError ? e : new StartupError(describe(e));
    }
  }

  /**
   * The §7.3 sequence: stop the UAPI listener and unlink its socket (only if still ours),
   * close the UDP sockets and the TUN, log. Idempotent; resolves when done.
   */
  shutdown(reason: ShutdownReason): Promise<void> {
    if (this.shuttingDown) return this.shuttingDown;
    this.shuttingDown = (async () => {
      if (reason.level === 'error') this.logger.error(reason.message);
      else this.logger.debug(reason.message);
      this.fdSocketWatch?.stop();
      this.fdSocketWatch = null;
      try {
        await this.server.close();
      } catch (e) {
        this.logger.error(`UAPI close error: ${describe(e)}`);
      }
      if (this.fdSocket) unlinkIfOurs(this.fdSocket.path, this.fdSocket.id);
      this.logger.debug('Device closing');
      try {
        await this.device.close(); // UDP sockets, then the TUN fd
      } catch (e) {
        this.logger.error(`Device close error: ${describe(e)}`);
      }
      this.logger.debug('Device closed');
      this.logger.debug('Shutting down');
      this.resolveFinished();
    })();
    return this.shuttingDown;
  }

  private watchInheritedSocket(path: string): void {
    const id = identityOf(path);
    if (!id) return;
    this.fdSocket = { path, id };
    this.fdSocketWatch = new SocketFileWatch(path, id, (why) =>
      void this.shutdown({ message: `UAPI socket: ${why}`, level: 'debug' }),
    );
  }
}


function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
