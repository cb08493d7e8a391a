import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { handleAnthropicCountTokens, handleAnthropicMessages } from './anthropic-messages.js';
import { handleChatCompletions } from './chat-completions.js';
import { DEFAULT_CHUNKS } from './deterministic-completion.js';
import { handleEmbeddings } from './embeddings.js';
import { parseMockFaults, resolveFaults } from './mock-faults.js';
import type { MockFaults } from './mock-faults.js';
import type { MockUpstreamOptions } from './mock-upstream-options.js';
import { handleListModels, handleRetrieveModel } from './models.js';
import { readBody } from './read-body.js';
import type { RecordedRequest } from './recorded-request.js';
import { ResponseContext } from './response-context.js';
import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';
import { sendError } from './wire-errors.js';
import type { WireShape } from './wire-errors.js';

const DEFAULT_MAX_RECORDED = 10_000;
const MODELS_PREFIX = '/v1/models/';

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
 * A fake OpenAI-compatible and Anthropic upstream on node:http with deterministic answers, request
 * recording and fault injection (see MockFaults).
 */
export class MockUpstream {
  /** Every request received, in order (without the `/_mock/*` control routes); at most `maxRecordedRequests`. */
  requests: RecordedRequest[] = [];
  private faults: MockFaults | null;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly chunks: number;
  private readonly requireKey: string | undefined;
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

  /** Clears the recorded requests and the per-instance faults. */
  reset(): void {
    this.requests.length = 0;
    this.faults = null;
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
    const task = path.startsWith('/_mock/')
      ? this.handleControl(req, res, path)
      : this.handleApi(req, res, path);
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

  private keyMatches(headers: IncomingHttpHeaders, key: string): boolean {
    const auth = headers.authorization;
    if (auth !== undefined && auth.slice(0, 7).toLowerCase() === 'bearer ' && auth.slice(7).trim() === key)
      return true;
    return headers['x-api-key'] === key;
  }

  private readonly nextId = (): number => ++this.seq;

  private async handleApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: null,
      aborted: false,
      receivedAt: Date.now(),
    };
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

    const faults = resolveFaults(this.faults, req.headers, body);
    if (faults.hang === true) return; // the ResponseContext marks the request aborted when the client leaves
    if (!(await ctx.sleep(faults.latencyMs ?? 0))) return;

    const shape: WireShape = path.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    const fail = async (status: number, message: string, as: WireShape = shape): Promise<void> => {
      if (await ctx.sleep(faults.firstByteDelayMs ?? 0)) sendError(res, as, status, message);
    };
    if (this.requireKey !== undefined && !this.keyMatches(req.headers, this.requireKey)) {
      return fail(401, shape === 'anthropic' ? 'invalid x-api-key' : 'Incorrect API key provided.');
    }
    if (malformed) return fail(400, 'We could not parse the JSON body of your request.');
    if (faults.status !== undefined && faults.status >= 400) {
      return fail(faults.status, `mock-upstream fault: HTTP ${faults.status}`);
    }

    const r: RouteRequest = {
      ctx,
      body: isRecord(body) ? body : {},
      faults,
      defaultChunks: this.chunks,
      nextId: this.nextId,
    };
    const method = req.method;
    if (method === 'POST') {
      if (path === '/v1/chat/completions') return handleChatCompletions(r);
      if (path === '/v1/messages') return handleAnthropicMessages(r);
      if (path === '/v1/embeddings') return handleEmbeddings(r);
      if (path === '/v1/messages/count_tokens') return handleAnthropicCountTokens(r);
    } else if (method === 'GET') {
      if (path === '/v1/models') return handleListModels(r);
      if (path.startsWith(MODELS_PREFIX) && path.length > MODELS_PREFIX.length) {
        let id: string | null = null;
        try {
          id = decodeURIComponent(path.slice(MODELS_PREFIX.length));
        } catch {
          // malformed escape: falls through to 404
        }
        if (id !== null) return handleRetrieveModel(r, id);
      }
    }
    return fail(404, `Invalid URL (${method ?? '?'} ${path})`, 'openai');
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
