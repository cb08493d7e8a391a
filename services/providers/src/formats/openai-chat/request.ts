import type { ClientRequestContext } from '../../canonical/codec.js';
import {
  type JsonObject,
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
  stringList,
} from '../../canonical/json-fields.js';
import type {
  CanonicalMessage,
  CanonicalPart,
  CanonicalRequest,
  CanonicalResponseFormat,
  CanonicalTool,
  CanonicalToolChoice,
  ImagePart,
  TextPart,
  ToolCallPart,
  ToolResultPart,
} from '../../canonical/types.js';
import { effortFor, parseReasoningEffort } from './reasoning.js';

/** Request parameters that would change the answer in ways the canonical model cannot carry. */
function refuseUnsupported(body: JsonObject): void {
  if (body.functions != null) {
    throw invalid('functions', "the legacy 'functions' parameter is not supported; use 'tools'.");
  }
  if (body.function_call != null) {
    throw invalid(
      'function_call',
      "the legacy 'function_call' parameter is not supported; use 'tool_choice'.",
    );
  }
  if (body.logprobs === true) {
    throw invalid('logprobs', 'log probabilities are not supported by the gateway.');
  }
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) {
    throw invalid('top_logprobs', 'log probabilities are not supported by the gateway.');
  }
  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) {
    throw invalid('modalities', 'audio output is not supported by the gateway.');
  }
  if (body.audio != null) throw invalid('audio', 'audio output is not supported by the gateway.');
  if (body.prediction != null) {
    throw invalid('prediction', 'predicted outputs are not supported by the gateway.');
  }
  if (body.web_search_options != null) {
    throw invalid('web_search_options', 'built-in web search is not supported by the gateway.');
  }
}

/** The text of a system/developer message: a string, or text parts joined like system blocks. */
function textContent(v: unknown, param: string): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw invalid(param, 'must be a string or an array of text parts.');
  return v.map((part, j) => {
    const p = `${param}[${j}]`;
    if (!isObject(part)) throw invalid(p, 'must be an object.');
    if (part.type !== 'text') throw invalid(`${p}.type`, "must be 'text' in this message.");
    return reqString(part, 'text', `${p}.text`);
  });
}

const DETAILS = ['auto', 'low', 'high'] as const;

function imagePart(part: JsonObject, p: string): ImagePart {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : isObject(image) ? image.url : undefined;
  if (typeof url !== 'string' || url === '') {
    throw invalid(`${p}.image_url.url`, 'is required and must be a string.');
  }
  const detail = isObject(image) ? optString(image, 'detail', `${p}.image_url.detail`) : null;
  if (detail !== null && !(DETAILS as readonly string[]).includes(detail)) {
    throw invalid(`${p}.image_url.detail`, "must be one of 'auto', 'low', 'high'.");
  }
  let out: ImagePart;
  if (url.startsWith('data:')) {
    const data = parseDataUrl(url);
    if (data === null) throw invalid(`${p}.image_url.url`, 'must be a base64 data URL or an http(s) URL.');
    out = { type: 'image', source: { kind: 'base64', mediaType: data.mediaType, data: data.data } };
  } else {
    out = { type: 'image', source: { kind: 'url', url } };
  }
  if (detail !== null) out.detail = detail as ImagePart['detail'];
  return out;
}

function userContent(v: unknown, param: string): Array<TextPart | ImagePart> {
  if (typeof v === 'string') return [{ type: 'text', text: v }];
  if (!Array.isArray(v) || v.length === 0) {
    throw invalid(param, 'must be a string or a non-empty array of content parts.');
  }
  return v.map((part, j): TextPart | ImagePart => {
    const p = `${param}[${j}]`;
    if (!isObject(part)) throw invalid(p, 'must be an object.');
    switch (part.type) {
      case 'text':
        return { type: 'text', text: reqString(part, 'text', `${p}.text`) };
      case 'image_url':
        return imagePart(part, p);
      case 'input_audio':
        throw invalid(p, 'audio input is not supported by the gateway.');
      case 'file':
        throw invalid(p, 'file input is not supported by the gateway.');
      default:
        throw invalid(`${p}.type`, "must be one of 'text', 'image_url'.");
    }
  });
}

