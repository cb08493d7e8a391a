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
  reqString,
} from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import type {
  CanonicalMessage,
  CanonicalPart,
  CanonicalReasoning,
  CanonicalRequest,
  CanonicalResponseFormat,
  CanonicalTool,
  CanonicalToolChoice,
  ImagePart,
  TextPart,
} from '../../canonical/types.js';
import { camelKeys } from './fields.js';
import { appendPartSignature, appendThought } from './parts.js';
import { geminiSchemaToJsonSchema } from './schema.js';

/**
 * The client side of a Gemini request: a GenerateContentRequest body (camelCase or snake_case
 * fields) plus the model and streaming from the URL, as the canonical request.
 *
 * - Function calls without an `id` get `call_<n>`, n counting every functionCall of the
 *   conversation from 0. A functionResponse takes its own `id`, else the id of the earliest
 *   unanswered call of the same name; a response to no call is a 400.
 * - A functionResponse's `response` object becomes the result text: the value of `output`,
 *   `result` or `error` when that is the object's only key (a string as it is, anything else as
 *   JSON), else the whole object as JSON. An `error` key marks the result as an error.
 * - Thought signatures follow `parts.ts`.
 */
export function parseGeminiRequest(given: JsonObject, ctx: ClientRequestContext): CanonicalRequest {
  const body = camelKeys(given);
  const model = ctx.model ?? optString(body, 'model');
  if (model === null || model === '') throw invalid('model', 'is required (models/{model}:generateContent).');
  if (body.cachedContent !== undefined && body.cachedContent !== null) {
    throw invalid('cachedContent', 'cached contents are not supported by this gateway.');
  }
  const config = camelKeys(optObject(body, 'generationConfig') ?? {});
  const tools = parseTools(body);
  return {
    model,
    system: parseSystem(body),
    messages: parseContents(body),
    tools,
    toolChoice: parseToolChoice(body),
    parallelToolCalls: null,
    maxTokens: optInt(config, 'maxOutputTokens', 'generationConfig.maxOutputTokens', 1),
    temperature: optNumber(config, 'temperature', 'generationConfig.temperature', { min: 0 }),
    topP: optNumber(config, 'topP', 'generationConfig.topP', { min: 0, max: 1 }),
    topK: optInt(config, 'topK', 'generationConfig.topK', 1),
    stop: stringArray(config, 'stopSequences', 'generationConfig.stopSequences'),
    stream: ctx.stream ?? false,
    n: optInt(config, 'candidateCount', 'generationConfig.candidateCount', 1) ?? 1,
    responseFormat: parseResponseFormat(config),
    reasoning: parseThinking(config),
    user: null,
  };
}

function stringArray(o: JsonObject, key: string, param: string): string[] {
  const v = optArray(o, key, param) ?? [];
  if (!v.every((s) => typeof s === 'string')) throw invalid(param, 'must be an array of strings.');
  return v as string[];
}

function parseSystem(body: JsonObject): string | null {
  const v = body.systemInstruction;
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (!isObject(v)) throw invalid('systemInstruction', 'must be a Content object ({parts: [{text}]}).');
  const parts = optArray(v, 'parts', 'systemInstruction.parts') ?? [];
  const texts = parts.map((p, i) => {
    if (!isObject(p) || typeof p.text !== 'string')
      throw invalid(`systemInstruction.parts[${i}]`, 'must be a text part.');
    return p.text;
  });
  const text = texts.filter((t) => t !== '').join('\n\n');
  return text === '' ? null : text;
}

/** Function-call ids across the conversation, for calls and responses that carry none. */
class CallIds {
  #count = 0;
  readonly #unanswered = new Map<string, string[]>();

  call(name: string, id: string | null): string {
    const callId = id ?? `call_${this.#count}`;
    this.#count++;
    const queue = this.#unanswered.get(name) ?? [];
    queue.push(callId);
    this.#unanswered.set(name, queue);
    return callId;
  }

