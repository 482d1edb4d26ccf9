/*
 * Receive path: UDP datagrams become plaintext IP packets on the TUN.
 *
 *   UDP batch ──► type/size/reserved checks (B2, G2, G3)
 *      ├─ handshake message (1, 2, 3) ──► copied to the handshake queue (handshake-path.ts)
 *      └─ transport (4) ──► receiver index → keypair ──► replay pre-check ──► open in place
 *             ──► replay window update ──► endpoint learning (E1) ──► confirm `next` (B15)
 *             ──► keepalive? stop : inner IP checks (C8) ──► allowed-IPs(src) == peer (D8)
 *             ──► compact the same batch ──► tun.write(batch)
 *
 * Per-peer counters and timers are updated once per batch, not per packet.
 */
import { Endpoint, ENDPOINT_RECORD_SIZE } from '../io/endpoint.js';
import type { PacketBatch, PacketView } from '../io/packet-batch.js';
import type { Keypair } from '../session/keypair.js';
import type { Device } from './device.js';
import { sendInitiation } from './handshake-path.js';
import { ipFamily, ipLength, srcOffset } from './ip.js';
import type { Peer } from './peer.js';
import { flushStaged } from './send-path.js';
import { openRun } from './cipher-runs.js';
import { readI32LE, readU32LE } from '../noise/messages.js';
import type { CryptoJob, RunView } from './crypto-job.js';

const TRANSPORT_MIN = 32;

export function receiveUdpBatch(dev: Device, batch: PacketBatch): void {
  const n = batch.count;
  if (!dev.isUp || dev.local === null) {
    dev.drops.deviceDown += n;
    return;
  }
  const data = batch.data;
  const tap = dev.tap?.udpIn;
  if (tap) for (let i = 0; i < n; i++) tap(batch.packet(i), Endpoint.fromRecord(batch.endpoints, i * ENDPOINT_RECORD_SIZE));
  const now = dev.clock.now();
  const run = dev.openScratch;
  run.ensure(n);
  const kps = dev.openKeypairs;
  // Pass 1: classify; transport messages that may be fresh become candidates (no state change).
  let c = 0;
  let queuedHandshakes = false;
  for (let i = 0; i < n; i++) {
    const off = batch.offsets[i];
    const len = batch.lengths[i];
    if (len < 4 || data[off + 1] !== 0 || data[off + 2] !== 0 || data[off + 3] !== 0) {
      dev.drops.malformed++;
      continue;
    }
    const type = data[off];
    if (type !== 4) {
      if ((type === 1 && len === 148) || (type === 2 && len === 92) || (type === 3 && len === 64)) {
        if (dev.handshakes.enqueue(data, off, len, batch.endpoints, i * ENDPOINT_RECORD_SIZE)) queuedHandshakes = true;
      } else {
        dev.drops.malformed++;
      }
      continue;
    }
    if (len < TRANSPORT_MIN) {
      dev.drops.malformed++;
      continue;
    }
    const kp = dev.indices.get(readI32LE(data, off + 4))?.keypair;
    if (kp === null || kp === undefined) {
      dev.drops.unknownIndex++;
      continue;
    }
    if (!kp.canReceive(now)) {
      dev.drops.expiredSession++;
      continue;
    }
    const lo = readU32LE(data, off + 8);
    const hi = readU32LE(data, off + 12);
    if (!kp.replay.check(lo, hi)) {
      dev.drops.replayed++;
      continue;
    }
    run.offsets[c] = off + 16;
    run.lengths[c] = len - 16;
    run.counterLo[c] = lo;
    run.counterHi[c] = hi;
    run.index[c] = i;
    kps[c] = kp;
    c++;
  }
  if (dev.cryptoPool !== null) {
    // Passes 2 and 3 run for these candidates when the workers have opened them (completeReceive).
    if (c > 0) dev.cryptoPool.submitOpen(batch, run, kps, c);
    if (queuedHandshakes) dev.handshakes.schedule();
    return;
  }
  // Pass 2: open runs of candidates that share a session, one call per run.
  let runStart = 0;
  for (let k = 1; k <= c; k++) {
    if (k === c || kps[k] !== kps[runStart]) {
      openRun(kps[runStart]!.receiveCipher, data, run, runStart, k - runStart);
      runStart = k;
    }
  }
  acceptOpened(dev, batch, run, kps, c, now);
  if (queuedHandshakes) dev.handshakes.schedule();
}

