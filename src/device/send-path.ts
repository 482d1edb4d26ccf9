/*
 * Send path: plaintext IP packets from the TUN become transport messages on UDP.
 *
 *   TUN batch ──► validate IP header ──► allowed-IPs(dst) → peer ──► session usable?
 *        │                                                      │ no: stage a copy,
 *        │                                                      │     start a handshake
 *        ▼ yes
 *   pad to 16 (C6) ─► header in the headroom ─► seal in place ─► compact the same batch
 *        ─► bind.send(batch) ─► per-peer counters and timers once per batch
 *
 * The TUN's batch is rewritten in place and handed to the bind: no copy, no allocation per
 * packet. Packets of one peer keep their TUN order (C13).
 */
import { AEAD_TAG_SIZE, MAX_PADDING_MTU, MESSAGE_TRANSPORT_HEADER_SIZE } from '../constants.js';
import { ENDPOINT_RECORD_SIZE, EP_FLAGS, EP_FLAG_LOCAL } from '../io/endpoint.js';
import { HEADROOM, PacketBatch } from '../io/packet-batch.js';
import { sealRun, type RunScratch } from './cipher-runs.js';
import { writeTransportHeader } from '../noise/messages.js';
import type { CryptoJob } from './crypto-job.js';
import { poolKeyOf } from './crypto-pool.js';
import type { Keypair } from '../session/keypair.js';
import type { Device } from './device.js';
import { sendInitiation } from './handshake-path.js';
import { dstOffset, ipFamily, paddedLength } from './ip.js';
import type { Peer } from './peer.js';

export function sendTunBatch(dev: Device, batch: PacketBatch): void {
  const n = batch.count;
  if (!dev.isUp || dev.local === null) {
    dev.drops.deviceDown += n;
    return;
  }
  const gen = ++dev.batchGen;
  const touched = dev.touched;
  touched.length = 0;
  const now = dev.clock.now();
  const mtu = dev.mtu;
  const data = batch.data;
  const run = dev.sealScratch;
  run.ensure(n);
  let w = 0;
  let runStart = 0;
  let runKp: Keypair | null = null;
  for (let i = 0; i < n; i++) {
    const off = batch.offsets[i];
    const len = batch.lengths[i];
    const family = ipFamily(data, off, len);
    // G6: a packet whose transport message could not fit a datagram (wireguard-go's
    // MaxContentSize) is junk too, dropped before routing.
    if (family === 0 || len > MAX_PADDING_MTU) {
      dev.drops.tunInvalid++;
      continue;
    }
    const peer = dev.allowedIPs.lookup(family, data, dstOffset(off, family));
    if (peer === undefined) {
      dev.drops.noRoute++;
      continue;
    }
    if (peer.batchGen !== gen) {
      peer.beginBatch(gen);
      peer.batchIndex = touched.length;
      touched.push(peer);
      // Staged packets go first (C13): while any wait, new ones queue behind them.
      const kp = peer.keypairs.current;
      peer.batchKeypair = peer.staged.length === 0 && peer.endpoint && kp && kp.canSend(now) ? kp : null;
    }
    const kp = peer.batchKeypair;
    if (kp === null || kp.sendExhausted) {
      if (!peer.stage(data, off, len)) dev.drops.stagedOverflow++;
      peer.batchNeedsFlush = true;
      continue;
    }
    if (kp !== runKp) {
      if (runKp !== null) sealOrMark(dev, runKp, data, run, runStart, w - runStart);
      runKp = kp;
      runStart = w;
    }
    const hdr = off - MESSAGE_TRANSPORT_HEADER_SIZE;
    const padded = prepareMessage(kp, data, off, len, mtu, hdr, run, w);
    batch.offsets[w] = hdr;
    batch.lengths[w] = MESSAGE_TRANSPORT_HEADER_SIZE + padded + AEAD_TAG_SIZE;
    batch.endpoints.set(peer.endpoint!.record, w * ENDPOINT_RECORD_SIZE);
    batch.meta[w] = peer.batchIndex;
    peer.batchTx += batch.lengths[w];
    w++;
  }
  if (runKp !== null) sealOrMark(dev, runKp, data, run, runStart, w - runStart);
  batch.count = w;
  if (w > 0) {
    if (dev.cryptoPool !== null) {
      dev.cryptoPool.submitSend(batch, w, run, touched); // sent by completeSend, in order
    } else {
      if (dev.tap?.udpOut) for (let i = 0; i < w; i++) dev.tap.udpOut(batch.packet(i));
      dev.bind.send(batch);
      dropRefusedSources(batch, w, touched);
    }
  }
  for (let t = 0; t < touched.length; t++) {
    const peer = touched[t];
    if (peer.batchTx > 0) {
      peer.tx.add(peer.batchTx);
      peer.timers.dataSent(now);
      peer.timers.anyAuthenticatedPacketSent(now);
      peer.timers.anyAuthenticatedPacketTraversal(now);
      const kp = peer.batchKeypair;
      if (kp && kp.wantsRekeyOnSend(now)) sendInitiation(dev, peer, false);
    }
    if (peer.batchNeedsFlush) flushStaged(dev, peer);
    dev.armTimers(peer);
  }
  touched.length = 0;
}

/** Seal a run now, or with crypto workers, mark its packets with the session's pool key. */
function sealOrMark(dev: Device, kp: Keypair, data: Uint8Array, run: RunScratch, start: number, count: number): void {
  if (dev.cryptoPool === null) {
    sealRun(kp.sendCipher, data, run, start, count);
    return;
  }
  run.index.fill(poolKeyOf(kp.sendCipher), start, start + count);
}

