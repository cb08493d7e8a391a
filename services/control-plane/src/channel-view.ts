import type { ProviderId } from '@switchyard/core';
import type { StoredChannel } from './channel-repository.js';
import { toIso } from './iso-time.js';

/** A channel as the admin API shows it. Upstream keys never appear, in plaintext or encrypted. */
export interface ChannelView {
  id: number;
  name: string;
  provider: ProviderId;
  /** The effective base URL: the channel's own, or its provider's default. */
  base_url: string;
  /** Provider options as set on the channel (catalogue defaults are not filled in). */
  options: Record<string, string>;
  models: string[];
  model_mapping: Record<string, string>;
  priority: number;
  weight: number;
  group: string;
  enabled: boolean;
  accounts: { id: number; name: string; enabled: boolean }[];
  created_at: string;
  updated_at: string;
}

export function toChannelView(channel: StoredChannel): ChannelView {
  return {
    id: channel.id,
    name: channel.name,
    provider: channel.provider,
    base_url: channel.baseUrl,
    options: channel.options,
    models: channel.models,
    model_mapping: channel.modelMapping,
    priority: channel.priority,
    weight: channel.weight,
    group: channel.group,
    enabled: channel.enabled,
    // Listed field by field so a new column (like the credential) can never leak by accident.
    accounts: channel.accounts.map((a) => ({ id: a.id, name: a.name, enabled: a.enabled })),
    created_at: toIso(channel.createdAt),
    updated_at: toIso(channel.updatedAt),
  };
}