/** Crypto workers opened `job` (candidates of one receiveUdpBatch, in arrival order): pass 3. */
export function completeReceive(dev: Device, job: CryptoJob): void {
  if (!dev.isUp || dev.local === null) {
    dev.drops.deviceDown += job.count;
    return;
  }
  const n = job.count;
  acceptOpened(dev, job, job.run, job.keypairs, n, dev.clock.now());
}

/**
 * Pass 3: authenticated packets update state and go to the TUN, in arrival order. Entry k
 * of `run` (k < c) is datagram run.index[k] of `batch`, opened in place, of session kps[k].
 */
function acceptOpened(dev: Device, batch: PacketView, run: RunView, kps: (Keypair | null)[], c: number, now: number): void {
  const data = batch.data;
  const gen = ++dev.batchGen;
  const touched = dev.touched;
  touched.length = 0;
  let w = 0;
  for (let k = 0; k < c; k++) {
    const kp = kps[k]!;
    kps[k] = null;
    if (run.status[k] === 0) {
      dev.drops.badTag++;
      continue;
    }
    if (!kp.replay.accept(run.counterLo[k], run.counterHi[k])) {
      dev.drops.replayed++;
      continue;
    }
    const entry = dev.indices.get(kp.localIndex);
    if (entry === undefined || entry.keypair !== kp) continue; // session dropped meanwhile
    const peer = entry.peer;
    if (peer.batchGen !== gen) {
      peer.beginBatch(gen);
      touched.push(peer);
    }
    const pOff = run.offsets[k];
    const ptLen = run.lengths[k] - 16;
    peer.batchRx += ptLen + TRANSPORT_MIN;
    const epOff = run.index[k] * ENDPOINT_RECORD_SIZE;
    if (peer.endpoint === null || !peer.endpoint.sameRecord(batch.endpoints, epOff)) {
      const roamed = peer.endpoint === null || !peer.endpoint.sameRemote(batch.endpoints, epOff);
      peer.endpoint = Endpoint.fromRecord(batch.endpoints, epOff);
      if (roamed) dev.emitEndpoint(peer);
    }
    if (kp === peer.keypairs.next && confirmNext(dev, peer, kp)) peer.batchConfirmed = true;
    if (kp.wantsRekeyOnReceive(now)) {
      kp.rekeyRequested = true;
      peer.batchRekey = true;
    }
    if (ptLen === 0) continue; // keepalive (C7)
    const family = ipFamily(data, pOff, ptLen);
    if (family === 0) {
      dev.drops.badInnerPacket++;
      continue;
    }
    if (dev.allowedIPs.lookup(family, data, srcOffset(pOff, family)) !== peer) {
      dev.drops.sourceFilter++;
      continue;
    }
    batch.offsets[w] = pOff;
    batch.lengths[w] = ipLength(data, pOff, family);
    peer.batchDataReceived = true;
    w++;
  }
  batch.count = w;
  if (w > 0) dev.tun.write(batch);
  for (let t = 0; t < touched.length; t++) {
    const peer = touched[t];
    peer.rx.add(peer.batchRx);
    peer.timers.anyAuthenticatedPacketReceived(now);
    peer.timers.anyAuthenticatedPacketTraversal(now);
    if (peer.batchDataReceived) peer.timers.dataReceived(now);
    if (peer.batchConfirmed) {
      // B15: the responder may now send on the confirmed session.
      flushStaged(dev, peer);
    }
    if (peer.batchRekey) sendInitiation(dev, peer, false);
    dev.armTimers(peer);
  }
  touched.length = 0;
}


/** The initiator's first packet on a responder session completes the handshake (B15). */
function confirmNext(dev: Device, peer: Peer, kp: Keypair): boolean {
  if (!peer.keypairs.confirm(kp, (k) => dev.dropKeypair(k))) return false;
  peer.timers.handshakeComplete(dev.clock.now());
  peer.lastHandshakeNs = dev.clock.wallNs();
  dev.emitHandshake(peer);
  return true;
}




