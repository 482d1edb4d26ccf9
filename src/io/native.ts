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
  /** Every read/write carries a 10-byte virtio_net_hdr (IFF_VNET_HDR). */
  vnetHdr: boolean;
  /** TUN_F_* flags accepted by TUNSETOFFLOAD (0 without a virtio header). */
  offloads: number;
}

/** TUNSETOFFLOAD flags (linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** udpOffloads bits. */
export const UDP_OFFLOAD_GSO = 1;
export const UDP_OFFLOAD_GRO = 2;
/** GSO was refused by the kernel (EIO) and is off for good. */
export const UDP_OFFLOAD_GSO_REFUSED = 4;

/**
 * The process-wide default for offloads: off when the environment variable
 * `TSGUARD_OFFLOADS` is `0`, `off`, `false` or `no` (any case), on otherwise.
 */
export function offloadsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.TSGUARD_OFFLOADS?.trim().toLowerCase();
  return !(v === '0' || v === 'off' || v === 'false' || v === 'no');
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
  /**
   * Opens /dev/net/tun (IFF_TUN|IFF_NO_PI, non-blocking, txqueuelen 4096, addr_gen_mode 1);
   * with `offloads`, also IFF_VNET_HDR and the richest TUNSETOFFLOAD the kernel accepts.
   */
  tunOpen(name: string, offloads?: boolean): NativeTunInfo;
  /** Adopts an inherited TUN fd (takes ownership); offloads apply only to an IFF_VNET_HDR fd. */
  tunFromFd(fd: number, offloads?: boolean): NativeTunInfo;
  /**
   * Re-issues TUNSETOFFLOAD (0 when disabled) and turns write coalescing on or off; the
   * virtio header stays. Returns the accepted TUN_F_* flags (0 without a header).
   */
  tunSetOffload(h: TunHandle, enable: boolean): number;
  /** Offload counters: [superPackets, segments, droppedReads, gsoFramesWritten, packetsCoalesced]. */
  tunStats(h: TunHandle): number[];
  /**
   * Read loop: cb(count) per delivered batch (a wake-up may deliver several when split
   * super-packets fill the batch), cb(-errno) once on a fatal read error.
   */
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
  /** gso: UDP_SEGMENT on send; gro: UDP_GRO on receive (both default off). */
  udpCreate(gso?: boolean, gro?: boolean): UdpHandle;
  udpSetOffloads(h: UdpHandle, gso: boolean, gro: boolean): void;
  /** UDP_OFFLOAD_* bits. */
  udpOffloads(h: UdpHandle): number;
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

  // Offload logic, test-only (native/src/offload-test.c)
  /** frame = 10-byte virtio_net_hdr + packet, as read from the TUN: segments, or null (dropped). */
  offloadSplitForTest(frame: Uint8Array): Uint8Array[] | null;
  /** The frames a TUN write of this batch would write (virtio header + bytes each). */
  offloadCoalesceForTest(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): Uint8Array[];

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
