import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { BindError, type Bind, type BindHandler } from './bind.js';
import {
  ENDPOINT_RECORD_SIZE,
  EP_ADDR,
  EP_FAMILY,
  EP_PORT,
  EP_REMOTE_BYTES,
  EP_SCOPE,
  formatIPv4,
  formatIPv6,
  parseIPv6,
} from './endpoint.js';
import { DEFAULT_BATCH_CAPACITY, PacketBatch, type PacketView } from './packet-batch.js';

const EADDRINUSE = 98;
const EOPNOTSUPP = 95;
/** How often port 0 is retried when the v4 port is taken for IPv6 (wireguard-go does 100). */
const PORT_RETRIES = 100;

export interface UdpBindOptions {
  /** Local IPv4 address to bind, null for no IPv4 socket (default 0.0.0.0). */
  v4Address?: string | null;
  /** Local IPv6 address to bind (the socket is v6-only), null for none (default ::). */
  v6Address?: string | null;
  /** Datagrams per delivered batch (default 64). */
  batchCapacity?: number;
  /** SO_RCVBUF/SO_SNDBUF requests (default 7 MiB like wireguard-go; the kernel may cap). */
  socketBufferSize?: number;
}

interface Sockets {
  v4: dgram.Socket | null;
  v6: dgram.Socket | null;
  port: number;
}

/**
 * A portable Bind on node:dgram (no native addon): a udp4 and a v6-only udp6 socket on one
 * port. Slower than NativeBind (a Buffer and a callback per datagram inside node:dgram) and
 * without sticky sources or SO_MARK, but it runs anywhere Node runs.
 *
 * - Receive: datagrams are copied into one PacketBatch and delivered once per event-loop turn
 *   (setImmediate), or as soon as the batch is full. libuv reads up to 32 datagrams per poll
 *   wake-up, so the device gets real batches under load and a batch of 1 when idle. Source
 *   records carry family, port, address and IPv6 scope; no local address (dgram does not
 *   report it), so EP_FLAG_LOCAL is never set. Datagrams arriving before `start` are dropped.
 *   Measured against delivering each datagram on its own: the same ~4 µs/datagram (dgram's
 *   Buffer and callback dominate), but the device gets batches of ~9 under a loopback flood.
 * - Send: each datagram is copied into a Buffer of its own, because dgram may send after
 *   `send` returns (address lookup on nextTick, EAGAIN queueing) and the batch is reused.
 *   Sticky local sources in the records are ignored. Failures are silent (best effort).
 * - The sockets stay ref'd while bound: a running device keeps the process alive. `close`
 *   releases them.
 */
export class UdpBind implements Bind {
  private sockets: Sockets | null = null;
  private handler: BindHandler | null = null;
  private readonly batch: PacketBatch;
  private immediate: NodeJS.Immediate | null = null;
  private generation = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly v4Address: string | null;
  private readonly v6Address: string | null;
  private readonly bufferSize: number;
  private readonly onMessage4 = (msg: Buffer, rinfo: dgram.RemoteInfo) => this.receive(msg, rinfo, 4);
  private readonly onMessage6 = (msg: Buffer, rinfo: dgram.RemoteInfo) => this.receive(msg, rinfo, 6);
  // One-entry caches so steady traffic with one peer parses/formats no address text.
  private rxAddr = '';
  private readonly rxAddrBytes = new Uint8Array(16);
  private rxScope = 0;
  private readonly txRemote = new Uint8Array(EP_REMOTE_BYTES);
  private txAddr = '';
  private txView: Buffer | null = null;
  private txViewOf: Uint8Array | null = null;
  /** Datagrams dropped on receive (before start, or larger than a slot). */
  dropped = 0;

  constructor(options: UdpBindOptions = {}) {
    this.v4Address = options.v4Address === undefined ? '0.0.0.0' : options.v4Address;
    this.v6Address = options.v6Address === undefined ? '::' : options.v6Address;
    if (!this.v4Address && !this.v6Address) throw new TypeError('UdpBind needs IPv4 or IPv6');
    this.bufferSize = options.socketBufferSize ?? 7 << 20;
    this.batch = new PacketBatch(options.batchCapacity ?? DEFAULT_BATCH_CAPACITY);
  }

