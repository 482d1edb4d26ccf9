// @ts-check
/** One round of every metric on one pair: fresh namespaces and daemons, then the tests in order. */
import { cleanup } from './cleanup.mjs';
import { createTunnel, TUNNEL } from './topology.mjs';
import { startServer, tcp, udp } from './iperf.mjs';
import { loadedLatency, pingLatency } from './latency.mjs';
import { cpuSeconds, memoryKiB, RssSampler } from './procstat.mjs';
import { sleep } from './proc.mjs';

/** @typedef {import('./implementations.mjs').Implementation} Implementation */

/**
 * @typedef {object} SuiteOptions
 * @property {number} seconds per iperf3 test
 * @property {number[]} udpSizes UDP payload sizes
 * @property {number} pingCount echo requests per latency test
 * @property {number} pingIntervalS
 * @property {(line: string) => void} log
 */

/**
 * @typedef {object} SideMemory
 * @property {number | null} idleRssKiB after the handshake, before any load
 * @property {number | null} peakRssKiB highest VmRSS sampled (every 100 ms) during the load tests
 * @property {number | null} hwmKiB VmHWM (kernel-kept peak) after the load tests
 */

/**
 * @typedef {object} RoundResult
 * @property {string} pair
 * @property {number} round
 * @property {string} startedAt
 * @property {number} handshakeMs
 * @property {import('./iperf.mjs').TcpResult} tcp1
 * @property {import('./iperf.mjs').TcpResult} tcp4
 * @property {Record<string, import('./iperf.mjs').UdpResult>} udp keyed by payload size
 * @property {import('./latency.mjs').LatencyResult} latencyIdle
 * @property {import('./latency.mjs').LatencyResult} latencyLoaded
 * @property {number | null} cpuSecondsPerGB both daemons' CPU over the two TCP tests ÷ GB received
 * @property {{ a: number | null, b: number | null }} cpuSecondsTcp per side
 * @property {{ a: SideMemory, b: SideMemory }} memory
 */

/** @param {number | null} pid @param {'VmRSS' | 'VmHWM'} field */
const mem = (pid, field) => (pid === null ? null : memoryKiB(pid, field));
/** @param {number | null} pid */
const cpu = (pid) => (pid === null ? null : cpuSeconds(pid));

/**
 * @param {Implementation} implA @param {Implementation} implB @param {number} round
 * @param {SuiteOptions} o @returns {Promise<RoundResult>}
 */
export async function runRound(implA, implB, round, o) {
  const pair = `${implA.name}:${implB.name}`;
  const startedAt = new Date().toISOString();
  /** @type {RssSampler | null} */
  let sampler = null;
  try {
    const t = await createTunnel(implA, implB);
    o.log(`  tunnel up (handshake + first ping ${t.handshakeMs} ms)`);
    await startServer(t.nsB);
    const target = TUNNEL.b;
    const pids = { a: t.a.pid, b: t.b.pid };
    await sleep(1000);
    const idle = { a: mem(pids.a, 'VmRSS'), b: mem(pids.b, 'VmRSS') };

    sampler = new RssSampler(pids);
    sampler.start(100);
    const alive = () => {
      t.a.assertAlive();
      t.b.assertAlive();
    };

    const cpu0 = { a: cpu(pids.a), b: cpu(pids.b) };
    const tcp1 = await tcp(t.nsA, target, { streams: 1, seconds: o.seconds });
    o.log(`  tcp 1 stream  ${tcp1.mbps.toFixed(0)} Mbit/s, ${tcp1.retransmits} retransmits`);
    alive();
    await sleep(500);
    const tcp4 = await tcp(t.nsA, target, { streams: 4, seconds: o.seconds });
    o.log(`  tcp 4 streams ${tcp4.mbps.toFixed(0)} Mbit/s, ${tcp4.retransmits} retransmits`);
    alive();
    const cpu1 = { a: cpu(pids.a), b: cpu(pids.b) };
    // Sleeps between tests are outside this window only by their idle CPU (a few ms); the
    // 500 ms gap above is inside it and costs both sides the same.
    const cpuTcp = {
      a: cpu0.a === null || cpu1.a === null ? null : cpu1.a - cpu0.a,
      b: cpu0.b === null || cpu1.b === null ? null : cpu1.b - cpu0.b,
    };
    const gb = (tcp1.bytes + tcp4.bytes) / 1e9;
    const cpuSecondsPerGB = cpuTcp.a === null || cpuTcp.b === null || gb === 0 ? null : (cpuTcp.a + cpuTcp.b) / gb;

    /** @type {Record<string, import('./iperf.mjs').UdpResult>} */
    const udpResults = {};
    for (const payload of o.udpSizes) {
      await sleep(500);
      const u = await udp(t.nsA, target, { payload, seconds: o.seconds });
      udpResults[String(payload)] = u;
      o.log(`  udp ${String(payload).padStart(4)} B  ${(u.rxPps / 1000).toFixed(1)} kpps received, ${u.lossPct.toFixed(1)} % lost`);
      alive();
    }

    await sleep(500);
    const latencyIdle = await pingLatency(t.nsA, target, { count: o.pingCount, intervalS: o.pingIntervalS });
    o.log(`  latency idle   P50 ${latencyIdle.p50.toFixed(3)} P99 ${latencyIdle.p99.toFixed(3)} ms, jitter ${latencyIdle.jitter.toFixed(3)} ms`);
    const latencyLoaded = await loadedLatency(t.nsA, target, { count: o.pingCount, intervalS: o.pingIntervalS });
    o.log(`  latency loaded P50 ${latencyLoaded.p50.toFixed(3)} P99 ${latencyLoaded.p99.toFixed(3)} ms, jitter ${latencyLoaded.jitter.toFixed(3)} ms`);
    alive();

    const peak = sampler.stop();
    const memory = {
      a: { idleRssKiB: idle.a, peakRssKiB: peak.a, hwmKiB: mem(pids.a, 'VmHWM') },
      b: { idleRssKiB: idle.b, peakRssKiB: peak.b, hwmKiB: mem(pids.b, 'VmHWM') },
    };
    return {
      pair,
      round,
      startedAt,
      handshakeMs: t.handshakeMs,
      tcp1,
      tcp4,
      udp: udpResults,
      latencyIdle,
      latencyLoaded,
      cpuSecondsPerGB,
      cpuSecondsTcp: cpuTcp,
      memory,
    };
  } finally {
    sampler?.stop();
    await cleanup.run();
  }
}
