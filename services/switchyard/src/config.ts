import path from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Configuration of the `switchyard` executable. `process.env` is read here and nowhere else; the
 * result is parsed once, frozen and passed down. Every key has a description (the README's
 * configuration reference is generated from the same words).
 */
const int = (min: number, max: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(min).max(max);

export const CONFIG_SCHEMA = z.object({
  SWITCHYARD_HTTP_PORT: int(0, 65535)
    .default(8080)
    .describe('Port of the HTTP server (relay, admin REST, health, metrics).'),
  SWITCHYARD_HTTP_HOST: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server binds to.'),
  SWITCHYARD_DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .describe('Directory for the SQLite database and generated secrets.'),
  SWITCHYARD_DATABASE_URL: z
    .string()
    .regex(/^(sqlite:.+|mysql:\/\/.+)$/, 'must be sqlite:PATH or mysql://user:pass@host:port/db')
    .optional()
    .describe(
      'Database: sqlite:PATH (default sqlite:<data dir>/switchyard.db) or mysql://user:pass@host:port/db (MySQL 8, MariaDB 10.6+); migrated at start.',
    ),
  SWITCHYARD_ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .describe(
      'Bearer token for /admin/v1. When unset, one is generated on first start, printed once, and its hash kept in the data dir.',
    ),
  SWITCHYARD_SECRET_KEY: z
    .string()
    .optional()
    .describe(
      '256-bit key (64 hex chars or base64) encrypting upstream credentials at rest. When unset, generated into <data dir>/secret.key.',
    ),
  SWITCHYARD_CONFIG_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Declarative configuration (switchyard.yaml: groups, prices, channels and accounts, users, keys) the control plane and the all-in-one apply at start, after migrations and before serving; secrets in it are { env } or { file } references. Unset: none. See services/control-plane/DECLARATIVE.md.',
    ),
  SWITCHYARD_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  SWITCHYARD_BODY_LIMIT_BYTES: int(1024, 1024 ** 3)
    .default(32 * 1024 * 1024)
    .describe('Largest accepted request body in bytes (default 32 MiB: base64 images are large).'),
  SWITCHYARD_MAX_ATTEMPTS: int(1, 20)
    .default(3)
    .describe('Most upstream attempts per request, the first included.'),
  SWITCHYARD_UPSTREAM_CONNECT_TIMEOUT_MS: int(1, 600_000)
    .default(10_000)
    .describe('Upstream TCP/TLS connect timeout.'),
  SWITCHYARD_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: int(1, 3_600_000)
    .default(120_000)
    .describe(
      'Time allowed from sending a request upstream to its first byte (response headers, and the first chunk of a stream); past it the next channel is tried.',
    ),
  SWITCHYARD_UPSTREAM_IDLE_TIMEOUT_MS: int(1, 3_600_000)
    .default(300_000)
    .describe('Longest silence allowed between two chunks of an upstream body.'),
  SWITCHYARD_REQUEST_DEADLINE_MS: int(1, 3_600_000)
    .default(300_000)
    .describe(
      "Longest a request may spend on upstream attempts (failovers included) before its first byte reaches the client; each attempt's connect and first-byte timeouts are cut to what is left.",
    ),
  SWITCHYARD_SHUTDOWN_DRAIN_DELAY_MS: int(0, 120_000)
    .default(0)
    .describe(
      'After SIGTERM, how long the process keeps serving (new requests included) while /readyz answers 503, so load balancers stop sending it traffic before its listener closes; then in-flight requests finish. Under Kubernetes set it above the readiness probe period x failure threshold.',
    ),
  SWITCHYARD_HOLD_MAX_OUTPUT_TOKENS: int(1, 1_000_000)
    .default(8192)
    .describe(
      "Output tokens a quota hold assumes for a request that names no max output, and the most it assumes for one that does (the request's real cost is charged either way).",
    ),
  SWITCHYARD_HOLD_TTL_MS: int(1000, 86_400_000)
    .default(900_000)
    .describe(
      'How long a quota hold and a concurrency slot outlive a relay that died before releasing them (default 15 min).',
    ),
  SWITCHYARD_TRUSTED_PROXIES: z
    .string()
    .refine((v) => v.split(',').every((e) => isCidr(e.trim())), {
      message: 'must be a comma-separated list of IP addresses or CIDRs',
    })
    .optional()
    .describe(
      'Load balancers and ingresses (comma-separated CIDRs) whose X-Forwarded-For names the client for key IP allow-lists; unset: the TCP peer is the client.',
    ),
  SWITCHYARD_UPSTREAM_ALLOW: z
    .string()
    .regex(
      /^((loopback|private)(,(loopback|private))*|none)$/,
      'must be `none` or a comma list of: loopback, private',
    )
    .optional()
    .describe(
      'Address classes admin-set upstream URLs (channel base URLs, OAuth endpoints, proxies) may point at besides public ones, checked when saved and again when connecting: `loopback`, `private`, or `none`. Default: `loopback` for the all-in-one (local models such as Ollama work), `none` for the distributed roles. Cloud metadata and link-local addresses are always refused.',
    ),
  SWITCHYARD_RELAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 letters, digits or ._:-')
    .optional()
    .describe(
      "This relay's name in health reports (admin API). Default: host name and process id (a pod name under Kubernetes).",
    ),
  SWITCHYARD_BALANCE_REFRESH_INTERVAL_MS: int(0, 3_600_000)
    .default(10_000)
    .describe(
      "Distributed control plane: how often it looks for new usage rows and then republishes the snapshot, whose spend seeds the relays' quota balances when Redis lost them (0 = off).",
    ),
  SWITCHYARD_CONFIG_RESYNC_INTERVAL_MS: int(0, 3_600_000)
    .default(2_000)
    .describe(
      'Distributed control plane: how often it reads the shared snapshot counter and republishes when another replica moved it, so relays watching one control-plane replica see writes made through another; every 15th time it rebuilds and compares the whole snapshot, for edits made in SQL (0 = off; with one replica it finds nothing to do).',
    ),
  SWITCHYARD_ACCOUNT_PROBE_INTERVAL_MS: int(0, 86_400_000)
    .default(300_000)
    .describe(
      'How often the control plane tests accounts that were disabled automatically (upstream 401/403) and re-enables those that answer again; 0 turns the probe off.',
    ),
  SWITCHYARD_OAUTH_REFRESH_INTERVAL_MS: int(1000, 3_600_000)
    .default(30_000)
    .describe(
      'How often the control plane looks for OAuth access tokens about to expire and refreshes them.',
    ),
  SWITCHYARD_IMAGE_FETCH_MAX_BYTES: int(1024, 100 * 1024 * 1024)
    .default(20 * 1024 * 1024)
    .describe(
      'Largest image the relay fetches for an upstream that needs images inline (Gemini, Bedrock Converse) when the client sent a URL.',
    ),
  SWITCHYARD_IMAGE_FETCH_TIMEOUT_MS: int(100, 120_000)
    .default(10_000)
    .describe('Time allowed for fetching one such image, redirects included.'),
  SWITCHYARD_IMAGE_FETCH_ALLOW: z
    .string()
    .regex(/^(loopback|private)(,(loopback|private))*$/, 'must be a comma list of: loopback, private')
    .optional()
    .describe(
      'Address classes image URLs may resolve to besides public ones (`loopback`, `private`). Unset: public addresses only; link-local, metadata and reserved addresses are always refused. For development and tests.',
    ),
  SWITCHYARD_INTERNAL_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .describe(
      'Shared secret every role presents on internal gRPC calls (distributed roles only; required there).',
    ),
  SWITCHYARD_GRPC_PORT: int(0, 65535)
    .default(50051)
    .describe('Control plane: port of the gRPC ConfigService relays connect to.'),
  SWITCHYARD_CONTROL_PLANE_URL: z
    .string()
    .regex(/^[^\s:/]+:\d+$/, 'must be host:port')
    .optional()
    .describe("Relay: the control plane's gRPC address, host:port."),
  SWITCHYARD_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be redis://host:port or rediss://…')
    .optional()
    .describe('Relay: Redis for cooldowns and round-robin counters shared by all relays.'),
  SWITCHYARD_NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\/.+/, 'must be nats://host:port (comma-separate several servers)')
    .optional()
    .describe('Relay and accounting: NATS with JetStream, carrying usage events to accounting.'),
  SWITCHYARD_NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('SWITCHYARD_USAGE')
    .describe(
      'JetStream stream of usage events (subject switchyard.usage.<stream, lower case>); one per deployment.',
    ),
  SWITCHYARD_NATS_STREAM_REPLICAS: int(1, 5)
    .default(1)
    .describe(
      'Copies of the usage stream on a NATS cluster (3 survives the loss of one server); relays and accounting set it when they create or update the stream, so give every role the same value.',
    ),
  SWITCHYARD_REDIS_PREFIX: z
    .string()
    .min(1)
    .default('switchyard:')
    .describe('Prefix of every Redis key, so several deployments can share one Redis.'),
  SWITCHYARD_SPOOL_DIR: z
    .string()
    .optional()
    .describe(
      'Relay: directory where usage events wait on disk until NATS acknowledged them, so a relay restart during a NATS outage loses none. Unset: in memory only.',
    ),
  SWITCHYARD_SNAPSHOT_FILE: z
    .string()
    .optional()
    .describe(
      'Relay: file keeping the last config snapshot (sealed with a key derived from the internal token); lets a relay start while the control plane is away.',
    ),
  SWITCHYARD_GRPC_TLS_CERT: z
    .string()
    .optional()
    .describe(
      "PEM file: the control plane's gRPC server certificate, or a relay's client certificate (mTLS). Unset: plaintext gRPC.",
    ),
  SWITCHYARD_GRPC_TLS_KEY: z
    .string()
    .optional()
    .describe('PEM file: the private key of SWITCHYARD_GRPC_TLS_CERT.'),
  SWITCHYARD_GRPC_TLS_CA: z
    .string()
    .optional()
    .describe(
      'PEM file: CA that signed the peer. On the control plane, setting it requires client certificates (mTLS).',
    ),
});

