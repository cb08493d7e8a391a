import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  ACCOUNT_STRATEGIES,
  DEFAULT_BREAKER,
  isProviderId,
  type AccountStrategy,
  type BreakerSettings,
  type Channel,
  type ConfigSnapshot,
  type GroupRecord,
  type KeyRecord,
  type ModelPrice,
  type ProviderId,
  type UserRecord,
} from '@switchyard/core';

/** proto/switchyard/v1/config.proto, found from both src/ (tests) and dist/ (built): same depth. */
const PROTO_PATH = fileURLToPath(new URL('../../../proto/switchyard/v1/config.proto', import.meta.url));

/**
 * Call metadata naming the request a unary call is made for (ReportAccountFailure): the gateway's
 * request id and the caller's own, so the control plane's log line joins the relay's.
 */
export const REQUEST_ID_METADATA = 'x-request-id';
export const CLIENT_REQUEST_ID_METADATA = 'x-client-request-id';
/**
 * What a request id in metadata may look like (the relay's own rule for callers' ids): anything else is
 * dropped, so a peer cannot put arbitrary text into the control plane's log lines.
 */
const REQUEST_ID_SHAPE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The first value of `key` if it is a plausible request id, else undefined. */
export function requestIdFrom(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' && REQUEST_ID_SHAPE.test(v) ? v : undefined;
}

/** Wire shape of switchyard.v1.Snapshot as proto-loader decodes it (keepCase, longs as numbers). */
export interface SnapshotMessage {
  version: number;
  epoch: string;
  /** Fields added after the first snapshot files were written are optional: old files decode too. */
  model_aliases?: Record<string, string>;
  channels: Array<{
    id: number;
    name: string;
    provider: string;
    base_url: string;
    /** Absent only in snapshot files a relay saved before the field existed. */
    options?: Record<string, string>;
    models: string[];
    model_mapping: Record<string, string>;
    priority: number;
    weight: number;
    group: string;
    enabled: boolean;
    groups?: string[];
    account_strategy?: string;
    sticky_sessions?: boolean;
    connect_timeout_ms?: number;
    first_byte_timeout_ms?: number;
    idle_timeout_ms?: number;
    breaker?: {
      error_threshold_percent: number;
      volume_threshold: number;
      reset_timeout_ms: number;
      window_ms: number;
    } | null;
    accounts: Array<{
      id: number;
      channel_id: number;
      name: string;
      enabled: boolean;
      api_key: string;
      kind?: string;
      auth_scheme?: string;
      extra_headers?: Record<string, string>;
      system_prompt_prefix?: string;
      proxy_url?: string;
    }>;
  }>;
  keys: Array<{
    id: number;
    name: string;
    key_hash: string;
    models: string[];
    restricted_models: boolean;
    expires_at: number;
    enabled: boolean;
    group: string;
    pinned_channel_id?: number;
    excluded_channel_ids?: number[];
    user_id?: number;
    quota_nano?: number;
    has_quota?: boolean;
    used_nano?: number;
    ip_allowlist?: string[];
    restricted_ips?: boolean;
    rpm_limit?: number;
    tpm_limit?: number;
    concurrency_limit?: number;
    created_at?: number;
  }>;
  users?: Array<{
    id: number;
    name: string;
    enabled: boolean;
    group: string;
    quota_nano: number;
    has_quota: boolean;
    used_nano: number;
    rpm_limit: number;
    tpm_limit: number;
    concurrency_limit: number;
    created_at: number;
  }>;
  groups?: Array<{ name: string; ratio_ppm: number }>;
  prices?: Array<{
    model: string;
    input_nano: number;
    output_nano: number;
    cached_input_nano: number;
    has_cached_input: boolean;
    reasoning_nano: number;
    has_reasoning: boolean;
    per_request_nano: number;
    per_image_nano: number;
  }>;
}

const HEALTH_PROTO_PATH = fileURLToPath(
  new URL('../../../proto/grpc/health/v1/health.proto', import.meta.url),
);

let cachedHealth: grpc.ServiceClientConstructor | null = null;

