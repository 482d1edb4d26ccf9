/**
 * Sealing and opening runs of packets that share one session key, in one call where the
 * cipher supports batches (the native addon: one N-API call per run instead of per packet)
 * and packet by packet otherwise (node:crypto, noble).
 */
import type { TransportCipher } from '../crypto/index.js';
import { createNativeTransportCipher, nativeAeadAvailable, type NativeTransportCipher } from '../crypto/native-aead.js';
import { createTransportCipher } from '../crypto/index.js';

export type CipherKind = 'native' | 'js';

/** Per-run scratch arrays (indexed like the batch being processed). */
export class RunScratch {
  offsets: Uint32Array;
  lengths: Uint32Array;
  counterLo: Uint32Array;
  counterHi: Uint32Array;
  index: Uint32Array;
  status: Uint8Array;

  constructor(capacity = 256) {
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.counterLo = new Uint32Array(capacity);
    this.counterHi = new Uint32Array(capacity);
    this.index = new Uint32Array(capacity);
    this.status = new Uint8Array(capacity);
  }

  /** Make room for `n` entries (only grows; happens once per larger batch size). */
  ensure(n: number): void {
    if (n <= this.offsets.length) return;
    const c = Math.max(n, this.offsets.length * 2);
    this.offsets = new Uint32Array(c);
    this.lengths = new Uint32Array(c);
    this.counterLo = new Uint32Array(c);
    this.counterHi = new Uint32Array(c);
    this.index = new Uint32Array(c);
    this.status = new Uint8Array(c);
  }
}

function isBatchCipher(c: TransportCipher): c is NativeTransportCipher {
  return typeof (c as Partial<NativeTransportCipher>).sealBatch === 'function';
}

/** Seal entries [start, start+count) of `s` (plaintext offsets/lengths; tags written after). */
export function sealRun(c: TransportCipher, data: Uint8Array, s: RunScratch, start: number, count: number): void {
  if (count <= 0) return;
  if (isBatchCipher(c)) {
    c.sealBatch(data, s.offsets, s.lengths, s.counterLo, s.counterHi, count, start);
    return;
  }
  for (let i = start; i < start + count; i++) c.seal(s.counterLo[i], s.counterHi[i], data, s.offsets[i], s.lengths[i]);
}

/** Open entries [start, start+count) in place (lengths include the tag); sets s.status[i]. */
export function openRun(c: TransportCipher, data: Uint8Array, s: RunScratch, start: number, count: number): void {
  if (count <= 0) return;
  if (isBatchCipher(c)) {
    c.openBatch(data, s.offsets, s.lengths, s.counterLo, s.counterHi, count, s.status, start);
    return;
  }
  for (let i = start; i < start + count; i++) {
    s.status[i] = c.open(s.counterLo[i], s.counterHi[i], data, s.offsets[i], s.lengths[i]) ? 1 : 0;
  }
}

/** A cipher factory of the requested kind ('native' falls back to js when the addon is missing). */
export function cipherFactory(kind: CipherKind | undefined): (key: Uint8Array) => TransportCipher {
  const useNative = kind !== 'js' && nativeAeadAvailable();
  if (kind === 'native' && !useNative) throw new Error('native AEAD requested but the native addon is not available');
  return useNative ? createNativeTransportCipher : createTransportCipher;
}
