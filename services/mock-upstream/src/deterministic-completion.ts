import { createHash } from 'node:crypto';
import { textOfContent, viewConversation } from './conversation-view.js';
import type { ConversationTurn, ConversationView } from './conversation-view.js';
import { describeImage } from './image-input.js';

/**
 * The deterministic "model" behind the chat routes, exported so tests can compute expected output.
 * The same rules read every supported request format (see conversation-view.ts): OpenAI Chat
 * Completions, Anthropic Messages, Gemini `contents` and Bedrock Converse bodies.
 *
 * - Text of a message: its `content` if a string; if an array, the `text` of every text part/block
 *   (`type: "text"`, or a Gemini part / Converse block without `type`, Gemini thought parts excluded),
 *   concatenated without separator; anything else is "".
 * - content = "Echo: " + text of the last message whose role is "user" (Gemini: "user" or no role),
 *   then ` [image: <media type or "url">, <decoded byte count or "url">]` per image part of that
 *   message, cut to its first 200 characters. "Characters" are Unicode code points throughout (so a
 *   chunk never splits a surrogate pair).
 * - promptTokens = ceil(C / 4) + 3 * M, where C is the number of characters of all message texts plus
 *   the top-level system text (Anthropic/Converse `system`, Gemini `systemInstruction`), and M is the
 *   number of messages plus one for a non-empty top-level system (so an OpenAI request and its
 *   translation into any other format count the same).
 * - chunks: content split into N pieces of near-equal length, longer pieces first, where N is the body
 *   field `mock_chunks` when it is a number >= 1, else the instance's `chunks` (default 5), floored and
 *   capped at the content length.
 * - Output limit: when the request's max output tokens (OpenAI `max_completion_tokens`/`max_tokens`,
 *   Anthropic `max_tokens`, Gemini `maxOutputTokens`, Converse `maxTokens`) is below the number of
 *   chunks, only that many chunks are answered and the stop reason is `max_tokens`.
 * - Reasoning (see `reasoningEnabled`): the answer starts with the reasoning text
 *   "Thinking about: " + the last user text (cut to 200 characters), split into N chunks like the
 *   content, with the signature base64(sha256(reasoning text)); reasoningTokens = its chunk count.
 * - completionTokens = the number of content chunks (also for non-stream responses) + reasoningTokens.
 * - Tool call: when the request offers a tool and the last message is a user message whose text
 *   contains "call tool" (any case), the answer is a call of the first tool: content "", chunks [],
 *   completionTokens 1 + reasoningTokens, arguments "{}" when the tool's parameter schema has no
 *   `properties`, else `{"<first property>": <last user text>}`. Streams send the arguments in
 *   `toolArgumentChunks`: max(2, N) pieces when longer than 2 characters, else one.
 */

export const DEFAULT_CHUNKS = 5;
export const ECHO_PREFIX = 'Echo: ';
/** The reasoning text starts with this, then the last user text. */
export const REASONING_PREFIX = 'Thinking about: ';
export const MAX_CONTENT_CHARS = 200;

export interface ExpectedToolCall {
  name: string;
  arguments: string;
}

/** The reasoning an answer starts with when the request enables it. */
export interface ExpectedReasoning {
  text: string;
  chunks: string[];
  /** Anthropic thinking signature / Gemini thoughtSignature / Converse reasoning signature. */
  signature: string;
}

/** Why the answer ended, in Anthropic's terms (see expected-wire-fields.ts for the other formats). */
export type ExpectedStopReason = 'end_turn' | 'tool_use' | 'max_tokens';

export interface ExpectedCompletion {
  content: string;
  chunks: string[];
  promptTokens: number;
  completionTokens: number;
  /** Non-null when the answer is a tool call instead of text. */
  toolCall: ExpectedToolCall | null;
  /** The tool-call arguments as streams send them ([] without a tool call). */
  toolArgumentChunks: string[];
  /** Non-null when the request turned reasoning on. */
  reasoning: ExpectedReasoning | null;
  /** Reasoning chunks (part of completionTokens). */
  reasoningTokens: number;
  stopReason: ExpectedStopReason;
}

