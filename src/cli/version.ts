/** `tsguard --version` text (§5.1). */
import { readFileSync } from 'node:fs';

/** The package version, read from package.json next to src/ or dist/. */
export function packageVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function versionText(version = packageVersion(), arch: string = process.arch): string {
  return (
    `tsguard v${version}\n\n` +
    `Userspace WireGuard daemon for linux-${arch} (TypeScript on Node.js ${process.version}).\n`
  );
}
