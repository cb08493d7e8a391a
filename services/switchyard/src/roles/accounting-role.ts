import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { NatsUsageBus } from '@switchyard/adapters';
import { Accounting } from '@switchyard/accounting';
import type { SwitchyardConfig } from '../config.js';
import { ConfigError } from '../config.js';
import { databaseState, describeDatabase, openDatabase } from '../database.js';
import { closeHttp, createOpsApp, finishApp, listenHttp } from '../http-host.js';
import { registerUsageConsumerGauge } from '../role-gauges.js';
import type { RoleHandle } from './role-handle.js';

/**
 * `switchyard serve --role accounting`: a durable JetStream consumer shared by every accounting
 * replica; writes the usage ledger idempotently and acks only after the write committed.
 * SWITCHYARD_HTTP_PORT serves health and metrics.
 */
export async function startAccountingRole(
  config: Readonly<SwitchyardConfig>,
  logger: Logger,
): Promise<RoleHandle> {
  const log = logger.child({ role: 'accounting' });
  const db = await openDatabase(config.database);
  let bus: NatsUsageBus;
  try {
    bus = await NatsUsageBus.connect({
      servers: config.internal.natsUrl!.split(','),
      stream: config.internal.natsStream,
      streamReplicas: config.internal.natsStreamReplicas,
      // Why: nats.js otherwise builds an Error (a stack trace) for every publish, a measurable cost per request.
      connection: { noAsyncTraces: true },
      subject: `switchyard.usage.${config.internal.natsStream.toLowerCase()}`,
      onError: (err) => log.warn({ err }, 'usage bus'),
    });
  } catch (err) {
    await db.destroy();
    throw new ConfigError(`SWITCHYARD_NATS_URL: cannot connect to NATS: ${(err as Error).message}`);
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerUsageConsumerGauge(registry, bus);
  const accounting = new Accounting({ db, bus, logger: log, registry });
  accounting.start();
  let closing = false;
  const app = createOpsApp(registry, async () => {
    const database = await databaseState(db);
    return { ready: !closing && database === 'up', checks: { database, shutting_down: closing } };
  });
  finishApp(app);
  const http = await listenHttp(app, config.http.host, config.http.port);
  log.info({ url: http.url, database: describeDatabase(config.database) }, 'switchyard listening');
  let closed: Promise<void> | null = null;
  return {
    role: 'accounting',
    url: http.url,
    port: http.port,
    idle: () => bus.drained(),
    close() {
      closed ??= (async () => {
        closing = true;
        await closeHttp(http.server, async () => undefined);
        await accounting.close();
        await bus.close();
        await db.destroy();
      })();
      return closed;
    },
  };
}
