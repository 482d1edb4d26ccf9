import {
  aeadOpen,
  aeadSeal,
  hash,
  kdf1,
  kdf2,
  kdf3,
  type X25519Backend,
  type X25519PrivateKey,
  type X25519PublicKey,
} from '../crypto/index.js';

/**
 * The Noise IKpsk2 message pattern over Curve25519 / ChaCha20-Poly1305 / BLAKE2s, without
 * WireGuard's framing:
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss        (message 1: e ‖ AEAD(s) ‖ AEAD(payload))
 *   <- e, ee, se, psk      (message 2: e ‖ AEAD(payload))
 *
 * In WireGuard these bodies sit contiguously inside the initiation (bytes 8..116) and the
 * response (bytes 12..60). Every cipher key is used exactly once, so the AEAD nonce is
 * always 0. Functions never mutate the state passed in (a forged message leaves a pending
 * handshake intact); they return a new state or null.
 *
 * `trace`, when given, collects copies of named intermediates (for the transcript tests).
 */

/** Chaining key and handshake hash of Noise's SymmetricState. */
export interface NoiseState {
  readonly ck: Uint8Array;
  readonly h: Uint8Array;
}

export type HandshakeTrace = Record<string, Uint8Array>;

const KEY = 32;
const TAG = 16;
const ZERO_NONCE = 0n;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** InitializeSymmetric(protocolName) followed by MixHash(prologue). */
export function initialState(protocolName: string, prologue: Uint8Array): NoiseState {
  const name = utf8.encode(protocolName);
  let h: Uint8Array;
  if (name.length <= 32) {
    h = new Uint8Array(32);
    h.set(name);
  } else {
    h = hash(name);
  }
  return { ck: h.slice(), h: hash(h, prologue) };
}

/** MixHash: h = HASH(h ‖ data). */
export function mixHash(state: NoiseState, data: Uint8Array): NoiseState {
  return { ck: state.ck, h: hash(state.h, data) };
}

/** Split(): [initiator→responder key, responder→initiator key]. */
export function split(state: NoiseState): [Uint8Array, Uint8Array] {
  return kdf2(state.ck, EMPTY);
}

export function wipe(...arrays: Uint8Array[]): void {
  for (const a of arrays) a.fill(0);
}

function record(trace: HandshakeTrace | undefined, name: string, value: Uint8Array): void {
  if (trace) trace[name] = value.slice();
}

function importPublic(backend: X25519Backend, raw: Uint8Array): X25519PublicKey | null {
  try {
    return backend.importPublic(raw);
  } catch {
    return null;
  }
}

export interface WriteMessage1Params {
  backend: X25519Backend;
  ephemeral: X25519PrivateKey;
  /** Own static public key (sent encrypted). */
  localStaticPublic: Uint8Array;
  remoteStatic: X25519PublicKey;
  /** DH(own static, remote static), precomputed; must not be all zero. */
  staticStatic: Uint8Array;
  payload: Uint8Array;
}

/** Size of message 1 for a payload of `payloadLen` bytes. */
export function message1Size(payloadLen: number): number {
  return KEY + KEY + TAG + payloadLen + TAG;
}

/**
 * Initiator: write message 1 into out[off..]. `state` has already mixed the responder's
 * static key (pre-message). Returns the state after the message, or null on an all-zero DH.
 */
