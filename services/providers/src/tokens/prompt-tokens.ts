import type { ClientFormat } from '../formats/registry.js';
import { type TextTokenCounter, loadedTokenCounterFor, tokenCounterFor } from './text-tokens.js';

/**
 * Why 3: OpenAI's per-message framing (`<|start|>{role}<|message|>…<|end|>`), from its cookbook
 * "How to count tokens with tiktoken"; the role itself and a `name` are counted as their text.
 */
const TOKENS_PER_MESSAGE = 3;
/** Why 3: every reply is primed with `<|start|>assistant<|message|>` (same source). */
const REPLY_PRIMING_TOKENS = 3;
/** Why 1: a message's `name` replaces the role marker and costs one more token (same source). */
const TOKENS_PER_NAME = 1;
/**
 * Why 765: OpenAI's high-detail cost of a 1024×1024 image (85 base + 4 tiles of 512 px × 170). The
 * image's size is not known without decoding it, so every image is counted at that size.
 */
export const TOKENS_PER_IMAGE = 765;

/** A prompt's estimated size. `tokens` includes `images × TOKENS_PER_IMAGE`. */
export interface PromptEstimate {
  tokens: number;
  images: number;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `o[a]`, else `o[b]`: Gemini bodies may spell fields in camelCase or snake_case. */
function field(o: Json, a: string, b: string): unknown {
  return o[a] ?? o[b];
}

/** Accumulates one prompt's count in a single pass over its body. */
class PromptTally {
  tokens = 0;
  images = 0;
  messages = 0;

  constructor(private readonly count: TextTokenCounter) {}

  text(v: unknown): void {
    if (typeof v === 'string' && v !== '') this.tokens += this.count(v);
  }

  /** A value the model reads as JSON text (schemas, tool arguments objects); strings as they are. */
  json(v: unknown): void {
    if (v === undefined || v === null) return;
    if (typeof v === 'string') {
      this.text(v);
      return;
    }
    try {
      this.text(JSON.stringify(v));
    } catch {
      // A value JSON cannot write (a BigInt from a custom parser): nothing a model would read.
    }
  }

  message(role: unknown, name?: unknown): void {
    this.messages++;
    this.tokens += TOKENS_PER_MESSAGE;
    this.text(typeof role === 'string' ? role : 'user');
    if (typeof name === 'string' && name !== '') {
      this.tokens += TOKENS_PER_NAME;
      this.text(name);
    }
  }

  image(): void {
    this.images++;
    this.tokens += TOKENS_PER_IMAGE;
  }

  tool(name: unknown, description: unknown, schema: unknown): void {
    this.text(name);
    this.text(description);
    this.json(schema);
  }

  /** Embeddings / legacy completions input: a string, strings, token ids or arrays of token ids. */
  plainInput(v: unknown): void {
    if (!Array.isArray(v)) {
      this.text(v);
      return;
    }
    for (const item of v) {
      if (typeof item === 'number') this.tokens += 1;
      else if (Array.isArray(item)) this.tokens += item.filter((id) => typeof id === 'number').length;
      else this.text(item);
    }
  }

