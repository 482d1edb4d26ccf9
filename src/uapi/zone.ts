import { readFileSync } from 'node:fs';

/** Linux interface names: 1–15 bytes, no `/`, `:` or whitespace, not `.` or `..`. */
const IFNAME = /^[^/:\s\u0000]{1,15}$/;

/**
 * Resolve an endpoint zone name to its interface index in this process's network namespace
 * (via /sys/class/net/<name>/ifindex); undefined when there is no such interface.
 */
export function resolveZoneByName(name: string): number | undefined {
  if (!IFNAME.test(name) || name === '.' || name === '..') return undefined;
  try {
    const n = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'latin1').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
