/**
 * The child's side of the daemonizing protocol (§6): `LOG <line>` lines, then exactly one
 * `OK <IFNAME>` or `FAIL`, written on the inherited fd TSGUARD_READY_FD, which is then
 * closed. Writes are synchronous and never throw (a vanished launcher just loses them).
 */
import { closeSync, fstatSync, writeSync } from 'node:fs';
import { parseFdVar } from './args.js';
import type { LogSink } from './log.js';

export class ReadyChannel implements LogSink {
  private fd: number | null;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** The channel named by TSGUARD_READY_FD (removed from `env` so nothing inherits it), or null. */
  static fromEnv(env: NodeJS.ProcessEnv): ReadyChannel | null {
    const raw = env.TSGUARD_READY_FD;
    delete env.TSGUARD_READY_FD;
    let fd: number | null;
    try {
      fd = parseFdVar(raw, 'TSGUARD_READY_FD');
    } catch {
      return null;
    }
    if (fd === null) return null;
    try {
      fstatSync(fd);
    } catch {
      return null;
    }
    return new ReadyChannel(fd);
  }

  get open(): boolean {
    return this.fd !== null;
  }

  /** A formatted log line for the launcher to print. */
  write(line: string): void {
    this.send(`LOG ${line}\n`);
  }

  ok(ifname: string): void {
    this.send(`OK ${ifname}\n`);
    this.close();
  }

  fail(): void {
    this.send('FAIL\n');
    this.close();
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }

  private send(text: string): void {
    if (this.fd === null) return;
    const buf = Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch {
      this.close(); // launcher gone (EPIPE) or fd unusable
    }
  }
}
