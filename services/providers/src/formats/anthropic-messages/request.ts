import { InvalidRequestError } from '@switchyard/core';
import type { ClientRequestContext } from '../../canonical/codec.js';
import {
  invalid,
  isObject,
  optArray,
  optBoolean,
  optInt,
  optNumber,
  optObject,
  optString,
  parseDataUrl,
  reqString,
  requireArgumentsObject,
} from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import type {
  CanonicalMessage,
  CanonicalPart,
  CanonicalReasoning,
  CanonicalRequest,
  CanonicalTool,
  CanonicalToolChoice,
  ImagePart,
  ImageSource,
  TextPart,
} from '../../canonical/types.js';

/** Anthropic's own wording for a missing required field (`max_tokens: Field required`). */
function fieldRequired(param: string): InvalidRequestError {
  return new InvalidRequestError(`${param}: Field required`, { param });
}

// ---------------------------------------------------------------------------------------------
// Client side: an Anthropic Messages request body → canonical request.
// ---------------------------------------------------------------------------------------------

/**
 * Parses an Anthropic Messages request body into the canonical request. Throws an
 * InvalidRequestError naming the parameter (`messages.1.content.0.source`) for anything malformed
 * or not supported by the gateway (document blocks, server tools).
 */
export function parseAnthropicRequest(body: JsonObject, ctx: ClientRequestContext): CanonicalRequest {
  const model = optString(body, 'model') ?? ctx.model ?? null;
  if (model === null) throw fieldRequired('model');
  const maxTokens = optInt(body, 'max_tokens', 'max_tokens', 1);
  if (maxTokens === null) throw fieldRequired('max_tokens');
  if (body.messages === undefined) throw fieldRequired('messages');
  const { choice, parallel } = parseToolChoice(body);
  const metadata = optObject(body, 'metadata');
  return {
    model,
    system: parseSystem(body.system),
    messages: parseMessages(body.messages),
    tools: parseTools(body),
    toolChoice: choice,
    parallelToolCalls: parallel,
    maxTokens,
    temperature: optNumber(body, 'temperature', 'temperature', { min: 0, max: 1 }),
    topP: optNumber(body, 'top_p', 'top_p', { min: 0, max: 1 }),
    topK: optInt(body, 'top_k'),
    stop: parseStopSequences(body),
    stream: optBoolean(body, 'stream') ?? ctx.stream ?? false,
    n: 1,
    responseFormat: null,
    reasoning: parseThinking(body),
    user: metadata === null ? null : optString(metadata, 'user_id', 'metadata.user_id'),
  };
}

function parseSystem(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (!Array.isArray(v)) throw invalid('system', 'must be a string or an array of text blocks.');
  const texts = v.map((b: unknown, i) => {
    if (!isObject(b) || b.type !== 'text') throw invalid(`system.${i}`, 'must be a text block.');
    return reqString(b, 'text', `system.${i}.text`);
  });
  return texts.length === 0 ? null : texts.join('\n\n');
}

function parseMessages(v: unknown): CanonicalMessage[] {
  if (!Array.isArray(v)) throw invalid('messages', 'must be an array.');
  if (v.length === 0) throw invalid('messages', 'must contain at least one message.');
  // Anthropic's tool_result carries no tool name; Gemini needs it, so it is filled from the call.
  const toolNames = new Map<string, string>();
  return v.map((m: unknown, i) => parseMessage(m, `messages.${i}`, toolNames));
}

function parseMessage(m: unknown, param: string, toolNames: Map<string, string>): CanonicalMessage {
  if (!isObject(m)) throw invalid(param, 'must be an object.');
  const role = m.role;
  if (role !== 'user' && role !== 'assistant')
    throw invalid(`${param}.role`, "must be 'user' or 'assistant'.");
  const content = m.content;
  if (typeof content === 'string') return { role, content: [{ type: 'text', text: content }] };
  if (!Array.isArray(content)) {
    throw invalid(`${param}.content`, 'must be a string or an array of content blocks.');
  }
  return {
    role,
    content: content.map((b: unknown, j) => parseBlock(b, role, `${param}.content.${j}`, toolNames)),
  };
}

