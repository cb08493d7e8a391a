import { createServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { matchApiRoute, unmatchedRoute } from './api-routes.js';
import { requestedCachedTokens } from './cached-tokens.js';
import { DEFAULT_CHUNKS } from './deterministic-completion.js';
import { GoogleTokenIssuer } from './google-token-issuer.js';
import type { GoogleServiceAccount } from './google-token-issuer.js';
import { parseMockFaults, resolveFaults } from './mock-faults.js';
import type { MockFaults } from './mock-faults.js';
import type { MockUpstreamOptions } from './mock-upstream-options.js';
import { MockOAuthServer, OAUTH_PATH_PREFIX, parseTokenParams } from './oauth-server.js';
import { readBody } from './read-body.js';
import type { RecordedRequest } from './recorded-request.js';
import { authenticate, presentedCredential } from './request-auth.js';
import { ResponseContext } from './response-context.js';
import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';
import type { AwsCredentials } from './sigv4-verifier.js';
import { handleTokenRequest } from './token-endpoint.js';
import { sendError } from './wire-errors.js';
import type { WireShape } from './wire-errors.js';

const DEFAULT_MAX_RECORDED = 10_000;
const TOKEN_PATH = '/token';

const MALFORMED_JSON: Readonly<Record<WireShape, string>> = {
  openai: 'We could not parse the JSON body of your request.',
  anthropic: 'We could not parse the JSON body of your request.',
  google: 'Invalid JSON payload received.',
  aws: 'Malformed input request, please reformat your input and try again.',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatUrl(host: string, port: number): string {
  const reachable = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface RequestWaiter {
  count: number;
  resolve: () => void;
}

/**
 * A fake upstream on node:http speaking OpenAI (and Azure OpenAI), Anthropic, Gemini (AI Studio and
 * Vertex AI) and AWS Bedrock, with deterministic answers, request recording and fault injection (see
 * MockFaults).
 */
export class MockUpstream {
  /** Every request received, in order (without the `/_mock/*` control routes); at most `maxRecordedRequests`. */
  requests: RecordedRequest[] = [];
  /** Cached prompt tokens every usage reports unless the request's `x-mock-cached-tokens` says otherwise. */
  cachedTokens: number;
  /** When true, the OpenAI chat route answers without usage (no `usage`, no usage chunk). */
  omitUsage: boolean;
  /** When >= 400, `POST /token` answers every exchange with this status (null: exchanges work). */
  tokenStatus: number | null;
  /** `POST /token` requests received, successful or not. */
  tokenExchanges = 0;
  /** The OAuth authorization server under `/oauth/*` (PKCE code flow, rotating refresh tokens). */
  readonly oauth: MockOAuthServer;
  private faults: MockFaults | null;
  private readonly credentialFaults = new Map<string, MockFaults>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly chunks: number;
  private readonly requireKey: string | undefined;
  private readonly awsCredentials: AwsCredentials | undefined;
  private readonly google: GoogleTokenIssuer;
  private readonly maxRecorded: number;
  private address: { port: number; url: string } | null = null;
  private closing: Promise<void> | null = null;
  private seq = 0;
  private requestWaiters: RequestWaiter[] = [];
  private abortWaiters: ((request: RecordedRequest) => void)[] = [];

  constructor(opts: MockUpstreamOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.requestedPort = opts.port ?? 0;
    this.chunks = opts.chunks ?? DEFAULT_CHUNKS;
    this.requireKey = opts.requireKey;
    this.cachedTokens = opts.cachedTokens ?? 0;
    this.omitUsage = opts.omitUsage ?? false;
    this.awsCredentials = opts.awsCredentials;
    this.tokenStatus = opts.tokenStatus ?? null;
    this.google = new GoogleTokenIssuer(opts.now ?? Date.now);
    this.oauth = new MockOAuthServer(opts.now ?? Date.now);
    this.maxRecorded = opts.maxRecordedRequests ?? DEFAULT_MAX_RECORDED;
    this.faults = opts.faults ? parseMockFaults(opts.faults, true) : null;
    const name = opts.name;
    this.server = createServer((req, res) => {
      if (name !== undefined) res.setHeader('x-mock-upstream', name);
      this.handle(req, res);
    });
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts listening (idempotent). */
  async listen(): Promise<{ port: number; url: string }> {
    if (this.address) return this.address;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.requestedPort, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const info = this.server.address();
    if (info === null || typeof info === 'string')
      throw new Error('mock-upstream: unexpected server address');
    this.address = { port: info.port, url: formatUrl(this.host, info.port) };
    return this.address;
  }

  /** Stops the server and destroys every open socket, including hung and streaming ones. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }

  /** `http://127.0.0.1:PORT`; throws before `listen()`. */
  get url(): string {
    if (!this.address) throw new Error('mock-upstream is not listening');
    return this.address.url;
  }

  /** The port listened on; throws before `listen()`. */
  get port(): number {
    if (!this.address) throw new Error('mock-upstream is not listening');
    return this.address.port;
  }

  /** The current per-instance faults (null: none). */
  get currentFaults(): MockFaults | null {
    return this.faults;
  }

  /** Replaces the per-instance faults (null clears them); throws on an invalid field. */
  setFaults(faults: MockFaults | null): void {
    this.faults = parseMockFaults(faults, true);
  }

  /**
   * Faults for requests presenting `credential` (an API key, bearer token or AWS access key id), applied
   * over the instance faults: one account of a pool can fail while the others answer. Null clears them.
   */
  setCredentialFaults(credential: string, faults: MockFaults | null): void {
    const parsed = parseMockFaults(faults, true);
    if (parsed === null) this.credentialFaults.delete(credential);
    else this.credentialFaults.set(credential, parsed);
  }

  /** Clears the recorded requests, the token-exchange count and the per-instance faults. */
  reset(): void {
    this.requests.length = 0;
    this.tokenExchanges = 0;
    this.faults = null;
    this.credentialFaults.clear();
    this.oauth.reset();
  }

  /**
   * A Google service-account key for Vertex: its JWTs are accepted by `POST /token` (whose URL is its
   * `token_uri`), which issues the bearer tokens the Vertex routes require. Throws before `listen()`.
   */
  googleServiceAccount(): GoogleServiceAccount {
    return this.google.serviceAccount(`${this.url}${TOKEN_PATH}`);
  }

  /** Resolves once at least `n` requests are recorded. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.requestWaiters.push({ count: n, resolve }));
  }

  /** Resolves with a request the client aborted: at once if one already is, else with the next one. */
  waitForAbort(): Promise<RecordedRequest> {
    const aborted = this.requests.find((r) => r.aborted);
    if (aborted) return Promise.resolve(aborted);
    return new Promise((resolve) => this.abortWaiters.push(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const task = path.startsWith('/_mock/')
      ? this.handleControl(req, res, path)
      : this.handleApi(req, res, path, query);
    task.catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 'openai', 500, `mock-upstream: ${errorMessage(err)}`);
    });
  }

  private record(request: RecordedRequest): void {
    this.requests.push(request);
    if (this.requests.length > this.maxRecorded) this.requests.shift();
    if (this.requestWaiters.length === 0) return;
    const length = this.requests.length;
    const ready = this.requestWaiters.filter((w) => w.count <= length);
    if (ready.length === 0) return;
    this.requestWaiters = this.requestWaiters.filter((w) => w.count > length);
    for (const waiter of ready) waiter.resolve();
  }

  private notifyAbort(request: RecordedRequest): void {
    const waiters = this.abortWaiters;
    this.abortWaiters = [];
    for (const resolve of waiters) resolve(request);
  }

  private readonly nextId = (): number => ++this.seq;

  /** The token URIs an assertion may name: the mock's own URL, or the one the request reached. */
  private tokenAudiences(req: IncomingMessage): string[] {
    const audiences = [`${this.url}${TOKEN_PATH}`];
    const host = req.headers.host;
    if (host !== undefined) audiences.push(`http://${host}${TOKEN_PATH}`);
    return audiences;
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: null,
      aborted: false,
      receivedAt: Date.now(),
    };
    if (query.size > 0) record.query = Object.fromEntries(query);
    let recorded = false;
    const commit = (): void => {
      if (recorded) return;
      recorded = true;
      this.record(record);
    };
    const ctx = new ResponseContext(res, () => {
      if (this.closing !== null || record.aborted) return;
      record.aborted = true;
      commit();
      this.notifyAbort(record);
    });

    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      commit();
      res.destroy();
      return;
    }
    if (path === TOKEN_PATH && req.method === 'POST') {
      const form = new URLSearchParams(raw.toString('utf8'));
      record.body = Object.fromEntries(form);
      commit();
      this.tokenExchanges++;
      handleTokenRequest(res, form, this.google, this.tokenAudiences(req), this.tokenStatus);
      return;
    }
    if (path.startsWith(OAUTH_PATH_PREFIX)) {
      const params = req.method === 'POST' ? parseTokenParams(req.headers, raw) : null;
      record.body = params === null ? null : Object.fromEntries(params);
      commit();
      await this.oauth.handle(req.method, path, query, req.headers, raw, res);
      return;
    }
    let body: unknown = null;
    let malformed = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        malformed = true;
      }
    }
    record.body = body;
    commit();

    const presented = this.credentialFaults.size === 0 ? null : presentedCredential(req.headers, query);
    const keyed = presented === null ? undefined : this.credentialFaults.get(presented);
    const faults = resolveFaults(
      keyed === undefined ? this.faults : { ...this.faults, ...keyed },
      req.headers,
      body,
    );
    if (faults.hang === true) return; // the ResponseContext marks the request aborted when the client leaves
    if (!(await ctx.sleep(faults.latencyMs ?? 0))) return;

    const route = matchApiRoute(req.method, path);
    const fallback = unmatchedRoute(path);
    const shape = route?.shape ?? fallback.shape;
    const fail = async (
      status: number,
      message: string,
      as: WireShape = shape,
      headers?: OutgoingHttpHeaders,
    ): Promise<void> => {
      if (await ctx.sleep(faults.firstByteDelayMs ?? 0)) sendError(res, as, status, message, headers);
    };
    const auth = authenticate(route?.auth ?? fallback.auth, shape, req, query, raw, {
      requireKey: this.requireKey,
      awsCredentials: this.awsCredentials,
      google: this.google,
      oauth: this.oauth,
    });
    if (!auth.ok) return fail(auth.status, auth.message, auth.shape, auth.headers);
    if (auth.awsAccessKeyId !== undefined) record.awsAccessKeyId = auth.awsAccessKeyId;
    if (malformed) return fail(400, MALFORMED_JSON[shape]);
    if (faults.status !== undefined && faults.status >= 400) {
      return fail(
        faults.status,
        `mock-upstream fault: HTTP ${faults.status}`,
        shape,
        faults.retryAfterSeconds === undefined
          ? undefined
          : { 'retry-after': String(faults.retryAfterSeconds) },
      );
    }
    if (route === null)
      return fail(404, `Invalid URL (${req.method ?? '?'} ${path})`, fallback.notFoundShape);

    const r: RouteRequest = {
      ctx,
      body: isRecord(body) ? body : {},
      faults,
      defaultChunks: this.chunks,
      cachedTokens: requestedCachedTokens(req.headers, this.cachedTokens),
      omitUsage: this.omitUsage,
      query,
      nextId: this.nextId,
    };
    return route.handle(r);
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req);
    const method = req.method;
    if (path === '/_mock/requests' && method === 'GET') {
      sendJson(res, 200, { requests: this.requests });
    } else if (path === '/_mock/reset' && method === 'POST') {
      this.reset();
      sendJson(res, 200, { ok: true });
    } else if (path === '/_mock/faults' && method === 'GET') {
      sendJson(res, 200, { faults: this.faults });
    } else if (path === '/_mock/faults' && method === 'POST') {
      let faults: MockFaults | null;
      try {
        faults = parseMockFaults(raw.length > 0 ? JSON.parse(raw.toString('utf8')) : null, true);
      } catch (err) {
        sendError(res, 'openai', 400, errorMessage(err));
        return;
      }
      this.faults = faults;
      sendJson(res, 200, { ok: true, faults });
    } else {
      sendError(res, 'openai', 404, `Invalid URL (${method ?? '?'} ${path})`);
    }
  }
}

/** Constructs a MockUpstream and starts listening. */
export async function startMockUpstream(opts?: MockUpstreamOptions): Promise<MockUpstream> {
  const mock = new MockUpstream(opts);
  await mock.listen();
  return mock;
}