export function writeMessage1(
  state: NoiseState,
  p: WriteMessage1Params,
  out: Uint8Array,
  off: number,
  trace?: HandshakeTrace,
): NoiseState | null {
  const e = p.ephemeral.publicKey;
  out.set(e, off);
  const ck0 = kdf1(state.ck, e)[0];
  let h = hash(state.h, e);
  record(trace, 'ck_after_e', ck0);

  const es = p.backend.dh(p.ephemeral, p.remoteStatic);
  if (!es) {
    wipe(ck0);
    return null;
  }
  record(trace, 'dh_es', es);
  const [ck1, kS] = kdf2(ck0, es);
  wipe(ck0, es);
  record(trace, 'ck_after_es', ck1);
  record(trace, 'key_static', kS);
  const encS = aeadSeal(kS, ZERO_NONCE, p.localStaticPublic, h);
  wipe(kS);
  out.set(encS, off + KEY);
  h = hash(h, encS);

  record(trace, 'dh_ss', p.staticStatic);
  const [ck2, kP] = kdf2(ck1, p.staticStatic);
  wipe(ck1);
  record(trace, 'ck_after_ss', ck2);
  record(trace, 'key_timestamp', kP);
  const encP = aeadSeal(kP, ZERO_NONCE, p.payload, h);
  wipe(kP);
  out.set(encP, off + KEY + KEY + TAG);
  h = hash(h, encP);
  record(trace, 'h_after_initiation', h);
  record(trace, 'ck_after_initiation', ck2);
  return { ck: ck2, h };
}

export interface ReadMessage1Params {
  backend: X25519Backend;
  localStatic: X25519PrivateKey;
  payloadLen: number;
  /**
   * Called with the decrypted initiator static key; returns the precomputed
   * DH(own static, that key), or null to reject (unknown peer, all-zero DH).
   */
  resolveStaticStatic: (remoteStaticPublic: Uint8Array) => Uint8Array | null;
}

export interface ReadMessage1Result {
  state: NoiseState;
  remoteEphemeral: Uint8Array;
  /** remoteEphemeral imported with `backend` (reused by writeMessage2: an import costs ~12 µs). */
  remoteEphemeralKey: X25519PublicKey;
  remoteStatic: Uint8Array;
  payload: Uint8Array;
}

/**
 * Responder: read message 1 at msg[off..]. `state` has already mixed the responder's own
 * static key. Returns null on any failure (all-zero DH, bad tag, rejected static key).
 */
export function readMessage1(
  state: NoiseState,
  p: ReadMessage1Params,
  msg: Uint8Array,
  off: number,
  trace?: HandshakeTrace,
): ReadMessage1Result | null {
  const e = msg.slice(off, off + KEY);
  const eKey = importPublic(p.backend, e);
  if (!eKey) return null;
  const ck0 = kdf1(state.ck, e)[0];
  let h = hash(state.h, e);
  record(trace, 'ck_after_e', ck0);

  const es = p.backend.dh(p.localStatic, eKey);
  if (!es) {
    wipe(ck0);
    return null;
  }
  record(trace, 'dh_es', es);
  const [ck1, kS] = kdf2(ck0, es);
  wipe(ck0, es);
  record(trace, 'ck_after_es', ck1);
  record(trace, 'key_static', kS);
  const encS = msg.subarray(off + KEY, off + KEY + KEY + TAG);
  const remoteStatic = aeadOpen(kS, ZERO_NONCE, encS, h);
  wipe(kS);
  if (!remoteStatic) {
    wipe(ck1);
    return null;
  }
  h = hash(h, encS);

  const ss = p.resolveStaticStatic(remoteStatic);
  if (!ss) {
    wipe(ck1);
    return null;
  }
  record(trace, 'dh_ss', ss);
  const [ck2, kP] = kdf2(ck1, ss);
  wipe(ck1);
  record(trace, 'ck_after_ss', ck2);
  record(trace, 'key_timestamp', kP);
  const pOff = off + KEY + KEY + TAG;
  const encP = msg.subarray(pOff, pOff + p.payloadLen + TAG);
  const payload = aeadOpen(kP, ZERO_NONCE, encP, h);
  wipe(kP);
  if (!payload) {
    wipe(ck2);
    return null;
  }
  h = hash(h, encP);
  record(trace, 'h_after_initiation', h);
  record(trace, 'ck_after_initiation', ck2);
  return { state: { ck: ck2, h }, remoteEphemeral: e, remoteEphemeralKey: eKey, remoteStatic, payload };
}

/** Size of message 2 for a payload of `payloadLen` bytes. */
export function message2Size(payloadLen: number): number {
  return KEY + payloadLen + TAG;
}