function parseBlock(
  b: unknown,
  role: 'user' | 'assistant',
  param: string,
  toolNames: Map<string, string>,
): CanonicalPart {
  if (!isObject(b)) throw invalid(param, 'must be a content block object.');
  switch (b.type) {
    case 'text':
      return { type: 'text', text: reqString(b, 'text', `${param}.text`) };
    case 'image':
      return { type: 'image', source: parseImageSource(b.source, `${param}.source`) };
    case 'tool_use': {
      if (role !== 'assistant')
        throw invalid(`${param}.type`, 'tool_use blocks belong in assistant messages.');
      const id = reqString(b, 'id', `${param}.id`);
      const name = reqString(b, 'name', `${param}.name`);
      if (!isObject(b.input)) throw invalid(`${param}.input`, 'is required and must be an object.');
      toolNames.set(id, name);
      return { type: 'tool_call', id, name, arguments: JSON.stringify(b.input) };
    }
    case 'tool_result': {
      if (role !== 'user') throw invalid(`${param}.type`, 'tool_result blocks belong in user messages.');
      const toolCallId = reqString(b, 'tool_use_id', `${param}.tool_use_id`);
      return {
        type: 'tool_result',
        toolCallId,
        name: toolNames.get(toolCallId) ?? null,
        content: parseToolResultContent(b.content, `${param}.content`),
        isError: optBoolean(b, 'is_error', `${param}.is_error`) ?? false,
      };
    }
    case 'thinking':
      return {
        type: 'thinking',
        text: reqString(b, 'thinking', `${param}.thinking`),
        signature: optString(b, 'signature', `${param}.signature`),
      };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: reqString(b, 'data', `${param}.data`) };
    case 'document':
      throw invalid(param, 'document blocks are not supported by this gateway.');
    default:
      throw invalid(
        `${param}.type`,
        typeof b.type === 'string' ? `content block type '${b.type}' is not supported.` : 'is required.',
      );
  }
}

function parseImageSource(s: unknown, param: string): ImageSource {
  if (!isObject(s)) throw invalid(param, 'is required and must be an object.');
  if (s.type === 'base64') {
    return {
      kind: 'base64',
      mediaType: reqString(s, 'media_type', `${param}.media_type`),
      data: reqString(s, 'data', `${param}.data`),
    };
  }
  if (s.type === 'url') {
    const url = reqString(s, 'url', `${param}.url`);
    const inline = parseDataUrl(url);
    return inline === null ? { kind: 'url', url } : { kind: 'base64', ...inline };
  }
  throw invalid(param, "must be a 'base64' or 'url' image source.");
}

function parseToolResultContent(v: unknown, param: string): Array<TextPart | ImagePart> {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [{ type: 'text', text: v }];
  if (!Array.isArray(v)) throw invalid(param, 'must be a string or an array of text and image blocks.');
  return v.map((b: unknown, k): TextPart | ImagePart => {
    const p = `${param}.${k}`;
    if (isObject(b) && b.type === 'text') return { type: 'text', text: reqString(b, 'text', `${p}.text`) };
    if (isObject(b) && b.type === 'image')
      return { type: 'image', source: parseImageSource(b.source, `${p}.source`) };
    throw invalid(p, 'tool results may contain only text and image blocks.');
  });
}

function parseTools(body: JsonObject): CanonicalTool[] {
  return (optArray(body, 'tools') ?? []).map((t: unknown, i): CanonicalTool => {
    const p = `tools.${i}`;
    if (!isObject(t)) throw invalid(p, 'must be an object.');
    if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
      throw invalid(
        `${p}.type`,
        `server tool '${String(t.type)}' is not supported; only custom tools (name, description, input_schema) are.`,
      );
    }
    const parameters = optObject(t, 'input_schema', `${p}.input_schema`);
    if (parameters === null) throw fieldRequired(`${p}.input_schema`);
    return {
      name: reqString(t, 'name', `${p}.name`),
      description: optString(t, 'description', `${p}.description`),
      parameters,
    };
  });
}

function parseToolChoice(body: JsonObject): { choice: CanonicalToolChoice | null; parallel: boolean | null } {
  const tc = optObject(body, 'tool_choice');
  if (tc === null) return { choice: null, parallel: null };
  const disable = optBoolean(tc, 'disable_parallel_tool_use', 'tool_choice.disable_parallel_tool_use');
  const parallel = disable === null ? null : !disable;
  switch (tc.type) {
    case 'auto':
      return { choice: { type: 'auto' }, parallel };
    case 'any':
      return { choice: { type: 'required' }, parallel };
    case 'tool':
      return { choice: { type: 'tool', name: reqString(tc, 'name', 'tool_choice.name') }, parallel };
    case 'none':
      return { choice: { type: 'none' }, parallel: null };
    default:
      throw invalid('tool_choice.type', "must be one of 'auto', 'any', 'tool' or 'none'.");
  }
}