  get port(): number {
    return this.sockets?.port ?? 0;
  }

  bind(port: number): Promise<number> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return Promise.reject(new RangeError(`invalid port: ${port}`));
    }
    // Serialize binds so a rebind always replaces the sockets of the one before.
    const run = this.chain.then(() => this.rebind(port));
    this.chain = run.catch(() => undefined);
    return run;
  }

  start(handler: BindHandler): void {
    if (this.handler) throw new Error('UdpBind.start called twice');
    this.handler = handler;
  }

  send(batch: PacketView): void {
    const s = this.sockets;
    if (!s) return;
    if (this.txViewOf !== batch.data) {
      this.txViewOf = batch.data;
      this.txView = Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength);
    }
    const view = this.txView!;
    const rec = batch.endpoints;
    for (let i = 0; i < batch.count; i++) {
      const e = batch.endpointOffset(i);
      const family = rec[e + EP_FAMILY];
      const socket = family === 4 ? s.v4 : family === 6 ? s.v6 : null;
      const port = (rec[e + EP_PORT] << 8) | rec[e + EP_PORT + 1];
      if (!socket || port === 0) continue;
      const address = this.destination(rec, e);
      if (!address) continue;
      const len = batch.lengths[i];
      const off = batch.offsets[i];
      const buf = Buffer.allocUnsafe(len);
      view.copy(buf, 0, off, off + len);
      try {
        socket.send(buf, port, address);
      } catch {
        // Closed socket or invalid argument: best effort, drop.
      }
    }
  }

  setMark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new RangeError(`invalid mark: ${mark}`);
    if (mark !== 0) throw new BindError('SO_MARK is not supported by node:dgram', EOPNOTSUPP);
  }

  close(): void {
    this.generation++;
    const s = this.sockets;
    this.sockets = null;
    if (s) closeSockets(s);
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.batch.clear();
  }

  private async rebind(port: number): Promise<number> {
    if (port !== 0 && port === this.sockets?.port) return port;
    const generation = this.generation;
    const fresh = await this.open(port);
    if (generation !== this.generation) {
      // close() ran while we were binding: it wins.
      closeSockets(fresh);
      return 0;
    }
    const old = this.sockets;
    this.sockets = fresh;
    if (old) closeSockets(old);
    return fresh.port;
  }

  private async open(port: number): Promise<Sockets> {
    for (let attempt = 0; ; attempt++) {
      let v4: dgram.Socket | null = null;
      let v6: dgram.Socket | null = null;
      try {
        if (this.v4Address) v4 = await this.tolerateNoFamily(this.openSocket('udp4', this.v4Address, port));
        const p = v4 ? v4.address().port : port;
        if (this.v6Address) v6 = await this.tolerateNoFamily(this.openSocket('udp6', this.v6Address, p));
        if (!v4 && !v6) throw new BindError('neither IPv4 nor IPv6 is available', 97);
        return { v4, v6, port: v4 ? p : v6!.address().port };
      } catch (err) {
        if (v4) v4.close();
        const again = port === 0 && v4 && !v6 && errnoOf(err) === EADDRINUSE && attempt < PORT_RETRIES;
        if (!again) throw toBindError(err, port);
      }
    }
  }

  /** A host without IPv6 (or IPv4) binds the other family only, as wireguard-go does. */
  private async tolerateNoFamily(p: Promise<dgram.Socket>): Promise<dgram.Socket | null> {
    try {
      return await p;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') return null;
      throw err;
    }
  }

  private openSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
      const fail = (err: Error) => {
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(err);
      };
      socket.once('error', fail);
      socket.bind({ port, address, exclusive: true }, () => {
        socket.off('error', fail);
        // Unconnected UDP sockets report nothing useful here; never let it crash the process.
        socket.on('error', () => undefined);
        socket.on('message', type === 'udp4' ? this.onMessage4 : this.onMessage6);
        try {
          socket.setRecvBufferSize(this.bufferSize);
          socket.setSendBufferSize(this.bufferSize);
        } catch {
          // Best effort, like wireguard-go.
        }
        resolve(socket);
      });
    });
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo, family: 4 | 6): void {
    const b = this.batch;
    if (!this.handler || msg.length > b.maxPacket) {
      this.dropped++;
      return;
    }
    if (b.count >= b.capacity) this.flush();
    const i = b.count++;
    const at = b.packetStart(i);
    b.data.set(msg, at);
    b.offsets[i] = at;
    b.lengths[i] = msg.length;
    b.meta[i] = 0;
    const r = b.endpoints;
    const e = b.endpointOffset(i);
    r.fill(0, e, e + ENDPOINT_RECORD_SIZE);
    r[e + EP_FAMILY] = family;
    r[e + EP_PORT] = rinfo.port >> 8;
    r[e + EP_PORT + 1] = rinfo.port & 0xff;
    if (rinfo.address !== this.rxAddr) this.parseSource(rinfo.address, family);
    const n = family === 4 ? 4 : 16;
    for (let k = 0; k < n; k++) r[e + EP_ADDR + k] = this.rxAddrBytes[k];
    if (family === 6 && this.rxScope !== 0) {
      new DataView(r.buffer, r.byteOffset).setUint32(e + EP_SCOPE, this.rxScope, true);
    }
    if (!this.immediate) this.immediate = setImmediate(this.flushLater);
  }

  private readonly flushLater = () => {
    this.immediate = null;
    this.flush();
  };

  private flush(): void {
    const b = this.batch;
    if (b.count === 0) return;
    try {
      this.handler?.packets(b);
    } finally {
      b.clear();
    }
  }

  private parseSource(address: string, family: 4 | 6): void {
    this.rxAddrBytes.fill(0);
    this.rxScope = 0;
    if (family === 4) {
      const parts = address.split('.');
      for (let k = 0; k < 4; k++) this.rxAddrBytes[k] = Number(parts[k]);
    } else {
      const pct = address.indexOf('%');
      const bytes = parseIPv6(pct >= 0 ? address.slice(0, pct) : address);
      if (bytes) this.rxAddrBytes.set(bytes);
      if (pct >= 0) this.rxScope = interfaceIndex(address.slice(pct + 1));
    }
    this.rxAddr = address;
  }

  /** Destination address text for the record at `rec[e]`, cached for repeated remotes. */
  private destination(rec: Uint8Array, e: number): string | null {
    let same = this.txAddr !== '';
    for (let k = 0; same && k < EP_REMOTE_BYTES; k++) {
      if (k >= EP_PORT && k < EP_PORT + 2) continue;
      same = this.txRemote[k] === rec[e + k];
    }
    if (same) return this.txAddr;
    let text: string;
    if (rec[e + EP_FAMILY] === 4) {
      text = formatIPv4(rec, e + EP_ADDR);
    } else {
      text = formatIPv6(rec, e + EP_ADDR);
      const scope = new DataView(rec.buffer, rec.byteOffset).getUint32(e + EP_SCOPE, true);
      if (scope !== 0) {
        // libuv resolves zones by interface name only.
        const name = interfaceName(scope);
        if (!name) return null;
        text += `%${name}`;
      }
    }
    this.txRemote.set(rec.subarray(e, e + EP_REMOTE_BYTES));
    this.txAddr = text;
    return text;
  }
}

function closeSockets(s: Sockets): void {
  for (const socket of [s.v4, s.v6]) {
    if (!socket) continue;
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}

function errnoOf(err: unknown): number {
  if (err instanceof BindError) return err.errno;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') return EADDRINUSE;
  return typeof e?.errno === 'number' ? Math.abs(e.errno) : 0;
}

function toBindError(err: unknown, port: number): BindError | Error {
  if (err instanceof BindError) return err;
  const errno = errnoOf(err);
  if (errno === 0) return err instanceof Error ? err : new Error(String(err));
  const code = (err as NodeJS.ErrnoException).code ?? `errno ${errno}`;
  return new BindError(`bind ${port}: ${code}`, errno);
}

/** Interface index for a zone (numeric or a name), 0 when unknown. */
function interfaceIndex(zone: string): number {
  if (/^[0-9]+$/.test(zone)) return Number(zone);
  try {
    return Number(readFileSync(`/sys/class/net/${zone}/ifindex`, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

function interfaceName(index: number): string | null {
  try {
    for (const name of readdirSync('/sys/class/net')) {
      if (Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim()) === index) return name;
    }
  } catch {
    // not Linux, or no sysfs
  }
  return null;
}
