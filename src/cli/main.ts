/**
 * `tsguard [-f|--foreground] IFNAME` / `tsguard --version` (uapi-cli-spec §5–§7).
 * bin/tsguard imports this module and calls `runCli()`.
 */
import { foregroundFromEnv, interfaceNameError, parseArgs, parseFdVar, USAGE } from './args.js';
import { runForeground } from './foreground.js';
import { runLauncher } from './launcher.js';
import { CliLogger, parseLogLevel, stdoutSink } from './log.js';
import { versionText } from './version.js';

/** Runs the CLI; resolves to the process exit code. */
export async function main(args: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const cmd = parseArgs(args);
  if (cmd.kind === 'version') {
    process.stdout.write(versionText());
    return 0;
  }
  if (cmd.kind === 'usage') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cmd.foreground || foregroundFromEnv(env)) return runForeground(cmd.name, env);

  const logger = new CliLogger(cmd.name, parseLogLevel(env.LOG_LEVEL));
  if (env.WG_TUN_FD === undefined || env.WG_TUN_FD === '') {
    const bad = interfaceNameError(cmd.name);
    if (bad) {
      logger.error(`Failed to create TUN device: ${bad}`);
      return 1;
    }
  }
  let inherited: { env: NodeJS.ProcessEnv; fds: number[] };
  try {
    inherited = inheritedFds(env);
  } catch (e) {
    logger.error((e as Error).message);
    return 1;
  }
  return runLauncher({
    execPath: process.execPath,
    execArgv: process.execArgv,
    script: process.argv[1],
    args,
    env: inherited.env,
    extraFds: inherited.fds,
    logger,
    out: stdoutSink,
  });
}

/**
 * WG_TUN_FD / WG_UAPI_FD name fds of this process; the child gets them as fds 4, 5 … (fd 3
 * is the readiness pipe) and the variables are rewritten to match.
 */
function inheritedFds(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; fds: number[] } {
  const out: NodeJS.ProcessEnv = { ...env };
  const fds: number[] = [];
  for (const key of ['WG_TUN_FD', 'WG_UAPI_FD'] as const) {
    const fd = parseFdVar(env[key], key);
    if (fd === null) continue;
    out[key] = String(4 + fds.length);
    fds.push(fd);
  }
  return { env: out, fds };
}

/** Entry point for bin/tsguard: run and exit with the code. */
export function runCli(): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      new CliLogger(process.argv[2] ?? 'tsguard', 'error').error(`Fatal error: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
