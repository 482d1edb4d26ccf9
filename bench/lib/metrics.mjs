// @ts-check
/** The reported metrics: how each is read from a round, and how rounds are summarized. */
import { median } from './stats.mjs';

/** @typedef {import('./suite.mjs').RoundResult} RoundResult */

/**
 * @typedef {object} Metric
 * @property {string} id key in the JSON summary
 * @property {string} label
 * @property {string} unit
 * @property {'higher' | 'lower'} better
 * @property {boolean} ratio whether a ratio to the baseline means anything (not for loss %)
 * @property {number} digits decimals shown
 * @property {(r: RoundResult) => number | null | undefined} get
 */

const MiB = 1024;

/**
 * @param {number[]} udpSizes @returns {Metric[]}
 */
export function metricList(udpSizes) {
  /** @type {Metric[]} */
  const m = [
    { id: 'tcp1Mbps', label: 'TCP throughput, 1 stream', unit: 'Mbit/s', better: 'higher', ratio: true, digits: 0, get: (r) => r.tcp1.mbps },
    { id: 'tcp4Mbps', label: 'TCP throughput, 4 streams', unit: 'Mbit/s', better: 'higher', ratio: true, digits: 0, get: (r) => r.tcp4.mbps },
    { id: 'tcp1Retransmits', label: 'TCP retransmits, 1 stream', unit: 'count', better: 'lower', ratio: true, digits: 0, get: (r) => r.tcp1.retransmits },
    { id: 'tcp4Retransmits', label: 'TCP retransmits, 4 streams', unit: 'count', better: 'lower', ratio: true, digits: 0, get: (r) => r.tcp4.retransmits },
  ];
  for (const s of udpSizes) {
    m.push(
      { id: `udp${s}Kpps`, label: `UDP ${s} B, received`, unit: 'kpps', better: 'higher', ratio: true, digits: 1, get: (r) => (r.udp[s] ? r.udp[s].rxPps / 1000 : null) },
      { id: `udp${s}LossPct`, label: `UDP ${s} B, lost`, unit: '%', better: 'lower', ratio: false, digits: 1, get: (r) => r.udp[s]?.lossPct },
    );
  }
  for (const [key, name] of /** @type {const} */ ([['latencyIdle', 'idle'], ['latencyLoaded', 'loaded']])) {
    for (const p of /** @type {const} */ (['p50', 'p90', 'p99', 'jitter'])) {
      m.push({
        id: `${key}${p[0].toUpperCase()}${p.slice(1)}Ms`,
        label: `Latency ${name}, ${p === 'jitter' ? 'jitter' : p.toUpperCase()}`,
        unit: 'ms',
        better: 'lower',
        ratio: true,
        digits: 3,
        get: (r) => r[key][p],
      });
    }
  }
  m.push(
    { id: 'latencyLoadedLossPct', label: 'Latency loaded, pings lost', unit: '%', better: 'lower', ratio: false, digits: 1, get: (r) => r.latencyLoaded.lossPct },
    { id: 'cpuSecondsPerGB', label: 'CPU per GB (both daemons)', unit: 's/GB', better: 'lower', ratio: true, digits: 2, get: (r) => r.cpuSecondsPerGB },
    { id: 'rssIdleAMiB', label: 'RSS idle, side A', unit: 'MiB', better: 'lower', ratio: true, digits: 1, get: (r) => kib(r.memory.a.idleRssKiB) },
    { id: 'rssIdleBMiB', label: 'RSS idle, side B', unit: 'MiB', better: 'lower', ratio: true, digits: 1, get: (r) => kib(r.memory.b.idleRssKiB) },
    { id: 'rssPeakAMiB', label: 'RSS peak under load, side A', unit: 'MiB', better: 'lower', ratio: true, digits: 1, get: (r) => kib(r.memory.a.peakRssKiB) },
    { id: 'rssPeakBMiB', label: 'RSS peak under load, side B', unit: 'MiB', better: 'lower', ratio: true, digits: 1, get: (r) => kib(r.memory.b.peakRssKiB) },
  );
  return m;
}

/** @param {number | null} k */
const kib = (k) => (k === null ? null : k / MiB);

/**
 * @typedef {object} MetricSummary
 * @property {number | null} median
 * @property {number | null} min
 * @property {number | null} max
 * @property {number} n rounds with a value
 * @property {number | null} ratio median ÷ the baseline pair's median
 */

/**
 * Medians per pair and metric, and ratios to `baseline` (a pair key such as
 * `wireguard-go:wireguard-go`) when it was measured.
 * @param {Metric[]} metrics @param {Map<string, RoundResult[]>} byPair @param {string} baseline
 * @returns {Record<string, Record<string, MetricSummary>>}
 */
export function summarize(metrics, byPair, baseline) {
  /** @type {Record<string, Record<string, MetricSummary>>} */
  const out = {};
  for (const [pair, rounds] of byPair) {
    out[pair] = {};
    for (const metric of metrics) {
      const values = /** @type {number[]} */ (rounds.map((r) => metric.get(r)).filter((v) => typeof v === 'number' && Number.isFinite(v)));
      out[pair][metric.id] = {
        median: median(values),
        min: values.length ? Math.min(...values) : null,
        max: values.length ? Math.max(...values) : null,
        n: values.length,
        ratio: null,
      };
    }
  }
  const base = out[baseline];
  if (base) {
    for (const pair of Object.keys(out)) {
      for (const metric of metrics) {
        if (!metric.ratio) continue;
        const v = out[pair][metric.id].median;
        const b = base[metric.id].median;
        out[pair][metric.id].ratio = v === null || b === null || b === 0 ? null : v / b;
      }
    }
  }
  return out;
}
