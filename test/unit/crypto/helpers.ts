/** Shared helpers for the crypto tests: vector loading and backend parametrisation. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeEach } from 'vitest';
import { hexToBytes, setCryptoBackend, type CryptoBackendName } from '../../../src/crypto/index.js';

export const BACKENDS: CryptoBackendName[] = ['node', 'noble'];

export function loadVectors(name: string): any {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8'));
}

export const h = (s: string): Uint8Array => hexToBytes(s);
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Inside a describe block: run every test on backend `b`, restore the default afterwards. */
export function useBackend(b: CryptoBackendName): void {
  beforeEach(() => setCryptoBackend(b));
  afterAll(() => setCryptoBackend('node'));
}

/** Deterministic RandomSource (counter bytes). */
export function fixedRandom(start = 1): { fill(buf: Uint8Array): Uint8Array } {
  let n = start;
  return {
    fill(buf: Uint8Array): Uint8Array {
      for (let i = 0; i < buf.length; i++) buf[i] = n++ & 0xff;
      return buf;
    },
  };
}