  result(): PromptEstimate {
    const priming = this.messages > 0 ? REPLY_PRIMING_TOKENS : 0;
    return { tokens: this.tokens + priming, images: this.images };
  }
}

function each(v: unknown, f: (item: Json) => void): void {
  if (Array.isArray(v)) for (const item of v) if (isObject(item)) f(item);
}

// --- OpenAI Chat Completions (and embeddings / legacy completions, which arrive as this format) ---

function openaiChatContent(t: PromptTally, content: unknown): void {
  if (typeof content === 'string') {
    t.text(content);
    return;
  }
  each(content, (part) => {
    if (part.type === 'image_url') t.image();
    else if (part.type === 'refusal') t.text(part.refusal);
    else t.text(part.text);
  });
}

function openaiChatTools(t: PromptTally, body: Json): void {
  each(body.tools, (tool) => {
    const fn = isObject(tool.function) ? tool.function : tool;
    t.tool(fn.name, fn.description, fn.parameters);
  });
  // The legacy `functions` list: the model reads it the same way.
  each(body.functions, (fn) => t.tool(fn.name, fn.description, fn.parameters));
}

function openaiResponseFormat(t: PromptTally, format: unknown): void {
  if (isObject(format) && format.type === 'json_schema') {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : format.schema;
    t.json(schema);
  }
}

function openaiChat(t: PromptTally, body: Json): void {
  if (!Array.isArray(body.messages)) {
    t.plainInput(body.input ?? body.prompt);
    return;
  }
  each(body.messages, (m) => {
    t.message(m.role, m.name);
    openaiChatContent(t, m.content);
    each(m.tool_calls, (call) => {
      const fn = isObject(call.function) ? call.function : call;
      t.text(fn.name);
      t.json(fn.arguments);
    });
  });
  openaiChatTools(t, body);
  openaiResponseFormat(t, body.response_format);
}

// --- OpenAI Responses ---

function responsesContent(t: PromptTally, content: unknown): void {
  if (typeof content === 'string') {
    t.text(content);
    return;
  }
  each(content, (part) => {
    if (part.type === 'input_image') t.image();
    else if (part.type === 'refusal') t.text(part.refusal);
    else t.text(part.text);
  });
}

function openaiResponses(t: PromptTally, body: Json): void {
  if (typeof body.instructions === 'string' && body.instructions !== '') {
    t.message('developer');
    t.text(body.instructions);
  }
  const input = body.input;
  if (typeof input === 'string') {
    t.message('user');
    t.text(input);
  } else if (Array.isArray(input)) {
    for (const item of input) {
      if (typeof item === 'string') {
        t.message('user');
        t.text(item);
        continue;
      }
      if (!isObject(item)) continue;
      const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
      if (type === 'message') {
        t.message(item.role);
        responsesContent(t, item.content);
      } else if (type === 'function_call') {
        t.message('assistant');
        t.text(item.name);
        t.json(item.arguments);
      } else if (type === 'function_call_output') {
        t.message('tool');
        responsesContent(t, item.output);
      }
      // Reasoning items: earlier turns' reasoning is not part of the prompt OpenAI bills.
    }
  }
  each(body.tools, (tool) => t.tool(tool.name, tool.description, tool.parameters));
  if (isObject(body.text)) openaiResponseFormat(t, body.text.format);
}

// --- Anthropic Messages ---

/** `nested`: inside a tool result, whose blocks hold no further tool results. */
function anthropicBlocks(t: PromptTally, content: unknown, nested = false): void {
  if (typeof content === 'string') {
    t.text(content);
    return;
  }
  each(content, (block) => {
    switch (block.type) {
      case 'image':
        t.image();
        break;
      case 'tool_use':
        t.text(block.name);
        t.json(block.input);
        break;
      case 'tool_result':
        if (!nested) anthropicBlocks(t, block.content, true);
        break;
      case 'thinking':
      case 'redacted_thinking':
        // Anthropic does not count earlier turns' thinking as input.
        break;
      default:
        t.text(block.text);
    }
  });
}

function anthropicMessages(t: PromptTally, body: Json): void {
  if (body.system !== undefined && body.system !== null && body.system !== '') {
    t.message('system');
    anthropicBlocks(t, body.system);
  }
  each(body.messages, (m) => {
    t.message(m.role);
    anthropicBlocks(t, m.content);
  });
  each(body.tools, (tool) => t.tool(tool.name, tool.description, tool.input_schema));
}

// --- Gemini ---

/** `nested`: a function response's own parts, which hold no further function responses. */
function geminiParts(t: PromptTally, parts: unknown, nested = false): void {
  each(parts, (part) => {
    if (part.thought === true) return;
    const call = field(part, 'functionCall', 'function_call');
    const response = field(part, 'functionResponse', 'function_response');
    if (typeof part.text === 'string') t.text(part.text);
    else if (field(part, 'inlineData', 'inline_data') !== undefined) t.image();
    else if (field(part, 'fileData', 'file_data') !== undefined) t.image();
    else if (isObject(call)) {
      t.text(call.name);
      t.json(call.args);
    } else if (isObject(response) && !nested) {
      t.text(response.name);
      t.json(response.response);
      geminiParts(t, response.parts, true);
    }
  });
}

function gemini(t: PromptTally, given: Json): void {
  // A countTokens body may wrap the request.
  const inner = field(given, 'generateContentRequest', 'generate_content_request');
  const body = isObject(inner) ? inner : given;
  const system = field(body, 'systemInstruction', 'system_instruction');
  if (typeof system === 'string' && system !== '') {
    t.message('system');
    t.text(system);
  } else if (isObject(system)) {
    t.message('system');
    geminiParts(t, system.parts);
  }
  each(body.contents, (c) => {
    t.message(c.role);
    geminiParts(t, c.parts);
  });
  each(body.tools, (tool) => {
    each(field(tool, 'functionDeclarations', 'function_declarations'), (fn) => {
      const schema = fn.parameters ?? field(fn, 'parametersJsonSchema', 'parameters_json_schema');
      t.tool(fn.name, fn.description, schema);
    });
  });
  const config = field(body, 'generationConfig', 'generation_config');
  if (isObject(config)) {
    t.json(field(config, 'responseSchema', 'response_schema'));
    t.json(field(config, 'responseJsonSchema', 'response_json_schema'));
  }
}

const WALKERS: Record<ClientFormat, (t: PromptTally, body: Json) => void> = {
  'openai-chat': openaiChat,
  'openai-responses': openaiResponses,
  'anthropic-messages': anthropicMessages,
  gemini,
};

function tally(format: ClientFormat, body: Record<string, unknown>, count: TextTokenCounter): PromptEstimate {
  const t = new PromptTally(count);
  // A format the types do not know can still arrive from plain JavaScript: it gets an empty count.
  const walk = WALKERS[format] as ((t: PromptTally, body: Json) => void) | undefined;
  if (walk !== undefined && isObject(body)) walk(t, body);
  return t.result();
}

/**
 * The prompt tokens of a client request body, in one pass over the raw body (no canonical
 * conversion, so it is cheap enough for every request): the text the model reads (system /
 * instructions, message texts, tool definitions as name + description + JSON schema, tool-call
 * arguments, tool results, a structured-output schema) counted with the model's tokenizer, plus
 * OpenAI's framing (3 per message, its role as text, 3 for the reply) and 765 per image.
 * Embeddings and legacy completions bodies (`input` / `prompt`: strings, or token-id arrays counted
 * one per id) carry no framing. Earlier turns' reasoning is not counted. Fields it does not know are
 * ignored, and a body of any shape gets an estimate: it never throws on the body.
 */
export async function estimatePromptTokens(
  format: ClientFormat,
  body: Record<string, unknown>,
  model: string,
): Promise<PromptEstimate> {
  return tally(format, body, await tokenCounterFor(model));
}

/**
 * `estimatePromptTokens` without waiting: null while the model's encoding is not loaded (call
 * `preloadTokenizer`). For models counted by the approximation it always answers.
 */
export function estimatePromptTokensSync(
  format: ClientFormat,
  body: Record<string, unknown>,
  model: string,
): PromptEstimate | null {
  const count = loadedTokenCounterFor(model);
  return count === null ? null : tally(format, body, count);
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null;
}

/**
 * The most output tokens a request asks for, or null when it sets no limit: `max_completion_tokens`
 * (else `max_tokens`) for OpenAI Chat and legacy completions, `max_output_tokens` for Responses,
 * `max_tokens` for Anthropic, `generationConfig.maxOutputTokens` for Gemini. Only a positive integer
 * counts. It is per choice: OpenAI's `n` and Gemini's `candidateCount` multiply what can be billed.
 */
export function maxOutputTokens(format: ClientFormat, body: Record<string, unknown>): number | null {
  if (!isObject(body)) return null;
  switch (format) {
    case 'openai-chat':
      return positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens);
    case 'openai-responses':
      return positiveInt(body.max_output_tokens);
    case 'anthropic-messages':
      return positiveInt(body.max_tokens);
    case 'gemini': {
      const inner = field(body, 'generateContentRequest', 'generate_content_request');
      const config = field(isObject(inner) ? inner : body, 'generationConfig', 'generation_config');
      return isObject(config) ? positiveInt(field(config, 'maxOutputTokens', 'max_output_tokens')) : null;
    }
    default:
      return null;
  }
}
