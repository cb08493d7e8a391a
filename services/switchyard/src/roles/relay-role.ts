import type { Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  GrpcConfigSource,
  MemoryCoordinationStore,
  NatsUsageBus,
  RedisCoordinationStore,
  RedisRelayRegistry,
  ResilientCoordinationStore,
  OutboundDispatchers,
} from '@switchyard/adapters';
import { Relay, RelayAnnouncer } from '@switchyard/relay';
import type { SwitchyardConfig } from '../config.js';
import { ConfigError } from '../config.js';
import { channelCredentials } from '../grpc-credentials.js';
import { closeHttp, drainDelay, createOpsApp, finishApp, listenHttp } from '../http-host.js';
import { registerSnapshotGauges } from '../role-gauges.js';
import type { RoleHandle } from './role-handle.js';

/**
 * `switchyard serve --role relay`: a stateless relay. Config comes from the control plane over gRPC
 * (it starts only after a first snapshot, then keeps serving from the last one), round-robin
 * counters from Redis (per-process state while Redis is away), usage goes to NATS JetStream.
 * It never touches the database.
 */
export async function startRelayRole(
  config: Readonly<SwitchyardConfig>,
  logger: Logger,
): Promise<RoleHandle> {
  const log = logger.child({ role: 'relay' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const controlPlaneUp = new Gauge({
    name: 'switchyard_config_stream_up',
    help: '1 while the watch stream to the control plane is open.',
    registers,
  });
  let configSource: GrpcConfigSource;
  try {
    configSource = await GrpcConfigSource.connect({
      address: config.internal.controlPlaneUrl!,
      internalToken: config.internal.token!,
      credentials: channelCredentials(config.internal.tls),
      ...(config.internal.snapshotFile === null ? {} : { snapshotFile: config.internal.snapshotFile }),
      onStateChange: (s) => {
        controlPlaneUp.set(s.connected ? 1 : 0);
        if (s.connected) log.info('config stream to the control plane is up');
        else
          log.warn(
            { error: s.error },
            'config stream to the control plane is down; serving the last snapshot',
          );
      },
    });
  } catch (err) {
    throw new ConfigError(`SWITCHYARD_CONTROL_PLANE_URL: ${(err as Error).message}`);
  }
  const stopSnapshotGauges = registerSnapshotGauges(registry, configSource);

  const redisDegraded = new Gauge({
    name: 'switchyard_coordination_degraded',
    help: '1 while Redis is unreachable and this relay uses per-process counters and cooldowns.',
    registers,
  });
  const redis = new RedisCoordinationStore({
    url: config.internal.redisUrl!,
    keyPrefix: config.internal.redisPrefix,
  });
  // Not fatal: a relay without Redis serves with per-process state and rejoins when Redis answers.
  await redis.ready().catch((err: unknown) => log.warn({ err }, 'Redis not reachable at start'));
  const coordination = new ResilientCoordinationStore(redis, new MemoryCoordinationStore(), {
    onStateChange: (s) => {
      redisDegraded.set(s.backend === 'fallback' ? 1 : 0);
      if (s.backend === 'fallback')
        log.warn({ error: s.lastError }, 'Redis unreachable; using per-process state');
      else log.info('Redis is back; shared state resumed');
    },
  });

  let bus: NatsUsageBus;
  try {
    bus = await NatsUsageBus.connect({
      servers: config.internal.natsUrl!.split(','),
      stream: config.internal.natsStream,
      streamReplicas: config.internal.natsStreamReplicas,
      // Why: nats.js otherwise builds an Error (a stack trace) for every publish, a measurable cost per request.
      connection: { noAsyncTraces: true },
      ...(config.internal.spoolDir === null ? {} : { spoolDir: config.internal.spoolDir }),
      subject: `switchyard.usage.${config.internal.natsStream.toLowerCase()}`,
      onStateChange: (s) => {
        if (s === 'down') log.error('cannot publish usage to NATS; events wait in the local queue');
        else log.info('usage publishing to NATS resumed');
      },
      onDropped: (event, total) =>
        log.error({ request_id: event.requestId, dropped_total: total }, 'usage queue full: event refused'),
      onError: (err) => log.warn({ err }, 'usage bus'),
    });
  } catch (err) {
    configSource.close();
    await redis.close();
    throw new ConfigError(`SWITCHYARD_NATS_URL: cannot connect to NATS: ${(err as Error).message}`);
  }
  new Gauge({
    name: 'switchyard_usage_bus_up',
    help: '1 while connected to NATS; 0 while usage events wait in the local queue (or spool) for it.',
    registers,
    collect() {
      this.set(bus.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchyard_usage_spool_depth',
    help: 'Usage events waiting to be published to NATS.',
    registers,
    collect() {
      this.set(bus.pendingDepth);
    },
  });
  new Gauge({
    name: 'switchyard_usage_spool_bytes',
    help: 'Bytes of usage spool segments on disk (0 without SWITCHYARD_SPOOL_DIR).',
    registers,
    collect() {
      this.set(bus.spoolBytes);
    },
  });
  new Gauge({
    name: 'switchyard_usage_events_refused',
    help: 'Usage events refused because the spool was full since start: alert on any increase.',
    registers,
    collect() {
      this.set(bus.droppedTotal);
    },
  });

  // Distributed relays reach only public addresses unless SWITCHYARD_UPSTREAM_ALLOW says otherwise.
  const dispatchers = new OutboundDispatchers({
    policy: { allow: config.upstreamAllow ?? [] },
    headersTimeoutMs: config.relay.timeouts.firstByteMs,
    bodyTimeoutMs: config.relay.timeouts.idleMs,
  });
  const relay = new Relay({
    configSource,
    coordination,
    usageBus: bus,
    logger: log,
    registry,
    settings: config.relay,
    accountReporter: configSource,
    dispatcherFor: (target) => dispatchers.dispatcherFor(target),
    ...(config.relayId !== null && { relayId: config.relayId }),
  });
  let closing = false;
  const checks = () => ({
    control_plane: configSource.connected ? 'up' : 'down',
    config_version: configSource.current().version,
    redis: coordination.status().backend === 'primary' ? 'up' : 'down (per-process state)',
    usage_bus: { pending: bus.pendingDepth, dropped: bus.droppedTotal },
    shutting_down: closing,
  });
  const app = createOpsApp(registry, async () => ({
    // A relay serves from its last snapshot whatever its dependencies do; only draining makes it not ready.
    ready: !closing,
    checks: checks(),
  }));
  // Every relay's snapshot version and dependencies, for `switchyard status` (GET /admin/v1/relays).
  const presence = new RedisRelayRegistry({
    url: config.internal.redisUrl!,
    keyPrefix: config.internal.redisPrefix,
  });
  const announcer = new RelayAnnouncer({
    registry: presence,
    id: relay.id,
    logger: log,
    state: () => {
      const c = checks();
      return {
        snapshotVersion: c.config_version,
        checks: {
          control_plane: c.control_plane,
          redis: c.redis,
          usage_bus: c.usage_bus.pending === 0 ? 'up' : `${c.usage_bus.pending} events waiting`,
          ...(closing && { shutting_down: 'yes' }),
        },
      };
    },
  });
  const stopAnnouncing = configSource.subscribe(() => void announcer.announceNow());
  announcer.start();
  finishApp(app);
  const http = await listenHttp(
    (req, res) => {
      if (relay.dispatch(req, res)) return;
      if ((req.url ?? '').startsWith('/v1/dashboard')) {
        // Key owners' usage pages read the ledger: the control plane serves them, not relays.
        const body = JSON.stringify({
          error: {
            message:
              'The usage dashboard is served by the control plane; route /v1/dashboard to it (see the README, "Tenancy, quotas and billing").',
            type: 'invalid_request_error',
            param: null,
            code: 'served_by_control_plane',
          },
        });
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(body);
        return;
      }
      app(req, res);
    },
    config.http.host,
    config.http.port,
  );
  log.info({ url: http.url, control_plane: config.internal.controlPlaneUrl }, 'switchyard listening');
  let closed: Promise<void> | null = null;
  return {
    role: 'relay',
    url: http.url,
    port: http.port,
    idle: () => relay.idle(),
    close() {
      closed ??= (async () => {
        closing = true;
        stopAnnouncing();
        // The fleet sees it draining at once, and gone once it has stopped.
        await announcer.announceNow();
        await drainDelay(config.shutdownDrainDelayMs);
        await closeHttp(http.server, () => relay.idle());
        await relay.close();
        await dispatchers.close();
        await bus.close();
        coordination.close();
        await redis.close();
        stopSnapshotGauges();
        configSource.close();
        await announcer.stop();
        await presence.close();
      })();
      return closed;
    },
  };
}
