/**
 * Foreground mode (`-f`, WG_PROCESS_FOREGROUND=1, and the daemon child): start the daemon,
 * report readiness on TSGUARD_READY_FD if present, run until a shutdown trigger (§7.3).
 */
import { Daemon, StartupError } from './daemon.js';
import { CliLogger, fileSink, parseLogLevel, stdoutSink, type LogSink } from './log.js';
import { removePidFileIfOurs, writePidFile } from './pid-file.js';
import { ReadyChannel } from './ready-channel.js';

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** Resolves to the exit code (0 after a clean shutdown, 1 when startup failed). */
export async function runForeground(name: string, env: NodeJS.ProcessEnv): Promise<number> {
  const ready = ReadyChannel.fromEnv(env);
  const baseSinks: LogSink[] = [stdoutSink];
  if (env.TSGUARD_LOG_FILE) baseSinks.push(fileSink(env.TSGUARD_LOG_FILE));
  const logger = new CliLogger(name, parseLogLevel(env.LOG_LEVEL), ready ? [...baseSinks, ready] : baseSinks);
  const pidFile = env.TSGUARD_PID_FILE || null;

  let daemon: Daemon | null = null;
  let pendingSignal: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (daemon) void daemon.shutdown({ message: `Received ${sig}`, level: 'debug' });
    else pendingSignal ??= sig;
  };
  for (const sig of SHUTDOWN_SIGNALS) process.on(sig, onSignal);

  const onFatal = (err: unknown) => {
    logger.error(`Fatal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    ready?.fail();
    const done = daemon ? daemon.shutdown({ message: 'Cleaning up after a fatal error', level: 'debug' }) : Promise.resolve();
    const force = setTimeout(() => process.exit(1), 2000);
    void done.finally(() => {
      clearTimeout(force);
      if (pidFile) removePidFileIfOurs(pidFile);
      process.exit(1);
    });
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  try {
    daemon = await Daemon.start({ name, env, logger });
  } catch (e) {
    logger.error(e instanceof StartupError ? e.message : `Startup failed: ${String(e)}`);
    ready?.fail();
    return 1;
  }

  if (pidFile) {
    try {
      writePidFile(pidFile);
    } catch (e) {
      logger.error(`Cannot write TSGUARD_PID_FILE: ${(e as Error).message}`);
    }
  }
  if (ready) {
    logger.setSinks(baseSinks); // after readiness a daemon child's stdout is /dev/null
    ready.ok(daemon.name);
  }
  if (pendingSignal) void daemon.shutdown({ message: `Received ${pendingSignal}`, level: 'debug' });

  await daemon.finished;
  if (pidFile) removePidFileIfOurs(pidFile);
  return 0;
}
