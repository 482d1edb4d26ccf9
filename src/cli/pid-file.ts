/**
 * TSGUARD_PID_FILE (extension, for tests and service managers): the daemon writes its PID
 * there once it is ready and removes the file at shutdown if it still holds that PID.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export function writePidFile(path: string, pid: number = process.pid): void {
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
}

export function removePidFileIfOurs(path: string, pid: number = process.pid): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(pid)) unlinkSync(path);
  } catch {
    // gone or unreadable
  }
}
