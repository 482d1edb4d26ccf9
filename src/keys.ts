import { keyToBase64, base64ToKey, x25519 } from './crypto/index.js';

export interface KeyPair {
  /** base64, as `wg genkey` prints it. */
  privateKey: string;
  /** base64, as `wg pubkey` prints it. */
  publicKey: string;
}

/** A new random (clamped) key pair, base64-encoded like `wg genkey | wg pubkey`. */
export function generateKeyPair(): KeyPair {
  const priv = x25519.generatePrivateKey();
  return { privateKey: keyToBase64(priv), publicKey: keyToBase64(x25519.publicKey(priv)) };
}

/** The public key (base64) of a base64 private key. */
export function publicKeyFromPrivate(privateKey: string): string {
  return keyToBase64(x25519.publicKey(base64ToKey(privateKey)));
}
