/**
 * Log lines in wireguard-go's format (§5.5): `DEBUG: (wg0) 2026/11/21 10:00:00 Device started`,
 * local time, everything on stdout. Writing a log line never throws and never kills the
 * daemon: a closed or broken stdout (EPIPE, EBADF) just drops lines.
 */
import { appendFileSync } from 'node:fs';
import type { Logger } from '../device/logger.js';

export type LogLevel = 'debug' | 'error' | 'silent';
export type LineLevel = 'DEBUG' | 'ERROR';

/** LOG_LEVEL: verbose/debug → DEBUG+ERROR, error → ERROR, silent → nothing, else ERROR. */
export function parseLogLevel(value: string | undefined): LogLevel {
  switch (value) {
    case 'verbose':
    case 'debug':
      return 'debug';
    case 'silent':
      return 'silent';
    default:
      return 'error';
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** One log line without the trailing newline. */
export function formatLogLine(level: LineLevel, ifname: string, message: string, date: Date = new Date()): string {
  const d = `${date.getFullYear()}/${pad2(date.getMonth() + 1)}/${pad2(date.getDate())}`;
  const t = `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
  return `${level}: (${ifname}) ${d} ${t} ${message}`;
}

/** Where formatted lines go; `line` has no trailing newline. Must not throw. */
export interface LogSink {
  write(line: string): void;
}

let stdoutBroken = false;
let stdoutGuarded = false;

/** Stdout, guarded against EPIPE/EBADF (the stream's `error` event and synchronous throws). */
export const stdoutSink: LogSink = {
  write(line: string): void {
    if (stdoutBroken) return;
    try {
      const out = process.stdout;
      if (!stdoutGuarded) {
        stdoutGuarded = true;
        out.on('error', () => {
          stdoutBroken = true;
        });
      }
      if (out.destroyed || !out.writable) {
        stdoutBroken = true;
        return;
      }
      out.write(`${line}\n`);
    } catch {
      stdoutBroken = true;
    }
  },
};

/** Appends to a file (TSGUARD_LOG_FILE); failures drop the line. */
export function fileSink(path: string): LogSink {
  return {
    write(line: string): void {
      try {
        appendFileSync(path, `${line}\n`);
      } catch {
        // the file is unavailable: drop
      }
    },
  };
}

/**
 * The daemon's logger: filters by level, formats, and fans out to its sinks. The name
 * starts as the requested one and is switched to the real one after TUN creation.
 */
export class CliLogger implements Logger {
  private sinks: LogSink[];
  constructor(
    public ifname: string,
    readonly level: LogLevel,
    sinks: LogSink[] = [stdoutSink],
  ) {
    this.sinks = [...sinks];
  }

  setSinks(sinks: LogSink[]): void {
    this.sinks = [...sinks];
  }

  addSink(sink: LogSink): void {
    this.sinks.push(sink);
  }

  debug(message: string): void {
    if (this.level === 'debug') this.emit('DEBUG', message);
  }

  error(message: string): void {
    if (this.level !== 'silent') this.emit('ERROR', message);
  }

  private emit(level: LineLevel, message: string): void {
    const line = formatLogLine(level, this.ifname, message);
    for (const s of this.sinks) s.write(line);
  }
}
