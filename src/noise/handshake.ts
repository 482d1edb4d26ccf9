import {
  CONSTRUCTION,
  IDENTIFIER,
  LABEL_COOKIE,
  LABEL_MAC1,
  MESSAGE_INITIATION,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE,
  MESSAGE_RESPONSE_SIZE,
} from '../constants.js';
import {
  hash,
  isAllZero,
  x25519,
  type X25519Backend,
  type X25519PrivateKey,
  type X25519PublicKey,
} from '../crypto/index.js';
import {
  type HandshakeTrace,
  type NoiseState,
  initialState,
  mixHash,
  readMessage1,
  readMessage2,
  split,
  wipe,
  writeMessage1,
  writeMessage2,
} from './ikpsk2.js';
import {
  INIT_EPHEMERAL,
  INIT_SENDER,
  RESP_EPHEMERAL,
  RESP_RECEIVER,
  RESP_SENDER,
  messageType,
  readU32LE,
  writeMessageType,
  writeU32LE,
} from './messages.js';
import { TAI64N_SIZE } from './tai64n.js';

/**
 * WireGuard's handshake (Noise_IKpsk2 with WireGuard's identifier and framing), sans-IO:
 * indices, ephemeral private keys and timestamps come in as arguments. mac1/mac2 are left
 * zero here and handled by cookie.ts; timestamp replay and flood checks, index allocation
 * and session installation are the device's job.
 */

export type { HandshakeTrace } from './ikpsk2.js';

const utf8 = new TextEncoder();
const LABEL_MAC1_BYTES = utf8.encode(LABEL_MAC1);
const LABEL_COOKIE_BYTES = utf8.encode(LABEL_COOKIE);
const EMPTY = new Uint8Array(0);
const ZERO_PSK = new Uint8Array(32);

let wgInitial: NoiseState | undefined;
/** Ci = HASH(CONSTRUCTION), Hi = HASH(Ci ‖ IDENTIFIER) (computed once). */
export function wireguardInitialState(): NoiseState {
  wgInitial ??= initialState(CONSTRUCTION, utf8.encode(IDENTIFIER));
  return wgInitial;
}

/** HASH("mac1----" ‖ public key): the key of mac1 on messages sent to that key's owner. */
export function mac1KeyFor(publicKey: Uint8Array): Uint8Array {
  return hash(LABEL_MAC1_BYTES, publicKey);
}

/** HASH("cookie--" ‖ public key): encrypts cookie replies sent by that key's owner. */
export function cookieKeyFor(publicKey: Uint8Array): Uint8Array {
  return hash(LABEL_COOKIE_BYTES, publicKey);
}

/** The device's own static key and everything derived from it. */
export interface LocalIdentity {
  /** Clamped private key. */
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly key: X25519PrivateKey;
  /** The X25519 backend the keys were imported with (all DH of this identity uses it). */
  readonly backend: X25519Backend;
  /** Checks mac1 of messages sent to us. */
  readonly mac1Key: Uint8Array;
  /** Encrypts our cookie replies. */
  readonly cookieKey: Uint8Array;
  /** Noise state after the pre-message (our public key): where a responder starts. */
  readonly responderStart: NoiseState;
}

/**
 * Build the local identity from a 32-byte private key (clamped here). An all-zero key
 * means "no key" (B14); the device should not build an identity for it.
 */
export function createLocalIdentity(privateKey: Uint8Array, backend: X25519Backend = x25519): LocalIdentity {
  if (privateKey.length !== 32) throw new RangeError('private key must be 32 bytes');
  const key = backend.importPrivate(privateKey);
  const publicKey = key.publicKey.slice();
  return {
    privateKey: key.raw,
    publicKey,
    key,
    backend,
    mac1Key: mac1KeyFor(publicKey),
    cookieKey: cookieKeyFor(publicKey),
    responderStart: mixHash(wireguardInitialState(), publicKey),
  };
}

/** A peer's static key as seen by one local identity (recompute when the local key changes). */
export interface RemoteIdentity {
  readonly publicKey: Uint8Array;
  readonly key: X25519PublicKey | null;
  /** DH(local static, remote static); null when there is no local key or it is all zero (B11). */
  readonly staticStatic: Uint8Array | null;
  /** 32 bytes; all zero means no PSK. */
  readonly presharedKey: Uint8Array;
  /** mac1 key for messages we send to this peer. */
  readonly mac1Key: Uint8Array;
  /** Decrypts cookie replies from this peer. */
  readonly cookieKey: Uint8Array;
  /** Noise state after the pre-message (the peer's public key): where an initiator starts. */
  readonly initiatorStart: NoiseState;
}