function parseStopSequences(body: JsonObject): string[] {
  const v = optArray(body, 'stop_sequences') ?? [];
  if (!v.every((s) => typeof s === 'string')) throw invalid('stop_sequences', 'must be an array of strings.');
  return v as string[];
}

/** Anthropic's smallest accepted thinking budget. */
const MIN_THINKING_BUDGET = 1024;

function parseThinking(body: JsonObject): CanonicalReasoning | null {
  const t = optObject(body, 'thinking');
  if (t === null) return null;
  switch (t.type) {
    case 'disabled':
      return { effort: null, budgetTokens: null, enabled: false };
    case 'enabled': {
      const budget = optInt(t, 'budget_tokens', 'thinking.budget_tokens', MIN_THINKING_BUDGET);
      if (budget === null) throw fieldRequired('thinking.budget_tokens');
      return { effort: null, budgetTokens: budget, enabled: true };
    }
    case 'adaptive':
      // The model picks its own budget: thinking on, no budget given.
      return { effort: null, budgetTokens: null, enabled: true };
    default:
      throw invalid('thinking.type', "must be 'enabled', 'disabled' or 'adaptive'.");
  }
}

// ---------------------------------------------------------------------------------------------
// Upstream side: canonical request → an Anthropic Messages request body.
// ---------------------------------------------------------------------------------------------

/** `max_tokens` when the client gave none (CONVERSION.md, Max tokens). */
const DEFAULT_MAX_TOKENS = 4096;

/** Effort → thinking budget (CONVERSION.md, Reasoning). */
const EFFORT_BUDGET = { minimal: 1024, low: 2048, medium: 8192, high: 24576 } as const;

/**
 * Builds the Anthropic Messages body for `req`. Merges consecutive same-role turns (Anthropic
 * requires alternation) with tool results first in their user turn, sends signed thinking back and
 * drops unsigned thinking (another provider's). Throws an InvalidRequestError for what Anthropic
 * cannot express: JSON mode, n > 1, and sampling settings or forced tool use next to thinking.
 */
export function buildAnthropicRequest(req: CanonicalRequest, upstreamModel: string): JsonObject {
  if (req.n > 1) throw invalid('n', 'Anthropic returns one answer per request; n must be 1.');
  if (req.responseFormat !== null && req.responseFormat.type !== 'text') {
    throw invalid('response_format', `'${req.responseFormat.type}' is not supported by Anthropic models.`);
  }
  if (req.temperature !== null && req.temperature > 1) {
    throw invalid('temperature', 'must be at most 1 for Anthropic models.');
  }
  const thinking = buildThinking(req);
  const out: JsonObject = {
    model: upstreamModel,
    max_tokens: thinking.maxTokens,
  };
  if (req.system !== null && req.system !== '') out.system = req.system;
  out.messages = buildMessages(req.messages);
  if (req.tools.length > 0) {
    out.tools = req.tools.map((t) => ({
      name: t.name,
      ...(t.description === null ? {} : { description: t.description }),
      input_schema: { type: 'object', ...t.parameters },
    }));
    const toolChoice = buildToolChoice(req);
    if (toolChoice !== null) out.tool_choice = toolChoice;
  }
  if (req.stop.length > 0) out.stop_sequences = req.stop;
  if (req.temperature !== null) out.temperature = req.temperature;
  if (req.topP !== null) out.top_p = req.topP;
  if (req.topK !== null) out.top_k = req.topK;
  if (thinking.body !== null) out.thinking = thinking.body;
  if (req.user !== null) out.metadata = { user_id: req.user };
  if (req.stream) out.stream = true;
  return out;
}

