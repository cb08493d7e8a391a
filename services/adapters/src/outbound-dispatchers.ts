import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { Agent, Pool, ProxyAgent, buildConnector, errors as undiciErrors, type Dispatcher } from 'undici';
import { SocksClient } from 'socks';
import { UpstreamError, classifyAddress, type AddressClass } from '@switchyard/core';

/**
 * Which non-public addresses outbound connections may reach. Public addresses always may; cloud
 * metadata, link-local, unspecified, multicast and reserved addresses never may.
 */
export interface OutboundPolicy {
  allow: ReadonlyArray<'loopback' | 'private'>;
}

/** How one upstream account connects: through its proxy (or directly), within its channel's connect timeout. */
export interface OutboundTarget {
  /** `http://`, `https://`, `socks5://` or `socks5h://` URL, `user:password@` allowed; null = direct. */
  proxyUrl: string | null;
  /** Bound on establishing a connection: DNS, TCP, proxy handshake and TLS together. */
  connectTimeoutMs: number;
}

/** One address a host name resolves to (the shape of node:dns `lookup` with `all: true`). */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface OutboundDispatchersOptions {
  policy: OutboundPolicy;
  /** Sockets per origin and dispatcher; 256 by default. */
  connectionsPerOrigin?: number;
  /** How long an idle socket is kept for reuse; 60 s by default. */
  keepAliveTimeoutMs?: number;
  /**
   * Default time to the response headers and longest silence between body chunks (undici's
   * `headersTimeout` / `bodyTimeout`); a request may set its own. Undici's 300 s when omitted.
   */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Dispatchers kept before the least recently used one is closed; 1000 by default. */
  maxDispatchers?: number;
  /** DNS resolution; node:dns `lookup` with `all: true` by default (tests map names to addresses). */
  lookup?: HostLookup;
  /** CA certificates (PEM) trusted for upstream and proxy TLS instead of Node's bundle (tests, private CAs). */
  ca?: string | ReadonlyArray<string>;
}

/**
 * A connection refused by the outbound policy: the upstream (or the proxy) resolved to an address
 * the policy does not admit. Retryable, so the relay moves on to the next candidate. The message
 * names only the address class; `host` and `address` are for logs.
 */
export class AddressRefusedError extends UpstreamError {
  /** The host name or IP literal that was being connected to. */
  readonly host: string;
  /** The refused address (the first one of the host's addresses that failed the policy). */
  readonly address: string;
  readonly addressClass: AddressClass;
  /** Whether the refused host was the upstream itself or the account's proxy. */
  readonly role: 'upstream' | 'proxy';

  constructor(role: 'upstream' | 'proxy', host: string, address: string, addressClass: AddressClass) {
    super(`The ${role}'s address is not allowed by the outbound policy (${addressClass}).`, {
      retryable: true,
      code: ADDRESS_REFUSED_CODE,
    });
    this.host = host;
    this.address = address;
    this.addressClass = addressClass;
    this.role = role;
  }
}

const ADDRESS_REFUSED_CODE = 'upstream_address_refused';
// Why 8: undici wraps a connect error at most two or three levels deep; the cap only stops cause cycles.
const MAX_CAUSE_DEPTH = 8;

/** Whether `err` is (or wraps, through `cause` or an AggregateError) an AddressRefusedError. */
export function isAddressRefused(err: unknown): boolean {
  const queue: Array<{ value: unknown; depth: number }> = [{ value: err, depth: 0 }];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { value, depth } = item;
    if (typeof value !== 'object' || value === null || depth > MAX_CAUSE_DEPTH) continue;
    if (value instanceof AddressRefusedError || (value as { code?: unknown }).code === ADDRESS_REFUSED_CODE) {
      return true;
    }
    queue.push({ value: (value as { cause?: unknown }).cause, depth: depth + 1 });
    if (value instanceof AggregateError) {
      for (const inner of value.errors as unknown[]) queue.push({ value: inner, depth: depth + 1 });
    }
  }
  return false;
}