/** True when handshakes with this peer are possible (a local key exists, DH is nonzero). */
export function isUsable(remote: RemoteIdentity): boolean {
  return remote.staticStatic !== null;
}

export function createRemoteIdentity(
  local: LocalIdentity | null,
  remotePublic: Uint8Array,
  presharedKey: Uint8Array = ZERO_PSK,
): RemoteIdentity {
  if (remotePublic.length !== 32) throw new RangeError('public key must be 32 bytes');
  if (presharedKey.length !== 32) throw new RangeError('preshared key must be 32 bytes');
  const publicKey = remotePublic.slice();
  const backend = local?.backend ?? x25519;
  let key: X25519PublicKey | null = null;
  try {
    key = backend.importPublic(publicKey);
  } catch {
    key = null;
  }
  let staticStatic: Uint8Array | null = null;
  if (local && key) {
    staticStatic = backend.dh(local.key, key);
    if (staticStatic && isAllZero(staticStatic)) staticStatic = null;
  }
  return {
    publicKey,
    key,
    staticStatic,
    presharedKey: presharedKey.slice(),
    mac1Key: mac1KeyFor(publicKey),
    cookieKey: cookieKeyFor(publicKey),
    initiatorStart: mixHash(wireguardInitialState(), publicKey),
  };
}

/** Transport keys of a completed handshake. */
export interface SessionKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  /** Our index (receivers put it in transport headers to us). */
  readonly localIndex: number;
  /** The peer's index (we put it in our transport headers). */
  readonly remoteIndex: number;
  readonly isInitiator: boolean;
}

/** What an initiator keeps between sending the initiation and receiving the response. */
export interface InitiatorState {
  readonly localIndex: number;
  readonly noise: NoiseState;
  readonly ephemeral: X25519PrivateKey;
  /** Set once a response was consumed (a second one is rejected). */
  consumed: boolean;
}

/**
 * Our ephemeral key for one handshake: either 32 random bytes (clamped and imported here) or a
 * key already imported with `local.backend.importPrivate` (e.g. prepared ahead of time). One of
 * the two is required; `ephemeral` wins when both are given.
 */
export interface EphemeralParams {
  ephemeralPrivate?: Uint8Array;
  ephemeral?: X25519PrivateKey;
}

export interface InitiationParams extends EphemeralParams {
  /** Our index for this handshake (u32). */
  senderIndex: number;
  /** 12-byte TAI64N (tai64n.ts). */
  timestamp: Uint8Array;
}

function ephemeralKey(local: LocalIdentity, p: EphemeralParams): X25519PrivateKey {
  if (p.ephemeral) return p.ephemeral;
  if (!p.ephemeralPrivate) throw new TypeError('ephemeralPrivate or ephemeral is required');
  return local.backend.importPrivate(p.ephemeralPrivate);
}

/**
 * Build an initiation (148 bytes, mac1/mac2 zero). Null when the peer is unusable (no
 * local key, low-order key).
 */
export function createInitiation(
  local: LocalIdentity,
  remote: RemoteIdentity,
  params: InitiationParams,
  trace?: HandshakeTrace,
): { message: Uint8Array; state: InitiatorState } | null {
  if (!remote.staticStatic || !remote.key) return null;
  if (params.timestamp.length !== TAI64N_SIZE) throw new RangeError('timestamp must be 12 bytes');
  const ephemeral = ephemeralKey(local, params);
  const message = new Uint8Array(MESSAGE_INITIATION_SIZE);
  writeMessageType(message, 0, MESSAGE_INITIATION);
  writeU32LE(message, INIT_SENDER, params.senderIndex);
  if (trace) trace.h_after_responder_static = remote.initiatorStart.h.slice();
  const noise = writeMessage1(
    remote.initiatorStart,
    {
      backend: local.backend,
      ephemeral,
      localStaticPublic: local.publicKey,
      remoteStatic: remote.key,
      staticStatic: remote.staticStatic,
      payload: params.timestamp,
    },
    message,
    INIT_EPHEMERAL,
    trace,
  );
  if (!noise) return null;
  return { message, state: { localIndex: params.senderIndex >>> 0, noise, ephemeral, consumed: false } };
}

/** What a responder keeps between consuming an initiation and creating the response. */
export interface ResponderState {
  readonly noise: NoiseState;
  readonly remoteEphemeral: Uint8Array;
  /** remoteEphemeral as imported by consumeInitiation (createResponse re-imports when absent). */
  readonly remoteEphemeralKey?: X25519PublicKey;
  /** The initiator's sender index (our transport headers carry it). */
  readonly remoteIndex: number;
  consumed: boolean;
}

export interface ConsumedInitiation<R extends RemoteIdentity> {
  remote: R;
  /** Decrypted TAI64N; the device rejects it unless greater than the last one (A17). */
  timestamp: Uint8Array;
  state: ResponderState;
}

