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
  group_name: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface AccountsTable {
  id: Generated<number>;
  channel_id: number;
  name: string;
  /** SecretBox envelope of the upstream API key. */
  credential: string;
  enabled: number;
  created_at: number;
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
  updated_at: number;
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

/** Columns typed as `bigint` in SQL come back as numbers on SQLite and strings on MySQL. */
export type Millis = ColumnType<number, number, number>;
