/** WireGuard's handshake layer (sans-IO): message layouts, TAI64N, Noise IKpsk2, cookies. */
export * from './messages.js';
export { TAI64N_SIZE, tai64n, compareTai64n } from './tai64n.js';
export {
  type NoiseState,
  type HandshakeTrace,
  initialState,
  mixHash,
  split,
  message1Size,
  message2Size,
  writeMessage1,
  readMessage1,
  writeMessage2,
  readMessage2,
} from './ikpsk2.js';
export {
  type LocalIdentity,
  type RemoteIdentity,
  type SessionKeys,
  type InitiatorState,
  type ResponderState,
  type InitiationParams,
  type EphemeralParams,
  type ConsumedInitiation,
  wireguardInitialState,
  mac1KeyFor,
  cookieKeyFor,
  createLocalIdentity,
  createRemoteIdentity,
  isUsable,
  createInitiation,
  consumeInitiation,
  createResponse,
  consumeResponse,
} from './handshake.js';
export { CookieChecker, CookieGenerator } from './cookie.js';
