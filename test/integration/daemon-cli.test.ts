/**
 * tsguard command line (uapi-cli-spec §5.1, §5.2, §5.4): usage / --version / name errors.
 * No root needed: none of these creates a TUN. Needs `npm run build` (bin/tsguard loads dist/).
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../helpers/netns.js';

const BIN = resolve('bin/tsguard');
const USAGE = 'Usage: tsguard [-f/--foreground] INTERFACE-NAME\n';
const LOG_LINE = /^ERROR: \((.*)\) \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} (.*)$/;

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cleanEnv = { ...process.env, LOG_LEVEL: '', WG_PROCESS_FOREGROUND: '', ...env };
  return exec(BIN, args, { allowFailure: true, env: cleanEnv, timeoutMs: 15_000 });
}

let tmp = '';
beforeAll(() => {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/cli/main.js missing: run `npm run build` first');
  tmp = mkdtempSync(join(tmpdir(), 'tsgd-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('tsguard arguments', () => {
  it('--version prints the name, a blank line and linux-<arch>; exit 0', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^tsguard v\d+\.\d+\.\d+/);
    expect(lines[1]).toBe('');
    expect(lines[2]).toContain(`linux-${process.arch}`);
    expect(r.stderr).toBe('');
  });

  it.each([
    [[]],
    [['-h']],
    [['--help']],
    [['-f']],
    [['--foreground']],
    [['a', 'b']],
    [['-f', 'a', 'b']],
    [['--version', 'x']],
  ])('%j prints usage on stdout and exits 0', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(USAGE);
  });

  it.each([
    ['', 'interface name is empty'],
    ['abcdefghijklmnop', 'too long'],
    ['a/b', 'invalid interface name'],
    ['a:b', 'invalid interface name'],
    ['a b', 'invalid interface name'],
    ['..', 'invalid interface name'],
  ])('bad name %j: ERROR line, exit 1 (daemon mode and -f)', async (name, why) => {
    for (const args of [[name], ['-f', name], ['--foreground', name]]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      const line = r.stdout.trimEnd().split('\n')[0];
      const m = LOG_LINE.exec(line);
      expect(m, line).not.toBeNull();
      expect(m![2]).toContain('Failed to create TUN device:');
      expect(m![2]).toContain(why);
    }
  });

  it('LOG_LEVEL=silent prints nothing, still exit 1', async () => {
    const r = await run(['a/b'], { LOG_LEVEL: 'silent' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('works through a symlink', async () => {
    const link = join(tmp, 'tsguard-link');
    symlinkSync(BIN, link);
    const r = await exec(link, ['--version'], { allowFailure: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tsguard v/);
  });

  it('a name starting with "-" is a name', async () => {
    const r = await run(['-x/']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Failed to create TUN device: invalid interface name: "-x/"');
  });
});
