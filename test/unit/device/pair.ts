import { Device } from '../../../src/device/device.js';
import { MemoryBind, MemoryNetwork } from '../../../src/io/memory-bind.js';
import { MemoryTun } from '../../../src/io/memory-tun.js';
import { ManualClock } from '../../../src/manual-clock.js';
import { generateKeyPair, type KeyPair } from '../../../src/keys.js';
import type { Clock } from '../../../src/clock.js';

/** Two devices on one in-memory network: A (10.0.0.1) and B (10.0.0.2), peered. */
export interface Pair {
  net: MemoryNetwork;
  a: Device;
  b: Device;
  tunA: MemoryTun;
  tunB: MemoryTun;
  bindA: MemoryBind;
  bindB: MemoryBind;
  keyA: KeyPair;
  keyB: KeyPair;
  clock: Clock;
}

export async function makePair(opts: { clock?: ManualClock; endpointOnB?: boolean; psk?: string } = {}): Promise<Pair> {
  const net = new MemoryNetwork();
  const clock = opts.clock ?? new ManualClock();
  const keyA = generateKeyPair();
  const keyB = generateKeyPair();
  const tunA = new MemoryTun({ name: 'a0' });
  const tunB = new MemoryTun({ name: 'b0' });
  const bindA = new MemoryBind(net, { v4: '192.0.2.1', v6: null });
  const bindB = new MemoryBind(net, { v4: '192.0.2.2', v6: null });
  const a = new Device({ tun: tunA, bind: bindA, privateKey: keyA.privateKey, listenPort: 1001, clock });
  const b = new Device({ tun: tunB, bind: bindB, privateKey: keyB.privateKey, listenPort: 1002, clock });
  a.setPeer({ publicKey: keyB.publicKey, endpoint: '192.0.2.2:1002', allowedIPs: ['10.0.0.2/32'], presharedKey: opts.psk });
  b.setPeer({
    publicKey: keyA.publicKey,
    endpoint: opts.endpointOnB ? '192.0.2.1:1001' : undefined,
    allowedIPs: ['10.0.0.1/32'],
    presharedKey: opts.psk,
  });
  await a.up();
  await b.up();
  return { net, a, b, tunA, tunB, bindA, bindB, keyA, keyB, clock };
}

/** Let queued deliveries (setImmediate-based) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
