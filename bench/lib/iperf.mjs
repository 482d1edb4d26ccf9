// @ts-check
/** iperf3 through the tunnel: a server in ns B, clients in ns A (traffic flows A → B). */
import { execIn, spawnBackground, waitFor } from './proc.mjs';

export const IPERF_PORT = 5201;

/**
 * Start `iperf3 -s` in `ns` and wait until it listens.
 * @param {string} ns
 */
export async function startServer(ns) {
  const server = spawnBackground('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-p', String(IPERF_PORT)]);
  await waitFor(
    async () => {
      if (server.exited()) throw new Error(`iperf3 -s exited: ${server.stderr().trim()}`);
      const r = await execIn(ns, 'ss', ['-Hltn', `sport = :${IPERF_PORT}`], { allowFailure: true });
      return r.stdout.trim().length > 0;
    },
    10_000,
    'iperf3 server did not start listening',
  );
  return server;
}

/**
 * @typedef {object} TcpResult
 * @property {number} mbps receiver-side goodput, Mbit/s
 * @property {number} bytes bytes received by the server
 * @property {number} seconds
 * @property {number} retransmits sender-side TCP retransmits (iperf3 `retransmits`)
 * @property {number} streams
 */

/**
 * @param {string} ns client namespace @param {string} server tunnel address of the server
 * @param {string[]} args @param {number} seconds
 */
async function iperfJson(ns, server, args, seconds) {
  const r = await execIn(
    ns,
    'iperf3',
    ['-c', server, '-p', String(IPERF_PORT), '-t', String(seconds), '-J', '--connect-timeout', '5000', ...args],
    { allowFailure: true, timeoutMs: (seconds + 30) * 1000 },
  );
  /** @type {any} */
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`iperf3 ${args.join(' ')}: no JSON (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(0, 500)}`);
  }
  if (json.error) throw new Error(`iperf3 ${args.join(' ')}: ${json.error}`);
  return json;
}

/**
 * TCP bulk transfer with `streams` parallel streams.
 * @param {string} ns @param {string} server @param {{ streams: number, seconds: number }} o
 * @returns {Promise<TcpResult>}
 */
export async function tcp(ns, server, { streams, seconds }) {
  const json = await iperfJson(ns, server, ['-P', String(streams)], seconds);
  const recv = json.end.sum_received;
  return {
    mbps: recv.bits_per_second / 1e6,
    bytes: recv.bytes,
    seconds: recv.seconds,
    retransmits: json.end.sum_sent.retransmits ?? 0,
    streams,
  };
}

/**
 * @typedef {object} UdpResult
 * @property {number} payload UDP payload bytes
 * @property {number} sentPps datagrams/s the client sent
 * @property {number} rxPps datagrams/s the server received (sent − lost)
 * @property {number} lossPct
 * @property {number} rxMbps payload Mbit/s received
 * @property {number} bytes payload bytes received
 */

/**
 * Unlimited-rate UDP (`-b 0`) with `payload`-byte datagrams.
 * @param {string} ns @param {string} server @param {{ payload: number, seconds: number }} o
 * @returns {Promise<UdpResult>}
 */
export async function udp(ns, server, { payload, seconds }) {
  const json = await iperfJson(ns, server, ['-u', '-b', '0', '-l', String(payload)], seconds);
  // iperf3 3.12: end.sum carries the sender's packet count and the server's lost_packets.
  const s = json.end.sum;
  const packets = Number(s.packets);
  const lost = Math.max(0, Number(s.lost_packets));
  const secs = Number(s.seconds) || seconds;
  const received = Math.max(0, packets - lost);
  return {
    payload,
    sentPps: packets / secs,
    rxPps: received / secs,
    lossPct: packets > 0 ? (100 * lost) / packets : 100,
    rxMbps: (received * payload * 8) / secs / 1e6,
    bytes: received * payload,
  };
}
