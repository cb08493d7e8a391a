import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  isProviderId,
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
    accounts: Array<{ id: number; channel_id: number; name: string; enabled: boolean; api_key: string }>;
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
      group: c.group,
      enabled: c.enabled,
      accounts: c.accounts.map((a) => ({
        id: a.id,
        channel_id: a.channelId,
        name: a.name,
        enabled: a.enabled,
        api_key: a.apiKey,
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
    group: c.group,
    enabled: c.enabled,
    accounts: c.accounts.map((a) => ({
      id: a.id,
      channelId: a.channel_id,
      name: a.name,
      enabled: a.enabled,
      apiKey: a.api_key,
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
  }));
  return { version: m.version, channels, keys };
}
