/**
 * The packet path allocates nothing per packet (issue "fast data path", item 2): runs
 * bench/alloc.mjs (compiled dist/, built by `npm test`) for 300,000 packets through two
 * devices' send and receive paths and checks delivery, heap growth and GC activity.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../..');
const PACKETS = 300_000;

function run(batch: number) {
  const r = spawnSync(process.execPath, ['--expose-gc', 'bench/alloc.mjs', String(PACKETS), '1400', '--cipher=native', `--batch=${batch}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    delivered: number;
    heapGrowthBytes: number;
    heapGrowthDuringRunBytes: number;
    allocatedBytes: number;
    gcCount: number;
    drops: Record<string, number>;
  };
}

describe('packet path allocation', () => {
  it('needs the compiled build', () => {
    expect(existsSync(resolve(root, 'dist/index.js'))).toBe(true);
  });

  it('native AEAD: 300k packets, no heap growth, nothing allocated per packet', () => {
    const big = run(64);
    const small = run(16);
    for (const r of [big, small]) {
      expect(r.delivered).toBe(PACKETS);
      expect(r.drops).toEqual({});
      // Retained after GC: nothing per packet (300k packets × even 8 B would be 2.4 MB).
      expect(r.heapGrowthBytes).toBeLessThan(1024 * 1024);
    }
    // allocated = perBatch × batches + perPacket × packets; two batch sizes give both terms.
    const batches64 = PACKETS / 64;
    const batches16 = PACKETS / 16;
    const perBatch = (small.allocatedBytes - big.allocatedBytes) / (batches16 - batches64);
    const perPacket = (big.allocatedBytes - perBatch * batches64) / PACKETS;
    // Any object, view or closure per packet costs ≥ 16 B; sampling noise is well below that.
    expect(perPacket, `per batch ${perBatch.toFixed(0)} B`).toBeLessThan(4);
    expect(perBatch).toBeLessThan(2048);
  });
});
