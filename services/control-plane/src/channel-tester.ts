import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import {
  accountDecorations,
  GatewayError,
  isGlob,
  type Channel,
  type ChannelAccount,
  type DB,
  type SecretBox,
} from '@switchyard/core';
import {
  providerFor,
  upstreamCodecFor,
  type CanonicalRequest,
  type ProviderDeps,
  type UpstreamCall,
  type UpstreamCodec,
} from '@switchyard/providers';
import type { StoredAccount, StoredChannel } from './channel-repository.js';
import { hostRefusal, type DispatcherFor, type UpstreamPolicy } from './upstream-policy.js';

/** How one account answered a test request. Never carries a credential. */
export interface AccountTestResult {
  accountId: number;
  accountName: string;
  ok: boolean;
  /** The upstream's HTTP status, or null when no answer came (unreachable, refused, timed out). */
  status: number | null;
  /** From sending the request to the end of the answer; 0 when nothing was sent. */
  latencyMs: number;
  /** The upstream model the request named. */
  model: string;
  error: { code: string; message: string } | null;
}

export interface ChannelTesterOptions {
  /** Reads `proxies` for accounts that have one. */
  db: Kysely<DB>;
  /** Decrypts account credentials and proxy URLs. */
  secretBox: SecretBox;
  /** Checked against the upstream's host before connecting. */
  policy: UpstreamPolicy;
  dispatcherFor: DispatcherFor;
  logger: Logger;
  /** Clock in epoch milliseconds (request signing, token expiry). */
  now: () => number;
  /** Budget of one test, connect to last byte; default TEST_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * Why 15 s: a one-token answer takes well under a second from a healthy upstream; 15 s covers a cold
 * start or a slow proxy, and keeps an admin request that tests several accounts at once short.
 */
export const TEST_TIMEOUT_MS = 15_000;

/** Why 1 MiB: a one-token answer is a few hundred bytes; a larger body is a misdirected base_url. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Why 300: enough for any provider's error sentence, short enough for a table cell. */
const MAX_MESSAGE_CHARS = 300;

/**
 * The model a test asks for: `requested` mapped through the channel's model_mapping as the relay would
 * map it, else the channel's first model that is not a glob, else its first model_mapping target that
 * is not one; null when the channel names no usable model.
 */
export function testModelFor(channel: StoredChannel, requested?: string): string | null {
  if (requested !== undefined) {
    return Object.hasOwn(channel.modelMapping, requested) ? channel.modelMapping[requested]! : requested;
  }
  const own = channel.models.find((m) => !isGlob(m));
  if (own !== undefined) return own;
  return Object.values(channel.modelMapping).find((m) => !isGlob(m)) ?? null;
}

/**
 * Sends one tiny generation request (one user message "ping", at most one output token) for an
 * account, exactly as the relay would prepare it: the channel's provider adapter and upstream codec,
 * the account's credential and proxy. The upstream's host must pass the upstream policy before any
 * connection. Changes nothing in the database; outcomes, good or bad, are results, never throws
 * (except for programming errors). Credentials and proxy URLs never appear in results or logs.
 */
export class ChannelTester {
  readonly #opts: ChannelTesterOptions;
  readonly #timeoutMs: number;

  constructor(opts: ChannelTesterOptions) {
    this.#opts = opts;
    this.#timeoutMs = opts.timeoutMs ?? TEST_TIMEOUT_MS;
  }

