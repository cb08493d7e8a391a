import { mkdir } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { SecretBox, type DB } from '@switchyard/core';
import {
  InProcessUsageBus,
  MemoryCoordinationStore,
  MemoryRelayRegistry,
  OutboundDispatchers,
} from '@switchyard/adapters';
import { Relay, RelayAnnouncer } from '@switchyard/relay';
import { ControlPlane } from '@switchyard/control-plane';
import { Accounting } from '@switchyard/accounting';
import type { SwitchyardConfig } from './config.js';
import { registerControlPlaneMetrics } from './control-plane-metrics.js';
import { databaseState, describeDatabase, openDatabase } from './database.js';
import { resolveAdminToken, resolveSecretKey } from './secrets.js';
import { closeHttp, drainDelay, createOpsApp, finishApp, listenHttp } from './http-host.js';
import { registerSnapshotGauges, registerUsageConsumerGauge } from './role-gauges.js';
import { applyConfigFileAtStart } from './declarative-file.js';

/**
 * Paths whose values never reach a log line, whatever a caller logs by mistake. Exact paths only:
 * wildcard paths make pino's redaction walk every logged object, which costs real CPU per request.
 */
export const LOG_REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers["x-api-key"]',
  'req.headers["x-api-key"]',
  'api_key',
  'apiKey',
  'key',
  'token',
  'body.api_key',
  'body.accounts',
];

