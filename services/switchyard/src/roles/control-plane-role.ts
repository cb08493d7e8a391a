import type { Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SecretBox, hashKey, parseSecretKey } from '@switchyard/core';
import {
  GrpcConfigServer,
  MemoryCoordinationStore,
  OutboundDispatchers,
  RedisCoordinationStore,
  RedisRelayRegistry,
  ResilientCoordinationStore,
} from '@switchyard/adapters';
import { ControlPlane } from '@switchyard/control-plane';
import type { SwitchyardConfig } from '../config.js';
import { registerControlPlaneMetrics } from '../control-plane-metrics.js';
import { databaseState, describeDatabase, openDatabase } from '../database.js';
import { serverCredentials } from '../grpc-credentials.js';
import { closeHttp, createOpsApp, drainDelay, finishApp, listenHttp } from '../http-host.js';
import type { RoleHandle } from './role-handle.js';
import { applyConfigFileAtStart } from '../declarative-file.js';

/**
 * `switchyard serve --role control-plane`: owns the database; admin REST on SWITCHYARD_HTTP_PORT and
 * the gRPC ConfigService relays watch on SWITCHYARD_GRPC_PORT.
 */
export async function startControlPlaneRole(
  config: Readonly<SwitchyardConfig>,
  logger: Logger,
  /** Where SWITCHYARD_CONFIG_FILE's `{ env }` secret references are resolved (the process environment). */
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<RoleHandle> {
  const db = await openDatabase(config.database);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // With Redis, the admin API shows the relays' cooldowns and breaker reports and clears cooldowns.
  const redis =
    config.internal.redisUrl === null
      ? null
      : new RedisCoordinationStore({ url: config.internal.redisUrl, keyPrefix: config.internal.redisPrefix });
  await redis?.ready().catch((err: unknown) => logger.warn({ err }, 'Redis not reachable at start'));
  const coordination =
    redis === null ? undefined : new ResilientCoordinationStore(redis, new MemoryCoordinationStore());
  // The relays announce themselves in the same Redis: GET /admin/v1/relays lists them.
  const relays =
    config.internal.redisUrl === null
      ? null
      : new RedisRelayRegistry({ url: config.internal.redisUrl, keyPrefix: config.internal.redisPrefix });
  const upstreamPolicy = { allow: config.upstreamAllow ?? [] };
  const dispatchers = new OutboundDispatchers({
    policy: upstreamPolicy,
    headersTimeoutMs: config.relay.timeouts.firstByteMs,
    bodyTimeoutMs: config.relay.timeouts.idleMs,
  });
  const controlPlane = new ControlPlane({
    db,
    secretBox: new SecretBox(parseSecretKey(config.secretKey!)),
    adminTokenHash: hashKey(config.adminToken!),
    logger: logger.child({ role: 'control-plane' }),
    upstreamPolicy,
    accountProbeIntervalMs: config.accountProbeIntervalMs,
    balanceRefreshIntervalMs: config.balanceRefreshIntervalMs,
    peerResyncIntervalMs: config.configResyncIntervalMs,
    oauthRefreshIntervalMs: config.oauthRefreshIntervalMs,
    dispatcherFor: (proxyUrl) =>
      dispatchers.dispatcherFor({ proxyUrl, connectTimeoutMs: config.relay.timeouts.connectMs }),
    ...(coordination !== undefined && { coordination }),
    ...(relays !== null && { relays: { registry: relays, backend: 'redis' as const } }),
  });
  /** Everything below the servers, in dependency order: on a failed start and at the end of close(). */
  const closeState = async (): Promise<void> => {
    await controlPlane.close();
    coordination?.close();
    await redis?.close();
    await relays?.close();
    await dispatchers.close();
    await db.destroy();
  };
  await controlPlane.start();
  if (config.configFile !== null) {
    try {
      await applyConfigFileAtStart(controlPlane, config.configFile, env, logger);
    } catch (err) {
      await closeState();
      throw err;
    }
  }
  const metrics = registerControlPlaneMetrics(registry, {
    source: controlPlane.configSource,
    adminMount: '/admin/v1',
    logger: logger.child({ role: 'control-plane' }),
  });
  const grpcServer = new GrpcConfigServer({
    source: controlPlane.configSource,
    accountReporter: metrics.countReports(controlPlane.accountStatus),
    internalToken: config.internal.token!,
    credentials: serverCredentials(config.internal.tls),
  });
  new Gauge({
    name: 'switchyard_config_watchers',
    help: 'Relays’ config watch streams open on this control plane.',
    registers: [registry],
    collect() {
      this.set(grpcServer.watchers);
    },
  });
  const grpcPort = await grpcServer.listen(`${config.http.host}:${config.internal.grpcPort}`);

  let closing = false;
  const app = createOpsApp(registry, async () => {
    const database = await databaseState(db);
    return {
      ready: !closing && database === 'up',
      checks: {
        database,
        config_version: controlPlane.configSource.current().version,
        // The newest usage row whose spend the snapshot carries (the relays' seed of balances).
        balances_as_of_usage_row: controlPlane.balanceRefresher.ledgerRow,
        shutting_down: closing,
      },
    };
  });
  app.use('/admin/v1', metrics.adminRequests, controlPlane.adminRouter());
  // A key owner's own usage and balance, read from the ledger (relays hand these paths on).
  app.use('/v1/dashboard', controlPlane.dashboardRouter());
  finishApp(app);
  const http = await listenHttp(app, config.http.host, config.http.port);
  logger.info(
    {
      role: 'control-plane',
      url: http.url,
      grpc_port: grpcPort,
      database: describeDatabase(config.database),
    },
    'switchyard listening',
  );
  let closed: Promise<void> | null = null;
  return {
    role: 'control-plane',
    url: http.url,
    port: http.port,
    grpcPort,
    close() {
      closed ??= (async () => {
        closing = true;
        await drainDelay(config.shutdownDrainDelayMs);
        await closeHttp(http.server, async () => undefined);
        await grpcServer.close();
        metrics.close();
        await closeState();
      })();
      return closed;
    },
  };
}
