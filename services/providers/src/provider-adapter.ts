import type { Channel, ChannelAccount, ProviderId } from '@switchyard/core';

/** Operations a relay can send upstream. */
export type UpstreamOperation = 'chat_completions' | 'models';

/** Where and how to send one upstream request. */
export interface UpstreamTarget {
  /** `scheme://host:port`; the relay keeps one keep-alive pool per origin. */
  origin: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Provider headers, credentials included. Never logged. */
  headers: Record<string, string>;
}

/** One upstream provider kind. */
export interface ProviderAdapter {
  readonly id: ProviderId;
  target(channel: Channel, account: ChannelAccount, operation: UpstreamOperation): UpstreamTarget;
}