  /** The id for a response to `name`, or null when no call of that name is unanswered. */
  response(name: string, id: string | null): string | null {
    const queue = this.#unanswered.get(name) ?? [];
    if (id !== null) {
      const at = queue.indexOf(id);
      if (at >= 0) queue.splice(at, 1);
      return id;
    }
    return queue.shift() ?? null;
  }
}

function parseContents(body: JsonObject): CanonicalMessage[] {
  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) {
    throw invalid('contents', 'is required and must be a non-empty array of Content objects.');
  }
  const ids = new CallIds();
  return contents.map((c, i): CanonicalMessage => {
    const param = `contents[${i}]`;
    if (!isObject(c)) throw invalid(param, 'must be a Content object.');
    const content = camelKeys(c);
    const role = optString(content, 'role', `${param}.role`) ?? 'user';
    // `function` is the role older Gemini examples gave function responses.
    if (role !== 'user' && role !== 'model' && role !== 'function') {
      throw invalid(`${param}.role`, "must be 'user' or 'model'.");
    }
    const parts = content.parts;
    if (!Array.isArray(parts) || parts.length === 0)
      throw invalid(`${param}.parts`, 'must be a non-empty array.');
    const out: CanonicalPart[] = [];
    parts.forEach((p, j) => parsePart(p, `${param}.parts[${j}]`, ids, out));
    return { role: role === 'model' ? 'assistant' : 'user', content: out };
  });
}

function parsePart(given: unknown, param: string, ids: CallIds, out: CanonicalPart[]): void {
  if (!isObject(given)) throw invalid(param, 'must be a Part object.');
  const part = camelKeys(given);
  const signature = optString(part, 'thoughtSignature', `${param}.thoughtSignature`);
  if (optBoolean(part, 'thought', `${param}.thought`) === true) {
    appendThought(out, optString(part, 'text', `${param}.text`) ?? '', signature);
    return;
  }
  if (signature !== null) appendPartSignature(out, signature);
  if (part.text !== undefined && part.text !== null) {
    const text = reqString(part, 'text', `${param}.text`);
    if (text !== '') out.push({ type: 'text', text });
  } else if (part.inlineData !== undefined) {
    out.push(parseInlineData(part.inlineData, `${param}.inlineData`));
  } else if (part.fileData !== undefined) {
    const file = camelKeys(optObject(part, 'fileData', `${param}.fileData`) ?? {});
    const mimeType = optString(file, 'mimeType', `${param}.fileData.mimeType`);
    const uri = reqString(file, 'fileUri', `${param}.fileData.fileUri`);
    if (mimeType === null || !mimeType.startsWith('image/')) {
      throw invalid(`${param}.fileData.mimeType`, 'only image/* files are supported by this gateway.');
    }
    out.push({ type: 'image', source: { kind: 'url', url: uri } });
  } else if (part.functionCall !== undefined) {
    const call = optObject(part, 'functionCall', `${param}.functionCall`) ?? {};
    const name = reqString(call, 'name', `${param}.functionCall.name`);
    const args = optObject(call, 'args', `${param}.functionCall.args`) ?? {};
    const id = ids.call(name, optString(call, 'id', `${param}.functionCall.id`));
    out.push({ type: 'tool_call', id, name, arguments: JSON.stringify(args) });
  } else if (part.functionResponse !== undefined) {
    out.push(parseFunctionResponse(part.functionResponse, `${param}.functionResponse`, ids));
  } else {
    const kind = Object.keys(part).find((k) => k !== 'thought' && k !== 'thoughtSignature') ?? 'empty';
    throw invalid(param, `'${kind}' parts are not supported by this gateway.`);
  }
}

function parseInlineData(v: unknown, param: string): ImagePart {
  if (!isObject(v)) throw invalid(param, 'must be an object ({mimeType, data}).');
  const blob = camelKeys(v);
  const mimeType = reqString(blob, 'mimeType', `${param}.mimeType`);
  const data = reqString(blob, 'data', `${param}.data`);
  if (!mimeType.startsWith('image/')) {
    throw invalid(`${param}.mimeType`, 'only image/* inline data is supported by this gateway.');
  }
  return { type: 'image', source: { kind: 'base64', mediaType: mimeType, data } };
}

