/**
 * Network-namespace plumbing for integration tests (root only).
 *
 *   const root = requireRoot();                 // false → skip; throws in CI
 *   describe.skipIf(!root)('my scenario', () => {
 *     afterAll(() => cleanup.run());             // namespaces, processes, files: all gone
 *     it('...', async () => {
 *       const ns = await createNetns('tsg');     // registered for cleanup
 *       await ip('-n', ns, 'addr', 'add', '10.0.0.1/24', 'dev', 'lo');
 *       const out = await execIn(ns, 'ping', ['-c', '1', '10.0.0.1']);
 *       const srv = spawnIn(ns, 'iperf3', ['-s']); // killed by PID on cleanup
 *       await waitFor(() => srv.stdout().includes('listening'), 5000);
 *     });
 *   });
 *
 * Everything created through these helpers is registered in `cleanup` *before* it can
 * exist, so a test that fails half-way still leaves nothing behind once `cleanup.run()` runs
 * (and, as a last resort, when the process exits).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

export interface ExecOptions {
  /** Do not throw on a non-zero exit; inspect `code` instead. */
  allowFailure?: boolean;
  /** Kill the command after this many ms (default 30 s). */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ExecError extends Error {
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    super(
      `${command} exited with ${result.code ?? result.signal}` +
        (result.stderr.trim() ? `: ${result.stderr.trim()}` : '') +
        (result.stdout.trim() && !result.stderr.trim() ? `: ${result.stdout.trim()}` : ''),
    );
    this.name = 'ExecError';
  }
}

