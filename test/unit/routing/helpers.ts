import { readFileSync } from 'node:fs';
import { parsePrefix, type IPFamily } from '../../../src/routing/prefix.js';

export interface Peer {
  readonly name: string;
}

/** Address text (v4 or v6) → family and bytes; throws on bad input. */
export function addr(text: string): { family: IPFamily; bytes: Uint8Array } {
  const p = parsePrefix(`${text}/0`);
  if (p === null) throw new Error(`bad address in test: ${text}`);
  return { family: p.family, bytes: p.addr };
}

/** `addr/len` text → its parts without range checks on len (so /33 and /129 reach the table). */
export function rawPrefix(text: string): { family: IPFamily; bytes: Uint8Array; bits: number } {
  const slash = text.indexOf('/');
  const a = addr(text.slice(0, slash));
  return { ...a, bits: Number(text.slice(slash + 1)) };
}

export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')) as T;
}
