import { EventEmitter } from 'node:events';

/** Events a Device emits; public keys are base64 as `wg` prints them. */
export interface DeviceEvents {
  /** A handshake completed with a peer (either role). */
  handshake: [{ publicKey: string }];
  /** A peer's endpoint changed by roaming (E1). */
  endpoint: [{ publicKey: string; endpoint: string }];
  /** The TUN went away (deleted interface); the device has closed itself. */
  closed: [{ reason: string }];
}

/** A typed EventEmitter for DeviceEvents. */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly ee = new EventEmitter();

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    if (this.ee.listenerCount(event) > 0) this.ee.emit(event, ...args);
  }
}
