#!/usr/bin/env node
// tsguard demo: two WireGuard devices in one process, talking over real loopback UDP,
// with in-memory TUNs standing in for the kernel. No root needed.
//
//   node examples/demo.mjs          (or: npm start)
import { Device, MemoryTun, UdpBind, generateKeyPair } from 'tsguard';

const alice = generateKeyPair();
const bob = generateKeyPair();

const tunA = new MemoryTun({ name: 'alice0' });
const tunB = new MemoryTun({ name: 'bob0' });
const devA = new Device({ tun: tunA, bind: new UdpBind({ v4Address: '127.0.0.1', v6Address: null }), privateKey: alice.privateKey });
const devB = new Device({ tun: tunB, bind: new UdpBind({ v4Address: '127.0.0.1', v6Address: null }), privateKey: bob.privateKey });
await devA.up();
await devB.up();

devA.setPeer({ publicKey: bob.publicKey, endpoint: `127.0.0.1:${devB.listenPort}`, allowedIPs: ['10.9.0.2/32'] });
devB.setPeer({ publicKey: alice.publicKey, allowedIPs: ['10.9.0.1/32'] });

// Bob answers every ICMP echo request that comes out of his tunnel.
tunB.onWrite = (pkt) => {
  if (pkt[9] === 1 && pkt[20] === 8) tunB.inject(echoReply(pkt));
};

const N = 1000;
let replies = 0;
let done;
const finished = new Promise((r) => (done = r));
tunA.onWrite = (pkt) => {
  if (pkt[9] === 1 && pkt[20] === 0 && ++replies === N) done();
};

const handshake = new Promise((r) => devA.once('handshake', r));
const t0 = performance.now();
tunA.inject(echoRequest(0));
await handshake;
const tHandshake = performance.now() - t0;
const t1 = performance.now();
for (let seq = 1; seq < N; seq++) tunA.inject(echoRequest(seq));
const timeout = setTimeout(() => done(), 5000);
await finished;
clearTimeout(timeout);
const tData = performance.now() - t1;

const [peerOfA] = devA.peers();
console.log(`tsguard demo: alice (${devA.listenPort}) <-> bob (${devB.listenPort}) over 127.0.0.1`);
console.log(`  handshake completed in ${tHandshake.toFixed(1)} ms`);
console.log(`  ${replies}/${N} ICMP echo round trips through the tunnel in ${tData.toFixed(1)} ms`);
console.log(`  alice: tx ${peerOfA.txBytes} B, rx ${peerOfA.rxBytes} B; bob sees alice at ${devB.peers()[0].endpoint}`);
await devA.close();
await devB.close();
process.exit(replies === N ? 0 : 1);

function echoRequest(seq) {
  const p = new Uint8Array(84);
  p.set([0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2]);
  p[20] = 8; // echo request
  p[24] = 0x12; p[25] = 0x34; p[26] = seq >> 8; p[27] = seq & 0xff;
  for (let i = 28; i < 84; i++) p[i] = i;
  checksum(p, 10, 0, 20);
  checksum(p, 22, 20, 84);
  return p;
}

function echoReply(req) {
  const p = req.slice();
  p.set(req.subarray(16, 20), 12);
  p.set(req.subarray(12, 16), 16);
  p[20] = 0;
  p[10] = p[11] = 0;
  p[22] = p[23] = 0;
  checksum(p, 10, 0, 20);
  checksum(p, 22, 20, p.length);
  return p;
}

function checksum(p, at, from, to) {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (p[i] << 8) | (p[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  p[at] = c >> 8;
  p[at + 1] = c & 0xff;
}
