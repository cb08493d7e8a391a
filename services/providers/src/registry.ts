import type { ProviderId } from '@switchyard/core';
import type { ProviderAdapter } from './provider-adapter.js';
import { openaiProvider } from './openai/provider.js';

/** Every provider, by id: adding one is a folder and a line here. */
export const PROVIDERS = {
  openai: openaiProvider,
} as const satisfies Record<ProviderId, ProviderAdapter>;

export function providerFor(id: ProviderId): ProviderAdapter {
  return PROVIDERS[id];
}
