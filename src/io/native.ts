/**
 * Loader and type declarations for the native addon (native/, built by node-gyp into
 * native/build/Release/tsguard_native.node). The addon links only libc; its OpenSSL EVP
 * symbols resolve against the `node` binary.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Opaque native handle (an N-API external); the brand keeps kinds apart. */
export type NativeHandle<K extends string> = { readonly __nativeHandle: K };
export type TunHandle = NativeHandle<'tun'>;
export type UdpHandle = NativeHandle<'udp'>;
export type NetlinkHandle = NativeHandle<'netlink'>;
export type AeadHandle = NativeHandle<'aead'>;

/** Errors thrown by the addon for system calls: `.code` like 'EPERM', `.errno` positive. */
export interface NativeErrnoError extends Error {
  code: string;
  errno: number;
}

export interface NativeTunInfo {
  handle: TunHandle;
  fd: number;
  /** Real name after `%d` expansion (TUNGETIFF). */
  name: string;
  /** 0 when SIOCGIFINDEX failed (e.g. the interface lives in another netns). */
  ifindex: number;
  /** The fd carries the 4-byte packet-information header (an inherited fd without IFF_NO_PI). */
  pi: boolean;
}

/** Netlink link message kinds in nlDrain's output. */
export const NL_NEWLINK = 1;
export const NL_DELLINK = 2;

/** udpSend status bits. */
export const SEND_DROPPED = 1;
export const SEND_SOURCE_CLEARED = 2;

export interface NativeAddon {
  /** Symbolic errno name ('EBADFD'), '' when unknown. */
  errnoName(errno: number): string;
  /** strerror text. */
  errnoMessage(errno: number): string;

  // TUN (native/src/tun.c)
  /** Opens /dev/net/tun (IFF_TUN|IFF_NO_PI, non-blocking, txqueuelen 4096, addr_gen_mode 1). */
  tunOpen(name: string): NativeTunInfo;
  /** Adopts an inherited TUN fd (takes ownership). */
  tunFromFd(fd: number): NativeTunInfo;
  /** Read loop: cb(count) per drained batch, cb(-errno) once on a fatal read error. */
  tunStart(
    h: TunHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    capacity: number, slotSize: number, headroom: number, maxPacket: number, cb: (n: number) => void,
  ): void;
  /** Packets written, or -errno (EBADFD) when the device is gone; EIO (link down) is a drop. */
  tunWrite(h: TunHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  tunClose(h: TunHandle): void;
  ifSetMtu(name: string, mtu: number): void;
  ifGetMtu(name: string): number;
  /** IFF_* flags (IFF_UP = 1). */
  ifGetFlags(name: string): number;
  ifGetTxqlen(name: string): number;

  // UDP (native/src/udp.c)
  udpCreate(): UdpHandle;
  /** Binds a new v4+v6 pair (see Bind.bind); throws NativeErrnoError (errno 98 when in use). */
  udpBind(h: UdpHandle, port: number): number;
  /** Bit 0: IPv4 socket open, bit 1: IPv6 socket open. */
  udpFamilies(h: UdpHandle): number;
  udpSetMark(h: UdpHandle, mark: number): void;
  /** SO_MARK read back from the family's socket, -1 when that socket is absent. */
  udpGetMark(h: UdpHandle, family: 4 | 6): number;
  udpStart(
    h: UdpHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, endpoints: Uint8Array,
    capacity: number, slotSize: number, headroom: number, maxPacket: number, cb: (n: number) => void,
  ): void;
  /** Datagrams sent; status[i] gets SEND_DROPPED / SEND_SOURCE_CLEARED bits. */
  udpSend(
    h: UdpHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, endpoints: Uint8Array,
    count: number, status: Uint8Array,
  ): number;
  udpClose(h: UdpHandle): void;

  // Netlink (native/src/netlink.c)
  /** RTMGRP_LINK socket plus an RTM_GETLINK query for ifindex; cb() when readable. */
  nlOpen(ifindex: number, cb: () => void): NetlinkHandle;
  /** Flat triples [kind, ifi_flags, mtu] for our ifindex, oldest first. */
  nlDrain(h: NetlinkHandle): number[];
  nlClose(h: NetlinkHandle): void;

  // AEAD (native/src/aead.c)
  aeadCreate(key: Uint8Array): AeadHandle;
  aeadDestroy(h: AeadHandle): void;
  aeadSeal(h: AeadHandle, counterLo: number, counterHi: number, buf: Uint8Array, off: number, len: number): void;
  aeadOpen(h: AeadHandle, counterLo: number, counterHi: number, buf: Uint8Array, off: number, sealedLen: number): boolean;
  aeadSealNonce(h: AeadHandle, nonce: Uint8Array, aad: Uint8Array | null, buf: Uint8Array, off: number, len: number): void;
  aeadOpenNonce(h: AeadHandle, nonce: Uint8Array, aad: Uint8Array | null, buf: Uint8Array, off: number, sealedLen: number): boolean;
  /** Seals packets [start, start+count) in place, tags after each; returns the count. */
  aeadSealBatch(
    h: AeadHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    counterLo: Uint32Array, counterHi: Uint32Array, count: number, start: number,
  ): number;
  /** Opens packets [start, start+count); status[i] = 1 when authentic. Returns how many were. */
  aeadOpenBatch(
    h: AeadHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    counterLo: Uint32Array, counterHi: Uint32Array, count: number, start: number, status: Uint8Array,
  ): number;
}

/** Where the addon is expected (same relative path from src/io and dist/io). */
export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../native/build/Release/tsguard_native.node', import.meta.url),
);

let cached: NativeAddon | null = null;
let loadError: Error | null = null;

/** The addon, loaded once. Throws a clear Error when it is missing or fails to load. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  if (loadError) throw loadError;
  try {
    const require = createRequire(import.meta.url);
    cached = require(NATIVE_ADDON_PATH) as NativeAddon;
    return cached;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    loadError = new Error(
      `tsguard native addon unavailable (${NATIVE_ADDON_PATH}): ${why}. ` +
        'Build it with `npm install` or `npx node-gyp rebuild --directory=native` (Linux only).',
      { cause: e },
    );
    throw loadError;
  }
}

/** The addon, or null when it cannot be loaded (callers fall back to portable code). */
export function tryLoadNative(): NativeAddon | null {
  try {
    return loadNative();
  } catch {
    return null;
  }
}

/** An Error for a positive errno: message "<what>: <strerror>", .code 'EXXX', .errno. */
export function errnoError(native: NativeAddon, what: string, errno: number): NativeErrnoError {
  const code = native.errnoName(errno) || 'EUNKNOWN';
  return Object.assign(new Error(`${what}: ${native.errnoMessage(errno)}`), { code, errno });
}

export function isNativeErrnoError(e: unknown): e is NativeErrnoError {
  return e instanceof Error && typeof (e as Partial<NativeErrnoError>).errno === 'number';
}
