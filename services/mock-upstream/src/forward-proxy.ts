import { lookup } from 'node:dns/promises';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { connect as netConnect, createServer as createNetServer, isIP, isIPv4, isIPv6 } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';

/** Credentials a test proxy demands (HTTP Basic in Proxy-Authorization, or SOCKS5 method 0x02). */
export interface ForwardProxyAuth {
  username: string;
  password: string;
}

export interface ForwardProxyOptions {
  /** `http`: CONNECT tunnels and absolute-URI forwarding; `socks5`: RFC 1928 CONNECT. */
  kind: 'http' | 'socks5';
  /** When set, every tunnel and forwarded request must carry these credentials. */
  auth?: ForwardProxyAuth;
  /**
   * Names the proxy resolves itself (name → IP address), so a test can give the proxy a host name
   * that only the proxy knows (socks5h) and see it arrive as a name. Other names go to node:dns.
   */
  hosts?: Readonly<Record<string, string>>;
}

/** One tunnel (or forwarded request) the proxy was asked for, after its credentials passed. */
export interface ForwardProxyConnection {
  /** `host:port` exactly as the client named it (IPv6 in brackets). */
  target: string;
  /** Epoch milliseconds. */
  at: number;
}

/**
 * A forward proxy for tests, on 127.0.0.1 and an ephemeral port. It only ever connects to loopback
 * addresses (whatever a name resolves to must be 127.0.0.0/8 or ::1), so no test can use it to
 * reach another host; a target elsewhere is refused (HTTP 403, SOCKS5 reply 0x02).
 */
export class ForwardProxy {
  /** Every tunnel or forwarded request, in order of arrival. */
  readonly connections: ForwardProxyConnection[] = [];
  readonly #kind: 'http' | 'socks5';
  readonly #auth: ForwardProxyAuth | undefined;
  readonly #hosts: Readonly<Record<string, string>>;
  readonly #sockets = new Set<Socket>();
  readonly #server: HttpServer | NetServer;
  #authFailures = 0;
  #port = 0;

  constructor(opts: ForwardProxyOptions) {
    this.#kind = opts.kind;
    this.#auth = opts.auth;
    this.#hosts = opts.hosts ?? {};
    this.#server = opts.kind === 'http' ? this.#httpServer() : createNetServer((s) => this.#socks(s));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** `http://127.0.0.1:PORT` or `socks5://127.0.0.1:PORT`, without credentials. */
  get url(): string {
    return `${this.#kind}://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** Requests and handshakes refused for missing or wrong credentials. */
  get authFailures(): number {
    return this.#authFailures;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('forward proxy has no port');
    this.#port = address.port;
    return this;
  }

  /** Destroys every open tunnel and stops listening. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #httpServer(): HttpServer {
    const server = createHttpServer((req, res) => void this.#forward(req, res));
    server.on(
      'connect',
      (req: IncomingMessage, client: Socket, head: Buffer) => void this.#tunnel(req, client, head),
    );
    return server;
  }

  /** HTTP CONNECT: answers 200 once the target is connected, then pipes both ways. */
  async #tunnel(req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    if (!this.#httpAuthorized(req)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\n' +
          'Proxy-Authenticate: Basic realm="switchyard-test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    const target = splitHostPort(req.url ?? '');
    if (target === null) {
      client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.connections.push({ target: req.url ?? '', at: Date.now() });
    const upstream = await this.#open(target.host, target.port);
    if (typeof upstream === 'string') {
      const status = upstream === 'not-allowed' ? '403 Forbidden' : '502 Bad Gateway';
      client.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    splice(client, upstream);
  }

  /** Plain HTTP forwarding of an absolute-URI request (`GET http://host:port/path`). */
  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#httpAuthorized(req)) {
      res
        .writeHead(407, { 'proxy-authenticate': 'Basic realm="switchyard-test"', 'content-length': '0' })
        .end();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-length': '0' }).end();
      return;
    }
    if (url.protocol !== 'http:') {
      res.writeHead(400, { 'content-length': '0' }).end();
      return;
    }
    const port = url.port === '' ? 80 : Number(url.port);
    this.connections.push({ target: `${url.hostname}:${port}`, at: Date.now() });
    const address = await this.#resolve(unbracket(url.hostname));
    if (address === null || !isLoopback(address)) {
      res.writeHead(address === null ? 502 : 403, { 'content-length': '0' }).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const outbound = httpRequest(
      { host: address, port, method: req.method, path: `${url.pathname}${url.search}`, headers },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    outbound.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-length': '0' });
      res.end();
    });
    req.pipe(outbound);
  }