export type RawConfig = z.infer<typeof CONFIG_SCHEMA>;

export interface SwitchyardConfig {
  http: { port: number; host: string };
  dataDir: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string };
  adminToken: string | null;
  secretKey: string | null;
  logLevel: RawConfig['SWITCHYARD_LOG_LEVEL'];
  /** SWITCHYARD_CONFIG_FILE, resolved to an absolute path; null when unset. */
  configFile: string | null;
  relay: {
    bodyLimitBytes: number;
    maxAttempts: number;
    deadlineMs: number;
    timeouts: { connectMs: number; firstByteMs: number; idleMs: number };
    images: { maxBytes: number; timeoutMs: number; allow: Array<'loopback' | 'private'> };
    holdMaxOutputTokens: number;
    holdTtlMs: number;
    trustedProxies: string[];
  };
  /** Settings of the distributed roles; null where unset. */
  internal: {
    token: string | null;
    grpcPort: number;
    controlPlaneUrl: string | null;
    redisUrl: string | null;
    redisPrefix: string;
    natsUrl: string | null;
    natsStream: string;
    natsStreamReplicas: number;
    snapshotFile: string | null;
    spoolDir: string | null;
    tls: { cert: string | null; key: string | null; ca: string | null };
  };
  /** Whether SWITCHYARD_DATABASE_URL was set explicitly (distributed roles refuse the default). */
  databaseExplicit: boolean;
  /** SWITCHYARD_UPSTREAM_ALLOW as given, or null: each role applies its own default. */
  upstreamAllow: Array<'loopback' | 'private'> | null;
  relayId: string | null;
  /** SWITCHYARD_SHUTDOWN_DRAIN_DELAY_MS. */
  shutdownDrainDelayMs: number;
  accountProbeIntervalMs: number;
  balanceRefreshIntervalMs: number;
  configResyncIntervalMs: number;
  oauthRefreshIntervalMs: number;
}

