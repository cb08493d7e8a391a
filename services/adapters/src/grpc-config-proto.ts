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
  type KeyRecord,
  type ProviderId,
} from '@switchyard/core';

/** proto/switchyard/v1/config.proto, found from both src/ (tests) and dist/ (built): same depth. */
const PROTO_PATH = fileURLToPath(new URL('../../../proto/switchyard/v1/config.proto', import.meta.url));

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
  }));
  return { version: m.version, channels, keys, modelAliases: { ...m.model_aliases } };
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
