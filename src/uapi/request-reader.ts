/**
 * Incremental framing of one UAPI connection's byte stream into requests (spec §1.4).
 * Bytes go in with push()/end(); next() returns the next complete frame or null when it
 * needs more input. Every input byte is scanned once, so a 16 MiB `set` costs O(size).
 *
 * The set body is decoded with Buffer#toString('utf8') (invalid sequences → U+FFFD); the
 * parser rejects U+FFFD and NUL in lines with -22 (see set-parser.ts).
 */

export type UapiFrame =
  /** `get=1\n\n`: reply with the dump. */
  | { kind: 'get' }
  /** `set=1\n…`: body without the blank line; `eof` = the stream ended instead (reply, then close). */
  | { kind: 'set'; body: string; eof: boolean }
  /** `get=1\n` followed by a non-empty line: reply -22, close. `next` is its first byte. */
  | { kind: 'invalid-get'; next: string }
  /** Any other first line: log, close without reply. */
  | { kind: 'invalid-op'; line: string }
  /** A line or request over the limits: reply -5, close. */
  | { kind: 'too-large'; reason: string }
  /** The stream ended between requests (or inside an operation line): close silently. */
  | { kind: 'end' };

export interface RequestLimits {
  /** Longest accepted line in bytes, without its `\n` (default 65,536). */
  maxLineBytes?: number;
  /** Largest accepted request in bytes, `set=1\n` and the blank line included (default 16 MiB). */
  maxRequestBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 65_536;
export const DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

const LF = 10;
const GET = 'get=1';
const SET = 'set=1';
/** `set=1\n` plus the terminating `\n`. */
const SET_FRAMING_BYTES = 7;

type State = 'op' | 'get' | 'set' | 'done';

export class RequestReader {
  private readonly maxLine: number;
  private readonly maxRequest: number;
  /** Unconsumed input; consumption starts at `off` in chunks[0]. */
  private chunks: Buffer[] = [];
  private off = 0;
  private ended = false;
  private state: State = 'op';
  private opLine = '';
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;
  private lineBytes = 0;

  constructor(limits: RequestLimits = {}) {
    this.maxLine = limits.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxRequest = limits.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  push(chunk: Buffer): void {
    if (this.state !== 'done' && chunk.length > 0) this.chunks.push(chunk);
  }

  /** The peer closed its sending side. */
  end(): void {
    this.ended = true;
  }

  /** Bytes received but not yet consumed into a frame or a pending request body. */
  get pendingBytes(): number {
    let n = -this.off;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** Bytes held for the request being read (its body so far). */
  get bufferedBodyBytes(): number {
    return this.bodyBytes;
  }

  next(): UapiFrame | null {
    while (this.state !== 'done') {
      const chunk = this.chunks[0];
      if (!chunk) return this.ended ? this.atEof() : null;
      if (this.off >= chunk.length) {
        this.chunks.shift();
        this.off = 0;
        continue;
      }
      const frame = this.state === 'op' ? this.readOp(chunk) : this.state === 'get' ? this.readGet(chunk) : this.readSet(chunk);
      if (frame) return frame;
    }
    return null;
  }

  private finish(frame: UapiFrame): UapiFrame {
    this.state = 'done';
    this.chunks = [];
    this.bodyParts = [];
    this.bodyBytes = 0;
    return frame;
  }

  private atEof(): UapiFrame {
    if (this.state === 'set') {
      return this.finish({ kind: 'set', body: this.takeBody(), eof: true });
    }
    // Between requests, inside the operation line, or after `get=1\n`: close silently.
    return this.finish({ kind: 'end' });
  }

  private readOp(chunk: Buffer): UapiFrame | null {
    while (this.off < chunk.length) {
      const b = chunk[this.off++];
      if (b === LF) {
        const op = this.opLine;
        this.opLine = '';
        if (op === GET) this.state = 'get';
        else if (op === SET) {
          this.state = 'set';
          this.lineBytes = 0;
        } else return this.finish({ kind: 'invalid-op', line: op });
        return null;
      }
      this.opLine += String.fromCharCode(b);
      // Reject as soon as the line can no longer become an operation (bounds junk input).
      if (!GET.startsWith(this.opLine) && !SET.startsWith(this.opLine)) {
        const line = this.opLine + chunk.toString('latin1', this.off, Math.min(chunk.length, this.off + 32));
        const nl = line.indexOf('\n');
        return this.finish({ kind: 'invalid-op', line: nl >= 0 ? line.slice(0, nl) : line });
      }
    }
    return null;
  }

  private readGet(chunk: Buffer): UapiFrame {
    const b = chunk[this.off++];
    if (b === LF) {
      this.state = 'op';
      return { kind: 'get' };
    }
    return this.finish({ kind: 'invalid-get', next: String.fromCharCode(b) });
  }

  private readSet(chunk: Buffer): UapiFrame | null {
    while (this.off < chunk.length) {
      const start = this.off;
      const nl = chunk.indexOf(LF, start);
      const stop = nl < 0 ? chunk.length : nl;
      const lineLen = this.lineBytes + (stop - start);
      if (lineLen > this.maxLine) {
        return this.finish({ kind: 'too-large', reason: `line longer than ${this.maxLine} bytes` });
      }
      if (nl >= 0 && lineLen === 0) {
        // The blank line: the request is complete.
        this.off = nl + 1;
        this.state = 'op';
        return { kind: 'set', body: this.takeBody(), eof: false };
      }
      const end = nl < 0 ? chunk.length : nl + 1;
      this.bodyBytes += end - start;
      if (this.bodyBytes + SET_FRAMING_BYTES > this.maxRequest) {
        return this.finish({ kind: 'too-large', reason: `request larger than ${this.maxRequest} bytes` });
      }
      this.bodyParts.push(chunk.subarray(start, end));
      this.lineBytes = nl < 0 ? lineLen : 0;
      this.off = end;
    }
    return null;
  }

  private takeBody(): string {
    const parts = this.bodyParts;
    const body = parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts, this.bodyBytes).toString('utf8');
    this.bodyParts = [];
    this.bodyBytes = 0;
    this.lineBytes = 0;
    return body;
  }
}
