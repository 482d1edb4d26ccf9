// @ts-check
/**
 * Round-trip latency through the tunnel with `ping` (ICMP echo, one every `intervalS`), light
 * or under a saturating TCP stream. Each reply's RTT is kept; percentiles and jitter come from them.
 */
import { execIn, sleep } from './proc.mjs';
import { meanConsecutiveDelta, percentileSorted } from './stats.mjs';
import { tcp } from './iperf.mjs';

/**
 * @typedef {object} LatencyResult
 * @property {number} p50 ms
 * @property {number} p90 ms
 * @property {number} p99 ms
 * @property {number} jitter ms, mean |RTT(i) − RTT(i−1)|
 * @property {number} sent
 * @property {number} received
 * @property {number} lossPct
 * @property {number | null} loadMbps throughput of the background stream (loaded runs)
 * @property {number | null} loadRetransmits
 */

/**
 * @param {string} ns @param {string} target @param {{ count: number, intervalS: number }} o
 * @returns {Promise<LatencyResult>}
 */
export async function pingLatency(ns, target, { count, intervalS }) {
  const r = await execIn(ns, 'ping', ['-n', '-i', String(intervalS), '-c', String(count), '-W', '2', target], {
    allowFailure: true,
    timeoutMs: (count * intervalS + 30) * 1000,
  });
  /** @type {number[]} */
  const rtts = [];
  const seen = new Set();
  for (const m of r.stdout.matchAll(/icmp_seq=(\d+) .*?time=([\d.]+) ms/g)) {
    if (seen.has(m[1])) continue; // (DUP!) replies
    seen.add(m[1]);
    rtts.push(Number(m[2]));
  }
  if (rtts.length === 0) throw new Error(`ping ${target}: no replies: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  const sorted = [...rtts].sort((a, b) => a - b);
  return {
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    jitter: meanConsecutiveDelta(rtts),
    sent: count,
    received: rtts.length,
    lossPct: (100 * (count - rtts.length)) / count,
    loadMbps: null,
    loadRetransmits: null,
  };
}

/**
 * The same while one iperf3 TCP stream saturates the tunnel in the same direction (A → B), so
 * the echo requests queue behind bulk data. The stream starts `rampS` before the pings and ends
 * after them.
 * @param {string} ns @param {string} target @param {{ count: number, intervalS: number, rampS?: number }} o
 * @returns {Promise<LatencyResult>}
 */
export async function loadedLatency(ns, target, { count, intervalS, rampS = 1.5 }) {
  const pingSeconds = count * intervalS;
  const loadSeconds = Math.ceil(rampS + pingSeconds + 2);
  const load = tcp(ns, target, { streams: 1, seconds: loadSeconds });
  load.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
  await sleep(rampS * 1000);
  const lat = await pingLatency(ns, target, { count, intervalS });
  const loaded = await load;
  return { ...lat, loadMbps: loaded.mbps, loadRetransmits: loaded.retransmits };
}
