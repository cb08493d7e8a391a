import type { StoredKey } from './key-repository.js';
import { toIso } from './iso-time.js';

/** A client key as the admin API shows it: the prefix, never the plaintext or the hash. */
export interface KeyView {
  id: number;
  name: string;
  key_prefix: string;
  models: string[] | null;
  expires_at: string | null;
  group: string;
  enabled: boolean;
  pinned_channel_id: number | null;
  excluded_channel_ids: number[];
  created_at: string;
  updated_at: string;
}

/** The answer to POST /keys: the only response that ever carries the plaintext `key`. */
export type CreatedKeyView = KeyView & { key: string };

export function toKeyView(key: StoredKey): KeyView {
  return {
    id: key.id,
    name: key.name,
    key_prefix: key.keyPrefix,
    models: key.models,
    expires_at: key.expiresAt === null ? null : toIso(key.expiresAt),
    group: key.group,
    enabled: key.enabled,
    pinned_channel_id: key.pinnedChannelId,
    excluded_channel_ids: key.excludedChannelIds,
    created_at: toIso(key.createdAt),
    updated_at: toIso(key.updatedAt),
  };
}