// Why 256: enough sockets per origin for a busy relay; undici queues beyond it instead of failing.
const DEFAULT_CONNECTIONS_PER_ORIGIN = 256;
// Why 60 s: most providers keep idle connections ~60-120 s; reuse avoids a TLS handshake per call.
const DEFAULT_KEEP_ALIVE_MS = 60_000;
// Why 600 s: the longest keep-alive a server's `Keep-Alive: timeout=` hint may stretch a socket to.
const KEEP_ALIVE_MAX_MS = 600_000;
// Why 1000: one dispatcher per (proxy, connect timeout) pair; a gateway has far fewer accounts with
// distinct proxies, so the cap only bounds the memory and sockets that admin churn could pile up.
const DEFAULT_MAX_DISPATCHERS = 1000;
// Why 1080: the SOCKS port IANA assigned (RFC 1928).
const SOCKS_DEFAULT_PORT = 1080;

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true });

/**
 * The relay's undici dispatchers for upstream calls, one per (proxy URL, connect timeout), each with
 * keep-alive pools per origin. Every connection passes the outbound policy (an SSRF guard at connect
 * time): a direct connection resolves the upstream host itself, refuses it unless every address is
 * admitted, and connects to exactly the checked address (Host header and TLS server name stay the
 * name), so DNS rebinding between check and connect cannot redirect it. Through a proxy, the proxy's
 * own address is checked the same way and the upstream's address is the proxy's business, except for
 * `socks5://`, which resolves (and so checks) the upstream locally; `socks5h://` hands the name to
 * the proxy. Refusals fail the request with AddressRefusedError (see isAddressRefused); proxy
 * failures (407, 403, 502, SOCKS reply codes) fail it with undici's or the socks client's error; a
 * connection not established within `connectTimeoutMs` fails with undici's ConnectTimeoutError.
 *
 * First-byte and idle timeouts are per request (undici's `headersTimeout` and `bodyTimeout` request
 * options), so they need no dispatcher of their own.
 */
export class OutboundDispatchers {
  readonly #policy: OutboundPolicy;
  readonly #lookup: HostLookup;
  readonly #ca: string[] | undefined;
  readonly #maxDispatchers: number;
  readonly #agentOptions: Agent.Options;
  /** Insertion order is recency order: a hit is moved to the end, the first entry is the eviction victim. */
  readonly #cache = new Map<string, Dispatcher>();
  #lastKey: string | null = null;
  #last: Dispatcher | null = null;
  #closed = false;

