/**
 * Command-line rules (uapi-cli-spec §5.1, §5.2). Like wireguard-go, every malformed
 * invocation prints the usage line and exits 0; only a bad interface name is an error
 * (and that one surfaces as a TUN creation failure).
 */

export const USAGE = 'Usage: tsguard [-f/--foreground] INTERFACE-NAME';

/** What the command line asks for. */
export type Command =
  | { kind: 'version' }
  | { kind: 'usage' }
  | { kind: 'run'; name: string; foreground: boolean };

const FOREGROUND_FLAGS = new Set(['-f', '--foreground']);
const HELP_FLAGS = new Set(['-h', '--help']);

/** `args` are the arguments after the script (process.argv.slice(2)). */
export function parseArgs(args: readonly string[]): Command {
  if (args.length === 1) {
    const a = args[0];
    if (a === '--version') return { kind: 'version' };
    if (HELP_FLAGS.has(a) || FOREGROUND_FLAGS.has(a)) return { kind: 'usage' };
    // Any other single argument is the name, even one starting with '-'.
    return { kind: 'run', name: a, foreground: false };
  }
  if (args.length === 2 && FOREGROUND_FLAGS.has(args[0])) {
    return { kind: 'run', name: args[1], foreground: true };
  }
  return { kind: 'usage' };
}

/** Linux IFNAMSIZ minus the NUL. */
export const MAX_IFNAME_BYTES = 15;

/**
 * Syntax check of an interface name (§5.2): 1–15 bytes, no '/', ':', whitespace or NUL, not
 * '.' or '..'. Returns the reason it is invalid, or null. `%d` is left to the kernel.
 */
export function interfaceNameError(name: string): string | null {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return 'interface name is empty';
  if (bytes > MAX_IFNAME_BYTES) return `interface name too long: ${JSON.stringify(name)} (max ${MAX_IFNAME_BYTES} bytes)`;
  if (name === '.' || name === '..') return `invalid interface name: ${JSON.stringify(name)}`;
  if (/[/:\s\0]/.test(name)) return `invalid interface name: ${JSON.stringify(name)}`;
  return null;
}

/** Parses a decimal file descriptor from the environment (WG_TUN_FD, …); null when unset. */
export function parseFdVar(value: string | undefined, what: string): number | null {
  if (value === undefined || value === '') return null;
  if (!/^[0-9]{1,9}$/.test(value)) throw new Error(`${what} is not a file descriptor: ${JSON.stringify(value)}`);
  return Number(value);
}

/** WG_PROCESS_FOREGROUND=1 means: do not daemonize. */
export function foregroundFromEnv(env: NodeJS.ProcessEnv): boolean {
  return env.WG_PROCESS_FOREGROUND === '1';
}
