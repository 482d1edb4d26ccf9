/**
 * Cryptographic primitives of WireGuard. This file is the public contract of crypto/;
 * each export lives in its own file (see the re-exports below).
 *
 * Backends: 'node' (the fast default: node:crypto for X25519 and long AEAD messages, allocation-free
 * JS for BLAKE2s/HMAC and short AEAD messages; see CONTRACT.md) and 'noble' (@noble/*; portable).
 * Every function here gives identical results on both.
 */
export { bytesToHex, hexToBytes, keyToBase64, base64ToKey, constantTimeEqual, isAllZero, concatBytes } from './bytes.js';
export { blake2s, hash, mac } from './blake2s.js';
export { hmacBlake2s, kdf1, kdf2, kdf3 } from './hmac.js';
export { type X25519Backend, type X25519PrivateKey, type X25519PublicKey, x25519, nodeX25519, nobleX25519, clampPrivateKey } from './x25519.js';
export { aeadSeal, aeadOpen, type TransportCipher, createTransportCipher, type TransportCipherFactory } from './aead.js';
export { nodeTransportCipher, nobleTransportCipher } from './aead.js';
export { xaeadSeal, xaeadOpen } from './xaead.js';
export { cryptoRandom } from './random.js';
export { type CryptoBackendName, setCryptoBackend, getCryptoBackend } from './backend.js';
