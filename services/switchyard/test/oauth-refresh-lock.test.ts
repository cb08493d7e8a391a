import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDialect, OutboundDispatchers } from '@switchyard/adapters';
import { ControlPlane } from '@switchyard/control-plane';
import { type DB, generateToken, hashKey, migrateToLatest, SecretBox } from '@switchyard/core';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';

/**
 * Two control-plane replicas on one MariaDB database refresh the same OAuth accounts at once: the
 * refresh lease must let exactly one of them refresh each account at a time, since a rotating refresh
 * token works once and a second use would kill the account.
 */
const ACCOUNTS = 5;
/** The replicas' outbound dispatchers, as the composition roots pass them (the mock is on loopback). */
const dispatchers = new OutboundDispatchers({ policy: { allow: ['loopback'] } });
const ROUNDS = 3;
/** Why 200 ms: slow enough that refreshes of both replicas overlap in time, fast enough for a test. */
const TOKEN_DELAY_MS = 200;

interface Replica {
  db: Kysely<DB>;
  cp: ControlPlane;
  logs: string[];
}

const secretBox = new SecretBox(randomBytes(32));
const adminToken = generateToken();
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let mock: MockUpstream;
let replicas: Replica[] = [];
let server: Server;
let adminUrl: string;

async function startReplica(): Promise<Replica> {
  const db = new Kysely<DB>({ dialect: createMysqlDialect(database.url) });
  const logs: string[] = [];
  const cp = new ControlPlane({
    db,
    secretBox,
    adminTokenHash: hashKey(adminToken),
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
    dispatcherFor: (proxyUrl) => dispatchers.dispatcherFor({ proxyUrl, connectTimeoutMs: 10_000 }),
    // The test drives the ticks itself.
    oauthRefreshIntervalMs: 0,
    accountProbeIntervalMs: 0,
  });
  await cp.start();
  return { db, cp, logs };
}

async function admin(
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: await res.json() };
}

/** Signs in one account through replica 0's admin API and the mock's authorization server. */
async function signIn(channelId: number, name: string): Promise<number> {
  const started = await admin('POST', '/accounts/oauth/start', {
    profile: 'anthropic-claude-code',
    channel_id: channelId,
    name,
    authorize_url: `${mock.url}/oauth/authorize`,
    token_url: `${mock.url}/oauth/token`,
  });
  expect(started.status).toBe(200);
  const redirect = await fetch((started.body as { authorization_url: string }).authorization_url, {
    redirect: 'manual',
  });
  const created = await admin('POST', '/accounts/oauth/callback', {
    callback_url: redirect.headers.get('location'),
  });
  expect(created.status).toBe(201);
  return (created.body as { id: number }).id;
}

async function storedTokens(
  db: Kysely<DB>,
): Promise<Map<number, { access_token: string; refresh_token: string }>> {
  const rows = await db.selectFrom('accounts').selectAll().where('kind', '=', 'oauth').execute();
  return new Map(
    rows.map((r) => [
      Number(r.id),
      JSON.parse(secretBox.decrypt(r.credential)) as { access_token: string; refresh_token: string },
    ]),
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  const migrator = new Kysely<DB>({ dialect: createMysqlDialect(database.url) });
  await migrateToLatest(migrator);
  await migrator.destroy();
  mock = await startMockUpstream();
  replicas = [await startReplica(), await startReplica()];
  const app = express();
  app.use('/admin/v1', replicas[0]?.cp.adminRouter() ?? express.Router());
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/v1`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  for (const r of replicas) {
    await r.cp.close();
    await r.db.destroy();
  }
  await dispatchers.close();
  await mock?.close();
  await database?.drop();
});

describe('OAuth refresh across two control-plane replicas on MariaDB', () => {
  it('when both refresh the same near-expiry accounts concurrently for several rounds, then each refresh token is used once, never two refreshes of one account overlap, and all accounts end enabled with fresh tokens in both snapshots', async () => {
    const channel = await admin('POST', '/channels', {
      name: 'claude',
      provider: 'anthropic',
      base_url: mock.url,
      models: ['claude-*'],
      accounts: [{ api_key: 'sk-ant-api-key-AAAA' }],
    });
    expect(channel.status).toBe(201);
    // 60 s tokens are always inside the profiles' 5-minute margin: every tick finds every account due.
    mock.oauth.expiresInSeconds = 60;
    const ids: number[] = [];
    for (let i = 0; i < ACCOUNTS; i++)
      ids.push(await signIn((channel.body as { id: number }).id, `claude-${i}`));

    mock.oauth.tokenDelayMs = TOKEN_DELAY_MS;
    for (let round = 0; round < ROUNDS; round++) {
      // The last round hands out hour-long tokens, so the accounts end outside the margin.
      if (round === ROUNDS - 1) mock.oauth.expiresInSeconds = 3600;
      await Promise.all(replicas.map((r) => r.cp.oauthRefresher.refreshNow()));
    }
    // A quiet tick on each: nothing is due, but each replica sees what the other changed and republishes.
    await Promise.all(replicas.map((r) => r.cp.oauthRefresher.refreshNow()));

    const refreshes = mock.oauth.tokenRequests.filter((r) => r.grantType === 'refresh_token');
    expect(refreshes.map((r) => r.status).every((s) => s === 200)).toBe(true);
    const used = refreshes.map((r) => r.refreshToken);
    expect(new Set(used).size).toBe(used.length);
    // Every account was due at the start of every round.
    expect(refreshes.length).toBeGreaterThanOrEqual(ACCOUNTS * ROUNDS);
    expect(mock.oauth.maxConcurrentRefreshesPerLineage).toBe(1);
    // The replicas really ran side by side (several lineages in flight at once).
    expect(mock.oauth.maxConcurrentRefreshes).toBeGreaterThan(1);

    const [first, second] = replicas;
    if (first === undefined || second === undefined) throw new Error('two replicas expected');
    const tokens = await storedTokens(first.db);
    expect([...tokens.keys()].sort()).toEqual([...ids].sort());
    const rows = await first.db.selectFrom('accounts').selectAll().where('kind', '=', 'oauth').execute();
    for (const row of rows) {
      expect(Number(row.enabled), `account ${row.id}`).toBe(1);
      expect(row.refresh_lease_owner).toBeNull();
      expect(Number(row.token_expires_at)).toBeGreaterThan(Date.now() + 30 * 60_000);
    }
    for (const [id, t] of tokens) {
      expect(mock.oauth.isValidAccessToken(t.access_token), `account ${id}`).toBe(true);
      expect(used).not.toContain(t.refresh_token);
      for (const r of [first, second]) {
        const account = r.cp.configSource
          .current()
          .channels.flatMap((c) => c.accounts)
          .find((a) => a.id === id);
        expect(account?.apiKey, `account ${id} in a replica's snapshot`).toBe(t.access_token);
        expect(account?.enabled).toBe(true);
      }
    }
    for (const r of replicas) {
      const text = r.logs.join('');
      for (const t of tokens.values()) {
        expect(text).not.toContain(t.access_token);
        expect(text).not.toContain(t.refresh_token);
      }
    }
  }, 60_000);
});
