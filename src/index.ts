/**
 * tsguard: a userspace WireGuard for Node.js.
 *
 * ```ts
 * import { Device, MemoryTun, UdpBind, generateKeyPair } from 'tsguard';
 * ```
 */
export { Device, type DeviceOptions, type PeerInfo, type PacketTap } from './device/device.js';
export type { PeerConfig } from './device/peer-config.js';
export type { DeviceEvents } from './device/events.js';
export type { Logger } from './device/logger.js';
export type { DropCounters } from './device/stats.js';
export type { TunDevice, TunEvent, TunHandler } from './io/tun.js';
export { BindError, type Bind, type BindHandler } from './io/bind.js';
export { PacketBatch, BatchPool, HEADROOM, TAILROOM } from './io/packet-batch.js';
export { Endpoint } from './io/endpoint.js';
export { MemoryTun, type MemoryTunOptions } from './io/memory-tun.js';
export { MemoryNetwork, MemoryBind, type MemoryBindOptions, type MemoryNetworkOptions } from './io/memory-bind.js';
export { UdpBind } from './io/udp-bind.js';
export { LinuxTun } from './io/linux-tun.js';
export { NativeBind } from './io/native-bind.js';
export { systemClock, type Clock, type RandomSource, type TimerHandle } from './clock.js';
export { ManualClock } from './manual-clock.js';
export { generateKeyPair, publicKeyFromPrivate, type KeyPair } from './keys.js';
export * as constants from './constants.js';
