/**
 * The deterministic "model" behind the chat routes, exported so tests can compute expected output.
 *
 * Rules (the same for OpenAI Chat Completions and Anthropic Messages bodies):
 * - Text of a message: its `content` if a string; if an array, the `text` of every part/block whose
 *   `type` is "text", concatenated without separator; anything else is "".
 * - content = "Echo: " + text of the last message whose role is "user", cut to its first 200 characters.
 *   "Characters" are Unicode code points throughout (so a chunk never splits a surrogate pair).
 * - promptTokens = ceil(C / 4) + 3 * M, where C is the number of characters of all message texts plus
 *   the Anthropic top-level `system` text, and M is the number of messages plus one for a non-empty
 *   top-level `system` (so an OpenAI request and its Anthropic translation count the same).
 * - chunks: content split into N pieces of near-equal length, longer pieces first, where N is the body
 *   field `mock_chunks` when it is a number >= 1, else the instance's `chunks` (default 5), floored and
 *   capped at the content length.
 * - completionTokens = the number of chunks (also for non-stream responses).
 * - Tool call: when `tools` is a non-empty array and the last message is a user message whose text
 *   contains "call tool" (any case), the answer is a call of the first tool with arguments "{}":
 *   content "", chunks [], completionTokens 1.
 */

export const DEFAULT_CHUNKS = 5;
export const ECHO_PREFIX = 'Echo: ';
export const MAX_CONTENT_CHARS = 200;

export interface ExpectedToolCall {
  name: string;
  arguments: string;
}

export interface ExpectedCompletion {
  content: string;
  chunks: string[];
  promptTokens: number;
  completionTokens: number;
  /** Non-null when the answer is a tool call instead of text. */
  toolCall: ExpectedToolCall | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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

/** The text of a message `content` (string, or array of text parts / blocks). */
export function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (isRecord(part) && part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

function messagesOf(body: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
}

function firstToolName(tools: unknown): string | null {
  if (!Array.isArray(tools) || tools.length === 0) return null;
  const tool: unknown = tools[0];
  if (!isRecord(tool)) return 'tool';
  if (isRecord(tool.function) && typeof tool.function.name === 'string') return tool.function.name;
  return typeof tool.name === 'string' ? tool.name : 'tool';
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

/** Prompt tokens of a chat body, per the rule above. */
export function promptTokensOf(body: unknown): number {
  if (!isRecord(body)) return 0;
  const messages = messagesOf(body);
  let chars = 0;
  let count = messages.length;
  for (const message of messages) chars += charCount(textOfContent(message.content));
  const system = textOfContent(body.system);
  if (system !== '') {
    chars += charCount(system);
    count++;
  }
  return Math.ceil(chars / 4) + 3 * count;
}

/** The deterministic answer to a chat body (OpenAI or Anthropic shape); see the rules above. */
export function expectedCompletion(
  body: unknown,
  defaultChunks: number = DEFAULT_CHUNKS,
): ExpectedCompletion {
  const record = isRecord(body) ? body : {};
  const messages = messagesOf(record);
  const promptTokens = promptTokensOf(record);

  const last = messages[messages.length - 1];
  const toolName = firstToolName(record.tools);
  if (
    toolName !== null &&
    last?.role === 'user' &&
    textOfContent(last.content).toLowerCase().includes('call tool')
  ) {
    return {
      content: '',
      chunks: [],
      promptTokens,
      completionTokens: 1,
      toolCall: { name: toolName, arguments: '{}' },
    };
  }

  let userText = '';
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      userText = textOfContent(messages[i]?.content);
      break;
    }
  }
  let content = ECHO_PREFIX + userText;
  if (content.length > MAX_CONTENT_CHARS) content = Array.from(content).slice(0, MAX_CONTENT_CHARS).join('');

  const requested =
    typeof record.mock_chunks === 'number' && record.mock_chunks >= 1 ? record.mock_chunks : defaultChunks;
  const chunks = splitIntoChunks(content, Number.isFinite(requested) ? requested : DEFAULT_CHUNKS);
  return { content, chunks, promptTokens, completionTokens: chunks.length, toolCall: null };
}