export { textOfContent };

/** Number of Unicode code points in `text`. */
export function charCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Splits `text` into `n` near-equal pieces (by code point), longer pieces first. */
export function splitIntoChunks(text: string, n: number): string[] {
  const points = Array.from(text);
  const count = Math.max(1, Math.min(Math.floor(n), points.length));
  const base = Math.floor(points.length / count);
  const longer = points.length % count;
  const chunks: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const size = base + (i < longer ? 1 : 0);
    chunks.push(points.slice(at, at + size).join(''));
    at += size;
  }
  return chunks;
}

function cut(text: string): string {
  return text.length > MAX_CONTENT_CHARS ? Array.from(text).slice(0, MAX_CONTENT_CHARS).join('') : text;
}

function promptTokensOfView(view: ConversationView): number {
  let chars = 0;
  let count = view.turns.length;
  for (const turn of view.turns) chars += charCount(turn.text);
  if (view.system !== '') {
    chars += charCount(view.system);
    count++;
  }
  return Math.ceil(chars / 4) + 3 * count;
}

/** Prompt tokens of a chat body, per the rule above. */
export function promptTokensOf(body: unknown): number {
  return promptTokensOfView(viewConversation(body));
}

/** The deterministic thinking signature of a reasoning text. */
export function reasoningSignature(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requestedChunks(body: unknown, defaultChunks: number): number {
  const field = isRecord(body) ? body.mock_chunks : undefined;
  const requested = typeof field === 'number' && field >= 1 ? field : defaultChunks;
  return Number.isFinite(requested) ? requested : DEFAULT_CHUNKS;
}

function lastUserTurn(turns: readonly ConversationTurn[]): ConversationTurn | null {
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i];
    if (turn?.role === 'user') return turn;
  }
  return null;
}

/** The deterministic answer to a chat body of any supported format; see the rules above. */
export function expectedCompletion(
  body: unknown,
  defaultChunks: number = DEFAULT_CHUNKS,
): ExpectedCompletion {
  const view = viewConversation(body);
  const promptTokens = promptTokensOfView(view);
  const n = requestedChunks(body, defaultChunks);
  const userTurn = lastUserTurn(view.turns);
  const userText = userTurn?.text ?? '';

  let reasoning: ExpectedReasoning | null = null;
  if (view.reasoning) {
    const text = cut(REASONING_PREFIX + userText);
    reasoning = { text, chunks: splitIntoChunks(text, n), signature: reasoningSignature(text) };
  }
  const reasoningTokens = reasoning?.chunks.length ?? 0;

  const last = view.turns[view.turns.length - 1];
  if (view.tool !== null && last?.role === 'user' && last.text.toLowerCase().includes('call tool')) {
    const property = view.tool.firstProperty;
    const args = property === null ? '{}' : JSON.stringify({ [property]: userText });
    return {
      content: '',
      chunks: [],
      promptTokens,
      completionTokens: 1 + reasoningTokens,
      toolCall: { name: view.tool.name, arguments: args },
      toolArgumentChunks: args.length > 2 ? splitIntoChunks(args, Math.max(2, n)) : [args],
      reasoning,
      reasoningTokens,
      stopReason: 'tool_use',
    };
  }

  const images = userTurn?.images.map(describeImage).join('') ?? '';
  let chunks = splitIntoChunks(cut(ECHO_PREFIX + userText + images), n);
  let stopReason: ExpectedStopReason = 'end_turn';
  if (view.maxTokens !== null && view.maxTokens < chunks.length) {
    chunks = chunks.slice(0, view.maxTokens);
    stopReason = 'max_tokens';
  }
  return {
    content: chunks.join(''),
    chunks,
    promptTokens,
    completionTokens: chunks.length + reasoningTokens,
    toolCall: null,
    toolArgumentChunks: [],
    reasoning,
    reasoningTokens,
    stopReason,
  };
}
