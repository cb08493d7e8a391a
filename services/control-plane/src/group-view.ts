import { formatRatio } from '@switchyard/core';
import type { StoredGroup } from './group-repository.js';
import { toIso } from './iso-time.js';

/** A key group as the admin API shows it. */
export interface GroupView {
  name: string;
  description: string | null;
  /** The price multiplier as a JSON number (1 = list price). */
  price_ratio: number;
  /** Keys in the group. */
  keys: number;
  /** Users in the group. */
  users: number;
  /** Channels that list the group among theirs. */
  channels: number;
  /** 'file' when a configuration file manages the group (the next apply reverts API edits). */
  managed_by: 'file' | null;
  created_at: string;
  updated_at: string;
}

export function toGroupView(group: StoredGroup): GroupView {
  return {
    name: group.name,
    description: group.description,
    price_ratio: formatRatio(group.ratioPpm),
    keys: group.keys,
    users: group.users,
    channels: group.channels,
    managed_by: group.managedBy,
    created_at: toIso(group.createdAt),
    updated_at: toIso(group.updatedAt),
  };
}
