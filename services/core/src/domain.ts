import type { ModelPrice } from './pricing.js';
import type { ProviderId } from './provider-catalog.js';

/** Provider-specific channel settings (see PROVIDER_CATALOG's `options`): Azure's api_version, Bedrock's region, ... */
export type ChannelOptions = Record<string, string>;

/** How a channel spreads requests over its accounts. */
export const ACCOUNT_STRATEGIES = ['round-robin', 'fill-first'] as const;
export type AccountStrategy = (typeof ACCOUNT_STRATEGIES)[number];

/** Circuit-breaker settings of a channel, applied to each of its accounts separately. */
export interface BreakerSettings {
  /** Failure percentage within the window at which the breaker opens. */
  errorThresholdPercent: number;
  /** Fewest requests within the window before the percentage counts. */
  volumeThreshold: number;
  /** How long an open breaker waits before letting one probe request through (half-open). */
  resetTimeoutMs: number;
  /** The rolling window the percentage is computed over. */
  windowMs: number;
}

/**
 * Why these: 5 requests and 50 % keep a single blip from opening a breaker while a dead account is cut
 * off within a handful of requests; 30 s between probes keeps a dead account's share of traffic at
 * about one request per relay per 30 s; 10 s windows forget old failures quickly.
 */
export const DEFAULT_BREAKER: Readonly<BreakerSettings> = Object.freeze({
  errorThresholdPercent: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 30_000,
  windowMs: 10_000,
});

/** Per-channel upstream timeouts; null = the relay's configured default (SWITCHYARD_UPSTREAM_*_TIMEOUT_MS). */
export interface ChannelTimeouts {
  connectMs: number | null;
  firstByteMs: number | null;
  idleMs: number | null;
}

export type AccountKind = 'api_key' | 'oauth';

/** An upstream account of a channel, with its credential decrypted: lives only in relay memory. */
export interface ChannelAccount {
  id: number;
  channelId: number;
  name: string;
  enabled: boolean;
  /** The decrypted credential (for OAuth accounts: the current access token). */
  apiKey: string;
  kind: AccountKind;
  /**
   * How the credential is presented: the provider's own header ('default': x-api-key, api-key,
   * x-goog-api-key, ...) or `Authorization: Bearer` ('bearer', OAuth access tokens).
   */
  authScheme: 'default' | 'bearer';
  /** Headers the account's OAuth profile adds to every upstream request. */
  extraHeaders: Record<string, string>;
  /** Text the account's OAuth profile puts before the system prompt, or null. */
  systemPromptPrefix: string | null;
  /** The outbound proxy (http, https or socks5 URL, credentials included) or null for direct. */
  proxyUrl: string | null;
}

export interface Channel {
  id: number;
  name: string;
  provider: ProviderId;
  /** The channel's base URL, or the provider's default when the channel set none. */
  baseUrl: string;
  options: ChannelOptions;
  /** Exact model names or `*` globs (`gpt-4o*`). */
  models: string[];
  /** Client model → upstream model. A mapped client model is served even if `models` does not list it. */
  modelMapping: Record<string, string>;
  /** Higher first; lower priorities are used only when every higher one failed. */
  priority: number;
  /** Relative share among channels of the same priority. */
  weight: number;
  /** The key groups this channel serves (at least one). */
  groups: string[];
  enabled: boolean;
  accounts: ChannelAccount[];
  accountStrategy: AccountStrategy;
  /** Keep one conversation (a session key) on one account while that account is healthy. */
  stickySessions: boolean;
  timeouts: ChannelTimeouts;
  breaker: BreakerSettings;
}

/** A client key as the relay sees it: the hash, never the plaintext. */
export interface KeyRecord {
  id: number;
  name: string;
  /** Hex SHA-256 of the plaintext key. */
  keyHash: string;
  /** Allowed model globs; null means every model. */
  models: string[] | null;
  /** Epoch milliseconds, or null for a key that never expires. */
  expiresAt: number | null;
  enabled: boolean;
  group: string;
  /** Admin override: only this channel serves the key (null: routing as usual). */
  pinnedChannelId: number | null;
  /** Admin override: channels this key never reaches. */
  excludedChannelIds: number[];
  /** The user who owns the key, or null for a key of no user. */
  userId: number | null;
  /** Spending limit in nano-USD; null = unlimited. */
  quotaNano: number | null;
  /** Settled spend (nano-USD) when the snapshot was built; seeds the coordination store's balance. */
  usedNano: number;
  /** Client addresses allowed to use the key (CIDRs or single addresses); null = any. */
  ipAllowlist: string[] | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  concurrencyLimit: number | null;
  /** Epoch ms; with the id it names the key's balance in the coordination store. */
  createdAt: number;
}

