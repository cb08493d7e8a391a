import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Client, buildConnector, type Dispatcher } from 'undici';
import { GatewayError, InvalidRequestError, classifyAddress, type AddressClass } from '@switchyard/core';

/** One address a host name resolves to (the shape of node:dns `lookup` with `all: true`). */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface ImageFetcherOptions {
  /** Largest image accepted, in bytes. */
  maxBytes?: number;
  /** Budget for the whole fetch (every DNS lookup, connection, redirect hop and the body), in ms. */
  timeoutMs?: number;
  /** Redirects followed before the fetch is refused. */
  maxRedirects?: number;
  /** Which addresses may be connected to; by default only `public` ones. */
  allow?: (cls: AddressClass, address: string) => boolean;
  /** DNS resolution; by default node:dns `lookup` with `all: true`. */
  lookup?: HostLookup;
}

export interface FetchedImage {
  /** The response's media type, lower case, without parameters (`image/png`). */
  mediaType: string;
  /** The image bytes, base64 without a `data:` prefix. */
  data: string;
}

// Why 20 MiB: Gemini takes at most 20 MB of inline data per request and Converse 3.75 MB per image, so
// no larger image can be inlined for any target; the cap also bounds what one image holds in memory.
const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
// Why 10 s: the whole LLM request waits on the image; a host slower than this is better reported.
const DEFAULT_TIMEOUT_MS = 10_000;
// Why 3: CDNs and link shorteners use one or two hops; more is a loop or a hunt for an unguarded hop.
const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true });
const publicOnly = (cls: AddressClass): boolean => cls === 'public';

/**
 * Fetches image URLs for upstream formats that need images inline (Gemini, Bedrock Converse), as an
 * SSRF guard: only http(s); the host (a literal IP as WHATWG URL normalises it, or every address a
 * name resolves to) must be admitted by `allow`; the connection goes to exactly the checked address
 * (Host header and TLS server name stay the name), so DNS rebinding between check and connect cannot
 * redirect it; redirects are followed by hand, each hop checked the same way; the answer must be a
 * 2xx `image/*` within `maxBytes`, all within `timeoutMs`.
 *
 * Refusals throw InvalidRequestError `image_url_refused`; network failures and timeouts throw
 * InvalidRequestError `image_fetch_failed` (the client gave a URL that does not work). Messages name
 * only the host the client gave, never an address it resolved or redirected to. When the caller's
 * signal aborts, the fetch rejects with the signal's reason.
 */
export class ImageFetcher {
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #maxRedirects: number;
  readonly #allow: (cls: AddressClass, address: string) => boolean;
  readonly #lookup: HostLookup;

  constructor(opts: ImageFetcherOptions = {}) {
    this.#maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.#allow = opts.allow ?? publicOnly;
    this.#lookup = opts.lookup ?? defaultLookup;
  }

