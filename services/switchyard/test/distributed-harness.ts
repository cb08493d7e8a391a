import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { connect as natsConnect } from 'nats';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { startTcpProxy, type TcpProxy } from '../../adapters/test/tcp-proxy.js';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';
import {
  createLogger,
  loadConfig,
  startControlPlaneRole,
  startRelayRole,
  type RoleHandle,
} from '../src/index.js';

/** The shared services the distributed suites run against (CI starts them; see the README). */
export const NATS_URL = process.env.SWITCHYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A logger that drops everything: the suites assert on behaviour, not on log lines. */
export const quietLogger = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));

/**
 * One suite's private slice of the shared services: its own NATS stream and Redis key prefix, the
 * environment every role of the suite starts from, and the cleanup of both.
 */
export interface DistributedSuite {
  /** Random per run: names made from it never meet another run's leftovers. */
  run: string;
  stream: string;
  redisPrefix: string;
  adminToken: string;
  /** The role environment: `extra` on top of the suite's common settings. */
  env(databaseUrl: string, extra?: Record<string, string>): Record<string, string>;
  /** Deletes the suite's NATS stream and Redis keys. */
  cleanup(): Promise<void>;
}

export function distributedSuite(name: string, secretByte: string): DistributedSuite {
  const run = randomBytes(4).toString('hex');
  const stream = `SY_${name.toUpperCase()}_${run}`;
  const redisPrefix = `switchyard-${name}:${run}:`;
  const adminToken = `${name}-admin-token-0123456789`;
  return {
    run,
    stream,
    redisPrefix,
    adminToken,
    env: (databaseUrl, extra = {}) => ({
      SWITCHYARD_HTTP_HOST: '127.0.0.1',
      SWITCHYARD_HTTP_PORT: '0',
      SWITCHYARD_INTERNAL_TOKEN: 'internal-token-0123456789abcdef',
      SWITCHYARD_DATABASE_URL: databaseUrl,
      SWITCHYARD_ADMIN_TOKEN: adminToken,
      SWITCHYARD_SECRET_KEY: secretByte.repeat(32),
      SWITCHYARD_NATS_URL: NATS_URL,
      SWITCHYARD_NATS_STREAM: stream,
      SWITCHYARD_REDIS_URL: REDIS_URL,
      SWITCHYARD_REDIS_PREFIX: redisPrefix,
      // The mock upstream listens on loopback, which distributed roles refuse by default.
      SWITCHYARD_UPSTREAM_ALLOW: 'loopback',
      ...extra,
    }),
    async cleanup() {
      const nc = await natsConnect({ servers: NATS_URL });
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
      await nc.close();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

/** An admin REST call against the control plane: the status and the parsed body (null when empty). */
export async function adminCall<T>(
  cp: RoleHandle,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${cp.url}/admin/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

/** The config snapshot version a role serves, from its `/readyz`. */
export async function configVersion(r: RoleHandle): Promise<number> {
  const ready = (await (await fetch(`${r.url}/readyz`)).json()) as { checks: { config_version: number } };
  return ready.checks.config_version;
}

/**
 * Resolves once every relay serves at least `version` (default: the control plane's current one);
 * returns how long that took in ms. Throws after 5 s, naming the versions seen.
 */
export async function propagated(
  cp: RoleHandle,
  relays: readonly RoleHandle[],
  version?: number,
): Promise<number> {
  const want = version ?? (await configVersion(cp));
  const t0 = performance.now();
  for (;;) {
    const versions = await Promise.all(relays.map(configVersion));
    if (versions.every((v) => v >= want)) return performance.now() - t0;
    if (performance.now() - t0 > 5_000) throw new Error(`relays at ${versions.join(', ')}, wanted ${want}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A relay of the suite whose Redis connection goes through a TCP proxy the test can cut, for outage
 * tests that take Redis away from one relay without stopping it for the others.
 */
export async function startRelayBehindRedisProxy(
  suite: DistributedSuite,
  databaseUrl: string,
  cp: RoleHandle,
  extra: Record<string, string> = {},
): Promise<{ relay: RoleHandle; proxy: TcpProxy }> {
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
  const relay = await startRelayRole(
    loadConfig(
      suite.env(databaseUrl, {
        SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${cp.grpcPort}`,
        SWITCHYARD_REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        ...extra,
      }),
    ),
    quietLogger,
  );
  return { relay, proxy };
}

/** A suite's own MariaDB database, control plane and relays (accounting, when wanted, is the suite's). */
export interface DistributedStack {
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  cp: RoleHandle;
  relays: RoleHandle[];
  /** Closes the relays and the control plane, then drops the suite's stream, keys and database. */
  close(): Promise<void>;
}

/**
 * Starts a fresh database, a control plane on it and one relay per entry of `relayIds` (an id for
 * health reports, or undefined for the default), in that order, all with the suite's environment.
 */
export async function startDistributedStack(
  suite: DistributedSuite,
  opts: {
    relayIds: ReadonlyArray<string | undefined>;
    controlPlaneEnv?: Record<string, string>;
    /** Loggers for suites that assert on log lines (default: quietLogger). */
    loggers?: { controlPlane?: Logger; relay?: Logger };
  },
): Promise<DistributedStack> {
  const database = await createTestDatabase();
  const cp = await startControlPlaneRole(
    loadConfig(suite.env(database.url, { SWITCHYARD_GRPC_PORT: '0', ...opts.controlPlaneEnv })),
    opts.loggers?.controlPlane ?? quietLogger,
  );
  const relays: RoleHandle[] = [];
  for (const id of opts.relayIds) {
    const extra: Record<string, string> = { SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${cp.grpcPort}` };
    if (id !== undefined) extra.SWITCHYARD_RELAY_ID = id;
    relays.push(
      await startRelayRole(loadConfig(suite.env(database.url, extra)), opts.loggers?.relay ?? quietLogger),
    );
  }
  return {
    database,
    cp,
    relays,
    async close() {
      for (const r of relays) await r.close();
      await cp.close();
      await suite.cleanup();
      await database.drop();
    },
  };
}
