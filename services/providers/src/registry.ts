import type { ProviderId } from '@switchyard/core';
import type { ProviderAdapter } from './provider-adapter.js';
import { anthropicProvider } from './providers/anthropic/provider.js';
import { azureOpenAIProvider } from './providers/azure-openai/provider.js';
import { bedrockProvider } from './providers/bedrock/provider.js';
import { geminiProvider } from './providers/gemini/provider.js';
import { geminiCodeAssistProvider } from './providers/gemini-code-assist/provider.js';
import { openAICompatibleProvider } from './providers/openai-compatible/provider.js';
import { vertexProvider } from './providers/vertex/provider.js';

/** Every provider, by id: adding one is a folder and a line here (an OpenAI-compatible preset, just a line). */
export const PROVIDERS = {
  openai: openAICompatibleProvider('openai'),
  'azure-openai': azureOpenAIProvider,
  anthropic: anthropicProvider,
  gemini: geminiProvider,
  'gemini-code-assist': geminiCodeAssistProvider,
  bedrock: bedrockProvider,
  vertex: vertexProvider,
  deepseek: openAICompatibleProvider('deepseek'),
  groq: openAICompatibleProvider('groq'),
  mistral: openAICompatibleProvider('mistral'),
  xai: openAICompatibleProvider('xai'),
  openrouter: openAICompatibleProvider('openrouter'),
  together: openAICompatibleProvider('together'),
  fireworks: openAICompatibleProvider('fireworks'),
  moonshot: openAICompatibleProvider('moonshot'),
  zhipu: openAICompatibleProvider('zhipu'),
  qwen: openAICompatibleProvider('qwen'),
  ollama: openAICompatibleProvider('ollama'),
  vllm: openAICompatibleProvider('vllm'),
} as const satisfies Record<ProviderId, ProviderAdapter>;

/** The adapter for a channel's provider. */
export function providerFor(id: ProviderId): ProviderAdapter {
  return PROVIDERS[id];
}