  /** The channel and account of an account id, or undefined when there is none. */
  async locateAccount(
    accountId: number,
    channels: { get(id: number): Promise<StoredChannel | undefined> },
  ): Promise<{ channel: StoredChannel; account: StoredAccount } | undefined> {
    const row = await this.#opts.db
      .selectFrom('accounts')
      .select('channel_id')
      .where('id', '=', accountId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const channel = await channels.get(Number(row.channel_id));
    const account = channel?.accounts.find((a) => a.id === accountId);
    return channel === undefined || account === undefined ? undefined : { channel, account };
  }

  /**
   * Tests `account` of `channel` with `model` (an upstream model name, see testModelFor). `signal`
   * cuts the test short (the caller is shutting down); the test's own timeout applies either way.
   */
  async testAccount(
    channel: StoredChannel,
    account: StoredAccount,
    model: string,
    signal?: AbortSignal,
  ): Promise<AccountTestResult> {
    const result = await new TestRun(this.#opts, this.#timeoutMs, signal).execute(channel, account, model);
    const logged = {
      channelId: channel.id,
      accountId: account.id,
      ok: result.ok,
      status: result.status,
      latencyMs: result.latencyMs,
      model,
      code: result.error?.code ?? null,
    };
    if (result.ok) this.#opts.logger.info(logged, 'account test succeeded');
    else this.#opts.logger.warn(logged, 'account test failed');
    return result;
  }
}

/** A failure of one test step, already in the result's terms. */
class TestFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** One test: its deadline, the secrets to keep out of messages, the timing. */
class TestRun {
  /** Decrypted credentials and proxy URLs of this test, cut out of every message. */
  readonly secrets: string[] = [];
  readonly #cancel: AbortSignal | undefined;
  readonly #deadline: AbortSignal;
  #t0: number | null = null;

  constructor(
    readonly opts: ChannelTesterOptions,
    readonly timeoutMs: number,
    cancel: AbortSignal | undefined,
  ) {
    const timeout = AbortSignal.timeout(timeoutMs);
    this.#cancel = cancel;
    this.#deadline = cancel === undefined ? timeout : AbortSignal.any([cancel, timeout]);
  }

  async execute(channel: StoredChannel, account: StoredAccount, model: string): Promise<AccountTestResult> {
    const base = { accountId: account.id, accountName: account.name, model };
    try {
      const status = await this.#send(channel, account, model);
      return { ...base, ok: true, status, latencyMs: this.#latency(), error: null };
    } catch (err) {
      const failure = this.#toFailure(err);
      return {
        ...base,
        ok: false,
        status: failure.status,
        latencyMs: this.#latency(),
        error: { code: failure.code, message: this.#redact(failure.message) },
      };
    }
  }

  async #send(channel: StoredChannel, stored: StoredAccount, model: string): Promise<number> {
    const account = this.#account(stored);
    const proxyUrl = await this.#proxyUrl(stored);
    const target: Channel = { ...channel, accounts: [account] };
    const provider = providerFor(channel.provider);
    const format = provider.chatFormat(target, model);
    const codec = upstreamCodecFor(format);
    if (codec === null) {
      throw new TestFailure(
        'unsupported_upstream_format',
        `The channel's provider speaks '${format}', which the gateway cannot send.`,
      );
    }
    const dispatcher = this.opts.dispatcherFor(proxyUrl);
    const call: UpstreamCall = {
      channel: target,
      account,
      operation: 'chat',
      format,
      model,
      stream: false,
      body: codec.buildRequest(pingRequest(model), model),
      clientHeaders: {},
    };
    const prepared = await provider.prepare(call, this.#deps(dispatcher));
    this.#admit(prepared.origin);
    this.#t0 = performance.now();
    const res = await dispatcher.request({
      origin: prepared.origin,
      path: prepared.path,
      method: prepared.method,
      headers: prepared.headers,
      body: prepared.method === 'GET' ? undefined : prepared.body,
      signal: this.#deadline,
    });
    const text = await readCapped(res.body);
    return this.#judge(res.statusCode, text, codec);
  }

  /** The account as a provider adapter takes it, with its credential decrypted. */
  #account(stored: StoredAccount): ChannelAccount {
    let credential: string;
    try {
      credential = this.opts.secretBox.decrypt(stored.credential);
    } catch {
      throw new TestFailure(
        'credential_unreadable',
        'The account credential does not decrypt with the configured secret key.',
      );
    }
    this.secrets.push(credential);
    const apiKey = stored.kind === 'oauth' ? accessTokenOf(credential) : credential;
    if (apiKey !== credential) this.secrets.push(apiKey);
    return {
      id: stored.id,
      channelId: stored.channelId,
      name: stored.name,
      enabled: stored.enabled,
      apiKey,
      kind: stored.kind,
      ...accountDecorations(stored.kind, stored.oauthProfile),
      proxyUrl: null,
    };
  }

  /** The account's proxy URL (decrypted), null for a direct connection; a missing or disabled proxy fails the test. */
  async #proxyUrl(account: StoredAccount): Promise<string | null> {
    if (account.proxyId === null) return null;
    const row = await this.opts.db
      .selectFrom('proxies')
      .select(['url', 'enabled'])
      .where('id', '=', account.proxyId)
      .executeTakeFirst();
    // Falling back to a direct connection would reveal the gateway's own address to the upstream.
    if (row === undefined || Number(row.enabled) !== 1) {
      throw new TestFailure(
        'proxy_unavailable',
        `The account's proxy (id ${account.proxyId}) is ${row === undefined ? 'missing' : 'disabled'}.`,
      );
    }
    let url: string;
    try {
      url = this.opts.secretBox.decrypt(row.url);
    } catch {
      throw new TestFailure(
        'proxy_unavailable',
        `The account's proxy (id ${account.proxyId}) does not decrypt.`,
      );
    }
    this.secrets.push(url);
    // A proxy's error may quote its password without the rest of the URL.
    const password = URL.canParse(url) ? new URL(url).password : '';
    if (password !== '') this.secrets.push(password, decodeURIComponent(password));
    return url;
  }

  /** Refuses an upstream host the policy does not allow, before any connection. */
  #admit(originOrUrl: string): void {
    const refusal = hostRefusal(new URL(originOrUrl).hostname, this.opts.policy);
    if (refusal !== null) {
      throw new TestFailure('upstream_address_refused', `The upstream URL ${refusal}.`);
    }
  }

  /** What providers may use: the clock, and token exchanges through the same policy and dispatcher. */
  #deps(dispatcher: Dispatcher): ProviderDeps {
    return {
      now: this.opts.now,
      postForm: async (url, form, signal) => {
        this.#admit(url);
        const u = new URL(url);
        const res = await dispatcher.request({
          origin: u.origin,
          path: `${u.pathname}${u.search}`,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
          signal: AbortSignal.any([signal, this.#deadline]),
        });
        return { status: res.statusCode, text: await readCapped(res.body) };
      },
    };
  }

  /** Sorts an answer: 2xx with a well-formed answer passes; anything else is a failure with its status. */
  #judge(status: number, text: string, codec: UpstreamCodec): number {
    if (status >= 300 && status < 400) {
      throw new TestFailure(
        'upstream_redirect',
        `The upstream answered with a redirect (HTTP ${status}); check the channel's base_url.`,
        status,
      );
    }
    if (status >= 400) {
      const detail = codec.errorMessage(text);
      const message = `The upstream answered HTTP ${status}${detail === null ? '.' : `: ${detail}`}`;
      throw new TestFailure(statusCode(status), message, status);
    }
    try {
      codec.parseResponse(JSON.parse(text));
    } catch {
      throw new TestFailure(
        'upstream_bad_response',
        `The upstream answered HTTP ${status} with a body that is not a ${codec.format} answer; check the channel's base_url.`,
        status,
      );
    }
    return status;
  }

  #toFailure(err: unknown): TestFailure {
    if (err instanceof TestFailure) return err;
    if (this.#cancel?.aborted === true) return new TestFailure('test_cancelled', 'The test was cut short.');
    if (this.#deadline.aborted) {
      return new TestFailure(
        'upstream_timeout',
        `The upstream did not answer within ${this.timeoutMs / 1000} s.`,
      );
    }
    // The outbound dispatchers' address guard refused the connection (it may sit in a cause chain).
    const refused = findCause(err, GatewayError);
    if (refused?.code === 'upstream_address_refused') {
      return new TestFailure('upstream_address_refused', refused.message);
    }
    if (err instanceof GatewayError) {
      const upstreamStatus = (err as { upstreamStatus?: unknown }).upstreamStatus;
      return new TestFailure(
        err.code,
        err.message,
        typeof upstreamStatus === 'number' ? upstreamStatus : null,
      );
    }
    const sys = findSystemCode(err);
    return new TestFailure(
      'upstream_unreachable',
      `Could not reach the upstream${sys === null ? '' : ` (${sys})`}.`,
    );
  }

  /** Whole milliseconds, rounded up: a test that sent anything took some time. */
  #latency(): number {
    return this.#t0 === null ? 0 : Math.ceil(performance.now() - this.#t0);
  }