function assistantMessage(m: JsonObject, p: string, toolNames: Map<string, string>): CanonicalMessage {
  if (m.function_call != null) {
    throw invalid(`${p}.function_call`, "the legacy 'function_call' is not supported; use 'tool_calls'.");
  }
  if (m.audio != null) throw invalid(`${p}.audio`, 'audio output is not supported by the gateway.');
  const content: CanonicalPart[] = [];
  const reasoning = optString(m, 'reasoning_content', `${p}.reasoning_content`);
  if (reasoning !== null && reasoning !== '') {
    content.push({ type: 'thinking', text: reasoning, signature: null });
  }
  const calls = (optArray(m, 'tool_calls', `${p}.tool_calls`) ?? []).map((call, j): ToolCallPart => {
    const pc = `${p}.tool_calls[${j}]`;
    if (!isObject(call)) throw invalid(pc, 'must be an object.');
    if (call.type !== undefined && call.type !== 'function') {
      throw invalid(`${pc}.type`, "must be 'function'.");
    }
    const id = reqString(call, 'id', `${pc}.id`);
    const fn = call.function;
    if (!isObject(fn)) throw invalid(`${pc}.function`, 'is required and must be an object.');
    const name = reqString(fn, 'name', `${pc}.function.name`);
    toolNames.set(id, name);
    return { type: 'tool_call', id, name, arguments: reqString(fn, 'arguments', `${pc}.function.arguments`) };
  });
  const text = m.content;
  if (typeof text === 'string') {
    // OpenAI clients send `content: ""` beside tool calls; it carries nothing.
    if (text !== '' || calls.length === 0) content.push({ type: 'text', text });
  } else if (Array.isArray(text)) {
    text.forEach((part, j) => {
      const pp = `${p}.content[${j}]`;
      if (!isObject(part)) throw invalid(pp, 'must be an object.');
      if (part.type !== 'text' && part.type !== 'refusal') {
        throw invalid(`${pp}.type`, "must be 'text' or 'refusal' in an assistant message.");
      }
      const key = part.type === 'text' ? 'text' : 'refusal';
      content.push({ type: 'text', text: reqString(part, key, `${pp}.${key}`) });
    });
  } else if (text != null) {
    throw invalid(`${p}.content`, 'must be a string, an array of text parts or null.');
  }
  content.push(...calls);
  if (text == null && calls.length === 0) {
    throw invalid(`${p}.content`, "is required unless 'tool_calls' is given.");
  }
  return { role: 'assistant', content };
}

function toolResult(m: JsonObject, p: string, toolNames: Map<string, string>): ToolResultPart {
  const toolCallId = reqString(m, 'tool_call_id', `${p}.tool_call_id`);
  const content = textContent(m.content, `${p}.content`).map((text): TextPart => ({ type: 'text', text }));
  return {
    type: 'tool_result',
    toolCallId,
    name: toolNames.get(toolCallId) ?? null,
    content,
    isError: false,
  };
}

function parseMessages(v: unknown): { system: string | null; messages: CanonicalMessage[] } {
  if (!Array.isArray(v) || v.length === 0) {
    throw invalid('messages', 'must be a non-empty array of messages.');
  }
  const system: string[] = [];
  const messages: CanonicalMessage[] = [];
  const toolNames = new Map<string, string>();
  /** The user turn collecting a run of consecutive `tool` messages. */
  let toolTurn: CanonicalMessage | null = null;
  v.forEach((m, i) => {
    const p = `messages[${i}]`;
    if (!isObject(m)) throw invalid(p, 'must be an object.');
    const role = reqString(m, 'role', `${p}.role`);
    switch (role) {
      case 'system':
      case 'developer':
        system.push(...textContent(m.content, `${p}.content`));
        return;
      case 'user':
        messages.push({ role: 'user', content: userContent(m.content, `${p}.content`) });
        toolTurn = null;
        return;
      case 'assistant':
        messages.push(assistantMessage(m, p, toolNames));
        toolTurn = null;
        return;
      case 'tool': {
        const part = toolResult(m, p, toolNames);
        if (toolTurn === null) {
          toolTurn = { role: 'user', content: [] };
          messages.push(toolTurn);
        }
        toolTurn.content.push(part);
        return;
      }
      case 'function':
        throw invalid(`${p}.role`, "the legacy 'function' role is not supported; use 'tool' messages.");
      default:
        throw invalid(`${p}.role`, "must be one of 'system', 'developer', 'user', 'assistant', 'tool'.");
    }
  });
  return { system: system.length === 0 ? null : system.join('\n\n'), messages };
}

