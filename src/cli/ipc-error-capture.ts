/**
 * The device logs `IPC error <n>: <reason>` for some failures (listen_port, fwmark, peer
 * limit) and the UAPI server logs one such line per failed request too. The daemon gives
 * the device this logger and, during a `set`, catches the device's line so the reason
 * reaches the server's single log line instead of being printed twice.
 */
import type { Logger } from '../device/logger.js';

const IPC_PREFIX = /^IPC error -?\d+: /;

export class IpcErrorCapture implements Logger {
  private capturing = false;
  private captured: string | null = null;

  constructor(private readonly inner: Logger) {}

  debug(message: string): void {
    this.inner.debug(message);
  }

  error(message: string): void {
    if (this.capturing && IPC_PREFIX.test(message)) {
      this.captured ??= message.replace(IPC_PREFIX, '');
      return;
    }
    this.inner.error(message);
  }

  /** Runs `fn`; resolves to its result and the first captured reason (without the prefix). */
  async run<T>(fn: () => T | Promise<T>): Promise<{ result: T; reason: string | null }> {
    this.capturing = true;
    this.captured = null;
    try {
      const result = await fn();
      return { result, reason: this.captured };
    } finally {
      this.capturing = false;
      this.captured = null;
    }
  }
}
