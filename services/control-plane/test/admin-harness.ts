import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { expect } from 'vitest';
import {
  Kysely,
  type KyselyPlugin,
  type PluginTransformResultArgs,
  type QueryResult,
  type UnknownRow,
} from 'kysely';
import { pino } from 'pino';
import { createMysqlDialect, createNodeSqliteDialect, OutboundDispatchers } from '@switchyard/adapters';
import {
  type CoordinationStore,
  type DB,
  generateToken,
  hashKey,
  migrateToLatest,
  SecretBox,
} from '@switchyard/core';
import { ControlPlane } from '@switchyard/control-plane';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';

export interface AdminResponse {
  status: number;
  headers: Headers;
  /** Raw body text, for "this secret appears nowhere" assertions. */
  text: string;
  /** Parsed JSON body, or undefined when the body is empty. */
  body: unknown;
}

export interface AdminHarness {
  db: Kysely<DB>;
  controlPlane: ControlPlane;
  secretBox: SecretBox;
  adminToken: string;
  baseUrl: string;
  /** Parsed pino lines written so far. */
  logs: Record<string, unknown>[];
  /** Raw log text, for "this secret appears nowhere" assertions. */
  logText(): string;
  clock: { now: number };
  /** Calls the admin API with the admin token unless `token` is given (null: no Authorization header). */
  call(
    method: string,
    path: string,
    opts?: { json?: unknown; rawBody?: string; token?: string | null; contentType?: string },
  ): Promise<AdminResponse>;
  close(): Promise<void>;
}

/** Delays every query result, so "the response waits for X" cannot pass by winning a race. */
class SlowQueriesPlugin implements KyselyPlugin {
  readonly #ms: number;
  constructor(ms: number) {
    this.#ms = ms;
  }
  transformQuery<T>(args: { node: T }): T {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    await new Promise((resolve) => setTimeout(resolve, this.#ms));
    return args.result;
  }
}

export interface AdminHarnessOptions {
  /** Slows every query the control plane makes (not the test's own `db`). */
  queryDelayMs?: number;
  /** Handed to the control plane as the relays' store. */
  coordination?: CoordinationStore;
  /** The secret box's key (default: random); control planes sharing a database must share it. */
  secretKey?: Buffer;
  /** ControlPlaneOptions.peerResyncIntervalMs (default off). */
  peerResyncIntervalMs?: number;
}

/**
 * A control plane on an in-memory SQLite database (or the MySQL database at `mysqlUrl`), its router
 * mounted at /admin/v1 on port 0.
 */
export async function startAdminHarness(
  opts: AdminHarnessOptions & { mysqlUrl?: string } = {},
): Promise<AdminHarness> {
  const db = new Kysely<DB>({
    dialect:
      opts.mysqlUrl === undefined ? createNodeSqliteDialect(':memory:') : createMysqlDialect(opts.mysqlUrl),
  });
  await migrateToLatest(db);
  const secretBox = new SecretBox(opts.secretKey ?? randomBytes(32));
  const adminToken = generateToken();
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const clock = { now: Date.parse('2026-01-02T03:04:05.000Z') };
  // The gateway's own outbound dispatchers, as the composition roots pass them (the mocks are on loopback).
  const dispatchers = new OutboundDispatchers({ policy: { allow: ['loopback'] } });
  const controlPlane = new ControlPlane({
    db: opts.queryDelayMs === undefined ? db : db.withPlugin(new SlowQueriesPlugin(opts.queryDelayMs)),
    secretBox,
    adminTokenHash: hashKey(adminToken),
    logger,
    now: () => clock.now,
    dispatcherFor: (proxyUrl) => dispatchers.dispatcherFor({ proxyUrl, connectTimeoutMs: 10_000 }),
    ...(opts.coordination !== undefined && { coordination: opts.coordination }),
    ...(opts.peerResyncIntervalMs !== undefined && { peerResyncIntervalMs: opts.peerResyncIntervalMs }),
  });
  await controlPlane.start();

  const app = express();
  app.use('/admin/v1', controlPlane.adminRouter());
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/admin/v1`;

  return {
    db,
    controlPlane,
    secretBox,
    adminToken,
    baseUrl,
    clock,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join(''),
    async call(method, path, callOpts = {}) {
      const headers: Record<string, string> = {};
      const token = callOpts.token === undefined ? adminToken : callOpts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (callOpts.json !== undefined) body = JSON.stringify(callOpts.json);
      if (callOpts.rawBody !== undefined) body = callOpts.rawBody;
      if (body !== undefined) headers['content-type'] = callOpts.contentType ?? 'application/json';
      const res = await fetch(baseUrl + path, { method, headers, body });
      const text = await res.text();
      return {
        status: res.status,
        headers: res.headers,
        text,
        body: text === '' ? undefined : JSON.parse(text),
      };
    },
    async close() {
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await controlPlane.close();
      await dispatchers.close();
      await db.destroy();
    },
  };
}

/** startAdminHarness on a fresh MariaDB database of its own, which `close()` drops. */
export async function startMysqlAdminHarness(opts: AdminHarnessOptions = {}): Promise<AdminHarness> {
  const database = await createTestDatabase();
  let harness: AdminHarness;
  try {
    harness = await startAdminHarness({ ...opts, mysqlUrl: database.url });
  } catch (err) {
    await database.drop();
    throw err;
  }
  const close = harness.close.bind(harness);
  harness.close = async () => {
    await close();
    await database.drop();
  };
  return harness;
}

/** The databases a suite that must hold on both runs on: SQLite in memory, and a fresh MariaDB database. */
export const ADMIN_DATABASES = [
  { name: 'SQLite', start: startAdminHarness },
  { name: 'MySQL', start: startMysqlAdminHarness },
] as const;

/** A valid POST /channels body; override fields per test. */
export function channelBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'openai-main',
    provider: 'openai',
    base_url: 'https://api.openai.com/v1/',
    models: ['gpt-4o', 'gpt-4o-mini*'],
    accounts: [{ api_key: 'sk-upstream-secret-AAAAAAAAAAAA' }],
    ...overrides,
  };
}

/** Narrows a JSON body to an object for property access in assertions. */
export function obj(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected a JSON object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** The `data` array of a list response. */
export function dataOf(value: unknown): Record<string, unknown>[] {
  const data = obj(value).data;
  if (!Array.isArray(data)) throw new Error('expected a data array');
  return data.map(obj);
}

/** The `error` object of an error response. */
export function errorOf(body: unknown): Record<string, unknown> {
  return obj(obj(body).error);
}

/** One page of a paged list. */
export interface ListPage {
  data: Record<string, unknown>[];
  next_cursor: string | null;
}

/** GETs one page of a paged list (200 expected). */
export async function getPage(h: AdminHarness, path: string): Promise<ListPage> {
  const res = await h.call('GET', path);
  expect(res.status, res.text).toBe(200);
  return { data: dataOf(res.body), next_cursor: obj(res.body).next_cursor as string | null };
}

/**
 * Follows next_cursor from `path` to the end; returns every row's `field` and the page sizes. Why
 * 100 pages at most: more than any test lists, so a cursor that never ends fails instead of hanging.
 */
export async function walkPages(
  h: AdminHarness,
  path: string,
  field = 'name',
): Promise<{ values: string[]; sizes: number[] }> {
  const values: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const p: ListPage = await getPage(
      h,
      cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`,
    );
    values.push(...p.data.map((row) => String(row[field])));
    sizes.push(p.data.length);
    cursor = p.next_cursor;
  } while (cursor !== null && sizes.length < 100);
  return { values, sizes };
}