function parseTools(body: JsonObject): CanonicalTool[] {
  const tools = optArray(body, 'tools') ?? [];
  return tools.map((t, i): CanonicalTool => {
    const p = `tools[${i}]`;
    if (!isObject(t)) throw invalid(p, 'must be an object.');
    if (t.type !== 'function') throw invalid(`${p}.type`, "only 'function' tools are supported.");
    const fn = t.function;
    if (!isObject(fn)) throw invalid(`${p}.function`, 'is required and must be an object.');
    const name = reqString(fn, 'name', `${p}.function.name`);
    if (name === '') throw invalid(`${p}.function.name`, 'must not be empty.');
    return {
      name,
      description: optString(fn, 'description', `${p}.function.description`),
      parameters: optObject(fn, 'parameters', `${p}.function.parameters`) ?? {
        type: 'object',
        properties: {},
      },
    };
  });
}

function parseToolChoice(v: unknown): CanonicalToolChoice | null {
  if (v === undefined || v === null) return null;
  if (v === 'auto' || v === 'none' || v === 'required') return { type: v };
  if (isObject(v) && v.type === 'function' && isObject(v.function) && typeof v.function.name === 'string') {
    return { type: 'tool', name: v.function.name };
  }
  throw invalid('tool_choice', "must be 'auto', 'none', 'required' or {type: 'function', function: {name}}.");
}

function parseResponseFormat(body: JsonObject): CanonicalResponseFormat | null {
  const f = optObject(body, 'response_format');
  if (f === null) return null;
  switch (f.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const js = f.json_schema;
      if (!isObject(js)) throw invalid('response_format.json_schema', 'is required and must be an object.');
      return {
        type: 'json_schema',
        name: reqString(js, 'name', 'response_format.json_schema.name'),
        schema: optObject(js, 'schema', 'response_format.json_schema.schema') ?? {},
        strict: optBoolean(js, 'strict', 'response_format.json_schema.strict') ?? false,
      };
    }
    default:
      throw invalid('response_format.type', "must be one of 'text', 'json_object', 'json_schema'.");
  }
}

/** Parses a Chat Completions request body into the canonical request. */
export function parseChatRequest(body: JsonObject, ctx: ClientRequestContext): CanonicalRequest {
  refuseUnsupported(body);
  const model = ctx.model ?? reqString(body, 'model');
  const { system, messages } = parseMessages(body.messages);
  const streamOptions = optObject(body, 'stream_options');
  if (streamOptions !== null) optBoolean(streamOptions, 'include_usage', 'stream_options.include_usage');
  return {
    model,
    system,
    messages,
    tools: parseTools(body),
    toolChoice: parseToolChoice(body.tool_choice),
    parallelToolCalls: optBoolean(body, 'parallel_tool_calls'),
    maxTokens:
      optInt(body, 'max_completion_tokens', 'max_completion_tokens', 1) ??
      optInt(body, 'max_tokens', 'max_tokens', 1),
    temperature: optNumber(body, 'temperature', 'temperature', { min: 0, max: 2 }),
    topP: optNumber(body, 'top_p', 'top_p', { min: 0, max: 1 }),
    // Not an OpenAI parameter, but many OpenAI-compatible servers (vLLM, Ollama) take it.
    topK: optInt(body, 'top_k', 'top_k', 1),
    stop: stringList(body, 'stop'),
    stream: ctx.stream ?? optBoolean(body, 'stream') ?? false,
    n: optInt(body, 'n', 'n', 1) ?? 1,
    responseFormat: parseResponseFormat(body),
    reasoning: parseReasoningEffort(body.reasoning_effort, 'reasoning_effort'),
    user: optString(body, 'user') ?? optString(body, 'safety_identifier'),
  };
}