  async fetchImage(url: string, signal: AbortSignal): Promise<FetchedImage> {
    signal.throwIfAborted();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('image fetch timed out')), this.#timeoutMs);
    const combined = AbortSignal.any([signal, deadline.signal]);
    try {
      return await this.#follow(url, combined);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (deadline.signal.aborted) throw fetchFailed(`timed out after ${this.#timeoutMs} ms`, err);
      if (err instanceof GatewayError) throw err;
      throw fetchFailed(describeNetworkError(err), err);
    } finally {
      clearTimeout(timer);
    }
  }

  async #follow(url: string, signal: AbortSignal): Promise<FetchedImage> {
    let current = parseImageUrl(url);
    for (let hop = 0; ; hop++) {
      const redirected = hop > 0;
      const address = await this.#admit(current, redirected, signal);
      const client = pinnedClient(current, address, this.#timeoutMs);
      try {
        const res = await client.request({
          method: 'GET',
          path: `${current.pathname}${current.search}`,
          headers: {
            accept: 'image/*',
            'accept-encoding': 'identity',
            'user-agent': 'Switchyard-image-fetcher',
          },
          signal,
        });
        const location = header(res.headers, 'location');
        if (REDIRECT_STATUSES.has(res.statusCode) && location !== undefined) {
          discard(res.body);
          if (hop >= this.#maxRedirects) {
            throw refused(`Image URL redirected more than ${this.#maxRedirects} times.`);
          }
          current = parseImageUrl(location, current);
          continue;
        }
        return await this.#readImage(res);
      } finally {
        await client.destroy();
      }
    }
  }

  /** Checks the URL's host and returns the one address the connection must go to. */
  async #admit(url: URL, redirected: boolean, signal: AbortSignal): Promise<string> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (isIP(host) !== 0) {
      const cls = classifyAddress(host);
      if (!this.#allow(cls, host)) {
        throw refused(
          redirected
            ? `Image URL redirected to an address that is not allowed (${cls}).`
            : `Image URL host '${host}' is not an allowed address (${cls}).`,
        );
      }
      return host;
    }
    const addresses = await abortable(this.#lookup(host), signal);
    if (addresses.length === 0) throw fetchFailed('the host name does not resolve');
    for (const { address } of addresses) {
      const cls = classifyAddress(address);
      if (!this.#allow(cls, address)) {
        throw refused(
          redirected
            ? `Image URL redirected to a host that resolves to an address that is not allowed (${cls}).`
            : `Image URL host '${host}' resolves to an address that is not allowed (${cls}).`,
        );
      }
    }
    return (addresses[0] as ResolvedAddress).address;
  }

  async #readImage(res: Dispatcher.ResponseData): Promise<FetchedImage> {
    const { statusCode, headers, body } = res;
    try {
      if (statusCode < 200 || statusCode > 299) throw refused(`Image URL answered HTTP ${statusCode}.`);
      const mediaType = (header(headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (!/^image\/[a-z0-9.+-]+$/.test(mediaType)) {
        throw refused(`Image URL answered with content type '${mediaType.slice(0, 100)}', not an image.`);
      }
      const encoding = (header(headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
      if (encoding !== 'identity')
        throw refused(`Image URL answered with content encoding '${encoding.slice(0, 50)}'.`);
      const tooLarge = `Image at the URL exceeds the limit of ${this.#maxBytes} bytes.`;
      const declared = Number(header(headers, 'content-length') ?? Number.NaN);
      if (declared > this.#maxBytes) throw refused(tooLarge);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > this.#maxBytes) throw refused(tooLarge);
        chunks.push(buf);
      }
      return { mediaType, data: Buffer.concat(chunks).toString('base64') };
    } finally {
      discard(body);
    }
  }
}

/** Parses (and, for a redirect, resolves against the previous URL) an image URL; only http(s). */
function parseImageUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw refused(
      base === undefined ? 'Image URL is not a valid URL.' : 'Image URL redirected to an invalid URL.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refused(
      base === undefined
        ? `Image URL scheme '${url.protocol.slice(0, -1).slice(0, 20)}' is not allowed; only http and https are.`
        : 'Image URL redirected to a scheme other than http or https.',
    );
  }
  url.hash = '';
  return url;
}

/**
 * A one-origin client whose every connection goes to `address`: no DNS lookup happens at connect
 * time. The Host header comes from the URL, and the TLS server name (SNI and certificate check) is
 * the URL's host name.
 */
function pinnedClient(url: URL, address: string, timeoutMs: number): Client {
  const base = buildConnector({ timeout: timeoutMs });
  const name = url.hostname.replace(/\.$/, '');
  const servername = isIP(name.replace(/^\[|\]$/g, '')) === 0 ? name : undefined;
  return new Client(url.origin, {
    connect: (opts, callback) => base({ ...opts, hostname: address, servername }, callback),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** Drops a response body that will not be read (undici reports an unread body's destruction as an error). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENODATA':
      return 'the host name does not resolve';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timed out';
    default:
      return 'network error';
  }
}

function refused(message: string): InvalidRequestError {
  return new InvalidRequestError(message, { code: 'image_url_refused' });
}

function fetchFailed(reason: string, cause?: unknown): InvalidRequestError {
  return new InvalidRequestError(`Could not fetch the image URL: ${reason}.`, {
    code: 'image_fetch_failed',
    cause,
  });
}