  constructor(opts: OutboundDispatchersOptions) {
    this.#policy = opts.policy;
    this.#lookup = opts.lookup ?? defaultLookup;
    this.#ca = opts.ca === undefined ? undefined : typeof opts.ca === 'string' ? [opts.ca] : [...opts.ca];
    this.#maxDispatchers = opts.maxDispatchers ?? DEFAULT_MAX_DISPATCHERS;
    const keepAliveTimeout = opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS;
    this.#agentOptions = {
      ...(opts.headersTimeoutMs !== undefined && { headersTimeout: opts.headersTimeoutMs }),
      ...(opts.bodyTimeoutMs !== undefined && { bodyTimeout: opts.bodyTimeoutMs }),
      connections: opts.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN,
      keepAliveTimeout,
      keepAliveMaxTimeout: Math.max(KEEP_ALIVE_MAX_MS, keepAliveTimeout),
    };
  }

  /**
   * The undici Dispatcher for this target: one cached per (proxyUrl, connectTimeoutMs). Throws
   * UpstreamError `upstream_proxy_invalid` for a proxy URL that cannot be used (the message never
   * contains the URL, which may hold a password).
   */
  dispatcherFor(target: OutboundTarget): Dispatcher {
    if (this.#closed) throw new Error('OutboundDispatchers is closed.');
    const key = `${target.connectTimeoutMs}|${target.proxyUrl ?? ''}`;
    // The hot path: most requests of a relay go to the dispatcher of the request before.
    if (key === this.#lastKey && this.#last !== null) return this.#last;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      this.#lastKey = key;
      this.#last = cached;
      return cached;
    }
    const created = this.#create(target);
    this.#cache.set(key, created);
    this.#lastKey = key;
    this.#last = created;
    if (this.#cache.size > this.#maxDispatchers) {
      const [oldestKey, oldest] = this.#cache.entries().next().value as [string, Dispatcher];
      this.#cache.delete(oldestKey);
      // close() lets requests already on it finish; an error here has nobody left to tell.
      oldest.close().catch(() => {});
    }
    return created;
  }

  /** Closes every dispatcher (requests in flight finish first); dispatcherFor throws afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#last = null;
    const all = [...this.#cache.values()];
    this.#cache.clear();
    await Promise.all(all.map((d) => d.close()));
  }

  #create(target: OutboundTarget): Dispatcher {
    const timeout = target.connectTimeoutMs;
    const tlsOptions = this.#ca === undefined ? {} : { ca: this.#ca };
    const base = buildConnector({ timeout, ...tlsOptions });
    if (target.proxyUrl === null) {
      const connect = withDeadline(timeout, this.#pinned('upstream', base));
      return new Agent({ ...this.#agentOptions, connect });
    }
    const proxy = parseProxyUrl(target.proxyUrl);
    if (proxy.kind === 'http') {
      const proxyConnect = this.#pinned('proxy', base);
      return new ProxyAgent({
        ...this.#agentOptions,
        uri: proxy.origin,
        ...(proxy.credentials === null ? {} : { token: basicToken(proxy.credentials) }),
        requestTls: { timeout, ...tlsOptions },
        // The pool that sends CONNECT to the proxy: its socket is pinned to the checked proxy address,
        // and a proxy that accepts the connection but never answers the CONNECT times out.
        clientFactory: (origin) => new Pool(origin, { connect: proxyConnect, headersTimeout: timeout }),
        // The per-origin pools of tunnelled sockets: one deadline over proxy connect, CONNECT and TLS.
        factory: (origin, options) => {
          const poolOptions = options as Pool.Options;
          const tunnel = poolOptions.connect;
          if (typeof tunnel !== 'function') throw new Error('ProxyAgent passed no tunnel connector.');
          return new Pool(origin, { ...poolOptions, connect: withDeadline(timeout, tunnel) });
        },
      });
    }
    return new Agent({
      ...this.#agentOptions,
      connect: withDeadline(timeout, this.#socks(proxy, base, timeout)),
    });
  }

  /** A connector that checks the host (`role` names it in refusals) and connects to the checked address. */
  #pinned(role: 'upstream' | 'proxy', base: buildConnector.connector): buildConnector.connector {
    return (opts, callback) => {
      const host = unbracket(opts.hostname);
      this.#admit(role, host).then(
        (address) =>
          base({ ...opts, hostname: address, servername: opts.servername || serverNameOf(host) }, callback),
        (err: Error) => callback(err, null),
      );
    };
  }

  /** A connector that tunnels through a SOCKS5 proxy, then speaks TLS to an https upstream. */
  #socks(proxy: ParsedProxy, base: buildConnector.connector, timeoutMs: number): buildConnector.connector {
    const proxyConnect = this.#pinned('proxy', base);
    return (opts, callback) => {
      const establish = async (): Promise<Socket> => {
        const host = unbracket(opts.hostname);
        const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
        const destination = proxy.remoteDns ? host : await this.#admit('upstream', host);
        const proxySocket = await connectWith(proxyConnect, {
          hostname: proxy.hostname,
          host: proxy.host,
          protocol: 'http:',
          port: String(proxy.port),
        });
        let tunnel: Socket;
        try {
          ({ socket: tunnel } = await SocksClient.createConnection({
            command: 'connect',
            proxy: {
              host: proxy.hostname,
              port: proxy.port,
              type: 5,
              ...(proxy.credentials === null
                ? {}
                : { userId: proxy.credentials.username, password: proxy.credentials.password }),
            },
            destination: { host: destination, port },
            existing_socket: proxySocket,
            // The deadline around this connector answers first; this only ends the handshake's socket.
            timeout: timeoutMs,
          }));
        } catch (err) {
          proxySocket.destroy();
          throw err;
        }
        if (opts.protocol !== 'https:') return tunnel;
        return connectWith(base, {
          ...opts,
          servername: opts.servername || serverNameOf(host),
          httpSocket: tunnel,
        });
      };
      establish().then(
        (socket) => callback(null, socket),
        (err: Error) => callback(err, null),
      );
    };
  }

  /** Resolves `host` (an IP literal is taken as is) and returns the address to connect to, or refuses. */
  async #admit(role: 'upstream' | 'proxy', host: string): Promise<string> {
    const addresses = isIP(host) !== 0 ? [host] : (await this.#lookup(host)).map((a) => a.address);
    if (addresses.length === 0) throw new Error(`The ${role} host name does not resolve.`);
    for (const address of addresses) {
      const cls = classifyAddress(address);
      if (!this.#permits(cls)) throw new AddressRefusedError(role, host, address, cls);
    }
    return addresses[0] as string;
  }

  #permits(cls: AddressClass): boolean {
    if (cls === 'public') return true;
    return (cls === 'loopback' || cls === 'private') && this.#policy.allow.includes(cls);
  }
}

