export { formatGetReply, type DeviceSnapshot, type PeerSnapshot } from './get-formatter.js';
export { parseSetRequest, type SetOp, type SetParseOptions, type SetParseResult } from './set-parser.js';
export {
  UAPI_EADDRINUSE,
  UAPI_EINVAL,
  UAPI_EIO,
  UAPI_ENOANO,
  UAPI_EPROTO,
  formatIpcError,
  uapiError,
  type UapiError,
} from './errors.js';
export { RequestReader, type RequestLimits, type UapiFrame } from './request-reader.js';
export { resolveZoneByName } from './zone.js';
export {
  DEFAULT_UAPI_DIR,
  UapiListenError,
  UapiServer,
  type SetResult,
  type UapiHandler,
  type UapiListenTarget,
  type UapiLogger,
  type UapiServerOptions,
} from './server.js';
