import type { AccountKind } from '@switchyard/core';
import type { StoredAccount } from './channel-repository.js';
import type { AccountHealthView } from './health-view.js';
import { toIso } from './iso-time.js';

/** An account as `/accounts` shows it. Never the credential, in plaintext or encrypted. */
export interface AccountView {
  id: number;
  channel_id: number;
  name: string;
  kind: AccountKind;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_by: 'admin' | 'auto' | null;
  disabled_at: string | null;
  proxy_id: number | null;
  oauth_profile: string | null;
  token_expires_at: string | null;
  /** 'file' when a configuration file manages the account (the next apply reverts API edits). */
  managed_by: 'file' | null;
  created_at: string;
  updated_at: string;
  health: AccountHealthView;
}

export function toAccountView(a: StoredAccount, health: AccountHealthView): AccountView {
  // Listed field by field so a new column (like the credential) can never leak by accident.
  return {
    id: a.id,
    channel_id: a.channelId,
    name: a.name,
    kind: a.kind,
    enabled: a.enabled,
    disabled_reason: a.disabledReason,
    disabled_by: a.disabledBy,
    disabled_at: a.disabledAt === null ? null : toIso(a.disabledAt),
    proxy_id: a.proxyId,
    oauth_profile: a.oauthProfile,
    token_expires_at: a.tokenExpiresAt === null ? null : toIso(a.tokenExpiresAt),
    managed_by: a.managedBy,
    created_at: toIso(a.createdAt),
    // Rows older than the updated_at column were last changed when created.
    updated_at: toIso(a.updatedAt ?? a.createdAt),
    health,
  };
}
