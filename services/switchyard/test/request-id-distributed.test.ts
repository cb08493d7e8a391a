import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import {
  adminCall,
  distributedSuite,
  propagated,
  startDistributedStack,
  type DistributedStack,
} from './distributed-harness.js';
import { createLogger, loadConfig, startAccountingRole, type RoleHandle } from '../src/index.js';

/**
 * One request followed through the distributed roles by its id, on the machine's MariaDB, Redis and
 * NATS: the relay's lines, the control plane's line for the account report (the id came as gRPC
 * metadata) and accounting's usage line (the id came in the usage event). Every role logs at debug
 * into a capture stream; lines are parsed as JSON, and the raw text is searched for every secret.
 */
const suite = distributedSuite('requestid', 'c3');
const INTERNAL_TOKEN = suite.env('mysql://unused').SWITCHYARD_INTERNAL_TOKEN!;
const DISABLED_LINE = 'account disabled automatically: the upstream rejected its credential';

type LogLine = Record<string, unknown> & { msg: string };

/** A role's log: pino JSON lines as written, parsed on arrival; `next` awaits a line that matches. */
class LogCapture {
  readonly raw: string[] = [];
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  readonly #events = new EventEmitter();

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
          this.raw.push(text);
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          this.#events.emit('line', line);
        }
        cb();
      },
    });
    this.logger = createLogger('debug', sink);
  }

  find(pred: (l: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(pred);
  }

  /** The first line (already written or still to come) that matches; rejects after `ms`. */
  next(pred: (l: LogLine) => boolean, what: string, ms = 10_000): Promise<LogLine> {
    const seen = this.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('line', listener);
        reject(new Error(`no log line ${what} within ${ms} ms`));
      }, ms);
      const listener = (l: LogLine): void => {
        if (!pred(l)) return;
        clearTimeout(timer);
        this.#events.off('line', listener);
        resolve(l);
      };
      this.#events.on('line', listener);
    });
  }
}

const logs = { cp: new LogCapture(), relay: new LogCapture(), accounting: new LogCapture() };
const allRaw = (): string[] => [...logs.cp.raw, ...logs.relay.raw, ...logs.accounting.raw];

let stack: DistributedStack;
let mock: MockUpstream;
let cp: RoleHandle;
let relay: RoleHandle;
let accounting: RoleHandle;
let seq = 0;
/** Every secret of the suite: none may appear in any log line. */
const secrets = new Set<string>([suite.adminToken, INTERNAL_TOKEN]);

const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
  const res = await adminCall<T>(cp, suite.adminToken, method, route, body);
  expect(res.status, `${method} ${route}`).toBeLessThan(300);
  return res.body;
};

/**
 * A channel whose first account (fill-first) the upstream rejects with 401 and whose second answers,
 * and a key pinned to it: a request fails over, and the relay reports the first account.
 */
async function failingPool(): Promise<{ key: string; model: string; badAccountId: number }> {
  seq++;
  const model = `request-id-${seq}`;
  const bad = `sk-upstream-bad-${seq}-${suite.run}`;
  const good = `sk-upstream-good-${seq}-${suite.run}`;
  const ch = await admin<{ id: number; accounts: Array<{ id: number }> }>('POST', '/channels', {
    name: model,
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: [model],
    account_strategy: 'fill-first',
    accounts: [
      { name: 'bad', api_key: bad },
      { name: 'good', api_key: good },
    ],
  });
  const key = await admin<{ key: string }>('POST', '/keys', { name: model, pinned_channel_id: ch.id });
  for (const s of [bad, good, key.key]) secrets.add(s);
  mock.setCredentialFaults(bad, { status: 401 });
  await propagated(cp, [relay]);
  return { key: key.key, model, badAccountId: ch.accounts[0]!.id };
}

