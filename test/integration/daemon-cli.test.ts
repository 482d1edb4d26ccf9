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

describe('log lines', async () => {
  const { formatLogLine, parseLogLevel, CliLogger } = await import('../../src/cli/log.js');

  it('format: LEVEL: (IF) YYYY/MM/DD HH:MM:SS message, local time', () => {
    const d = new Date(2026, 10, 21, 9, 5, 7); // local time
    expect(formatLogLine('DEBUG', 'wg0', 'Device started', d)).toBe('DEBUG: (wg0) 2026/11/21 09:05:07 Device started');
    expect(formatLogLine('ERROR', 'x', 'm', new Date(2027, 0, 2, 23, 59, 0))).toBe('ERROR: (x) 2027/01/02 23:59:00 m');
  });

  it('LOG_LEVEL mapping and filtering', () => {
    expect(parseLogLevel('verbose')).toBe('debug');
    expect(parseLogLevel('debug')).toBe('debug');
    expect(parseLogLevel('error')).toBe('error');
    expect(parseLogLevel('silent')).toBe('silent');
    expect(parseLogLevel(undefined)).toBe('error');
    expect(parseLogLevel('DEBUG')).toBe('error');
    const seen = (level: 'debug' | 'error' | 'silent') => {
      const lines: string[] = [];
      const log = new CliLogger('wg9', level, [{ write: (l) => lines.push(l) }]);
      log.debug('d');
      log.error('e');
      return lines.map((l) => l.slice(0, l.indexOf(':')));
    };
    expect(seen('debug')).toEqual(['DEBUG', 'ERROR']);
    expect(seen('error')).toEqual(['ERROR']);
    expect(seen('silent')).toEqual([]);
  });
});

describe('argument parsing', async () => {
  const { parseArgs, interfaceNameError } = await import('../../src/cli/args.js');
  it('maps invocations like wireguard-go', () => {
    expect(parseArgs(['wg0'])).toEqual({ kind: 'run', name: 'wg0', foreground: false });
    expect(parseArgs(['-f', 'wg0'])).toEqual({ kind: 'run', name: 'wg0', foreground: true });
    expect(parseArgs(['--foreground', '-f'])).toEqual({ kind: 'run', name: '-f', foreground: true });
    expect(parseArgs(['-x'])).toEqual({ kind: 'run', name: '-x', foreground: false });
    expect(parseArgs(['wg0', '-f'])).toEqual({ kind: 'usage' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
  });
  it('interface names: 1..15 bytes, %d allowed', () => {
    expect(interfaceNameError('wg%d')).toBeNull();
    expect(interfaceNameError('a'.repeat(15))).toBeNull();
    expect(interfaceNameError('a'.repeat(16))).toMatch(/too long/);
    expect(interfaceNameError('é'.repeat(8))).toMatch(/too long/); // 16 bytes
    expect(interfaceNameError('.')).not.toBeNull();
    expect(interfaceNameError('a\tb')).not.toBeNull();
  });
});
