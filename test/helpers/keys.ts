/**
 * WireGuard keys for tests, as the base64 text `wg` reads and prints.
 *
 *   const a = generateKeyPair();         // node:crypto X25519, no external tool
 *   const b = await wgGenKeyPair();      // `wg genkey | wg pubkey`, to cross-check
 *   publicKeyOf(a.privateKey) === a.publicKey
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface KeyPair {
  /** base64 of the 32-byte (clamped) private key. */
  privateKey: string;
  /** base64 of the 32-byte X25519 public key. */
  publicKey: string;
}

/** PKCS#8 DER prefix of an X25519 private key (RFC 8410); the raw key follows. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Clamp a private key the way `wg genkey` does (X25519 clamps anyway; this keeps text equal). */
export function clamp(key: Uint8Array): Uint8Array {
  const k = Uint8Array.from(key);
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
  return k;
}

/** Public key (base64) of a base64 private key, via node:crypto. */
export function publicKeyOf(privateKeyBase64: string): string {
  const raw = Buffer.from(privateKeyBase64, 'base64');
  if (raw.length !== 32) throw new TypeError('a WireGuard private key is 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/** A fresh key pair from node:crypto randomness. */
export function generateKeyPair(): KeyPair {
  const privateKey = Buffer.from(clamp(randomBytes(32))).toString('base64');
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** A random preshared key (base64), like `wg genpsk`. */
export function generatePresharedKey(): string {
  return randomBytes(32).toString('base64');
}

/** A key pair made by the `wg` tool (`wg genkey`, `wg pubkey`). */
export async function wgGenKeyPair(): Promise<KeyPair> {
  const privateKey = (await execFileP('wg', ['genkey'])).stdout.trim();
  const publicKey = await wgPubKey(privateKey);
  return { privateKey, publicKey };
}

/** `echo KEY | wg pubkey`. */
export function wgPubKey(privateKey: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('wg', ['pubkey'], (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
    child.stdin?.end(`${privateKey}\n`);
  });
}
