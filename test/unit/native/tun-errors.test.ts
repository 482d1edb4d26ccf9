import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadNative, NATIVE_ADDON_PATH } from '../../../src/io/native.js';

/**
 * Without CAP_NET_ADMIN, creating a TUN must throw a JS Error carrying the errno (EPERM),
 * never crash. As root the check runs in a child process dropped to `nobody`.
 */
describe('TUN creation without privileges', () => {
  const script = `
    const a = require(${JSON.stringify(NATIVE_ADDON_PATH)});
    try { a.tunOpen('tsgperm%d'); console.log(JSON.stringify({ ok: true })); }
    catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code, errno: e.errno })); }`;

  it('throws EPERM with the errno text', () => {
    let result: { message?: string; code?: string; errno?: number; ok?: boolean };
    if (process.getuid?.() === 0) {
      const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      result = JSON.parse(r.stdout);
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
