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
} from '../../canonical/json-fields.js';
import type {
  CanonicalMessage,
  CanonicalRequest,
  CanonicalResponseFormat,
  CanonicalTool,
  CanonicalToolChoice,
  ImagePart,
  TextPart,
} from '../../canonical/types.js';
import { parseReasoningEffort } from '../openai-chat/reasoning.js';

const NO_STATE = 'the gateway keeps no conversation state; send the full input.';

/** Parameters that need server-side state or features the gateway does not have. */
function refuseUnsupported(body: JsonObject): void {
  if (body.previous_response_id != null) throw invalid('previous_response_id', NO_STATE);
  if (body.conversation != null) throw invalid('conversation', NO_STATE);
  if (body.background === true) {
    throw invalid('background', 'background responses are not supported by the gateway.');
  }
  if (body.prompt != null) {
    throw invalid('prompt', 'stored prompt templates are not supported by the gateway.');
  }
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) {
    throw invalid('top_logprobs', 'log probabilities are not supported by the gateway.');
  }
}

const DETAILS: Readonly<Record<string, ImagePart['detail']>> = {
  auto: 'auto',
  low: 'low',
  high: 'high',
  // Full resolution: `high` is the nearest the canonical model can say.
  original: 'high',
};

function inputImage(part: JsonObject, p: string): ImagePart {
  if (part.file_id != null) {
    throw invalid(`${p}.file_id`, 'uploaded files are not available through the gateway; send image_url.');
  }
  const url = optString(part, 'image_url', `${p}.image_url`);
  if (url === null || url === '') throw invalid(`${p}.image_url`, 'is required and must be a string.');
  const detailName = optString(part, 'detail', `${p}.detail`);
  const detail = detailName === null ? undefined : DETAILS[detailName];
  if (detailName !== null && detail === undefined) {
    throw invalid(`${p}.detail`, "must be one of 'auto', 'low', 'high', 'original'.");
  }
  let out: ImagePart;
  if (url.startsWith('data:')) {
    const data = parseDataUrl(url);
    if (data === null) throw invalid(`${p}.image_url`, 'must be a base64 data URL or an http(s) URL.');
    out = { type: 'image', source: { kind: 'base64', mediaType: data.mediaType, data: data.data } };
  } else {
    out = { type: 'image', source: { kind: 'url', url } };
  }
  if (detail !== undefined) out.detail = detail;
  return out;
}

/** Message or tool-output content: a string, or input/output text and image parts. */
function contentParts(v: unknown, param: string, images: boolean): Array<TextPart | ImagePart> {
  if (typeof v === 'string') return [{ type: 'text', text: v }];
  if (!Array.isArray(v)) throw invalid(param, 'must be a string or an array of content parts.');
  return v.map((part, j): TextPart | ImagePart => {
    const p = `${param}[${j}]`;
    if (!isObject(part)) throw invalid(p, 'must be an object.');
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        return { type: 'text', text: reqString(part, 'text', `${p}.text`) };
      case 'refusal':
        return { type: 'text', text: reqString(part, 'refusal', `${p}.refusal`) };
      case 'input_image':
        if (!images) throw invalid(`${p}.type`, 'images are not allowed in this message.');
        return inputImage(part, p);
      case 'input_file':
        throw invalid(p, 'file input is not supported by the gateway.');
      case 'input_audio':
        throw invalid(p, 'audio input is not supported by the gateway.');
      default:
        throw invalid(`${p}.type`, "must be one of 'input_text', 'input_image', 'output_text'.");
    }
  });
}

function reasoningText(item: JsonObject, p: string): string {
  const textOf = (s: unknown, param: string): string => {
    if (!isObject(s)) throw invalid(param, 'must be an object.');
    return reqString(s, 'text', `${param}.text`);
  };
  const summary = (optArray(item, 'summary', `${p}.summary`) ?? []).map((s, j) =>
    textOf(s, `${p}.summary[${j}]`),
  );
  if (summary.length > 0) return summary.join('\n\n');
  // Raw reasoning text (open-weight models) when there is no summary.
  const content = (optArray(item, 'content', `${p}.content`) ?? []).map((s, j) =>
    textOf(s, `${p}.content[${j}]`),
  );
  return content.join('\n\n');
}

/**
 * The `input` items as canonical turns. Assistant-side items in a row (reasoning, messages,
 * function calls) form one assistant turn, as they came from one response; consecutive
 * `function_call_output` items form one user turn of tool results.
 */
