/** Selects node:crypto or @noble/* for x25519, blake2s/hmac and aead together. */
import { backendState, type CryptoBackendName } from './backend-state.js';
import { selectX25519 } from './x25519.js';

export type { CryptoBackendName } from './backend-state.js';

export function setCryptoBackend(name: CryptoBackendName): void {
  if (name !== 'node' && name !== 'noble') throw new Error(`unknown crypto backend: ${String(name)}`);
  backendState.name = name;
  selectX25519(name);
}

export function getCryptoBackend(): CryptoBackendName {
  return backendState.name;
}
