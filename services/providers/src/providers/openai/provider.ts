import type { Channel, ChannelAccount } from '@switchyard/core';
import type { ProviderAdapter, UpstreamTarget } from '../provider-adapter.js';

/**
 * Any OpenAI-compatible upstream. `base_url` is what one would hand the OpenAI SDK as `baseURL`
 * (for example `https://api.openai.com/v1`); operation paths are appended to it.
 */
export const openaiProvider: ProviderAdapter = {
  id: 'openai',
  target(channel: Channel, account: ChannelAccount, operation): UpstreamTarget {
    const url = new URL(channel.baseUrl);
    const base = url.pathname.replace(/\/+$/, '');
    return {
      origin: url.origin,
      path: `${base}${OPERATION_PATHS[operation]}${url.search}`,
      headers: {
        authorization: `Bearer ${account.apiKey}`,
        'content-type': 'application/json',
      },
    };
  },
};

const OPERATION_PATHS = {
  chat_completions: '/chat/completions',
  models: '/models',
} as const;
