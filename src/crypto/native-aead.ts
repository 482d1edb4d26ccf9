/**
 * ChaCha20-Poly1305 through the native addon (Node's own OpenSSL EVP, one cached context
 * per key): the single-packet TransportCipher contract plus batch forms that seal or open
 * many packets of a PacketBatch in one call.
 */
import { loadNative, tryLoadNative, type AeadHandle, type NativeAddon } from '../io/native.js';
import type { TransportCipher } from './aead.js';

export interface NativeTransportCipher extends TransportCipher {
  /**
   * Seals packets [start, start+count): packet i is data[offsets[i], +lengths[i]) with
   * counter (counterHi[i] << 32 | counterLo[i]); its tag goes at offsets[i]+lengths[i].
   * lengths are not changed. Returns the number sealed.
   */
  sealBatch(
    data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    counterLo: Uint32Array, counterHi: Uint32Array, count: number, start?: number,
  ): number;
  /**
   * Opens packets [start, start+count) in place (lengths[i] includes the tag); status[i] = 1
   * when authentic (plaintext = lengths[i] − 16 bytes), 0 otherwise. Returns how many were.
   */
  openBatch(
    data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    counterLo: Uint32Array, counterHi: Uint32Array, count: number, status: Uint8Array, start?: number,
  ): number;
  /** Any 96-bit nonce and AAD (handshake paths, tests). */
  sealWithNonce(nonce: Uint8Array, aad: Uint8Array | null, buf: Uint8Array, off: number, len: number): void;
  openWithNonce(nonce: Uint8Array, aad: Uint8Array | null, buf: Uint8Array, off: number, sealedLen: number): boolean;
}

class NativeCipher implements NativeTransportCipher {
  private handle: AeadHandle | null;

  constructor(private readonly native: NativeAddon, key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('ChaCha20-Poly1305 key must be 32 bytes');
    this.handle = native.aeadCreate(key);
  }

  private h(): AeadHandle {
    if (!this.handle) throw new Error('TransportCipher destroyed');
    return this.handle;
  }

  seal(counterLo: number, counterHi: number, buf: Uint8Array, off: number, len: number): void {
    this.native.aeadSeal(this.h(), counterLo, counterHi, buf, off, len);
  }

  open(counterLo: number, counterHi: number, buf: Uint8Array, off: number, sealedLen: number): boolean {
    return this.native.aeadOpen(this.h(), counterLo, counterHi, buf, off, sealedLen);
  }

  sealBatch(
    data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    counterLo: Uint32Array, counterHi: Uint32Array, count: number, start = 0,
  ): number {
    return this.native.aeadSealBatch(this.h(), data, offsets, lengths, counterLo, counterHi, count, start);
  }

  openBatch(
    data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    counterLo: Uint32Array, counterHi: Uint32Array, count: number, status: Uint8Array, start = 0,
  ): number {
    return this.native.aeadOpenBatch(this.h(), data, offsets, lengths, counterLo, counterHi, count, start, status);
  }

  sealWithNonce(nonce: Uint8Array, aad: Uint8Array | null, buf: Uint8Array, off: number, len: number): void {
    this.native.aeadSealNonce(this.h(), nonce, aad, buf, off, len);
  }

  openWithNonce(nonce: Uint8Array, aad: Uint8Array | null, buf: Uint8Array, off: number, sealedLen: number): boolean {
    return this.native.aeadOpenNonce(this.h(), nonce, aad, buf, off, sealedLen);
  }

  destroy(): void {
    if (this.handle) this.native.aeadDestroy(this.handle);
    this.handle = null;
  }
}

/** A TransportCipher backed by the addon. Throws when the addon is not built. */
export function createNativeTransportCipher(key: Uint8Array): NativeTransportCipher {
  return new NativeCipher(loadNative(), key);
}

/** Whether the native AEAD can be used (addon built and loadable). */
export function nativeAeadAvailable(): boolean {
  return tryLoadNative() !== null;
}