/**
 * Consume an initiation (exactly 148 bytes). mac1 is NOT checked here (cookie.ts, before).
 * `lookup` maps the decrypted initiator static key to its identity. Null on any failure:
 * malformed, all-zero DH, bad tag, unknown or unusable peer.
 */
export function consumeInitiation<R extends RemoteIdentity>(
  local: LocalIdentity,
  message: Uint8Array,
  lookup: (remoteStaticPublic: Uint8Array) => R | undefined,
  trace?: HandshakeTrace,
): ConsumedInitiation<R> | null {
  if (messageType(message, 0, message.length) !== MESSAGE_INITIATION) return null;
  let remote: R | undefined;
  const r = readMessage1(
    local.responderStart,
    {
      backend: local.backend,
      localStatic: local.key,
      payloadLen: TAI64N_SIZE,
      resolveStaticStatic: (pub) => {
        remote = lookup(pub);
        return remote?.staticStatic ?? null;
      },
    },
    message,
    INIT_EPHEMERAL,
    trace,
  );
  if (!r || !remote) return null;
  return {
    remote,
    timestamp: r.payload,
    state: {
      noise: r.state,
      remoteEphemeral: r.remoteEphemeral,
      remoteEphemeralKey: r.remoteEphemeralKey,
      remoteIndex: readU32LE(message, INIT_SENDER),
      consumed: false,
    },
  };
}

/** Responder: build the response (92 bytes, mac1/mac2 zero) and the session keys. */
export function createResponse(
  local: LocalIdentity,
  remote: RemoteIdentity,
  state: ResponderState,
  params: { senderIndex: number } & EphemeralParams,
  trace?: HandshakeTrace,
): { message: Uint8Array; keys: SessionKeys } | null {
  if (state.consumed || !remote.key) return null;
  const ephemeral = ephemeralKey(local, params);
  let remoteEphemeral: X25519PublicKey;
  if (state.remoteEphemeralKey) {
    remoteEphemeral = state.remoteEphemeralKey;
  } else {
    try {
      remoteEphemeral = local.backend.importPublic(state.remoteEphemeral);
    } catch {
      return null;
    }
  }
  const message = new Uint8Array(MESSAGE_RESPONSE_SIZE);
  writeMessageType(message, 0, MESSAGE_RESPONSE);
  writeU32LE(message, RESP_SENDER, params.senderIndex);
  writeU32LE(message, RESP_RECEIVER, state.remoteIndex);
  const noise = writeMessage2(
    state.noise,
    {
      backend: local.backend,
      ephemeral,
      remoteEphemeral,
      remoteStatic: remote.key,
      presharedKey: remote.presharedKey,
      payload: EMPTY,
    },
    message,
    RESP_EPHEMERAL,
    trace,
  );
  wipe(ephemeral.raw);
  if (!noise) return null;
  state.consumed = true;
  wipe(state.noise.ck, state.noise.h);
  const [initiatorSend, responderSend] = split(noise);
  wipe(noise.ck, noise.h);
  return {
    message,
    keys: {
      sendKey: responderSend,
      receiveKey: initiatorSend,
      localIndex: params.senderIndex >>> 0,
      remoteIndex: state.remoteIndex,
      isInitiator: false,
    },
  };
}

/**
 * Initiator: consume a response (exactly 92 bytes) to the initiation that produced `state`
 * (the caller finds it by the response's receiver index, RESP_RECEIVER). Null on any
 * failure, in which case `state` stays usable for a genuine response.
 */
export function consumeResponse(
  local: LocalIdentity,
  remote: RemoteIdentity,
  state: InitiatorState,
  message: Uint8Array,
  trace?: HandshakeTrace,
): SessionKeys | null {
  if (state.consumed) return null;
  if (messageType(message, 0, message.length) !== MESSAGE_RESPONSE) return null;
  if (readU32LE(message, RESP_RECEIVER) !== state.localIndex) return null;
  const r = readMessage2(
    state.noise,
    {
      backend: local.backend,
      ephemeral: state.ephemeral,
      localStatic: local.key,
      presharedKey: remote.presharedKey,
      payloadLen: 0,
    },
    message,
    RESP_EPHEMERAL,
    trace,
  );
  if (!r) return null;
  state.consumed = true;
  wipe(state.noise.ck, state.noise.h, state.ephemeral.raw);
  const [initiatorSend, responderSend] = split(r.state);
  wipe(r.state.ck, r.state.h);
  return {
    sendKey: initiatorSend,
    receiveKey: responderSend,
    localIndex: state.localIndex,
    remoteIndex: readU32LE(message, RESP_SENDER),
    isInitiator: true,
  };
}
