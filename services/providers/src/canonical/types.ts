/**
 * The one canonical representation of a generation request, its answer and its stream, inside the
 * relay. Every client wire format and every upstream wire format converts to and from these types
 * (2N converters, never one per pair). Field meanings follow the union of what the formats can say;
 * a converter that cannot express a field that changes the meaning throws an InvalidRequestError.
 */

/** Wire formats the gateway speaks, on either side. */
export const WIRE_FORMATS = [
  'openai-chat',
  'openai-responses',
  'anthropic-messages',
  'gemini',
  'bedrock-converse',
] as const;
export type WireFormat = (typeof WIRE_FORMATS)[number];

export type ImageSource =
  | { kind: 'url'; url: string }
  /** `data` is base64 without the `data:` prefix. */
  | { kind: 'base64'; mediaType: string; data: string };

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ImagePart {
  type: 'image';
  source: ImageSource;
  /** OpenAI's `detail`; ignored by formats that have none. */
  detail?: 'auto' | 'low' | 'high';
}

/** A function call the model made. `arguments` is the JSON text of the arguments object. */
export interface ToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  arguments: string;
}

/** The caller's answer to a tool call. `name` is the called function when known (Gemini needs it). */
export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  name: string | null;
  content: Array<TextPart | ImagePart>;
  isError: boolean;
}

/** Reasoning the model showed. `signature` is Anthropic's opaque signature, kept for round trips. */
export interface ThinkingPart {
  type: 'thinking';
  text: string;
  signature: string | null;
}

/** Anthropic's encrypted reasoning block; only Anthropic-format upstreams can take it back. */
export interface RedactedThinkingPart {
  type: 'redacted_thinking';
  data: string;
}

export type CanonicalPart =
  TextPart | ImagePart | ToolCallPart | ToolResultPart | ThinkingPart | RedactedThinkingPart;

/**
 * One turn. Tool results are parts of a `user` turn (as in Anthropic's and Gemini's formats); the
 * OpenAI converters turn them into and out of `role: "tool"` messages.
 */
export interface CanonicalMessage {
  role: 'user' | 'assistant';
  content: CanonicalPart[];
}

export interface CanonicalTool {
  name: string;
  description: string | null;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export type CanonicalToolChoice =
  | { type: 'auto' }
  | { type: 'none' }
  /** The model must call some tool. */
  | { type: 'required' }
  /** The model must call this tool. */
  | { type: 'tool'; name: string };

export type CanonicalResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict: boolean };

/** Reasoning/thinking settings; null on the request means "the provider's default". */
export interface CanonicalReasoning {
  /** OpenAI-style effort, when the caller gave one. */
  effort: 'minimal' | 'low' | 'medium' | 'high' | null;
  /** Anthropic/Gemini-style token budget, when the caller gave one. */
  budgetTokens: number | null;
  /** False when the caller explicitly turned reasoning off. */
  enabled: boolean;
}

export interface CanonicalRequest {
  /** The model the client asked for (the relay sends the mapped upstream model). */
  model: string;
  /** System instructions, joined; null when none. */
  system: string | null;
  messages: CanonicalMessage[];
  tools: CanonicalTool[];
  toolChoice: CanonicalToolChoice | null;
  /** null: the provider's default. */
  parallelToolCalls: boolean | null;
  maxTokens: number | null;
  temperature: number | null;
  topP: number | null;
  topK: number | null;
  stop: string[];
  stream: boolean;
  /** Number of choices; only OpenAI Chat can return more than one. */
  n: number;
  responseFormat: CanonicalResponseFormat | null;
  reasoning: CanonicalReasoning | null;
  /** End-user id for abuse tracking (OpenAI `user`, Anthropic `metadata.user_id`). */
  user: string | null;
}

/**
 * Token counts. `inputTokens` counts every prompt token, cached ones included (OpenAI's
 * prompt_tokens); `outputTokens` counts every generated token, reasoning included.
 */
export interface CanonicalUsage {
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens read from the provider's cache (part of inputTokens). */
  cachedInputTokens: number;
  /** Prompt tokens written to the provider's cache (part of inputTokens; Anthropic). */
  cacheCreationInputTokens: number;
  /** Reasoning tokens (part of outputTokens). */
  reasoningTokens: number;
}

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'content_filter'
  | 'refusal'
  | 'pause_turn'
  | 'error';

export interface CanonicalResponse {
  id: string;
  model: string;
  /** Epoch seconds. */
  created: number;
  /** Text, tool calls and reasoning, in the order the model produced them. */
  content: Array<TextPart | ToolCallPart | ThinkingPart | RedactedThinkingPart>;
  stopReason: StopReason;
  stopSequence: string | null;
  usage: CanonicalUsage;
}

export type CanonicalBlock =
  | { type: 'text' }
  | { type: 'thinking' }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_call'; id: string; name: string };

/**
 * Canonical stream events, modelled on Anthropic's (the richest of the formats). A decoder emits a
 * well-formed sequence: `message_start`; then blocks, each `block_start`, its deltas, `block_stop`
 * (indexes count from 0 in start order; blocks may interleave only where the upstream interleaves
 * them); one `message_delta` with the stop reason and the final usage; `message_stop`.
 */
export type CanonicalStreamEvent =
  | { type: 'message_start'; id: string; model: string; usage: CanonicalUsage | null }
  | { type: 'block_start'; index: number; block: CanonicalBlock }
  | { type: 'text_delta'; index: number; text: string }
  | { type: 'thinking_delta'; index: number; text: string }
  | { type: 'signature_delta'; index: number; signature: string }
  | { type: 'tool_args_delta'; index: number; json: string }
  | { type: 'block_stop'; index: number }
  | {
      type: 'message_delta';
      stopReason: StopReason;
      stopSequence: string | null;
      usage: CanonicalUsage | null;
    }
  | { type: 'message_stop' };

export function emptyUsage(): CanonicalUsage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheCreationInputTokens: 0,
    reasoningTokens: 0,
  };
}