  #httpAuthorized(req: IncomingMessage): boolean {
    if (this.#auth === undefined) return true;
    const expected = `Basic ${Buffer.from(`${this.#auth.username}:${this.#auth.password}`).toString('base64')}`;
    if (req.headers['proxy-authorization'] === expected) return true;
    this.#authFailures++;
    return false;
  }

  /** One SOCKS5 session: method negotiation, optional RFC 1929 login, one CONNECT, then a pipe. */
  async #socks(client: Socket): Promise<void> {
    client.on('error', () => client.destroy());
    const reader = new ByteReader(client);
    try {
      const [version, methodCount] = await reader.read(2);
      if (version !== SOCKS_VERSION) return void client.destroy();
      const methods = await reader.read(methodCount ?? 0);
      const wanted = this.#auth === undefined ? METHOD_NONE : METHOD_PASSWORD;
      if (!methods.includes(wanted)) {
        if (this.#auth !== undefined) this.#authFailures++;
        client.end(Buffer.from([SOCKS_VERSION, METHOD_UNACCEPTABLE]));
        return;
      }
      client.write(Buffer.from([SOCKS_VERSION, wanted]));
      if (this.#auth !== undefined) {
        const [, userLength] = await reader.read(2);
        const username = (await reader.read(userLength ?? 0)).toString('utf8');
        const [passwordLength] = await reader.read(1);
        const password = (await reader.read(passwordLength ?? 0)).toString('utf8');
        if (username !== this.#auth.username || password !== this.#auth.password) {
          this.#authFailures++;
          client.end(Buffer.from([LOGIN_VERSION, 0x01]));
          return;
        }
        client.write(Buffer.from([LOGIN_VERSION, 0x00]));
      }
      const [, command, , addressType] = await reader.read(4);
      const host = await readSocksAddress(reader, addressType ?? 0);
      const port = (await reader.read(2)).readUInt16BE(0);
      if (host === null) return void client.end(socksReply(REPLY_ADDRESS_TYPE_UNSUPPORTED));
      if (command !== COMMAND_CONNECT) return void client.end(socksReply(REPLY_COMMAND_UNSUPPORTED));
      this.connections.push({ target: `${isIP(host) === 6 ? `[${host}]` : host}:${port}`, at: Date.now() });
      const upstream = await this.#open(host, port);
      if (upstream === 'not-allowed') return void client.end(socksReply(REPLY_NOT_ALLOWED));
      if (upstream === 'unreachable') return void client.end(socksReply(REPLY_CONNECTION_REFUSED));
      client.write(socksReply(REPLY_SUCCEEDED));
      const rest = reader.release();
      if (rest.length > 0) upstream.write(rest);
      splice(client, upstream);
    } catch {
      client.destroy();
    }
  }

  /** Connects to a target if it is (or resolves to) a loopback address. */
  async #open(host: string, port: number): Promise<Socket | 'not-allowed' | 'unreachable'> {
    const address = await this.#resolve(unbracket(host));
    if (address === null) return 'unreachable';
    if (!isLoopback(address)) return 'not-allowed';
    return new Promise((resolve) => {
      const socket = netConnect({ host: address, port });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        resolve(socket);
      });
      socket.once('error', () => resolve('unreachable'));
    });
  }

  async #resolve(host: string): Promise<string | null> {
    const known = this.#hosts[host];
    if (known !== undefined) return known;
    if (isIP(host) !== 0) return host;
    try {
      return (await lookup(host)).address;
    } catch {
      return null;
    }
  }
}