function parseInput(v: unknown): { system: string[]; messages: CanonicalMessage[] } {
  if (typeof v === 'string') {
    return { system: [], messages: [{ role: 'user', content: [{ type: 'text', text: v }] }] };
  }
  if (!Array.isArray(v) || v.length === 0) {
    throw invalid('input', 'must be a string or a non-empty array of input items.');
  }
  const system: string[] = [];
  const messages: CanonicalMessage[] = [];
  const toolNames = new Map<string, string>();
  let run: { kind: 'assistant' | 'tools' | 'user'; message: CanonicalMessage } | null = null;
  const turn = (kind: 'assistant' | 'tools' | 'user'): CanonicalMessage => {
    if (run === null || run.kind !== kind || kind === 'user') {
      run = { kind, message: { role: kind === 'assistant' ? 'assistant' : 'user', content: [] } };
      messages.push(run.message);
    }
    return run.message;
  };
  v.forEach((item, i) => {
    const p = `input[${i}]`;
    if (!isObject(item)) throw invalid(p, 'must be an object.');
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = reqString(item, 'role', `${p}.role`);
        if (role === 'system' || role === 'developer') {
          const parts = contentParts(item.content, `${p}.content`, false);
          system.push(...parts.map((part) => (part.type === 'text' ? part.text : '')));
        } else if (role === 'user') {
          turn('user').content.push(...contentParts(item.content, `${p}.content`, true));
        } else if (role === 'assistant') {
          turn('assistant').content.push(...contentParts(item.content, `${p}.content`, false));
        } else {
          throw invalid(`${p}.role`, "must be one of 'user', 'assistant', 'system', 'developer'.");
        }
        return;
      }
      case 'function_call': {
        const id = reqString(item, 'call_id', `${p}.call_id`);
        const name = reqString(item, 'name', `${p}.name`);
        toolNames.set(id, name);
        turn('assistant').content.push({
          type: 'tool_call',
          id,
          name,
          arguments: reqString(item, 'arguments', `${p}.arguments`),
        });
        return;
      }
      case 'function_call_output': {
        const id = reqString(item, 'call_id', `${p}.call_id`);
        turn('tools').content.push({
          type: 'tool_result',
          toolCallId: id,
          name: toolNames.get(id) ?? null,
          content: contentParts(item.output, `${p}.output`, true),
          isError: false,
        });
        return;
      }
      case 'reasoning': {
        // `encrypted_content` is OpenAI's own state: no other upstream can read it, so it is dropped.
        const text = reasoningText(item, p);
        if (text !== '') turn('assistant').content.push({ type: 'thinking', text, signature: null });
        return;
      }
      case 'item_reference':
        throw invalid(p, `item references need stored state; ${NO_STATE}`);
      default:
        throw invalid(`${p}.type`, `input items of type '${String(type)}' are not supported by the gateway.`);
    }
  });
  return { system, messages };
}

function parseTools(body: JsonObject): CanonicalTool[] {
  const tools = optArray(body, 'tools') ?? [];
  return tools.map((t, i): CanonicalTool => {
    const p = `tools[${i}]`;
    if (!isObject(t)) throw invalid(p, 'must be an object.');
    if (t.type !== 'function') {
      throw invalid(
        `${p}.type`,
        `the built-in tool '${String(t.type)}' is not supported by the gateway; only 'function' tools are.`,
      );
    }
    const name = reqString(t, 'name', `${p}.name`);
    if (name === '') throw invalid(`${p}.name`, 'must not be empty.');
    return {
      name,
      description: optString(t, 'description', `${p}.description`),
      parameters: optObject(t, 'parameters', `${p}.parameters`) ?? { type: 'object', properties: {} },
    };
  });
}

function parseToolChoice(v: unknown): CanonicalToolChoice | null {
  if (v === undefined || v === null) return null;
  if (v === 'auto' || v === 'none' || v === 'required') return { type: v };
  if (isObject(v) && v.type === 'function' && typeof v.name === 'string') {
    return { type: 'tool', name: v.name };
  }
  throw invalid('tool_choice', "must be 'auto', 'none', 'required' or {type: 'function', name}.");
}

function parseTextFormat(body: JsonObject): CanonicalResponseFormat | null {
  const text = optObject(body, 'text');
  const f = text === null ? null : optObject(text, 'format', 'text.format');
  if (f === null) return null;
  switch (f.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema':
      return {
        type: 'json_schema',
        name: reqString(f, 'name', 'text.format.name'),
        schema: optObject(f, 'schema', 'text.format.schema') ?? {},
        strict: optBoolean(f, 'strict', 'text.format.strict') ?? false,
      };
    default:
      throw invalid('text.format.type', "must be one of 'text', 'json_object', 'json_schema'.");
  }
}

/**
 * Parses a Responses API request (`POST /v1/responses`) into the canonical request. `store`,
 * `metadata`, `truncation` and `include` are ignored: the gateway stores nothing.
 */
export function parseResponsesRequest(body: JsonObject, ctx: ClientRequestContext): CanonicalRequest {
  refuseUnsupported(body);
  const model = ctx.model ?? reqString(body, 'model');
  const instructions = optString(body, 'instructions');
  const { system, messages } = parseInput(body.input);
  if (instructions !== null) system.unshift(instructions);
  const reasoning = optObject(body, 'reasoning');
  return {
    model,
    system: system.length === 0 ? null : system.join('\n\n'),
    messages,
    tools: parseTools(body),
    toolChoice: parseToolChoice(body.tool_choice),
    parallelToolCalls: optBoolean(body, 'parallel_tool_calls'),
    maxTokens: optInt(body, 'max_output_tokens', 'max_output_tokens', 1),
    temperature: optNumber(body, 'temperature', 'temperature', { min: 0, max: 2 }),
    topP: optNumber(body, 'top_p', 'top_p', { min: 0, max: 1 }),
    topK: null,
    stop: [],
    stream: ctx.stream ?? optBoolean(body, 'stream') ?? false,
    n: 1,
    responseFormat: parseTextFormat(body),
    reasoning: reasoning === null ? null : parseReasoningEffort(reasoning.effort, 'reasoning.effort'),
    user: optString(body, 'user') ?? optString(body, 'safety_identifier'),
  };
}
