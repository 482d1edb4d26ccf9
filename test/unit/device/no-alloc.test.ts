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

function run(cipher: 'native' | 'js') {
  const r = spawnSync(process.execPath, ['--expose-gc', 'bench/alloc.mjs', String(PACKETS), '1400', `--cipher=${cipher}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    delivered: number;
    heapGrowthBytes: number;
    heapGrowthDuringRunBytes: number;
    gcCount: number;
    drops: Record<string, number>;
  };
}

describe('packet path allocation', () => {
  it('needs the compiled build', () => {
    expect(existsSync(resolve(root, 'dist/index.js'))).toBe(true);
  });

  it('native AEAD: 300k packets, no heap growth, little garbage', () => {
    const r = run('native');
    expect(r.delivered).toBe(PACKETS);
    expect(r.drops).toEqual({});
    // Retained after GC: nothing per packet (300k packets × even 8 B would be 2.4 MB).
    expect(r.heapGrowthBytes).toBeLessThan(512 * 1024);
    // Garbage made during the run: per batch at most (a few BigInt additions), not per packet.
    expect(r.heapGrowthDuringRunBytes / PACKETS).toBeLessThan(8);
  });
});