function imageUrl(part: ImagePart): JsonObject {
  const s = part.source;
  const url = s.kind === 'url' ? s.url : `data:${s.mediaType};base64,${s.data}`;
  return part.detail === undefined ? { url } : { url, detail: part.detail };
}

function renderUserContent(parts: Array<TextPart | ImagePart>): string | JsonObject[] {
  if (parts.length === 1 && parts[0]!.type === 'text') return parts[0]!.text;
  return parts.map((p) =>
    p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image_url', image_url: imageUrl(p) },
  );
}

/**
 * One canonical user turn as OpenAI messages: a `tool` message per tool result, then one user
 * message with the results' images (tool messages carry text only) and the turn's own content.
 */
function userMessages(m: CanonicalMessage): JsonObject[] {
  const out: JsonObject[] = [];
  const images: ImagePart[] = [];
  const own: Array<TextPart | ImagePart> = [];
  for (const part of m.content) {
    if (part.type === 'tool_result') {
      const text = part.content.flatMap((c) => (c.type === 'text' ? [c.text] : []));
      images.push(...part.content.filter((c): c is ImagePart => c.type === 'image'));
      out.push({ role: 'tool', tool_call_id: part.toolCallId, content: text.join('\n') });
    } else if (part.type === 'text' || part.type === 'image') {
      own.push(part);
    }
  }
  const content = [...images, ...own];
  if (content.length > 0) out.push({ role: 'user', content: renderUserContent(content) });
  return out;
}

/** An assistant turn without its reasoning (OpenAI takes none back); null when nothing is left. */
function assistantMessageOf(m: CanonicalMessage): JsonObject | null {
  const text = m.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  const calls = m.content
    .filter((p): p is ToolCallPart => p.type === 'tool_call')
    .map((p) => ({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } }));
  const hasText = m.content.some((p) => p.type === 'text');
  if (!hasText && calls.length === 0) return null;
  const out: JsonObject = { role: 'assistant', content: hasText ? text : null };
  if (calls.length > 0) out.tool_calls = calls;
  return out;
}

function renderToolChoice(c: CanonicalToolChoice): unknown {
  return c.type === 'tool' ? { type: 'function', function: { name: c.name } } : c.type;
}

function renderResponseFormat(f: CanonicalResponseFormat): JsonObject {
  if (f.type !== 'json_schema') return { type: f.type };
  return { type: 'json_schema', json_schema: { name: f.name, schema: f.schema, strict: f.strict } };
}

/** The Chat Completions body for a canonical request (an OpenAI-compatible upstream). */
export function buildChatRequest(req: CanonicalRequest, upstreamModel: string): JsonObject {
  if (req.topK !== null) throw invalid('top_k', 'is not supported by OpenAI Chat Completions upstreams.');
  const messages: JsonObject[] = [];
  if (req.system !== null) messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) {
    if (m.role === 'user') messages.push(...userMessages(m));
    else {
      const a = assistantMessageOf(m);
      if (a !== null) messages.push(a);
    }
  }
  const out: JsonObject = { model: upstreamModel, messages };
  if (req.tools.length > 0) {
    out.tools = req.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description === null ? {} : { description: t.description }),
        parameters: t.parameters,
      },
    }));
    // OpenAI refuses parallel_tool_calls on a request without tools.
    if (req.parallelToolCalls !== null) out.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.toolChoice !== null) out.tool_choice = renderToolChoice(req.toolChoice);
  // max_tokens is deprecated and refused by OpenAI's reasoning models.
  if (req.maxTokens !== null) out.max_completion_tokens = req.maxTokens;
  if (req.temperature !== null) out.temperature = req.temperature;
  if (req.topP !== null) out.top_p = req.topP;
  if (req.stop.length > 0) out.stop = req.stop;
  if (req.n !== 1) out.n = req.n;
  if (req.responseFormat !== null) out.response_format = renderResponseFormat(req.responseFormat);
  const effort = effortFor(req.reasoning);
  if (effort !== null) out.reasoning_effort = effort;
  if (req.user !== null) out.user = req.user;
  if (req.stream) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}