/** A user (the owner of keys) as the relay sees it: its own balance and limits, shared by its keys. */
export interface UserRecord {
  id: number;
  name: string;
  enabled: boolean;
  group: string;
  /** Spending limit in nano-USD across all of the user's keys; null = unlimited. */
  quotaNano: number | null;
  /** Settled spend (nano-USD) when the snapshot was built. */
  usedNano: number;
  rpmLimit: number | null;
  tpmLimit: number | null;
  concurrencyLimit: number | null;
  createdAt: number;
}

/** A key group: which channels its keys reach (channels list the groups they serve) and its price ratio. */
export interface GroupRecord {
  name: string;
  /** Price multiplier in parts per million (1_000_000 = list price). */
  ratioPpm: number;
}

/** Everything a relay needs to route, at one version. */
export interface ConfigSnapshot {
  version: number;
  channels: Channel[];
  keys: KeyRecord[];
  /** Client model name → the model it is routed as. */
  modelAliases: Record<string, string>;
  users: UserRecord[];
  /** Groups with a price ratio; a group that is not listed bills at ratio 1. */
  groups: GroupRecord[];
  prices: ModelPrice[];
}

export type UsageStatus = 'ok' | 'error' | 'aborted';

/** One finished request, as published on the usage bus and written once by accounting. */
export interface UsageEvent {
  /** Generated by the gateway and unique: accounting writes each request id once. */
  requestId: string;
  /** The caller's `x-request-id`, if it sent one; echoed back and kept for correlation only. */
  clientRequestId: string | null;
  keyId: number;
  channelId: number | null;
  accountId: number | null;
  /** The model the client asked for. */
  model: string;
  /** The model sent upstream after mapping, when a channel was chosen. */
  upstreamModel: string | null;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /**
   * Prompt tokens the provider read from its prompt cache (part of `promptTokens`); 0 when not reported.
   * Events from relays that predate this field decode with 0.
   */
  cachedTokens: number;
  /**
   * Completion tokens spent on reasoning (part of `completionTokens`); 0 when not reported.
   * Events from relays that predate this field decode with 0.
   */
  reasoningTokens: number;
  status: UsageStatus;
  /** The HTTP status the client got (for streams: the status line sent, 200 once streaming began). */
  httpStatus: number;
  latencyMs: number;
  stream: boolean;
  /** Error code when the request failed or was cut, else null. */
  error: string | null;
  /** Epoch milliseconds when the request arrived. */
  createdAt: number;
  /** The key's user, or null. Events from relays that predate this field decode with null. */
  userId: number | null;
  /**
   * What the request costs in nano-USD (tokens × price × group ratio), computed by the relay from its
   * snapshot's prices; accounting settles exactly this. Older events decode with 0.
   */
  costNano: number;
  /**
   * True when some token counts were counted locally by the tokenizer rather than reported by the
   * upstream (a cut stream, an upstream that reported none). Older events decode with false.
   */
  partial: boolean;
}

/** A channel's routing fields at their defaults, for code (and tests) that build channels by hand. */
export function defaultChannelRouting(): Pick<
  Channel,
  'accountStrategy' | 'stickySessions' | 'timeouts' | 'breaker'
> {
  return {
    accountStrategy: 'round-robin',
    stickySessions: false,
    timeouts: { connectMs: null, firstByteMs: null, idleMs: null },
    breaker: { ...DEFAULT_BREAKER },
  };
}

/** The fields of a plain API-key account besides its identity and key. */
export const API_KEY_ACCOUNT: Readonly<
  Pick<ChannelAccount, 'kind' | 'authScheme' | 'extraHeaders' | 'systemPromptPrefix' | 'proxyUrl'>
> = Object.freeze({
  kind: 'api_key',
  authScheme: 'default',
  extraHeaders: Object.freeze({}) as Record<string, string>,
  systemPromptPrefix: null,
  proxyUrl: null,
});