async function chat(key: string, model: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(`${relay.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'follow my id' }] }),
  });
  await res.arrayBuffer();
  return res;
}

beforeAll(async () => {
  stack = await startDistributedStack(suite, {
    relayIds: [undefined],
    loggers: { controlPlane: logs.cp.logger, relay: logs.relay.logger },
  });
  cp = stack.cp;
  relay = stack.relays[0]!;
  accounting = await startAccountingRole(
    loadConfig(suite.env(stack.database.url, {})),
    logs.accounting.logger,
  );
  mock = await startMockUpstream({ name: 'request-id-distributed' });
});

afterAll(async () => {
  await accounting?.close();
  await mock?.close();
  await stack?.close();
});

describe('one request id across relay, control plane and accounting', () => {
  it('when a caller sends its own x-request-id and the upstream rejects the first account, then the relay, the control plane (via gRPC metadata) and accounting (via the usage event) log the same ids', async () => {
    const p = await failingPool();
    const clientId = `client-${suite.run}-own-id`;
    const res = await chat(p.key, p.model, { 'x-request-id': clientId });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(clientId);

    // The relay keeps the caller's id beside its own unique one; every role logs both.
    const request = logs.relay.find((l) => l.msg === 'request' && l.client_request_id === clientId);
    expect(request).toMatchObject({ outcome: 'ok', status: '200', attempts: 2 });
    const requestId = request!.request_id;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      logs.relay.find(
        (l) => l.msg === 'upstream rejected the account credential' && l.request_id === requestId,
      ),
    ).toMatchObject({ account_id: p.badAccountId, upstream_status: 401 });

    // The relay awaited the report before failing over: the control plane's line is already written.
    expect(logs.cp.find((l) => l.msg === DISABLED_LINE && l.accountId === p.badAccountId)).toMatchObject({
      request_id: requestId,
      client_request_id: clientId,
      upstreamStatus: 401,
    });
    const usage = await logs.accounting.next(
      (l) => l.msg === 'usage recorded' && l.request_id === requestId,
      `'usage recorded' for ${String(requestId)}`,
    );
    expect(usage).toMatchObject({ client_request_id: clientId, model: p.model, status: 'ok' });

    const scrape = await (await fetch(`${cp.url}/metrics`)).text();
    expect(scrape).toMatch(/^switchyard_account_failure_reports_total\{outcome="disabled"\} 1$/m);
  });

  it('when a caller sends no request id, then the id in its response header is the one all three roles log', async () => {
    const p = await failingPool();
    const res = await chat(p.key, p.model);
    expect(res.status).toBe(200);
    const seen = res.headers.get('x-request-id');
    expect(seen).toMatch(/^[0-9a-f-]{36}$/);

    const request = logs.relay.find((l) => l.msg === 'request' && l.request_id === seen);
    expect(request).toMatchObject({ outcome: 'ok', attempts: 2 });
    expect(request).not.toHaveProperty('client_request_id');
    const disabled = logs.cp.find((l) => l.msg === DISABLED_LINE && l.accountId === p.badAccountId);
    expect(disabled).toMatchObject({ request_id: seen });
    expect(disabled).not.toHaveProperty('client_request_id');
    const usage = await logs.accounting.next(
      (l) => l.msg === 'usage recorded' && l.request_id === seen,
      `'usage recorded' for ${String(seen)}`,
    );
    expect(usage).not.toHaveProperty('client_request_id');
  });

  it('when a caller presents a wrong key, then it gets 401 and no secret of the suite appears in any role’s log', async () => {
    const p = await failingPool();
    const wrong = `${p.key.slice(0, -6)}wrong0`;
    secrets.add(wrong);
    const refused = await chat(wrong, p.model, { 'x-request-id': `wrong-key-${suite.run}` });
    expect(refused.status).toBe(401);
    // A line for the refused request exists, so the search below covered it.
    await logs.relay.next(
      (l) => l.msg === 'request' && l.client_request_id === `wrong-key-${suite.run}`,
      'for the refused request',
    );
    expect(await chat(p.key, p.model)).toHaveProperty('status', 200);
    await relay.idle!();

    const raw = allRaw();
    // The search is over each line's raw text: the refused request's own id is found that way.
    expect(raw.some((line) => line.includes(`wrong-key-${suite.run}`))).toBe(true);
    // The suite really logged something from every role at debug, accounting's usage lines included.
    expect(logs.accounting.lines.filter((l) => l.msg === 'usage recorded').length).toBeGreaterThanOrEqual(2);
    expect(logs.cp.lines.filter((l) => l.msg === DISABLED_LINE).length).toBeGreaterThanOrEqual(3);
    expect(secrets.size).toBeGreaterThanOrEqual(11);
    const leaks = [...secrets].flatMap((s) =>
      raw.filter((line) => line.includes(s)).map((line) => ({ s, line })),
    );
    expect(leaks).toEqual([]);
  });
});