/**
 * The process logger: JSON lines on stdout. Writes are asynchronous and buffered up to 4 KiB
 * (one write(2) per few dozen request lines instead of one per line), flushed at least every
 * 250 ms so a quiet gateway's lines still appear promptly, and flushed at exit by pino.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  let dest = destination;
  if (dest === undefined) {
    const boom = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => {
      try {
        boom.flush();
      } catch {
        // flush() throws while the destination is still opening or already closed; the next tick retries.
      }
    }, 250).unref();
    dest = boom;
  }
  return pino(
    {
      level,
      base: { service: 'switchyard' },
      redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest,
  );
}

/** A running all-in-one gateway. */
export interface AllInOne {
  url: string;
  port: number;
  /** The admin token generated on this start (first start only), else null. */
  generatedAdminToken: string | null;
  registry: Registry;
  db: Kysely<DB>;
  /** Resolves when no request is in flight and all usage so far is written. */
  idle(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish, flushes usage, closes pools. */
  close(): Promise<void>;
}

/**
 * Composition root of `switchyard serve --role all`: the relay, control plane and accounting in one
 * process on one port, over SQLite, in-memory coordination and the in-process usage bus.
 */
export async function startAllInOne(
  config: Readonly<SwitchyardConfig>,
  opts: {
    logger?: Logger;
    /** Where SWITCHYARD_CONFIG_FILE's `{ env }` secret references are resolved (the process environment). */
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<AllInOne> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  await mkdir(config.dataDir, { recursive: true });

  const secretKey = await resolveSecretKey(config.dataDir, config.secretKey);
  const admin = await resolveAdminToken(config.dataDir, config.adminToken);
  const db = await openDatabase(config.database);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const bus = new InProcessUsageBus();
  // One process: the relay's cooldowns and health reports are the admin API's too.
  const coordination = new MemoryCoordinationStore();
  // Its one relay announces itself here, so GET /admin/v1/relays answers as on a distributed install.
  const relays = new MemoryRelayRegistry();
  // The all-in-one runs next to local models (Ollama, vLLM on localhost): loopback is allowed by default.
  const upstreamPolicy = { allow: config.upstreamAllow ?? (['loopback'] as Array<'loopback' | 'private'>) };
  const dispatchers = new OutboundDispatchers({
    policy: upstreamPolicy,
    headersTimeoutMs: config.relay.timeouts.firstByteMs,
    bodyTimeoutMs: config.relay.timeouts.idleMs,
  });
  const controlPlane = new ControlPlane({
    db,
    secretBox: new SecretBox(secretKey),
    adminTokenHash: admin.hash,
    logger: logger.child({ role: 'control-plane' }),
    coordination,
    relays: { registry: relays, backend: 'memory' },
    upstreamPolicy,
    accountProbeIntervalMs: config.accountProbeIntervalMs,
    oauthRefreshIntervalMs: config.oauthRefreshIntervalMs,
    // Channel tests and probes connect the way the relay does: guarded, through the account's proxy.
    dispatcherFor: (proxyUrl) =>
      dispatchers.dispatcherFor({ proxyUrl, connectTimeoutMs: config.relay.timeouts.connectMs }),
  });
  await controlPlane.start();
  if (config.configFile !== null) {
    try {
      await applyConfigFileAtStart(controlPlane, config.configFile, opts.env ?? {}, logger);
    } catch (err) {
      await controlPlane.close();
      await dispatchers.close();
      await db.destroy();
      throw err;
    }
  }
  // The watcher gauge is the control-plane role's alone: no relay watches over gRPC here.
  const controlPlaneMetrics = registerControlPlaneMetrics(registry, {
    source: controlPlane.configSource,
    adminMount: '/admin/v1',
    logger: logger.child({ role: 'control-plane' }),
  });
  const accounting = new Accounting({ db, bus, logger: logger.child({ role: 'accounting' }), registry });
  accounting.start();
  registerUsageConsumerGauge(registry, bus);
  const stopSnapshotGauges = registerSnapshotGauges(registry, controlPlane.configSource);
  const relay = new Relay({
    configSource: controlPlane.configSource,
    coordination,
    usageBus: bus,
    logger: logger.child({ role: 'relay' }),
    registry,
    settings: config.relay,
    accountReporter: controlPlaneMetrics.countReports(controlPlane.accountStatus),
    dispatcherFor: (target) => dispatchers.dispatcherFor(target),
    ...(config.relayId !== null && { relayId: config.relayId }),
  });

  let closing = false;
  const announcer = new RelayAnnouncer({
    registry: relays,
    id: relay.id,
    logger,
    state: () => ({
      snapshotVersion: controlPlane.configSource.current().version,
      checks: { usage_bus: `in-process, ${bus.depth} waiting`, ...(closing && { shutting_down: 'yes' }) },
    }),
  });
  const stopAnnouncing = controlPlane.configSource.subscribe(() => void announcer.announceNow());
  announcer.start();
  const app = createOpsApp(registry, async () => {
    const database = await databaseState(db);
    const snapshot = controlPlane.configSource.current();
    return {
      ready: !closing && database === 'up',
      checks: {
        database,
        config: { version: snapshot.version, channels: snapshot.channels.length },
        usage_bus: { kind: 'in-process', depth: bus.depth },
        shutting_down: closing,
      },
    };
  });
  app.use('/admin/v1', controlPlaneMetrics.adminRequests, controlPlane.adminRouter());
  // A key owner's own usage and balance, read from the ledger (relays hand these paths on).
  app.use('/v1/dashboard', controlPlane.dashboardRouter());
  finishApp(app);

  // The relay's routes skip express (they are the hot path); everything else goes through the app.
  const { server, port, url } = await listenHttp(
    (req, res) => {
      if (!relay.dispatch(req, res)) app(req, res);
    },
    config.http.host,
    config.http.port,
  );
  logger.info(
    { url, database: describeDatabase(config.database), data_dir: config.dataDir },
    'switchyard listening',
  );

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    generatedAdminToken: admin.generated,
    registry,
    db,
    idle: () => relay.idle(),
    close() {
      closed ??= (async () => {
        closing = true;
        stopAnnouncing();
        await drainDelay(config.shutdownDrainDelayMs);
        await closeHttp(server, () => relay.idle());
        await relay.close();
        await announcer.stop();
        stopSnapshotGauges();
        controlPlaneMetrics.close();
        await dispatchers.close();
        await accounting.close();
        await bus.close();
        await controlPlane.close();
        await db.destroy();
      })();
      return closed;
    },
  };
}
