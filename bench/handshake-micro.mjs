#!/usr/bin/env node
// Handshake micro-benchmark: how many initiations a responder checks (mac1), consumes and
// answers per second on one core (consume initiation + create response + both transport
// ciphers), the initiator's costs, and what each primitive costs, with the default
// (node:crypto + JS BLAKE2s) backend. CPU time (process.cpuUsage), so other load on the machine
// matters less than for wall time; each figure is the median of ROUNDS rounds (best in brackets).
// Run: npm run build && node bench/handshake-micro.mjs [N=3000] [ROUNDS=5]
import {
  createLocalIdentity, createRemoteIdentity, createInitiation, consumeInitiation, createResponse,
  consumeResponse, tai64n, CookieChecker, CookieGenerator,
} from '../dist/noise/index.js';
import {
  cryptoRandom, x25519, createTransportCipher, hmacBlake2s, hash, mac, kdf1, kdf2, kdf3,
  aeadSeal, aeadOpen,
} from '../dist/crypto/index.js';

const N = Number(process.argv[2] ?? 3000);
const ROUNDS = Number(process.argv[3] ?? 5);
const initPriv = x25519.generatePrivateKey();
const respPriv = x25519.generatePrivateKey();
const initiator = createLocalIdentity(initPriv);
const responder = createLocalIdentity(respPriv);
const remoteOfInit = createRemoteIdentity(initiator, responder.publicKey);
const remoteOfResp = createRemoteIdentity(responder, initiator.publicKey);
const checker = new CookieChecker(responder, cryptoRandom);
const stamper = new CookieGenerator(remoteOfInit);
const newEph = () => cryptoRandom.fill(new Uint8Array(32));

// N initiations built up front (timestamps increasing) so only the responder is timed; the
// responder never mutates them, so every round reuses them.
const inits = [];
for (let i = 0; i < N; i++) {
  const r = createInitiation(initiator, remoteOfInit, {
    senderIndex: i, ephemeralPrivate: newEph(), timestamp: tai64n(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n),
  });
  stamper.stamp(r.message, r.message.length, 0);
  inits.push(r);
}

/**
 * CPU µs per call of fn(i) over n calls: median and best of ROUNDS rounds (after a warm-up).
 * `setup`, when given, runs untimed before each round (and before the warm-up).
 */
function measure(n, fn, setup) {
  setup?.();
  for (let i = 0; i < Math.min(n, 200); i++) fn(i);
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    setup?.();
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const c = process.cpuUsage(t0);
    per.push((c.user + c.system) / n);
  }
  per.sort((a, b) => a - b);
  return { median: per[Math.floor(per.length / 2)], best: per[0] };
}

function report(label, m) {
  const rate = (us) => Math.round(1e6 / us);
  console.log(
    `${label.padEnd(52)} ${m.median.toFixed(1).padStart(7)} µs  [${m.best.toFixed(1).padStart(6)}]` +
      `  ${String(rate(m.median)).padStart(7)}/s per core  [${rate(m.best)}]`,
  );
}

function responder1(i, ephemeral) {
  const m = inits[i].message;
  if (!checker.checkMac1(m, m.length)) throw new Error('mac1');
  const c = consumeInitiation(responder, m, () => remoteOfResp);
  const r = createResponse(responder, c.remote, c.state, { senderIndex: i, ...ephemeral() });
  createTransportCipher(r.keys.sendKey).destroy();
  createTransportCipher(r.keys.receiveKey).destroy();
}

console.log(`N=${N} per round, ${ROUNDS} rounds; CPU µs per operation: median [best], and the rate it implies\n`);
console.log('end to end');
// Cold: one round straight after start-up (JIT warming up), as the first version of this bench
// measured; then the steady state.
const ephBytes = () => ({ ephemeralPrivate: newEph() });
const c0 = process.cpuUsage();
for (let i = 0; i < N; i++) responder1(i, ephBytes);
const cold = process.cpuUsage(c0);
const coldUs = (cold.user + cold.system) / N;
report('responder, cold: first N after start-up', { median: coldUs, best: coldUs });
const resp = measure(N, (i) => responder1(i, ephBytes));
report('responder: mac1 + consume + response + 2 ciphers', resp);
report('initiator: create initiation (eph bytes)', measure(N, (i) =>
  createInitiation(initiator, remoteOfInit, { senderIndex: i, ephemeralPrivate: newEph(), timestamp: tai64n(0n) })));
// consumeResponse wipes the initiator state, so every round gets fresh initiations and responses.
let pending = [];
report('initiator: consume response', measure(N, (i) => {
  if (!consumeResponse(initiator, remoteOfInit, pending[i].state, pending[i].response)) throw new Error('response');
}, () => {
  pending = inits.map((_, i) => {
    const init = createInitiation(initiator, remoteOfInit, { senderIndex: i, ephemeralPrivate: newEph(), timestamp: tai64n(0n) });
    const c = consumeInitiation(responder, init.message, () => remoteOfResp);
    return { state: init.state, response: createResponse(responder, c.remote, c.state, { senderIndex: i, ephemeralPrivate: newEph() }).message };
  });
}));
const junk = inits[0].message.slice();
junk[120] ^= 1;
report('bad mac1 rejection (no Curve25519)', measure(N * 10, () => {
  if (checker.checkMac1(junk, junk.length)) throw new Error('accepted');
}));

console.log('\nprimitives (the responder does: 3 dh, 1 ephemeral, 1 public import, 21 HMAC in 8 KDFs, 6 hash, 3 AEAD, 1 mac)');
const k32 = cryptoRandom.fill(new Uint8Array(32));
const d32 = cryptoRandom.fill(new Uint8Array(32));
const priv = x25519.importPrivate(x25519.generatePrivateKey());
const pubRaw = x25519.importPrivate(x25519.generatePrivateKey()).publicKey;
const pub = x25519.importPublic(pubRaw);
const sealed48 = aeadSeal(k32, 0n, d32, k32);
const m116 = inits[0].message.subarray(0, 116);
const M = Math.max(1000, N);
report('x25519 dh', measure(M, () => x25519.dh(priv, pub)));
report('x25519 importPrivate(random bytes)', measure(M, () => x25519.importPrivate(newEph())));
report('x25519 importPublic', measure(M, () => x25519.importPublic(pubRaw)));
report('hmacBlake2s(32-byte key, 32 bytes)', measure(M * 10, () => hmacBlake2s(k32, d32)));
report('kdf1 / kdf2 / kdf3: kdf3', measure(M * 10, () => kdf3(k32, d32)));
report('kdf1 / kdf2 / kdf3: kdf2', measure(M * 10, () => kdf2(k32, d32)));
report('kdf1 / kdf2 / kdf3: kdf1', measure(M * 10, () => kdf1(k32, d32)));
report('hash(32 ‖ 32)', measure(M * 10, () => hash(k32, d32)));
report('mac(16-byte key... mac1 over 116 bytes)', measure(M * 10, () => mac(responder.mac1Key, m116)));
report('aeadSeal(32 bytes, aad 32)', measure(M * 10, () => aeadSeal(k32, 0n, d32, k32)));
report('aeadOpen(48 bytes, aad 32)', measure(M * 10, () => aeadOpen(k32, 0n, sealed48, k32)));
report('createTransportCipher + destroy', measure(M * 10, () => createTransportCipher(k32).destroy()));

console.log(`\nresponder handshakes/s per core: ${Math.round(1e6 / resp.median)} steady (median), ` +
  `${Math.round(1e6 / coldUs)} cold (target ≥ 4000: ${1e6 / resp.median >= 4000 ? 'met' : 'NOT met'})`);
