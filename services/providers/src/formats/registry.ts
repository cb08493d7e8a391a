import type { ClientCodec, UpstreamCodec } from '../canonical/codec.js';
import { anthropicClientCodec, anthropicUpstreamCodec } from './anthropic-messages/index.js';
import { bedrockConverseUpstreamCodec } from './bedrock-converse/index.js';
import { geminiClientCodec, geminiUpstreamCodec } from './gemini/index.js';
import { openaiChatClientCodec, openaiChatUpstreamCodec } from './openai-chat/index.js';
import { openaiResponsesClientCodec } from './openai-responses/index.js';

/** Formats clients may speak to the gateway: adding one is a folder and a line here. */
export const CLIENT_CODECS = {
  'openai-chat': openaiChatClientCodec,
  'openai-responses': openaiResponsesClientCodec,
  'anthropic-messages': anthropicClientCodec,
  gemini: geminiClientCodec,
} as const satisfies Record<string, ClientCodec>;
export type ClientFormat = keyof typeof CLIENT_CODECS;

/** Formats the gateway can send upstream. */
export const UPSTREAM_CODECS = {
  'openai-chat': openaiChatUpstreamCodec,
  'anthropic-messages': anthropicUpstreamCodec,
  gemini: geminiUpstreamCodec,
  'bedrock-converse': bedrockConverseUpstreamCodec,
} as const satisfies Record<string, UpstreamCodec>;
export type UpstreamFormat = keyof typeof UPSTREAM_CODECS;

export function upstreamCodecFor(format: string): UpstreamCodec | null {
  return Object.hasOwn(UPSTREAM_CODECS, format) ? UPSTREAM_CODECS[format as UpstreamFormat] : null;
}
