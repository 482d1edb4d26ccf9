// @ts-check
/**
 * Everything the harness creates (processes, network namespaces, files) is registered here
 * *before* it exists, and undone newest-first by `run()`: at the end of each pair, on an error,
 * on Ctrl-C / SIGTERM, and — synchronously, as a last resort — when the process exits.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * @typedef {{ kind: 'process', pid: number, alive: () => boolean, stop: () => Promise<unknown> }
 *   | { kind: 'netns', name: string }
 *   | { kind: 'path', path: string }} Resource
 */

export class Cleanup {
  /** @type {Resource[]} */
  #items = [];

  /**
   * A child process. `alive` guards against signalling a reused PID once the child has exited.
   * @param {number} pid @param {() => boolean} alive
   * @param {() => Promise<unknown>} stop graceful stop (SIGTERM, then SIGKILL)
   */
  process(pid, alive, stop) {
    this.#items.push({ kind: 'process', pid, alive, stop });
  }

  /** Drop entries for children that have exited (keeps the list short across many commands). */
  prune() {
    this.#items = this.#items.filter((i) => i.kind !== 'process' || i.alive());
  }

  /** @param {string} name */
  netns(name) {
    this.#items.push({ kind: 'netns', name });
  }

  /** @param {string} path a file or directory removed on cleanup (e.g. a stale UAPI socket) */
  path(path) {
    this.#items.push({ kind: 'path', path });
  }

  /** Undo everything registered so far, newest first; never throws. */
  async run() {
    const items = this.#items.splice(0).reverse();
    for (const item of items) {
      try {
        if (item.kind === 'process') {
          if (item.alive()) await item.stop();
        }
        else if (item.kind === 'netns') {
          spawnSync('ip', ['netns', 'del', item.name], { stdio: 'ignore' });
        } else rmSync(item.path, { recursive: true, force: true });
      } catch {
        // best effort: keep undoing the rest
      }
    }
  }

  /** Synchronous last resort for process 'exit': SIGKILL by PID, delete namespaces, remove files. */
  runSync() {
    const items = this.#items.splice(0).reverse();
    for (const item of items) {
      try {
        if (item.kind === 'process') {
          if (item.alive()) process.kill(item.pid, 'SIGKILL');
        }
        else if (item.kind === 'netns') spawnSync('ip', ['netns', 'del', item.name], { stdio: 'ignore' });
        else rmSync(item.path, { recursive: true, force: true });
      } catch {
        // already gone
      }
    }
  }
}

/** The harness-wide registry. */
export const cleanup = new Cleanup();

let installed = false;

/**
 * Clean up on SIGINT/SIGTERM/SIGHUP (exit 130/143/129) and on exit. A second signal while the
 * asynchronous cleanup runs falls back to the synchronous one.
 */
export function installSignalHandlers() {
  if (installed) return;
  installed = true;
  let cleaning = false;
  /** @param {NodeJS.Signals} signal @param {number} code */
  const onSignal = (signal, code) => {
    if (cleaning) {
      cleanup.runSync();
      process.exit(code);
    }
    cleaning = true;
    process.stderr.write(`\n${signal}: stopping daemons and deleting namespaces…\n`);
    cleanup.run().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('SIGHUP', () => onSignal('SIGHUP', 129));
  process.on('exit', () => cleanup.runSync());
}