/** Starts a test forward proxy (see ForwardProxy). */
export function startForwardProxy(opts: ForwardProxyOptions): Promise<ForwardProxy> {
  return new ForwardProxy(opts).listen();
}

const SOCKS_VERSION = 0x05;
/** RFC 1929's sub-negotiation version. */
const LOGIN_VERSION = 0x01;
const METHOD_NONE = 0x00;
const METHOD_PASSWORD = 0x02;
const METHOD_UNACCEPTABLE = 0xff;
const COMMAND_CONNECT = 0x01;
const ADDRESS_IPV4 = 0x01;
const ADDRESS_DOMAIN = 0x03;
const ADDRESS_IPV6 = 0x04;
const REPLY_SUCCEEDED = 0x00;
const REPLY_NOT_ALLOWED = 0x02;
const REPLY_CONNECTION_REFUSED = 0x05;
const REPLY_COMMAND_UNSUPPORTED = 0x07;
const REPLY_ADDRESS_TYPE_UNSUPPORTED = 0x08;

/** A reply with a zero bound address (0.0.0.0:0): clients of a CONNECT do not use it. */
function socksReply(code: number): Buffer {
  return Buffer.from([SOCKS_VERSION, code, 0x00, ADDRESS_IPV4, 0, 0, 0, 0, 0, 0]);
}

async function readSocksAddress(reader: ByteReader, addressType: number): Promise<string | null> {
  if (addressType === ADDRESS_IPV4) return [...(await reader.read(4))].join('.');
  if (addressType === ADDRESS_DOMAIN) {
    const [length] = await reader.read(1);
    return (await reader.read(length ?? 0)).toString('utf8');
  }
  if (addressType === ADDRESS_IPV6) {
    const bytes = await reader.read(16);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    // The WHATWG URL parser writes IPv6 in its canonical compressed form (`::1`).
    return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
  }
  return null;
}

/** Reads exact byte counts from a socket during a handshake, then hands the socket back for piping. */
class ByteReader {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #pending: { size: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    this.#drain();
  };
  #ended = false;
  readonly #onEnd = () => {
    this.#ended = true;
    this.#drain();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', this.#onData).on('close', this.#onEnd).on('end', this.#onEnd);
  }

  read(size: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#pending = { size, resolve, reject };
      this.#drain();
    });
  }

  /** Stops reading and returns what arrived beyond the handshake (the socket is left paused). */
  release(): Buffer {
    this.#socket.pause();
    this.#socket.off('data', this.#onData).off('close', this.#onEnd).off('end', this.#onEnd);
    return this.#buffer;
  }

  #drain(): void {
    const pending = this.#pending;
    if (pending === null) return;
    if (this.#buffer.length < pending.size) {
      if (this.#ended) {
        this.#pending = null;
        pending.reject(new Error('socket closed during the handshake'));
      }
      return;
    }
    this.#pending = null;
    const out = this.#buffer.subarray(0, pending.size);
    this.#buffer = this.#buffer.subarray(pending.size);
    pending.resolve(out);
  }
}

function splice(a: Socket, b: Socket): void {
  const drop = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', drop).on('close', drop);
  b.on('error', drop).on('close', drop);
  a.pipe(b);
  b.pipe(a);
}

function splitHostPort(authority: string): { host: string; port: number } | null {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority);
  if (match === null) return null;
  return { host: match[1] as string, port: Number(match[2]) };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function isLoopback(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  // A zone (`fe80::1%eth0`) is no loopback address, and the URL parser below would reject it.
  if (!isIPv6(address) || address.includes('%')) return false;
  // The WHATWG URL parser canonicalises IPv6 (`::ffff:127.0.0.1` becomes `::ffff:7f00:1`).
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(canonical);
}
