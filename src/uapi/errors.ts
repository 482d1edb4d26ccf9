/** UAPI errno values (negative Linux errno, as replied in `errno=<n>`; spec §4). */
export const UAPI_EIO = -5;
export const UAPI_EINVAL = -22;
export const UAPI_ENOANO = -55;
export const UAPI_EPROTO = -71;
export const UAPI_EADDRINUSE = -98;

/** A failed UAPI request: the negative errno to reply and the reason to log. */
export interface UapiError {
  errno: number;
  message: string;
}

export function uapiError(errno: number, message: string): UapiError {
  return { errno, message };
}

/** `IPC error <n>: <reason>`, the one log line per failed request. */
export function formatIpcError(err: UapiError): string {
  return `IPC error ${err.errno}: ${err.message}`;
}

/** Quote untrusted text for a log line, shortened so a 64 KiB line cannot flood the log. */
export function quoteForLog(text: string, max = 80): string {
  const short = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(short);
}

/** Printable ASCII up to `max` chars as is (`invalid UAPI peer key: listen_port`), else quoted. */
export function textForLog(text: string, max = 80): string {
  return text.length <= max && /^[\x20-\x7e]*$/.test(text) ? text : quoteForLog(text, max);
}