/** Run a command to completion; throws ExecError on failure unless `allowFailure`. */
export function exec(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const text = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${text}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = { stdout, stderr, code, signal };
      if (code !== 0 && !options.allowFailure) reject(new ExecError(text, result));
      else resolve(result);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** `ip ARGS...`; resolves to stdout. */
export async function ip(...args: string[]): Promise<string> {
  return (await exec('ip', args)).stdout;
}

/** Run `cmd args` inside namespace `ns`; resolves to stdout (throws on failure). */
export async function execIn(ns: string, cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<string> {
  return (await execInResult(ns, cmd, args, options)).stdout;
}

/** Like execIn, with the full result (use `allowFailure` to expect a failure). */
export function execInResult(ns: string, cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
  return exec('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/**
 * Whether root-only tests can run. Not root: throws when `CI` is set (an integration suite
 * silently skipped in CI is a failure), otherwise returns false for `describe.skipIf`.
 * `tools` are checked the same way (`ip` is always required).
 */
export function requireRoot(...tools: string[]): boolean {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  for (const tool of ['ip', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) {
      problems.push(`${tool} not installed`);
    }
  }
  if (problems.length === 0) return true;
  if (process.env.CI) throw new Error(`integration tests cannot run in CI: ${problems.join(', ')}`);
  return false;
}

/** `prefix` + `n` random lowercase hex characters. */
export function uniqueName(prefix: string, n = 6): string {
  return prefix + randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

/** Create a namespace named `prefix` + random, with `lo` up; registered in `cleanup`. */
export async function createNetns(prefix = 'tsg', registry: Cleanup = cleanup): Promise<string> {
  const ns = uniqueName(prefix.endsWith('-') ? prefix : `${prefix}-`);
  registry.netns(ns);
  await ip('netns', 'add', ns);
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  return ns;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process started by spawnIn/spawnProcess. */
export interface ProcessHandle {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Whether it has exited. */
  readonly exited: boolean;
  /** Resolves when it exits. */
  readonly exit: Promise<ExitStatus>;
  /** Send a signal (default SIGTERM); no-op once exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves to how it exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/**
 * Start a long-running command; registered in `cleanup` (stopped by PID). `ip netns exec`
 * execs the command after entering the namespace, so `pid` is the command's own.
 */
export function spawnProcess(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; registry?: Cleanup } = {},
): ProcessHandle {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let out = '';
  let err = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<ExitStatus>((resolve) => {
    child.on('error', (e) => {
      err += `spawn error: ${e.message}\n`;
      done = true;
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT is reported through 'error').
    done = true;
  }
  const handle: ProcessHandle = {
    pid: child.pid ?? -1,
    child,
    stdout: () => out,
    stderr: () => err,
    get exited() {
      return done;
    },
    exit,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (done || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    },
    async stop(graceMs = 3000) {
      if (done) return exit;
      handle.kill('SIGTERM');
      const timer = setTimeout(() => handle.kill('SIGKILL'), graceMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  (options.registry ?? cleanup).process(handle);
  return handle;
}

/** Start `cmd args` inside `ns` (see spawnProcess). */
export function spawnIn(
  ns: string,
  cmd: string,
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv; registry?: Cleanup } = {},
): ProcessHandle {
  return spawnProcess('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

type Task = { label: string; run: () => Promise<void> | void; runSync?: () => void };

/**
 * Things to undo, undone in reverse order of registration. Every step runs even when an
 * earlier one fails; `run` then throws one error listing the failures. Safe to call more
 * than once (each registration runs once) and to register things that were never created.
 */
export class Cleanup {
  private tasks: Task[] = [];
  private exitHook = false;

  /** Register an arbitrary async step. */
  add(label: string, run: () => Promise<void> | void, runSync?: () => void): void {
    this.tasks.push({ label, run, runSync });
    this.hookExit();
  }

  /** Delete namespace `ns` (ignored if it does not exist). Kills what still runs in it first. */
  netns(ns: string): void {
    this.add(
      `netns ${ns}`,
      async () => {
        await killNetnsPids(ns);
        await exec('ip', ['netns', 'del', ns], { allowFailure: true });
      },
      () => {
        spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
          .stdout?.split(/\s+/)
          .filter(Boolean)
          .forEach((pid) => safeKill(Number(pid), 'SIGKILL'));
        spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      },
    );
  }

  /** Stop a process by PID (SIGTERM, then SIGKILL). */
  process(handle: ProcessHandle): void {
    this.add(
      `process ${handle.pid}`,
      async () => {
        await handle.stop(2000);
      },
      () => safeKill(handle.pid, 'SIGKILL'),
    );
  }

  /** Delete link `ifname` (in `ns`, or the current namespace), if it still exists. */
  link(ifname: string, ns?: string): void {
    const args = [...(ns ? ['-n', ns] : []), 'link', 'del', ifname];
    this.add(
      `link ${ifname}`,
      async () => {
        await exec('ip', args, { allowFailure: true });
      },
      () => void spawnSync('ip', args, { stdio: 'ignore' }),
    );
  }

  /** Remove a file or directory tree. */
  path(path: string): void {
    const rm = () => rmSync(path, { recursive: true, force: true });
    this.add(`path ${path}`, rm, rm);
  }

  /** Run (and forget) every registered step, newest first. */
  async run(): Promise<void> {
    const tasks = this.tasks.reverse();
    this.tasks = [];
    const failures: string[] = [];
    for (const t of tasks) {
      try {
        await t.run();
      } catch (err) {
        failures.push(`${t.label}: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed:\n  ${failures.join('\n  ')}`);
  }

  /** Best-effort synchronous variant, for process exit. */
  runSync(): void {
    const tasks = this.tasks.reverse();
    this.tasks = [];
    for (const t of tasks) {
      try {
        t.runSync?.();
      } catch {
        // best effort
      }
    }
  }

  /** Number of pending steps. */
  get size(): number {
    return this.tasks.length;
  }

  private hookExit(): void {
    if (this.exitHook) return;
    this.exitHook = true;
    process.once('exit', () => this.runSync());
  }
}

/** The registry the helpers use by default; call `cleanup.run()` in afterAll/afterEach. */
export const cleanup = new Cleanup();

async function killNetnsPids(ns: string): Promise<void> {
  const r = await exec('ip', ['netns', 'pids', ns], { allowFailure: true });
  const pids = r.stdout.split(/\s+/).filter(Boolean).map(Number);
  if (pids.length === 0) return;
  for (const pid of pids) safeKill(pid, 'SIGTERM');
  const gone = await waitFor(() => pids.every((p) => !isAlive(p)), 2000).then(
    () => true,
    () => false,
  );
  if (!gone) for (const pid of pids) safeKill(pid, 'SIGKILL');
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  if (!(pid > 0)) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Whether a process with this PID exists (and is not a zombie we could not reap). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Poll `fn` until it returns a truthy value (or a promise of one), then resolve to it.
 * Exceptions count as "not yet". After `timeoutMs` rejects, quoting the last exception.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
