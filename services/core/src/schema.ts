import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The database schema, shared by SQLite and MySQL. Conventions that keep both dialects identical:
 * booleans are 0/1 integers, JSON is stored as text, timestamps are epoch milliseconds (bigint).
 */
export interface ChannelsTable {
  id: Generated<number>;
  name: string;
  provider: string;
  base_url: string;
  /** JSON object of provider options (string values); NULL in rows older than the column, read as `{}`. */
  options: string | null;
  /** JSON array of model names / globs. */
  models: string;
  /** JSON object client model → upstream model. */
  model_mapping: string;
  priority: number;
  weight: number;
  /** The first of `groups`, kept for rows and readers older than `groups`. */
  group_name: string;
  /** JSON array of the groups the channel serves; NULL in older rows, read as `[group_name]`. */
  groups: string | null;
  /** 'round-robin' | 'fill-first'; NULL = round-robin. */
  account_strategy: string | null;
  /** 0/1; NULL = off. */
  sticky_sessions: number | null;
  /** NULL = the relay's configured default. */
  connect_timeout_ms: number | null;
  first_byte_timeout_ms: number | null;
  idle_timeout_ms: number | null;
  /** JSON object of BreakerSettings overrides (camelCase keys); NULL = defaults. */
  breaker: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
  /** 'file' when a configuration file (declared_entries) manages the row; NULL for admin-API rows. */
  managed_by: string | null;
}

export interface AccountsTable {
  id: Generated<number>;
  channel_id: number;
  name: string;
  /**
   * SecretBox envelope of the credential: the API key (kind 'api_key'), or for kind 'oauth' the JSON
   * `{"access_token": ..., "refresh_token": ...}`.
   */
  credential: string;
  enabled: number;
  created_at: number;
  /** 'api_key' | 'oauth'. */
  kind: Generated<string>;
  /** The OAuth profile id (core's OAUTH_PROFILES) for OAuth accounts. */
  oauth_profile: string | null;
  /** JSON of the non-secret OAuth settings resolved at authorization (token_url, client_id, scopes). */
  oauth_config: string | null;
  /** When the OAuth access token expires, epoch ms. */
  token_expires_at: number | null;
  /** Why the account is disabled (set by an admin or automatically); NULL when enabled. */
  disabled_reason: string | null;
  disabled_at: number | null;
  /** 'admin' | 'auto' (an upstream auth failure or a failed refresh; the probe may re-enable these). */
  disabled_by: string | null;
  /** The outbound proxy the account's upstream calls go through, or NULL for a direct connection. */
  proxy_id: number | null;
  /** OAuth refresh lease: only the control-plane replica holding it refreshes the account. */
  refresh_lease_until: number | null;
  refresh_lease_owner: string | null;
  updated_at: number | null;
  /** 'file' when a configuration file (declared_entries) manages the row; NULL for admin-API rows. */
  managed_by: string | null;
}

export interface ProxiesTable {
  id: Generated<number>;
  name: string;
  /** SecretBox envelope of the proxy URL (it may carry a user name and password). */
  url: string;
  /** The URL without credentials, for admin views. */
  display_url: string;
  /** Most accounts assigned to this proxy; NULL = no cap. */
  max_accounts: number | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** A started OAuth authorization, waiting for its callback. */
export interface OAuthStatesTable {
  /** The random `state` parameter; primary key. */
  state: string;
  profile: string;
  channel_id: number;
  account_name: string;
  /** SecretBox envelope of the PKCE code verifier. */
  code_verifier: string;
  redirect_uri: string;
  /** JSON of the resolved non-secret OAuth settings (as accounts.oauth_config). */
  oauth_config: string;
  proxy_id: number | null;
  expires_at: number;
  created_at: number;
}

/** A client-facing model name routed as another model (`gpt-4` → `gpt-4o`). */
export interface ModelAliasesTable {
  alias: string;
  model: string;
  created_at: number;
  updated_at: number;
}

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  /** Hex SHA-256 of the key; unique. */
  key_hash: string;
  /** First characters of the key, for recognising it in lists (never enough to use it). */
  key_prefix: string;
  /** JSON array of allowed model globs, or null for every model. */
  models: string | null;
  expires_at: number | null;
  group_name: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  /** Admin override: route this key only to this channel. */
  pinned_channel_id: number | null;
  /** Admin override: JSON array of channel ids this key never reaches; NULL = none. */
  excluded_channel_ids: string | null;
  /** The owning user, or NULL. */
  user_id: number | null;
  /** Spending limit in nano-USD; NULL = unlimited. */
  quota_nano: number | null;
  /** Settled spend in nano-USD: the sum of the key's usage rows' cost. */
  used_nano: Generated<number>;
  /** JSON array of CIDRs / addresses; NULL = any client address. */
  ip_allowlist: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  concurrency_limit: number | null;
  /** The newest settled usage row's request time. */
  last_used_at: number | null;
  /** 'file' when a configuration file (declared_entries) manages the row; NULL for admin-API rows. */
  managed_by: string | null;
}

