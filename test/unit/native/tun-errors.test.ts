import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNative, NATIVE_ADDON_PATH } from '../../../src/io/native.js';

/**
 * Without CAP_NET_ADMIN, creating a TUN must throw a JS Error carrying the errno (EPERM),
 * never crash. As root the check runs in a child process dropped to `nobody`.
 */
describe('TUN creation without privileges', () => {
  const script = (addonPath: string) => `
    const a = require(${JSON.stringify(addonPath)});
    try { a.tunOpen('tsgperm%d'); console.log(JSON.stringify({ ok: true })); }
    catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code, errno: e.errno })); }`;

  it('throws EPERM with the errno text', () => {
    let result: { message?: string; code?: string; errno?: number; ok?: boolean };
    if (process.getuid?.() === 0) {
      // `nobody` may not be able to read the checkout (a 0700 clone directory): give it a copy.
      const dir = mkdtempSync(join(tmpdir(), 'tsg-perm-'));
      try {
        chmodSync(dir, 0o755);
        const copy = join(dir, 'tsguard_native.node');
        copyFileSync(NATIVE_ADDON_PATH, copy);
        chmodSync(copy, 0o755);
        const r = spawnSync(process.execPath, ['-e', script(copy)], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: dir });
        expect(r.status, r.stderr).toBe(0);
        result = JSON.parse(r.stdout);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      try {
        loadNative().tunOpen('tsgperm%d');
        result = { ok: true };
      } catch (e) {
        result = e as typeof result;
      }
    }
    expect(result.ok).toBeUndefined();
    expect(result.code).toBe('EPERM');
    expect(result.errno).toBe(1);
    expect(result.message).toBe('TUNSETIFF tsgperm%d: Operation not permitted');
  });

  it('rejects names that do not fit IFNAMSIZ before touching the kernel', () => {
    expect(() => loadNative().tunOpen('a-very-long-interface-name')).toThrow(RangeError);
    expect(() => loadNative().tunOpen('')).toThrow(RangeError);
  });
});