interface ProxyCredentials {
  username: string;
  password: string;
}

interface ParsedProxy {
  kind: 'http' | 'socks5';
  /** `scheme://host:port`, without credentials. */
  origin: string;
  /** The host as a URL writes it (IPv6 in brackets), with the port. */
  host: string;
  /** The host name or IP literal, IPv6 without brackets. */
  hostname: string;
  port: number;
  credentials: ProxyCredentials | null;
  /** socks5h: the proxy resolves the upstream's name. */
  remoteDns: boolean;
}

function parseProxyUrl(text: string): ParsedProxy {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // No cause: node's URL error carries the input, password and all.
    throw invalidProxy('it is not a valid URL');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'socks5' && scheme !== 'socks5h') {
    throw invalidProxy(`scheme '${scheme.slice(0, 20)}' is not http, https, socks5 or socks5h`);
  }
  if (url.hostname === '') throw invalidProxy('it has no host');
  const socks = scheme === 'socks5' || scheme === 'socks5h';
  const port =
    url.port === '' ? (socks ? SOCKS_DEFAULT_PORT : scheme === 'https' ? 443 : 80) : Number(url.port);
  const credentials =
    url.username === '' && url.password === ''
      ? null
      : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  return {
    kind: socks ? 'socks5' : 'http',
    origin: `${scheme}://${url.hostname}:${port}`,
    host: `${url.hostname}:${port}`,
    hostname: unbracket(url.hostname),
    port,
    credentials,
    remoteDns: scheme === 'socks5h',
  };
}

function invalidProxy(reason: string): UpstreamError {
  return new UpstreamError(`The account's proxy URL cannot be used: ${reason}.`, {
    retryable: true,
    code: 'upstream_proxy_invalid',
  });
}

function basicToken({ username, password }: ProxyCredentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Bounds a connector: when no socket arrives within `timeoutMs`, the connection fails with undici's
 * ConnectTimeoutError, and a socket that arrives later is destroyed.
 */
function withDeadline(timeoutMs: number, connector: buildConnector.connector): buildConnector.connector {
  return (opts, callback) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      callback(new undiciErrors.ConnectTimeoutError(`Connect Timeout Error (timeout: ${timeoutMs}ms)`), null);
    }, timeoutMs);
    connector(opts, (err, socket) => {
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (err !== null) callback(err, null);
      else callback(null, socket);
    });
  };
}

function connectWith(connector: buildConnector.connector, opts: buildConnector.Options): Promise<Socket> {
  return new Promise((resolve, reject) => {
    connector(opts, (err, socket) => (err === null ? resolve(socket) : reject(err)));
  });
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The TLS server name for a host: the name itself (without a trailing dot), none for an IP literal. */
function serverNameOf(host: string): string | undefined {
  return isIP(host) === 0 ? host.replace(/\.$/, '') : undefined;
}