/** The standard grpc.health.v1.Health service definition, loaded once. */
export function healthServiceDefinition(): grpc.ServiceClientConstructor {
  if (cachedHealth === null) {
    const def = protoLoader.loadSync(HEALTH_PROTO_PATH, { keepCase: true, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    cachedHealth = pkg.grpc.health.v1.Health;
  }
  return cachedHealth;
}

let cached: grpc.ServiceClientConstructor | null = null;

/** The ConfigService definition, loaded once. */
export function configServiceDefinition(): grpc.ServiceClientConstructor {
  if (cached === null) {
    const def = protoLoader.loadSync(PROTO_PATH, {
      keepCase: true,
      longs: Number,
      defaults: true,
      arrays: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      switchyard: { v1: { ConfigService: grpc.ServiceClientConstructor } };
    };
    cached = pkg.switchyard.v1.ConfigService;
  }
  return cached;
}

export function snapshotToMessage(s: ConfigSnapshot, epoch: string): SnapshotMessage {
  return {
    version: s.version,
    epoch,
    model_aliases: s.modelAliases,
    channels: s.channels.map((c) => ({
      id: c.id,
      name: c.name,
      provider: c.provider,
      base_url: c.baseUrl,
      options: c.options,
      models: c.models,
      model_mapping: c.modelMapping,
      priority: c.priority,
      weight: c.weight,
      group: c.groups[0] ?? 'default',
      groups: c.groups,
      enabled: c.enabled,
      account_strategy: c.accountStrategy,
      sticky_sessions: c.stickySessions,
      connect_timeout_ms: c.timeouts.connectMs ?? 0,
      first_byte_timeout_ms: c.timeouts.firstByteMs ?? 0,
      idle_timeout_ms: c.timeouts.idleMs ?? 0,
      breaker: {
        error_threshold_percent: c.breaker.errorThresholdPercent,
        volume_threshold: c.breaker.volumeThreshold,
        reset_timeout_ms: c.breaker.resetTimeoutMs,
        window_ms: c.breaker.windowMs,
      },
      accounts: c.accounts.map((a) => ({
        id: a.id,
        channel_id: a.channelId,
        name: a.name,
        enabled: a.enabled,
        api_key: a.apiKey,
        kind: a.kind,
        auth_scheme: a.authScheme,
        extra_headers: a.extraHeaders,
        system_prompt_prefix: a.systemPromptPrefix ?? '',
        proxy_url: a.proxyUrl ?? '',
      })),
    })),
    keys: s.keys.map((k) => ({
      id: k.id,
      name: k.name,
      key_hash: k.keyHash,
      models: k.models ?? [],
      restricted_models: k.models !== null,
      expires_at: k.expiresAt ?? 0,
      enabled: k.enabled,
      group: k.group,
      pinned_channel_id: k.pinnedChannelId ?? 0,
      excluded_channel_ids: k.excludedChannelIds,
      user_id: k.userId ?? 0,
      quota_nano: k.quotaNano ?? 0,
      has_quota: k.quotaNano !== null,
      used_nano: k.usedNano,
      ip_allowlist: k.ipAllowlist ?? [],
      restricted_ips: k.ipAllowlist !== null,
      rpm_limit: k.rpmLimit ?? 0,
      tpm_limit: k.tpmLimit ?? 0,
      concurrency_limit: k.concurrencyLimit ?? 0,
      created_at: k.createdAt,
    })),
    users: s.users.map((u) => ({
      id: u.id,
      name: u.name,
      enabled: u.enabled,
      group: u.group,
      quota_nano: u.quotaNano ?? 0,
      has_quota: u.quotaNano !== null,
      used_nano: u.usedNano,
      rpm_limit: u.rpmLimit ?? 0,
      tpm_limit: u.tpmLimit ?? 0,
      concurrency_limit: u.concurrencyLimit ?? 0,
      created_at: u.createdAt,
    })),
    groups: s.groups.map((g) => ({ name: g.name, ratio_ppm: g.ratioPpm })),
    prices: s.prices.map((p) => ({
      model: p.model,
      input_nano: p.inputNano,
      output_nano: p.outputNano,
      cached_input_nano: p.cachedInputNano ?? 0,
      has_cached_input: p.cachedInputNano !== null,
      reasoning_nano: p.reasoningNano ?? 0,
      has_reasoning: p.reasoningNano !== null,
      per_request_nano: p.perRequestNano,
      per_image_nano: p.perImageNano,
    })),
  };
}

function providerOf(p: string): ProviderId {
  if (isProviderId(p)) return p;
  throw new Error(`snapshot names an unknown provider '${p}'`);
}

export function messageToSnapshot(m: SnapshotMessage): ConfigSnapshot {
  const channels: Channel[] = m.channels.map((c) => ({
    id: c.id,
    name: c.name,
    provider: providerOf(c.provider),
    baseUrl: c.base_url,
    options: { ...c.options },
    models: c.models,
    modelMapping: { ...c.model_mapping },
    priority: c.priority,
    weight: c.weight,
    groups: c.groups !== undefined && c.groups.length > 0 ? c.groups : [c.group],
    enabled: c.enabled,
    accountStrategy: strategyOf(c.account_strategy),
    stickySessions: c.sticky_sessions === true,
    timeouts: {
      connectMs: positiveOrNull(c.connect_timeout_ms),
      firstByteMs: positiveOrNull(c.first_byte_timeout_ms),
      idleMs: positiveOrNull(c.idle_timeout_ms),
    },
    breaker: breakerOf(c.breaker),
    accounts: c.accounts.map((a) => ({
      id: a.id,
      channelId: a.channel_id,
      name: a.name,
      enabled: a.enabled,
      apiKey: a.api_key,
      kind: a.kind === 'oauth' ? 'oauth' : 'api_key',
      authScheme: a.auth_scheme === 'bearer' ? 'bearer' : 'default',
      extraHeaders: { ...a.extra_headers },
      systemPromptPrefix:
        a.system_prompt_prefix === undefined || a.system_prompt_prefix === '' ? null : a.system_prompt_prefix,
      proxyUrl: a.proxy_url === undefined || a.proxy_url === '' ? null : a.proxy_url,
    })),
  }));
  const keys: KeyRecord[] = m.keys.map((k) => ({
    id: k.id,
    name: k.name,
    keyHash: k.key_hash,
    models: k.restricted_models ? k.models : null,
    expiresAt: k.expires_at === 0 ? null : k.expires_at,
    enabled: k.enabled,
    group: k.group,
    pinnedChannelId:
      k.pinned_channel_id === undefined || k.pinned_channel_id === 0 ? null : k.pinned_channel_id,
    excludedChannelIds: k.excluded_channel_ids ?? [],
    userId: positiveOrNull(k.user_id),
    quotaNano: k.has_quota === true ? (k.quota_nano ?? 0) : null,
    usedNano: k.used_nano ?? 0,
    ipAllowlist: k.restricted_ips === true ? (k.ip_allowlist ?? []) : null,
    rpmLimit: positiveOrNull(k.rpm_limit),
    tpmLimit: positiveOrNull(k.tpm_limit),
    concurrencyLimit: positiveOrNull(k.concurrency_limit),
    createdAt: k.created_at ?? 0,
  }));
  const users: UserRecord[] = (m.users ?? []).map((u) => ({
    id: u.id,
    name: u.name,
    enabled: u.enabled,
    group: u.group,
    quotaNano: u.has_quota ? u.quota_nano : null,
    usedNano: u.used_nano,
    rpmLimit: positiveOrNull(u.rpm_limit),
    tpmLimit: positiveOrNull(u.tpm_limit),
    concurrencyLimit: positiveOrNull(u.concurrency_limit),
    createdAt: u.created_at,
  }));
  const groups: GroupRecord[] = (m.groups ?? []).map((g) => ({ name: g.name, ratioPpm: g.ratio_ppm }));
  const prices: ModelPrice[] = (m.prices ?? []).map((p) => ({
    model: p.model,
    inputNano: p.input_nano,
    outputNano: p.output_nano,
    cachedInputNano: p.has_cached_input ? p.cached_input_nano : null,
    reasoningNano: p.has_reasoning ? p.reasoning_nano : null,
    perRequestNano: p.per_request_nano,
    perImageNano: p.per_image_nano,
  }));
  return {
    version: m.version,
    channels,
    keys,
    modelAliases: { ...m.model_aliases },
    users,
    groups,
    prices,
  };
}

function strategyOf(s: string | undefined): AccountStrategy {
  return ACCOUNT_STRATEGIES.find((x) => x === s) ?? 'round-robin';
}

function positiveOrNull(n: number | undefined): number | null {
  return n === undefined || n <= 0 ? null : n;
}

/** Zero fields (proto3's "unset") and a missing message fall back to the defaults. */
function breakerOf(
  b: NonNullable<SnapshotMessage['channels'][number]['breaker']> | undefined | null,
): BreakerSettings {
  return {
    errorThresholdPercent: b?.error_threshold_percent || DEFAULT_BREAKER.errorThresholdPercent,
    volumeThreshold: b?.volume_threshold || DEFAULT_BREAKER.volumeThreshold,
    resetTimeoutMs: b?.reset_timeout_ms || DEFAULT_BREAKER.resetTimeoutMs,
    windowMs: b?.window_ms || DEFAULT_BREAKER.windowMs,
  };
}
