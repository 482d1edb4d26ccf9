// @ts-check
/** What the numbers were measured on: hardware, kernel, tool versions, tsguard commit. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { exec } from './proc.mjs';

/** @param {string} cmd @param {string[]} args */
async function firstLine(cmd, args) {
  const r = await exec(cmd, args, { allowFailure: true, timeoutMs: 10_000 }).catch(() => null);
  if (!r || r.code !== 0) return null;
  return (r.stdout + r.stderr).split('\n').find((l) => l.trim())?.trim() ?? null;
}

/**
 * @param {string} repoRoot
 * @param {Record<string, import('./implementations.mjs').Availability>} availability per implementation
 */
export async function machineInfo(repoRoot, availability) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const flags = cpuinfo.match(/^flags\s*:\s*(.*)$/m)?.[1].split(' ') ?? [];
  const commit = await firstLine('git', ['-C', repoRoot, 'rev-parse', 'HEAD']);
  // Dirty only counts what tsguard is built from, not other people's files elsewhere in the tree.
  const dirty = await exec('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src', 'native', 'bin', 'package.json'], {
    allowFailure: true,
  }).catch(() => null);
  return {
    hostname: os.hostname(),
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1].trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    cpuFlags: ['avx2', 'avx512f', 'aes', 'sha_ni'].filter((f) => flags.includes(f)),
    memTotalMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    arch: process.arch,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    /** @type {number[] | null} filled in when the run ends */
    loadAverageAtEnd: null,
    /** @type {number | null} */
    elapsedSeconds: null,
    versions: {
      wireguardGo: await firstLine('wireguard-go', ['--version']),
      wireguardTools: await firstLine('wg', ['--version']),
      iperf3: await firstLine('iperf3', ['--version']),
      ping: await firstLine('ping', ['-V']),
    },
    tsguard: {
      commit,
      dirty: dirty ? dirty.stdout.trim().length > 0 : null,
    },
    implementations: availability,
  };
}
