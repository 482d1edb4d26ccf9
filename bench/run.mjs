#!/usr/bin/env node
// @ts-check
/**
 * WireGuard implementations side by side: `npm run bench` (root; see bench/README.md).
 *
 * For each round, every pair gets fresh namespaces and daemons and runs every test, pairs
 * alternating (A B C A B C …) so that a noisy neighbour hurts all of them alike; the report shows
 * per-pair medians over rounds and ratios to wireguard-go ↔ wireguard-go.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { cleanup, installSignalHandlers } from './lib/cleanup.mjs';
import { defaultImplementations, parseImplementation, probe } from './lib/implementations.mjs';
import { machineInfo } from './lib/machine.mjs';
import { metricList, summarize } from './lib/metrics.mjs';
import { markdownReport, pairLabel } from './lib/report-md.mjs';
import { svgChart } from './lib/report-svg.mjs';
import { runRound } from './lib/suite.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const BASELINE = 'wireguard-go:wireguard-go';
const DEFAULT_PAIRS = ['tsguard:tsguard', 'wireguard-go:wireguard-go', 'tsguard:wireguard-go', 'kernel:kernel'];
const TOOLS = ['ip', 'wg', 'iperf3', 'ping', 'ss'];

const USAGE = `Usage: node bench/run.mjs [options]        (as root)

  --quick              short run: 2 rounds, 2 s per iperf3 test, 200 pings (about 45 s per pair)
  --rounds N           rounds; pairs alternate within each round (default 3)
  --duration S         seconds per iperf3 test (default 10)
  --pairs LIST         comma-separated A:B pairs (default ${DEFAULT_PAIRS.join(',')})
  --impl NAME=COMMAND  define or override an implementation, e.g. --impl tsguard=wireguard-go
                       or --impl tsguard="node dist/cli/main.js"; COMMAND=kernel for in-kernel
  --ping-count N       echo requests per latency test (default 500, every 10 ms)
  --udp-sizes LIST     UDP payload sizes in bytes (default 64,512,1392)
  --out DIR            results directory (default bench/results)
  --no-write           print the table only, write no files
  -h, --help`;

/** @param {string} msg @returns {never} */
function die(msg, code = 2) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
}

/** @param {string | undefined} v @param {string} name @param {number} min */
function int(v, name, min) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) die(`${name} wants an integer ≥ ${min}, got "${v}"`);
  return n;
}