/** Crypto workers sealed `job` (a batch prepared by sendTunBatch or flushStaged): send it. */
export function completeSend(dev: Device, job: CryptoJob): void {
  if (!dev.isUp) {
    dev.drops.deviceDown += job.count;
    return;
  }
  if (dev.tap?.udpOut) for (let i = 0; i < job.count; i++) dev.tap.udpOut(job.packet(i));
  dev.bind.send(job);
  dropRefusedSources(job, job.count, job.peers);
}

/**
 * A bind that could not send from a peer's sticky source clears the local-source flag in the
 * batch's endpoint record (Bind contract); the peer then forgets that source (E7, F15 a).
 */
function dropRefusedSources(batch: PacketBatch | CryptoJob, count: number, touched: readonly Peer[]): void {
  for (let i = 0; i < count; i++) {
    const peer = touched[batch.meta[i]];
    const ep = peer.endpoint;
    if (ep !== null && (ep.record[EP_FLAGS] & EP_FLAG_LOCAL) !== 0 && (batch.endpoints[i * ENDPOINT_RECORD_SIZE + EP_FLAGS] & EP_FLAG_LOCAL) === 0) {
      peer.endpoint = ep.withoutLocal();
    }
  }
}


/**
 * Prepare the plaintext at data[off, off+len) for sealing as entry `at` of `run`: zero
 * padding (C6), the transport header at `hdr` (= off − 16) with the next counter, and the
 * run entry (plaintext offset, padded length, counter). Returns the padded length. The caller
 * checked that the keypair can send, and seals the run afterwards.
 */
function prepareMessage(kp: Keypair, data: Uint8Array, off: number, len: number, mtu: number, hdr: number, run: RunScratch, at: number): number {
  const padded = paddedLength(len, mtu);
  if (padded > len) data.fill(0, off + len, off + padded);
  const lo = kp.sendLo;
  const hi = kp.sendHi;
  kp.advanceSend();
  writeTransportHeader(data, hdr, kp.remoteIndex, lo, hi);
  run.offsets[at] = off;
  run.lengths[at] = padded;
  run.counterLo[at] = lo;
  run.counterHi[at] = hi;
  return padded;
}


/**
 * Send a peer's staged packets if a usable session and an endpoint exist; otherwise start a
 * handshake (paced, A7). Called after handshakes, at section ends, on link up.
 */
export function flushStaged(dev: Device, peer: Peer): void {
  if (!dev.isUp || dev.local === null || peer.staged.length === 0) return;
  const now = dev.clock.now();
  const kp = peer.keypairs.current;
  if (!kp || !kp.canSend(now) || !peer.endpoint) {
    sendInitiation(dev, peer, false);
    dev.armTimers(peer);
    return;
  }
  const batch = (dev.stagedBatch ??= new PacketBatch());
  const mtu = dev.mtu;
  let sentBytes = 0;
  let sentData = false;
  const run = dev.sealScratch;
  run.ensure(batch.capacity);
  while (peer.staged.length > 0 && !kp.sendExhausted) {
    batch.count = 0;
    while (batch.count < batch.capacity && peer.staged.length > 0 && !kp.sendExhausted) {
      const pkt = peer.staged.shift()!;
      const i = batch.count++;
      const off = batch.packetStart(i);
      batch.data.set(pkt, off);
      const padded = prepareMessage(kp, batch.data, off, pkt.length, mtu, off - MESSAGE_TRANSPORT_HEADER_SIZE, run, i);
      batch.offsets[i] = off - MESSAGE_TRANSPORT_HEADER_SIZE;
      batch.lengths[i] = MESSAGE_TRANSPORT_HEADER_SIZE + padded + AEAD_TAG_SIZE;
      batch.endpoints.set(peer.endpoint.record, i * ENDPOINT_RECORD_SIZE);
      batch.meta[i] = 0;
      sentBytes += batch.lengths[i];
      if (pkt.length > 0) sentData = true;
    }
    if (dev.cryptoPool !== null) {
      sealOrMark(dev, kp, batch.data, run, 0, batch.count);
      stagedPeer[0] = peer;
      dev.cryptoPool.submitSend(batch, batch.count, run, stagedPeer);
      stagedPeer.length = 0;
      continue;
    }
    sealRun(kp.sendCipher, batch.data, run, 0, batch.count);
    if (dev.tap?.udpOut) for (let i = 0; i < batch.count; i++) dev.tap.udpOut(batch.packet(i));
    dev.bind.send(batch);
    if ((peer.endpoint.record[EP_FLAGS] & EP_FLAG_LOCAL) !== 0 && (batch.endpoints[EP_FLAGS] & EP_FLAG_LOCAL) === 0) {
      peer.endpoint = peer.endpoint.withoutLocal();
    }
  }
  batch.count = 0;
  if (sentBytes > 0) {
    peer.tx.add(sentBytes);
    if (sentData) peer.timers.dataSent(now);
    peer.timers.anyAuthenticatedPacketSent(now);
    peer.timers.anyAuthenticatedPacketTraversal(now);
  }
  if (kp.wantsRekeyOnSend(now) || kp.sendExhausted) sendInitiation(dev, peer, false);
  dev.armTimers(peer);
}

/**
 * Send a keepalive (empty transport message): through the staging queue, so that without a
 * session it starts a handshake and goes out once the session exists.
 */
export function sendKeepalive(dev: Device, peer: Peer): void {
  if (peer.staged.length === 0) peer.staged.push(EMPTY);
  flushStaged(dev, peer);
}

const EMPTY = new Uint8Array(0);
/** What a staged batch's meta indexes when it goes to the crypto workers (one peer). */
const stagedPeer: Peer[] = [];

/** Headroom must fit the transport header. */
if (HEADROOM < MESSAGE_TRANSPORT_HEADER_SIZE) throw new Error('HEADROOM too small');
