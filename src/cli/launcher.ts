/**
 * The launcher (§6): Node cannot fork, so `tsguard IFNAME` spawns itself detached as
 * `WG_PROCESS_FOREGROUND=1 TSGUARD_READY_FD=3`, with fds 0–2 on /dev/null and fd 3 a pipe,
 * relays the child's `LOG` lines to stdout and exits 0 only on `OK <IFNAME>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { CliLogger, LogSink } from './log.js';

/** How long the child has to report readiness. */
export const READY_TIMEOUT_MS = 10_000;

export interface LauncherOptions {
  /** Node binary (process.execPath). */
  execPath: string;
  /** Node flags (process.execArgv) and the script path (process.argv[1]). */
  execArgv: readonly string[];
  script: string;
  /** The same CLI arguments the launcher got. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Fds of this process the child gets as fds 4, 5, … (WG_TUN_FD, WG_UAPI_FD). */
  extraFds?: readonly number[];
  /** For the launcher's own ERROR lines. */
  logger: CliLogger;
  /** Where relayed LOG lines go (stdout). */
  out: LogSink;
  timeoutMs?: number;
}

/** Resolves to the launcher's exit code. */
export function runLauncher(opts: LauncherOptions): Promise<number> {
  const { logger } = opts;
  return new Promise<number>((resolve) => {
    let settled = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | null = null;
    const env: NodeJS.ProcessEnv = { ...opts.env, WG_PROCESS_FOREGROUND: '1', TSGUARD_READY_FD: '3' };
    let child: ChildProcess;
    try {
      child = spawn(opts.execPath, [...opts.execArgv, opts.script, ...opts.args], {
        detached: true,
        cwd: '/',
        env,
        stdio: ['ignore', 'ignore', 'ignore', 'pipe', ...(opts.extraFds ?? [])],
      });
    } catch (e) {
      logger.error(`Failed to start daemon: ${describe(e)}`);
      resolve(1);
      return;
    }
    const pipe = child.stdio[3] as Readable | null;

    const finish = (code: number, why?: string, fromTimeout = false) => {
      if (settled || (timedOut && !fromTimeout)) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (why) logger.error(why);
      pipe?.destroy();
      child.unref();
      resolve(code);
    };

    child.once('error', (e) => finish(1, `Failed to start daemon: ${e.message}`));
    if (!pipe) {
      finish(1, 'Failed to start daemon: no readiness pipe');
      return;
    }

    let buffered = '';
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while (!settled && (nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('LOG ')) opts.out.write(line.slice(4));
        else if (line.startsWith('OK ')) finish(0);
        else if (line === 'FAIL') finish(1, 'Daemon failed to start');
        // anything else: ignore (forward compatibility)
      }
    });
    pipe.on('error', () => undefined);
    pipe.on('close', () => finish(1, 'Daemon exited without reporting readiness'));
    child.once('exit', (code, signal) => {
      // Let the pipe deliver what the child wrote before it died; then give up.
      setTimeout(() => finish(1, `Daemon exited (${signal ?? `code ${code}`}) before it was ready`), 200);
    });

    timer = setTimeout(() => {
      if (settled) return;
      const secs = Math.round((opts.timeoutMs ?? READY_TIMEOUT_MS) / 1000);
      timer = null;
      timedOut = true;
      void killChild(child).then(() => finish(1, `Daemon did not report readiness within ${secs} s`, true));
    }, opts.timeoutMs ?? READY_TIMEOUT_MS);
  });
}

/** SIGTERM (the child cleans up), SIGKILL if it is still there a second later. */
function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 1000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