function parseArgsTyped() {
  return parseArgs({
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      pairs: { type: 'string' },
      impl: { type: 'string', multiple: true },
      'ping-count': { type: 'string' },
      'udp-sizes': { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function parseCli() {
  /** @type {ReturnType<typeof parseArgsTyped>} */
  let parsed;
  try {
    parsed = parseArgsTyped();
  } catch (err) {
    return die(`${err instanceof Error ? err.message : err}\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = v.quick ?? false;
  const udpSizes = (v['udp-sizes'] ?? '64,512,1392').split(',').map((s) => int(s.trim(), '--udp-sizes', 16) ?? 0);
  return {
    mode: quick ? 'quick' : 'full',
    rounds: int(v.rounds, '--rounds', 1) ?? (quick ? 2 : 3),
    seconds: int(v.duration, '--duration', 1) ?? (quick ? 2 : 10),
    pingCount: int(v['ping-count'], '--ping-count', 10) ?? (quick ? 200 : 500),
    pingIntervalS: 0.01,
    udpSizes,
    pairs: (v.pairs ?? DEFAULT_PAIRS.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
    impls: v.impl ?? [],
    outDir: resolve(v.out ?? join(here, 'results')),
    write: !v['no-write'],
  };
}

/** @param {string} line */
const log = (line) => process.stdout.write(`${line}\n`);

async function main() {
  const cfg = parseCli();
  if (process.getuid?.() !== 0) die('needs root (network namespaces, TUN devices)', 1);
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length) {
    die(`missing ${missing.join(', ')}: apt-get install -y wireguard-go wireguard-tools iperf3 iputils-ping iproute2`, 1);
  }
  installSignalHandlers();

  const impls = defaultImplementations(repoRoot);
  for (const spec of cfg.impls) {
    const impl = parseImplementation(spec);
    impls.set(impl.name, impl);
  }
  /** @type {[string, string][]} */
  const pairs = cfg.pairs.map((p) => {
    const [a, b, extra] = p.split(':');
    if (!a || !b || extra !== undefined) die(`--pairs wants A:B items, got "${p}"`);
    for (const n of [a, b]) if (!impls.has(n)) die(`unknown implementation "${n}" (known: ${[...impls.keys()].join(', ')}; add one with --impl)`);
    return [a, b];
  });

  /** @type {Record<string, import('./lib/implementations.mjs').Availability>} */
  const availability = {};
  for (const name of new Set(pairs.flat())) {
    const impl = /** @type {import('./lib/implementations.mjs').Implementation} */ (impls.get(name));
    availability[name] = await probe(impl);
    const a = availability[name];
    log(a.available ? `${name}: ${impl.kind === 'kernel' ? 'in-kernel' : impl.command.join(' ')} (${a.version})` : a.reason);
  }
  await cleanup.run();

  /** @type {{ pair: string, reason: string }[]} */
  const skipped = [];
  /** @type {[string, string][]} */
  const runnable = [];
  for (const [a, b] of pairs) {
    const down = [a, b].map((n) => availability[n]).find((x) => !x.available);
    if (down && !down.available) skipped.push({ pair: `${a}:${b}`, reason: down.reason });
    else runnable.push([a, b]);
  }

  const machine = await machineInfo(repoRoot, availability);
  const date = new Date();
  log(
    `${cfg.mode} run on ${machine.hostname} (${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverageAtStart.join(' ')}): ` +
      `${cfg.rounds} rounds × ${runnable.length} pairs, ${cfg.seconds} s per iperf3 test`,
  );

  /** @type {Map<string, import('./lib/suite.mjs').RoundResult[]>} */
  const byPair = new Map(runnable.map(([a, b]) => [`${a}:${b}`, []]));
  /** @type {import('./lib/suite.mjs').RoundResult[]} */
  const rounds = [];
  /** @type {{ pair: string, round: number, error: string }[]} */
  const errors = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const [a, b] of runnable) {
      const pair = `${a}:${b}`;
      log(`[round ${round}/${cfg.rounds}] ${pairLabel(pair)}`);
      try {
        const r = await runRound(
          /** @type {import('./lib/implementations.mjs').Implementation} */ (impls.get(a)),
          /** @type {import('./lib/implementations.mjs').Implementation} */ (impls.get(b)),
          round,
          { seconds: cfg.seconds, udpSizes: cfg.udpSizes, pingCount: cfg.pingCount, pingIntervalS: cfg.pingIntervalS, log },
        );
        rounds.push(r);
        byPair.get(pair)?.push(r);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        errors.push({ pair, round, error: msg });
        log(`  FAILED: ${msg}`);
      }
    }
  }

  machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  machine.elapsedSeconds = Math.round((Date.now() - date.getTime()) / 1000);
  const measured = [...byPair.entries()].filter(([, rs]) => rs.length > 0).map(([p]) => p);
  const metrics = metricList(cfg.udpSizes);
  const summary = summarize(metrics, new Map([...byPair].filter(([p]) => measured.includes(p))), BASELINE);
  const stamp = date.toISOString().replace(/:\d\d\.\d+Z$/, 'Z').replace(/:/g, '');
  const resultFile = join(cfg.outDir, `${stamp}-${machine.hostname}.json`);
  const resultRel = relative(repoRoot, resultFile);
  const implementations = Object.fromEntries([...new Set(pairs.flat())].map((n) => [n, impls.get(n)]));
  const md = markdownReport({
    machine,
    config: cfg,
    pairs: measured,
    baseline: BASELINE,
    metrics,
    summary,
    skipped,
    errors,
    resultFile: resultRel,
    date: date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    implementations,
  });
  log('');
  log(md);

  if (cfg.write) {
    mkdirSync(cfg.outDir, { recursive: true });
    const json = {
      schema: 1,
      date: date.toISOString(),
      machine,
      config: { ...cfg, outDir: undefined, write: undefined, impls: undefined },
      implementations,
      baseline: BASELINE,
      pairs: measured,
      skipped,
      errors,
      metrics: metrics.map(({ get, ...m }) => m),
      summary,
      rounds,
    };
    writeFileSync(resultFile, `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(join(cfg.outDir, 'latest.md'), `${md}\n`);
    const ids = ['tcp1Mbps', 'tcp4Mbps', `udp${cfg.udpSizes[0]}Kpps`, `udp${cfg.udpSizes[cfg.udpSizes.length - 1]}Kpps`, 'latencyLoadedP99Ms', 'cpuSecondsPerGB'];
    const chartMetrics = [...new Set(ids)].map((id) => metrics.find((m) => m.id === id)).filter((m) => m !== undefined);
    writeFileSync(
      join(cfg.outDir, 'latest.svg'),
      svgChart({
        title: 'WireGuard implementations side by side (medians)',
        subtitle: `${machine.hostname} · ${machine.cpuModel}, ${machine.cores} cores · ${cfg.mode} run, ${cfg.rounds} round${cfg.rounds === 1 ? '' : 's'} · ${date.toISOString().slice(0, 10)}`,
        pairs: measured,
        baseline: BASELINE,
        metrics: chartMetrics,
        summary,
      }),
    );
    log(`wrote ${resultRel}, ${relative(repoRoot, join(cfg.outDir, 'latest.md'))}, ${relative(repoRoot, join(cfg.outDir, 'latest.svg'))}`);
  }
  return errors.length > 0 || measured.length === 0 ? 1 : 0;
}

main().then(
  async (code) => {
    await cleanup.run();
    process.exit(code);
  },
  async (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : err}\n`);
    await cleanup.run();
    process.exit(1);
  },
);