export interface UsersTable {
  id: Generated<number>;
  /** Unique. */
  name: string;
  email: string | null;
  group_name: string;
  enabled: number;
  /** Spending limit in nano-USD across the user's keys; NULL = unlimited. */
  quota_nano: number | null;
  /** Settled spend in nano-USD: the sum of the user's usage rows' cost. */
  used_nano: Generated<number>;
  rpm_limit: number | null;
  tpm_limit: number | null;
  concurrency_limit: number | null;
  last_used_at: number | null;
  created_at: number;
  updated_at: number;
  /** 'file' when a configuration file (declared_entries) manages the row; NULL for admin-API rows. */
  managed_by: string | null;
}

/** A key group (`groups` is reserved in MySQL 8). */
export interface UserGroupsTable {
  name: string;
  description: string | null;
  /** Price multiplier in parts per million. */
  price_ratio_ppm: number;
  created_at: number;
  updated_at: number;
  /** 'file' when a configuration file (declared_entries) manages the row; NULL for admin-API rows. */
  managed_by: string | null;
}

/** Prices in nano-USD: per million tokens, or per request / image. */
export interface ModelPricesTable {
  /** An exact model name or a `*` glob; primary key. */
  model: string;
  input_nano: number;
  output_nano: number;
  /** NULL = the input price. */
  cached_input_nano: number | null;
  /** NULL = the output price. */
  reasoning_nano: number | null;
  per_request_nano: Generated<number>;
  per_image_nano: Generated<number>;
  created_at: number;
  updated_at: number;
  /** 'file' when a configuration file (declared_entries) manages the row; NULL for admin-API rows. */
  managed_by: string | null;
}

export interface UsageLogsTable {
  id: Generated<number>;
  /** Gateway-generated, unique: the ledger's idempotency key. */
  request_id: string;
  /** The caller's own `x-request-id`, when it sent one (not unique: callers choose it). */
  client_request_id: string | null;
  key_id: number;
  channel_id: number | null;
  account_id: number | null;
  model: string;
  upstream_model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens read from the provider's cache (part of `prompt_tokens`); 0 on rows before this was kept. */
  cached_tokens: number;
  /** Completion tokens spent on reasoning (part of `completion_tokens`); 0 on rows before this was kept. */
  reasoning_tokens: number;
  status: string;
  http_status: number;
  latency_ms: number;
  stream: number;
  error: string | null;
  created_at: number;
  /** The key's user, or NULL (also on rows before users existed). */
  user_id: number | null;
  /** tokens × price × group ratio, nano-USD; 0 on rows before costs were kept. */
  cost_nano: Generated<number>;
  /** 1 when token counts were counted locally (cut stream, no upstream usage). */
  partial: Generated<number>;
}

/** Per UTC day, key, model and channel (0 = none): what accounting has written so far. */
export interface UsageDailyTable {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  key_id: number;
  model: string;
  channel_id: number;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Sum of `usage_logs.cached_tokens`; rows summed before this was kept contributed 0. */
  cached_tokens: number;
  /** Sum of `usage_logs.reasoning_tokens`; rows summed before this was kept contributed 0. */
  reasoning_tokens: number;
  latency_ms_sum: number;
  /** Sum of `usage_logs.cost_nano`. */
  cost_nano: Generated<number>;
  updated_at: number;
}

/** Which rows a configuration file manages: one per declared identity (migration 0007). */
export interface DeclaredEntriesTable {
  /** 'group' | 'price' | 'channel' | 'account' | 'user' | 'key'. */
  kind: string;
  /** The identity: the name (a price's model); for an account the JSON array [channel, account]. */
  name: string;
  /** The managed row's id (a group's name, a price's model) as text. */
  entry_id: string;
  created_at: number;
}

/** The shared config snapshot version: one row, id 1 (migration 0008). */
export interface ConfigRevisionTable {
  id: number;
  version: number;
}

export interface SettingsTable {
  name: string;
  value: string;
  updated_at: number;
}

export interface DB {
  channels: ChannelsTable;
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  usage_logs: UsageLogsTable;
  usage_daily: UsageDailyTable;
  settings: SettingsTable;
  proxies: ProxiesTable;
  oauth_states: OAuthStatesTable;
  model_aliases: ModelAliasesTable;
  users: UsersTable;
  user_groups: UserGroupsTable;
  model_prices: ModelPricesTable;
  declared_entries: DeclaredEntriesTable;
  config_revision: ConfigRevisionTable;
}

export type ChannelRow = Selectable<ChannelsTable>;
export type NewChannelRow = Insertable<ChannelsTable>;
export type ChannelUpdate = Updateable<ChannelsTable>;
export type AccountRow = Selectable<AccountsTable>;
export type NewAccountRow = Insertable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;
export type ApiKeyUpdate = Updateable<ApiKeysTable>;
export type UsageLogRow = Selectable<UsageLogsTable>;
export type NewUsageLogRow = Insertable<UsageLogsTable>;
export type UsageDailyRow = Selectable<UsageDailyTable>;
export type ProxyRow = Selectable<ProxiesTable>;
export type OAuthStateRow = Selectable<OAuthStatesTable>;
export type ModelAliasRow = Selectable<ModelAliasesTable>;
export type UserRow = Selectable<UsersTable>;
export type UserGroupRow = Selectable<UserGroupsTable>;
export type ModelPriceRow = Selectable<ModelPricesTable>;
export type DeclaredEntryRow = Selectable<DeclaredEntriesTable>;

/** Columns typed as `bigint` in SQL come back as numbers on SQLite and strings on MySQL. */
export type Millis = ColumnType<number, number, number>;