  /** The message with every secret of this test cut out, and capped. */
  #redact(message: string): string {
    let out = message;
    for (const s of this.secrets) if (s.length > 0) out = out.split(s).join('[redacted]');
    return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS - 1)}…` : out;
  }
}

/** The canonical request of every test: one "ping", one output token, nothing else. */
function pingRequest(model: string): CanonicalRequest {
  return {
    model,
    system: null,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'ping' }] }],
    tools: [],
    toolChoice: null,
    parallelToolCalls: null,
    maxTokens: 1,
    temperature: null,
    topP: null,
    topK: null,
    stop: [],
    stream: false,
    n: 1,
    responseFormat: null,
    reasoning: null,
    user: null,
  };
}

/** The same codes the relay's attempts use for these statuses. */
function statusCode(status: number): string {
  if (status === 401 || status === 403) return 'upstream_auth_failed';
  if (status === 429) return 'upstream_rate_limited';
  if (status >= 500) return 'upstream_error';
  return 'upstream_rejected';
}

/** An OAuth account's stored credential is `{"access_token": ..., "refresh_token": ...}`. */
function accessTokenOf(credential: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(credential);
  } catch {
    parsed = undefined;
  }
  const token = (parsed as { access_token?: unknown } | undefined)?.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new TestFailure(
      'credential_unreadable',
      'The OAuth account has no access token; authorize it again.',
    );
  }
  return token;
}

/** Reads a body up to MAX_ANSWER_BYTES; a longer one is cut off there (it fails parsing anyway). */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size >= MAX_ANSWER_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES);
}

function findCause<T extends Error>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof type) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A socket error's code (ECONNREFUSED, ENOTFOUND, UND_ERR_...) anywhere in the cause chain. */
function findSystemCode(err: unknown): string | null {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
