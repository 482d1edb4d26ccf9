// @ts-check
/** Running commands: to completion (`exec`) or in the background (`spawnBackground`). */
import { spawn } from 'node:child_process';
import { cleanup } from './cleanup.mjs';

/**
 * @typedef {object} ExecOptions
 * @property {boolean} [allowFailure] resolve on a non-zero exit instead of throwing
 * @property {number} [timeoutMs] SIGKILL after this long (default 30 s)
 * @property {string} [input] written to stdin
 * @property {NodeJS.ProcessEnv} [env]
 */

/** @typedef {{ stdout: string, stderr: string, code: number | null, signal: NodeJS.Signals | null }} ExecResult */

/**
 * Run `cmd args` to completion. Throws (with stderr in the message) on failure unless `allowFailure`.
 * @param {string} cmd @param {readonly string[]} args @param {ExecOptions} [options]
 * @returns {Promise<ExecResult>}
 */
export function exec(cmd, args, options = {}) {
  const text = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    // Registered so that Ctrl-C during a long iperf3 run does not leave it behind.
    let running = true;
    if (child.pid !== undefined) {
      const pid = child.pid;
      cleanup.process(
        pid,
        () => running,
        async () => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // finished already
          }
        },
      );
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      running = false;
      clearTimeout(timer);
      reject(new Error(`${text}: ${err.message}`));
    });
    child.on('exit', () => (running = false));
    child.on('close', (code, signal) => {
      running = false;
      clearTimeout(timer);
      cleanup.prune();
      const result = { stdout, stderr, code, signal };
      if (code !== 0 && !options.allowFailure) {
        const why = (stderr.trim() || stdout.trim()).slice(0, 2000);
        reject(new Error(`${text} exited with ${code ?? signal}${why ? `: ${why}` : ''}`));
      } else resolve(result);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/**
 * `cmd args` inside network namespace `ns` (`ip netns exec` execs the command, so the PID is its own).
 * @param {string} ns @param {string} cmd @param {readonly string[]} args @param {ExecOptions} [options]
 */
export function execIn(ns, cmd, args, options) {
  return exec('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/**
 * @typedef {object} Background
 * @property {number} pid
 * @property {() => string} stdout
 * @property {() => string} stderr
 * @property {() => boolean} exited
 * @property {() => string} status how it exited ("exit 1", "SIGKILL"), or "running"
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exit
 * @property {(graceMs?: number) => Promise<unknown>} stop SIGTERM, then SIGKILL after `graceMs`
 */

/**
 * Start a long-running command, registered in `cleanup` (stopped by PID).
 * @param {string} cmd @param {readonly string[]} args @param {{ env?: NodeJS.ProcessEnv }} [options]
 * @returns {Background}
 */
export function spawnBackground(cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let out = '';
  let err = '';
  let done = false;
  let how = 'running';
  child.stdout?.setEncoding('utf8').on('data', (d) => (out = (out + d).slice(-65536)));
  child.stderr?.setEncoding('utf8').on('data', (d) => (err = (err + d).slice(-65536)));
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
  const exit = new Promise((resolve) => {
    child.on('error', (e) => {
      err += `spawn error: ${e.message}\n`;
      done = true;
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      done = true;
      how = code !== null ? `exit ${code}` : `${signal}`;
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) done = true;
  const pid = child.pid ?? -1;
  /** @param {NodeJS.Signals} sig */
  const kill = (sig) => {
    if (done || pid < 0) return;
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  };
  const stop = async (graceMs = 3000) => {
    if (done) return exit;
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    const status = await exit;
    clearTimeout(timer);
    return status;
  };
  if (pid >= 0) cleanup.process(pid, () => !done, () => stop(2000));
  return { pid, stdout: () => out, stderr: () => err, exited: () => done, status: () => how, exit, stop };
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `predicate` every 50 ms until true; throws `message` after `timeoutMs`.
 * @param {() => boolean | Promise<boolean>} predicate @param {number} timeoutMs @param {string} message
 */
export async function waitFor(predicate, timeoutMs, message) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(message);
    await sleep(50);
  }
}
