#!/usr/bin/env node
// Handshake micro-benchmark: how many initiations a responder consumes and answers per second
// on one core (consume initiation + create response + derive session keys), and the
// initiator's cost, with the default (node:crypto) backend. Run: node bench/handshake-micro.mjs
import {
  createLocalIdentity, createRemoteIdentity, createInitiation, consumeInitiation, createResponse,
  consumeResponse, tai64n, CookieChecker, CookieGenerator,
} from '../dist/noise/index.js';
import { cryptoRandom, x25519, createTransportCipher } from '../dist/crypto/index.js';

const N = Number(process.argv[2] ?? 3000);
const initPriv = x25519.generatePrivateKey();
const respPriv = x25519.generatePrivateKey();
const initiator = createLocalIdentity(initPriv);
const responder = createLocalIdentity(respPriv);
const remoteOfInit = createRemoteIdentity(initiator, responder.publicKey);
const remoteOfResp = createRemoteIdentity(responder, initiator.publicKey);
const checker = new CookieChecker(responder, cryptoRandom);
const stamper = new CookieGenerator(remoteOfInit);

// Pre-build N initiations (timestamps increasing) so only the responder is timed.
const inits = [];
for (let i = 0; i < N; i++) {
  const r = createInitiation(initiator, remoteOfInit, {
    senderIndex: i, ephemeralPrivate: cryptoRandom.fill(new Uint8Array(32)), timestamp: tai64n(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n),
  });
  stamper.stamp(r.message, r.message.length, 0);
  inits.push(r);
}

function timeIt(label, fn) {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  fn();
  const cpu = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const rate = N / cpuS;
  console.log(`${label.padEnd(44)} ${(cpuS * 1e6 / N).toFixed(1).padStart(7)} µs CPU each  ${Math.round(rate).toString().padStart(6)}/s per core  (wall ${wall.toFixed(0)} ms)`);
  return rate;
}

const responses = [];
const rate = timeIt('responder: mac1 + consume initiation + response', () => {
  for (let i = 0; i < N; i++) {
    const m = inits[i].message;
    if (!checker.checkMac1(m, m.length)) throw new Error('mac1');
    const c = consumeInitiation(responder, m, () => remoteOfResp);
    const r = createResponse(responder, c.remote, c.state, { senderIndex: i, ephemeralPrivate: cryptoRandom.fill(new Uint8Array(32)) });
    createTransportCipher(r.keys.sendKey).destroy();
    createTransportCipher(r.keys.receiveKey).destroy();
    responses.push(r.message);
  }
});
timeIt('initiator: create initiation', () => {
  for (let i = 0; i < N; i++) {
    createInitiation(initiator, remoteOfInit, { senderIndex: i, ephemeralPrivate: cryptoRandom.fill(new Uint8Array(32)), timestamp: tai64n(0n) });
  }
});
timeIt('initiator: consume response', () => {
  for (let i = 0; i < N; i++) consumeResponse(initiator, remoteOfInit, inits[i].state, responses[i]);
});
timeIt('bad mac1 rejection (no Curve25519)', () => {
  const junk = inits[0].message.slice();
  junk[120] ^= 1;
  for (let i = 0; i < N; i++) if (checker.checkMac1(junk, junk.length)) throw new Error('accepted');
});
console.log(`\nresponder handshakes/s per core: ${Math.round(rate)} (target ≥ 4000)`);
