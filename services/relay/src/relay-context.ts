import type { CoordinationStore } from '@switchyard/core';
import type { Logger } from 'pino';
import type { AccountHealth } from './account-health.js';
import type { AddressSet } from './client-address.js';
import type { ImageFetcher } from './image-fetcher.js';
import type { KeyAuthenticator } from './key-authenticator.js';
import type { RelayMetrics } from './relay-metrics.js';
import type { RoutingTable } from './routing-table.js';
import type { Tariff } from './tenancy.js';
import type { UpstreamClient, UpstreamTimeouts } from './upstream-client.js';

/** Relay settings, resolved from configuration by the composition root. */
export interface RelaySettings {
  /** Largest accepted request body; base64 images make chat bodies large. */
  bodyLimitBytes: number;
  /** Most upstream attempts for one request (the first try included): the retry budget. */
  maxAttempts: number;
  /** Longest a request may spend on attempts before its first byte reaches the client. */
  deadlineMs: number;
  timeouts: UpstreamTimeouts;
  /** Image URLs an upstream format needs inline: limits, and address classes admitted besides public ones. */
  images?: { maxBytes: number; timeoutMs: number; allow: ReadonlyArray<'loopback' | 'private'> };
  /** Output tokens held for a request that names no max output, and the most held for one that does. */
  holdMaxOutputTokens: number;
  /** How long a hold and a concurrency slot outlive a relay that died before releasing them. */
  holdTtlMs: number;
  /** Proxies (CIDRs) whose `X-Forwarded-For` names the client; empty: the socket peer is the client. */
  trustedProxies: readonly string[];
}

/** What request handlers share. */
export interface RelayContext {
  options: RelaySettings;
  auth: KeyAuthenticator;
  routing: RoutingTable;
  tariff: Tariff;
  /** The trusted proxies, parsed; null when none are configured. */
  trustedProxies: AddressSet | null;
  coordination: CoordinationStore;
  health: AccountHealth;
  upstream: UpstreamClient;
  images: ImageFetcher;
  metrics: RelayMetrics;
  logger: Logger;
}
