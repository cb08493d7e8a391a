import type { Channel, ChannelAccount, ProviderId } from '@switchyard/core';
import type { FramedEvent } from './canonical/codec.js';
import type { WireFormat } from './canonical/types.js';

/** Operations a relay can send upstream. */
export type UpstreamOperation = 'chat' | 'models' | 'embeddings' | 'completions' | 'count_tokens';

/** Where and how to send one upstream request. */
export interface UpstreamTarget {
  /** `scheme://host:port`; the relay keeps one keep-alive pool per origin. */
  origin: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Provider headers, credentials included. Never logged. */
  headers: Record<string, string>;
}

/** A request ready to send: target, method, the final body bytes and how the answer's stream is framed. */
export interface PreparedRequest extends UpstreamTarget {
  method: 'GET' | 'POST';
  /** The exact bytes to send (signed providers sign these); '' for GET. */
  body: string;
  /** `sse` (text/event-stream) or `aws-eventstream` (Bedrock's binary application/vnd.amazon.eventstream). */
  framing: 'sse' | 'aws-eventstream';
}

/** One upstream call to prepare. */
export interface UpstreamCall {
  channel: Channel;
  account: ChannelAccount;
  operation: UpstreamOperation;
  /** The wire format of `body` (from `chatFormat` for chat; `openai-chat` for OpenAI-only operations). */
  format: WireFormat;
  /** The upstream model name (after the channel's mapping). */
  model: string;
  stream: boolean;
  /** The request body in `format`, built by the format's codec or passed through from the client. */
  body: Record<string, unknown>;
  /**
   * Client headers a provider may forward (lower-case names): `anthropic-version`, `anthropic-beta`.
   * Nothing else of the client's reaches a provider.
   */
  clientHeaders: Readonly<Record<string, string>>;
}

/** What providers may use besides the call itself. */
export interface ProviderDeps {
  /** Epoch milliseconds (signatures and token expiry). */
  now(): number;
  /**
   * A plain HTTPS POST for credential exchanges (Vertex's token endpoint). The relay supplies one
   * that goes through its own client; tests supply fetch.
   */
  postForm(
    url: string,
    form: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }>;
  /**
   * A JSON POST with the given headers, the body read whole (Code Assist's project lookup). Optional:
   * without it, a provider that needs one must be configured so that it does not.
   */
  postJson?(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }>;
}

/** Splits a streamed upstream body into framed events (SSE or AWS event-stream). */
export interface Unframer {
  push(chunk: Uint8Array): FramedEvent[];
  /** The body ended; whatever complete events remain. */
  end(): FramedEvent[];
}

/** One upstream provider kind: how to reach it, authenticate and which wire format it speaks. */
export interface ProviderAdapter {
  readonly id: ProviderId;
  /** The wire format for chat generation with `upstreamModel` on this channel. */
  chatFormat(channel: Channel, upstreamModel: string): WireFormat;
  /**
   * True when a client request already in `chatFormat` may be forwarded as it is (only the model
   * rewritten): the provider needs no change to the body. False for providers that wrap a format
   * (Bedrock and Vertex carry Anthropic bodies without `model`).
   */
  passthrough(format: WireFormat): boolean;
  /** Operations this provider serves besides chat (`models`, `embeddings`, `completions`, `count_tokens`). */
  supports(operation: UpstreamOperation, channel: Channel, upstreamModel: string): boolean;
  /** Builds the request: URL, authentication (signing the final body where needed) and framing. */
  prepare(call: UpstreamCall, deps: ProviderDeps): Promise<PreparedRequest>;
  /** The unframer for this provider's streamed answers in `format`. */
  createUnframer(format: WireFormat): Unframer;
  /**
   * For providers that wrap a format's answer in an envelope (Code Assist's `{"response": ...}`): the
   * answer inside a whole (non-streamed) JSON body. Absent: the body is the answer.
   */
  unwrapResponse?(body: unknown): unknown;
}
