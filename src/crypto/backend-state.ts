/** Which implementation the crypto functions use; read on every call, written only by backend.ts. */
export type CryptoBackendName = 'node' | 'noble';

export const backendState: { name: CryptoBackendName } = { name: 'node' };