export class ConfigError extends Error {}

/** Parses configuration from environment-style variables; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<SwitchyardConfig> {
  const relevant: Record<string, string> = {};
  for (const k of Object.keys(CONFIG_SCHEMA.shape)) {
    const v = env[k];
    if (v !== undefined && v !== '') relevant[k] = v;
  }
  const parsed = CONFIG_SCHEMA.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const dataDir = path.resolve(c.SWITCHYARD_DATA_DIR);
  const dbUrl = c.SWITCHYARD_DATABASE_URL ?? `sqlite:${path.join(dataDir, 'switchyard.db')}`;
  const database = dbUrl.startsWith('sqlite:')
    ? { kind: 'sqlite' as const, path: sqlitePath(dbUrl.slice('sqlite:'.length)) }
    : { kind: 'mysql' as const, url: dbUrl };
  return Object.freeze({
    http: { port: c.SWITCHYARD_HTTP_PORT, host: c.SWITCHYARD_HTTP_HOST },
    dataDir,
    database,
    adminToken: c.SWITCHYARD_ADMIN_TOKEN ?? null,
    secretKey: c.SWITCHYARD_SECRET_KEY ?? null,
    logLevel: c.SWITCHYARD_LOG_LEVEL,
    configFile: c.SWITCHYARD_CONFIG_FILE === undefined ? null : path.resolve(c.SWITCHYARD_CONFIG_FILE),
    relay: {
      bodyLimitBytes: c.SWITCHYARD_BODY_LIMIT_BYTES,
      maxAttempts: c.SWITCHYARD_MAX_ATTEMPTS,
      deadlineMs: c.SWITCHYARD_REQUEST_DEADLINE_MS,
      timeouts: {
        connectMs: c.SWITCHYARD_UPSTREAM_CONNECT_TIMEOUT_MS,
        firstByteMs: c.SWITCHYARD_UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
        idleMs: c.SWITCHYARD_UPSTREAM_IDLE_TIMEOUT_MS,
      },
      images: {
        maxBytes: c.SWITCHYARD_IMAGE_FETCH_MAX_BYTES,
        timeoutMs: c.SWITCHYARD_IMAGE_FETCH_TIMEOUT_MS,
        allow: (c.SWITCHYARD_IMAGE_FETCH_ALLOW?.split(',') ?? []) as Array<'loopback' | 'private'>,
      },
      holdMaxOutputTokens: c.SWITCHYARD_HOLD_MAX_OUTPUT_TOKENS,
      holdTtlMs: c.SWITCHYARD_HOLD_TTL_MS,
      trustedProxies: c.SWITCHYARD_TRUSTED_PROXIES?.split(',').map((e) => e.trim()) ?? [],
    },
    internal: {
      token: c.SWITCHYARD_INTERNAL_TOKEN ?? null,
      grpcPort: c.SWITCHYARD_GRPC_PORT,
      controlPlaneUrl: c.SWITCHYARD_CONTROL_PLANE_URL ?? null,
      redisUrl: c.SWITCHYARD_REDIS_URL ?? null,
      redisPrefix: c.SWITCHYARD_REDIS_PREFIX,
      natsUrl: c.SWITCHYARD_NATS_URL ?? null,
      natsStream: c.SWITCHYARD_NATS_STREAM,
      natsStreamReplicas: c.SWITCHYARD_NATS_STREAM_REPLICAS,
      snapshotFile: c.SWITCHYARD_SNAPSHOT_FILE ?? null,
      spoolDir: c.SWITCHYARD_SPOOL_DIR ?? null,
      tls: {
        cert: c.SWITCHYARD_GRPC_TLS_CERT ?? null,
        key: c.SWITCHYARD_GRPC_TLS_KEY ?? null,
        ca: c.SWITCHYARD_GRPC_TLS_CA ?? null,
      },
    },
    databaseExplicit: c.SWITCHYARD_DATABASE_URL !== undefined,
    upstreamAllow:
      c.SWITCHYARD_UPSTREAM_ALLOW === undefined
        ? null
        : c.SWITCHYARD_UPSTREAM_ALLOW === 'none'
          ? []
          : (c.SWITCHYARD_UPSTREAM_ALLOW.split(',') as Array<'loopback' | 'private'>),
    relayId: c.SWITCHYARD_RELAY_ID ?? null,
    shutdownDrainDelayMs: c.SWITCHYARD_SHUTDOWN_DRAIN_DELAY_MS,
    accountProbeIntervalMs: c.SWITCHYARD_ACCOUNT_PROBE_INTERVAL_MS,
    balanceRefreshIntervalMs: c.SWITCHYARD_BALANCE_REFRESH_INTERVAL_MS,
    configResyncIntervalMs: c.SWITCHYARD_CONFIG_RESYNC_INTERVAL_MS,
    oauthRefreshIntervalMs: c.SWITCHYARD_OAUTH_REFRESH_INTERVAL_MS,
  });
}

function sqlitePath(p: string): string {
  const cleaned = p.startsWith('//') ? p.slice(2) : p;
  return cleaned === ':memory:' ? cleaned : path.resolve(cleaned);
}

/** The configuration reference as markdown rows (used by `switchyard config` and the README test). */
export function configReference(): string {
  const rows = Object.entries(CONFIG_SCHEMA.shape).map(([name, schema]) => {
    const def = (schema as { def?: { defaultValue?: unknown } }).def?.defaultValue;
    return `| \`${name}\` | ${def === undefined ? '' : `\`${String(def)}\``} | ${schema.description ?? ''} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** An IPv4/IPv6 address, or one with a `/prefix` that fits its family. */
function isCidr(entry: string): boolean {
  const slash = entry.indexOf('/');
  const family = isIP(slash === -1 ? entry : entry.slice(0, slash));
  if (family === 0) return false;
  if (slash === -1) return true;
  const bits = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}
