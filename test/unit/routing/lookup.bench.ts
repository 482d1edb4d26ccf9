// Lookup throughput: `npx vitest bench test/unit/routing --run`. Vitest's module runner
// makes absolute numbers 3-5x worse than the compiled code under plain node; use it to
// compare changes, not to quote lookups/s.
import { bench, describe } from 'vitest';
import { AllowedIPs } from '../../../src/routing/allowed-ips.js';
import type { IPFamily } from '../../../src/routing/prefix.js';

let seed = 42;
const rnd = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};

interface Table {
  t: AllowedIPs<object>;
  probes4: Uint8Array;
  probes6: Uint8Array;
}

/** Random v4 and v6 prefixes over 100 peers; probes mostly land inside a prefix. */
function randomTable(n: number): Table {
  const t = new AllowedIPs<object>();
  const peers = Array.from({ length: 100 }, () => ({}));
  const p4: Uint8Array[] = [];
  const p6: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const a4 = Uint8Array.from({ length: 4 }, () => (rnd() * 256) | 0);
    t.insert(4, a4, 8 + ((rnd() * 25) | 0), peers[i % 100]);
    p4.push(a4);
    const a6 = Uint8Array.from({ length: 16 }, () => (rnd() * 256) | 0);
    t.insert(6, a6, rnd() < 0.5 ? 128 : 32 + ((rnd() * 97) | 0), peers[i % 100]);
    p6.push(a6);
  }
  return { t, probes4: probes(4, p4), probes6: probes(6, p6) };
}

function probes(family: IPFamily, prefixes: Uint8Array[]): Uint8Array {
  const len = family === 4 ? 4 : 16;
  const out = new Uint8Array(4096 * len);
  for (let i = 0; i < 4096; i++) {
    const src = prefixes[(rnd() * prefixes.length) | 0];
    for (let j = 0; j < len; j++) out[i * len + j] = j < len / 2 ? src[j] : (rnd() * 256) | 0;
  }
  return out;
}

/** The D10 configuration: a.b.0.0/16 and a::b/128 for a = 1..255, b = 0..255. */
function bigConfig(): Table {
  const t = new AllowedIPs<object>();
  const p = {};
  const v4 = new Uint8Array(4);
  const v6 = new Uint8Array(16);
  for (let a = 1; a <= 255; a++) {
    for (let b = 0; b <= 255; b++) {
      v4[0] = a;
      v4[1] = b;
      t.insert(4, v4, 16, p);
      v6[1] = a;
      v6[15] = b;
      t.insert(6, v6, 128, p);
    }
  }
  const probes4 = Uint8Array.from({ length: 4096 * 4 }, () => (rnd() * 256) | 0);
  const probes6 = new Uint8Array(4096 * 16);
  for (let i = 0; i < 4096; i++) {
    probes6[i * 16 + 1] = 1 + ((rnd() * 255) | 0);
    probes6[i * 16 + 15] = (rnd() * 256) | 0;
  }
  return { t, probes4, probes6 };
}

const BATCH = 4096;
/** Keeps the lookups observable so they cannot be optimised away. */
export let sink = 0;
for (const [name, table] of [
  ['~1000 prefixes', randomTable(500)],
  ['~130k prefixes', randomTable(65_280)],
  ['130,560-prefix config', bigConfig()],
] as const) {
  describe(name, () => {
    bench(`IPv4 x${BATCH}`, () => {
      for (let i = 0; i < BATCH; i++) if (table.t.lookup(4, table.probes4, i * 4) !== undefined) sink++;
    });
    bench(`IPv6 x${BATCH}`, () => {
      for (let i = 0; i < BATCH; i++) if (table.t.lookup(6, table.probes6, i * 16) !== undefined) sink++;
    });
  });
}