export interface WriteMessage2Params {
  backend: X25519Backend;
  ephemeral: X25519PrivateKey;
  remoteEphemeral: X25519PublicKey;
  remoteStatic: X25519PublicKey;
  presharedKey: Uint8Array;
  payload: Uint8Array;
}

/** Responder: write message 2 into out[off..]. Null on an all-zero DH. */
export function writeMessage2(
  state: NoiseState,
  p: WriteMessage2Params,
  out: Uint8Array,
  off: number,
  trace?: HandshakeTrace,
): NoiseState | null {
  const e = p.ephemeral.publicKey;
  out.set(e, off);
  const ck0 = kdf1(state.ck, e)[0];
  const h0 = hash(state.h, e);
  record(trace, 'ck_after_e', ck0);
  const ck = finishMessage2(ck0, p.backend.dh(p.ephemeral, p.remoteEphemeral), p.backend.dh(p.ephemeral, p.remoteStatic), trace);
  if (!ck) return null;
  const [ck3, tau, k] = kdf3(ck, p.presharedKey);
  wipe(ck);
  record(trace, 'ck_after_psk', ck3);
  record(trace, 'tau', tau);
  record(trace, 'key_empty', k);
  let h = hash(h0, tau);
  wipe(tau);
  const enc = aeadSeal(k, ZERO_NONCE, p.payload, h);
  wipe(k);
  out.set(enc, off + KEY);
  h = hash(h, enc);
  record(trace, 'h_after_response', h);
  return { ck: ck3, h };
}

export interface ReadMessage2Params {
  backend: X25519Backend;
  ephemeral: X25519PrivateKey;
  localStatic: X25519PrivateKey;
  presharedKey: Uint8Array;
  payloadLen: number;
}

/** Initiator: read message 2 at msg[off..]. Null on any failure. */
export function readMessage2(
  state: NoiseState,
  p: ReadMessage2Params,
  msg: Uint8Array,
  off: number,
  trace?: HandshakeTrace,
): { state: NoiseState; payload: Uint8Array } | null {
  const e = msg.slice(off, off + KEY);
  const eKey = importPublic(p.backend, e);
  if (!eKey) return null;
  const ck0 = kdf1(state.ck, e)[0];
  const h0 = hash(state.h, e);
  record(trace, 'ck_after_e', ck0);
  const ck = finishMessage2(ck0, p.backend.dh(p.ephemeral, eKey), p.backend.dh(p.localStatic, eKey), trace);
  if (!ck) return null;
  const [ck3, tau, k] = kdf3(ck, p.presharedKey);
  wipe(ck);
  record(trace, 'ck_after_psk', ck3);
  record(trace, 'tau', tau);
  record(trace, 'key_empty', k);
  let h = hash(h0, tau);
  wipe(tau);
  const enc = msg.subarray(off + KEY, off + KEY + p.payloadLen + TAG);
  const payload = aeadOpen(k, ZERO_NONCE, enc, h);
  wipe(k);
  if (!payload) {
    wipe(ck3);
    return null;
  }
  h = hash(h, enc);
  record(trace, 'h_after_response', h);
  return { state: { ck: ck3, h }, payload };
}

/** The ee and se tokens (shared by both sides); wipes ck0 and the DH results. */
function finishMessage2(
  ck0: Uint8Array,
  ee: Uint8Array | null,
  se: Uint8Array | null,
  trace: HandshakeTrace | undefined,
): Uint8Array | null {
  if (!ee || !se) {
    wipe(ck0, ...(ee ? [ee] : []), ...(se ? [se] : []));
    return null;
  }
  record(trace, 'dh_ee', ee);
  const ck1 = kdf1(ck0, ee)[0];
  record(trace, 'ck_after_ee', ck1);
  record(trace, 'dh_se', se);
  const ck2 = kdf1(ck1, se)[0];
  record(trace, 'ck_after_se', ck2);
  wipe(ck0, ck1, ee, se);
  return ck2;
}
