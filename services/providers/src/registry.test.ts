import { defaultChannelRouting } from '@switchyard/core';
import { PROVIDER_CATALOG, PROVIDER_IDS } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { PROVIDERS, providerFor } from './registry.js';

describe('provider registry', () => {
  it('when every catalogue id is looked up, then an adapter with that id answers', () => {
    for (const id of PROVIDER_IDS) expect(providerFor(id).id).toBe(id);
    expect(Object.keys(PROVIDERS).sort()).toEqual([...PROVIDER_IDS].sort());
  });

  it('when a provider is OpenAI-compatible in the catalogue, then its adapter speaks OpenAI Chat', () => {
    for (const id of PROVIDER_IDS) {
      if (!PROVIDER_CATALOG[id].openaiCompatible) continue;
      const channel = {
        id: 1,
        name: id,
        provider: id,
        baseUrl: 'https://example.test/v1',
        options: {},
        models: [],
        modelMapping: {},
        priority: 0,
        weight: 1,
        groups: ['default'],
        ...defaultChannelRouting(),
        enabled: true,
        accounts: [],
      };
      expect(providerFor(id).chatFormat(channel, 'm')).toBe('openai-chat');
      expect(providerFor(id).supports('embeddings', channel, 'm')).toBe(true);
    }
  });
});
