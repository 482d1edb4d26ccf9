// @ts-check
/**
 * CPU time and memory of a daemon, read from /proc. A daemon is measured as its whole process
 * tree (root PID + descendants), so a launcher script that forks a `node` child is counted too.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/PID/stat utime/stime (almost always 100). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Fields of /proc/PID/stat after the `(comm)` field (comm may contain spaces and parentheses).
 * @param {number} pid @returns {string[] | null}
 */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * `root` and all its live descendants.
 * @param {number} root @returns {number[]}
 */
export function processTree(root) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = /** @type {number} */ (todo.pop());
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * User + system CPU seconds of a process tree (all threads; exited children are not counted).
 * @param {number} root
 */
export function cpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const f = statFields(pid);
    // After comm: [0]=state [1]=ppid … [11]=utime [12]=stime (fields 14 and 15 of proc(5)).
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

/**
 * A `VmXXX:` line of /proc/PID/status, summed over the tree, in KiB.
 * @param {number} root @param {'VmRSS' | 'VmHWM'} field
 */
export function memoryKiB(root, field) {
  let kib = 0;
  for (const pid of processTree(root)) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
      if (m) kib += Number(m[1]);
    } catch {
      // exited between the scan and the read
    }
  }
  return kib;
}

/** Samples the RSS of several process trees on an interval and keeps each one's peak. */
export class RssSampler {
  /** @type {Map<string, number>} */
  #peak = new Map();
  /** @type {NodeJS.Timeout | null} */
  #timer = null;

  /** @param {Record<string, number | null>} roots label → root PID (null: nothing to sample, e.g. kernel) */
  constructor(roots) {
    this.roots = roots;
  }

  sample() {
    for (const [label, pid] of Object.entries(this.roots)) {
      if (pid === null) continue;
      this.#peak.set(label, Math.max(this.#peak.get(label) ?? 0, memoryKiB(pid, 'VmRSS')));
    }
  }

  /** @param {number} intervalMs */
  start(intervalMs = 100) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** @returns {Record<string, number | null>} peak KiB per label */
  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.sample();
    /** @type {Record<string, number | null>} */
    const out = {};
    for (const label of Object.keys(this.roots)) out[label] = this.#peak.get(label) ?? null;
    return out;
  }
}