function buildThinking(req: CanonicalRequest): { body: JsonObject | null; maxTokens: number } {
  const r = req.reasoning;
  if (r === null) return { body: null, maxTokens: req.maxTokens ?? DEFAULT_MAX_TOKENS };
  if (!r.enabled) return { body: { type: 'disabled' }, maxTokens: req.maxTokens ?? DEFAULT_MAX_TOKENS };
  // Thinking on with neither a budget nor an effort (Anthropic's adaptive, Gemini's dynamic): medium.
  let budget = Math.max(MIN_THINKING_BUDGET, r.budgetTokens ?? EFFORT_BUDGET[r.effort ?? 'medium']);
  const maxTokens = req.maxTokens ?? budget + DEFAULT_MAX_TOKENS;
  if (maxTokens <= budget) {
    // Anthropic requires max_tokens > budget_tokens. A budget the gateway derived from an effort
    // shrinks to fit; one the caller gave is the caller's to fix.
    if (r.budgetTokens !== null || maxTokens <= MIN_THINKING_BUDGET) {
      throw invalid('max_tokens', `must be greater than the thinking budget (${budget} tokens).`);
    }
    budget = maxTokens - 1;
  }
  if (req.temperature !== null && req.temperature !== 1) {
    throw invalid('temperature', 'may only be set to 1 when thinking is enabled.');
  }
  if (req.topK !== null) throw invalid('top_k', 'cannot be set when thinking is enabled.');
  // Anthropic accepts top_p only between 0.95 and 1 with thinking.
  if (req.topP !== null && req.topP < 0.95) {
    throw invalid('top_p', 'must be between 0.95 and 1 when thinking is enabled.');
  }
  if (req.toolChoice?.type === 'required' || req.toolChoice?.type === 'tool') {
    throw invalid('tool_choice', 'forcing tool use is not possible when thinking is enabled.');
  }
  return { body: { type: 'enabled', budget_tokens: budget }, maxTokens };
}

function buildToolChoice(req: CanonicalRequest): JsonObject | null {
  const parallel = req.parallelToolCalls;
  const disable = parallel === null ? {} : { disable_parallel_tool_use: !parallel };
  switch (req.toolChoice?.type) {
    case undefined:
      return parallel === false ? { type: 'auto', disable_parallel_tool_use: true } : null;
    case 'auto':
      return { type: 'auto', ...disable };
    case 'required':
      return { type: 'any', ...disable };
    case 'tool':
      return { type: 'tool', name: req.toolChoice.name, ...disable };
    case 'none':
      return { type: 'none' };
  }
}

interface WireMessage {
  role: 'user' | 'assistant';
  content: JsonObject[];
}

function buildMessages(messages: CanonicalMessage[]): WireMessage[] {
  const out: WireMessage[] = [];
  messages.forEach((m, i) => {
    const blocks = m.content.flatMap((p, j) => buildBlock(p, m.role, `messages.${i}.content.${j}`));
    if (blocks.length === 0) return;
    const last = out.at(-1);
    if (last?.role === m.role) last.content.push(...blocks);
    else out.push({ role: m.role, content: blocks });
  });
  for (const m of out) {
    if (m.role !== 'user') continue;
    // Anthropic wants a user turn's tool results before any other content.
    const results = m.content.filter((b) => b.type === 'tool_result');
    if (results.length > 0) m.content = [...results, ...m.content.filter((b) => b.type !== 'tool_result')];
  }
  return out;
}

function buildBlock(p: CanonicalPart, role: 'user' | 'assistant', param: string): JsonObject[] {
  switch (p.type) {
    case 'text':
      // Anthropic refuses empty text blocks.
      return p.text === '' ? [] : [{ type: 'text', text: p.text }];
    case 'image':
      return [buildImage(p)];
    case 'tool_call':
      return [
        {
          type: 'tool_use',
          id: p.id,
          name: p.name,
          input: requireArgumentsObject(p.arguments, `${param}.arguments`),
        },
      ];
    case 'tool_result': {
      const content = p.content.flatMap((c) =>
        c.type === 'image' ? [buildImage(c)] : buildBlock(c, role, param),
      );
      return [
        {
          type: 'tool_result',
          tool_use_id: p.toolCallId,
          ...(content.length === 0 ? {} : { content }),
          ...(p.isError ? { is_error: true } : {}),
        },
      ];
    }
    case 'thinking':
      // Unsigned thinking came from another provider; Anthropic would refuse it.
      return role === 'assistant' && p.signature !== null && p.signature !== ''
        ? [{ type: 'thinking', thinking: p.text, signature: p.signature }]
        : [];
    case 'redacted_thinking':
      return role === 'assistant' ? [{ type: 'redacted_thinking', data: p.data }] : [];
  }
}

function buildImage(p: ImagePart): JsonObject {
  const source =
    p.source.kind === 'url'
      ? { type: 'url', url: p.source.url }
      : { type: 'base64', media_type: p.source.mediaType, data: p.source.data };
  return { type: 'image', source };
}