function parseFunctionResponse(v: unknown, param: string, ids: CallIds): CanonicalPart {
  if (!isObject(v)) throw invalid(param, 'must be an object ({name, response}).');
  const fr = camelKeys(v);
  const name = reqString(fr, 'name', `${param}.name`);
  const response = optObject(fr, 'response', `${param}.response`) ?? {};
  const toolCallId = ids.response(name, optString(fr, 'id', `${param}.id`));
  if (toolCallId === null) throw invalid(param, `answers no earlier functionCall named '${name}'.`);
  const content: Array<TextPart | ImagePart> = [{ type: 'text', text: resultText(response) }];
  (optArray(fr, 'parts', `${param}.parts`) ?? []).forEach((p, i) => {
    if (!isObject(p)) throw invalid(`${param}.parts[${i}]`, 'must be a Part object.');
    content.push(parseInlineData(camelKeys(p).inlineData, `${param}.parts[${i}].inlineData`));
  });
  const isError = response.error !== undefined && response.error !== null;
  return { type: 'tool_result', toolCallId, name, content, isError };
}

function resultText(response: JsonObject): string {
  const keys = Object.keys(response);
  if (keys.length === 1 && (keys[0] === 'output' || keys[0] === 'result' || keys[0] === 'error')) {
    const v = response[keys[0]];
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  return JSON.stringify(response);
}

function parseTools(body: JsonObject): CanonicalTool[] {
  const tools: CanonicalTool[] = [];
  (optArray(body, 'tools') ?? []).forEach((t, i) => {
    if (!isObject(t)) throw invalid(`tools[${i}]`, 'must be a Tool object.');
    const tool = camelKeys(t);
    for (const [key, value] of Object.entries(tool)) {
      if (key === 'functionDeclarations' || value === null || value === undefined) continue;
      throw invalid(
        `tools[${i}].${key}`,
        `the ${key} tool is not supported by this gateway; only functionDeclarations are.`,
      );
    }
    (optArray(tool, 'functionDeclarations', `tools[${i}].functionDeclarations`) ?? []).forEach((d, j) => {
      tools.push(parseDeclaration(d, `tools[${i}].functionDeclarations[${j}]`));
    });
  });
  return tools;
}

function parseDeclaration(v: unknown, param: string): CanonicalTool {
  if (!isObject(v)) throw invalid(param, 'must be a FunctionDeclaration object.');
  const d = camelKeys(v);
  const jsonSchema = optObject(d, 'parametersJsonSchema', `${param}.parametersJsonSchema`);
  const schema = optObject(d, 'parameters', `${param}.parameters`);
  return {
    name: reqString(d, 'name', `${param}.name`),
    description: optString(d, 'description', `${param}.description`),
    parameters:
      jsonSchema ?? (schema === null ? { type: 'object', properties: {} } : geminiSchemaToJsonSchema(schema)),
  };
}

function parseToolChoice(body: JsonObject): CanonicalToolChoice | null {
  const toolConfig = camelKeys(optObject(body, 'toolConfig') ?? {});
  const fcc = optObject(toolConfig, 'functionCallingConfig', 'toolConfig.functionCallingConfig');
  if (fcc === null) return null;
  const config = camelKeys(fcc);
  const param = 'toolConfig.functionCallingConfig';
  const mode = optString(config, 'mode', `${param}.mode`)?.toUpperCase() ?? 'MODE_UNSPECIFIED';
  const names = stringArray(config, 'allowedFunctionNames', `${param}.allowedFunctionNames`);
  if (mode === 'NONE') return { type: 'none' };
  if (mode === 'ANY') {
    if (names.length > 1) {
      throw invalid(
        `${param}.allowedFunctionNames`,
        'with mode ANY only one function name is supported by this gateway.',
      );
    }
    return names.length === 1 ? { type: 'tool', name: names[0]! } : { type: 'required' };
  }
  if (mode !== 'AUTO' && mode !== 'VALIDATED' && mode !== 'MODE_UNSPECIFIED') {
    throw invalid(`${param}.mode`, 'must be AUTO, ANY, NONE or VALIDATED.');
  }
  if (names.length > 0) {
    throw invalid(`${param}.allowedFunctionNames`, `is supported by this gateway only with mode ANY.`);
  }
  return mode === 'MODE_UNSPECIFIED' ? null : { type: 'auto' };
}

function parseResponseFormat(config: JsonObject): CanonicalResponseFormat | null {
  const param = 'generationConfig';
  if (config.responseLogprobs === true || (config.logprobs !== undefined && config.logprobs !== null)) {
    throw invalid(`${param}.responseLogprobs`, 'log probabilities are not supported by this gateway.');
  }
  const modalities = stringArray(config, 'responseModalities', `${param}.responseModalities`);
  if (modalities.some((m) => m.toUpperCase() !== 'TEXT')) {
    throw invalid(`${param}.responseModalities`, 'only TEXT output is supported by this gateway.');
  }
  for (const key of ['speechConfig', 'imageConfig']) {
    if (config[key] !== undefined && config[key] !== null) {
      throw invalid(`${param}.${key}`, 'only text output is supported by this gateway.');
    }
  }
  const mime = optString(config, 'responseMimeType', `${param}.responseMimeType`);
  const jsonSchema = optObject(config, 'responseJsonSchema', `${param}.responseJsonSchema`);
  const schema = optObject(config, 'responseSchema', `${param}.responseSchema`);
  if (mime === null || mime === 'text/plain') {
    if (jsonSchema !== null || schema !== null) {
      throw invalid(
        `${param}.responseMimeType`,
        "must be 'application/json' when a response schema is given.",
      );
    }
    return null;
  }
  if (mime !== 'application/json') {
    throw invalid(
      `${param}.responseMimeType`,
      "only 'text/plain' and 'application/json' are supported by this gateway.",
    );
  }
  const given = jsonSchema ?? (schema === null ? null : geminiSchemaToJsonSchema(schema));
  if (given === null) return { type: 'json_object' };
  // Not strict: Gemini schemas rarely meet OpenAI's strict-mode rules (every property required,
  // additionalProperties false), and an OpenAI upstream refuses a strict schema that does not.
  return { type: 'json_schema', name: 'response', schema: given, strict: false };
}

const LEVELS = new Set(['minimal', 'low', 'medium', 'high']);

/**
 * `thinkingConfig` as canonical reasoning: budget 0 turns reasoning off, -1 (dynamic) or
 * `includeThoughts` alone turns it on without a budget, a positive budget is the budget;
 * `thinkingLevel` is the effort.
 */
function parseThinking(config: JsonObject): CanonicalReasoning | null {
  const param = 'generationConfig.thinkingConfig';
  const given = optObject(config, 'thinkingConfig', param);
  if (given === null) return null;
  const tc = camelKeys(given);
  const budget = optInt(tc, 'thinkingBudget', `${param}.thinkingBudget`, -1);
  const include = optBoolean(tc, 'includeThoughts', `${param}.includeThoughts`);
  const level = optString(tc, 'thinkingLevel', `${param}.thinkingLevel`)?.toLowerCase() ?? null;
  let effort: CanonicalReasoning['effort'] = null;
  if (level !== null && level !== 'thinking_level_unspecified') {
    if (!LEVELS.has(level)) throw invalid(`${param}.thinkingLevel`, 'must be MINIMAL, LOW, MEDIUM or HIGH.');
    effort = level as CanonicalReasoning['effort'];
  }
  if (budget === 0) return { effort: null, budgetTokens: null, enabled: false };
  if (budget !== null && budget > 0) return { effort, budgetTokens: budget, enabled: true };
  if (budget === -1 || effort !== null || include === true)
    return { effort, budgetTokens: null, enabled: true };
  return null;
}
