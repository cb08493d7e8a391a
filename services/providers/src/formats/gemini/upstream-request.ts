import { invalid, requireArgumentsObject } from '../../canonical/json-fields.js';
import type {
  CanonicalMessage,
  CanonicalReasoning,
  CanonicalRequest,
  ImagePart,
  ToolResultPart,
} from '../../canonical/types.js';
import { toGeminiParts } from './parts.js';
import type { GeminiContent, GeminiGenerationConfig, GeminiPart, GeminiRequestBody } from './types.js';

/** Thinking budgets for an effort (CONVERSION.md, Reasoning). */
const EFFORT_BUDGET = { minimal: 1024, low: 2048, medium: 8192, high: 24576 } as const;

/**
 * The signature Gemini documents for function calls it did not produce itself (history from another
 * model or format): Gemini 3 refuses a history whose first functionCall of a step has none.
 */
export const FOREIGN_CALL_SIGNATURE = 'skip_thought_signature_validator';

/**
 * The GenerateContentRequest for `req`. The model and streaming go in the URL, not the body.
 * Consecutive same-role turns merge (Gemini wants alternation); tool results become functionResponse
 * parts named after their call, `{result: text}` or `{error: text}`; images must be inline (the relay
 * inlines URLs first); tool-call ids stay out (Gemini matches responses by name). Reasoning goes
 * back only with a signature (`parts.ts`); on Gemini 3 and later the first functionCall of each model
 * turn without one carries FOREIGN_CALL_SIGNATURE.
 */
export function buildGeminiRequest(req: CanonicalRequest, upstreamModel: string): GeminiRequestBody {
  if (req.n > 1) throw invalid('n', 'Gemini upstreams return one candidate through this gateway.');
  const body: GeminiRequestBody = { contents: buildContents(req.messages, signsForeignCalls(upstreamModel)) };
  if (req.system !== null && req.system !== '') body.systemInstruction = { parts: [{ text: req.system }] };
  if (req.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => ({
          name: t.name,
          ...(t.description === null ? {} : { description: t.description }),
          parametersJsonSchema: t.parameters,
        })),
      },
    ];
    const choice = req.toolChoice;
    if (choice?.type === 'auto') body.toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
    if (choice?.type === 'none') body.toolConfig = { functionCallingConfig: { mode: 'NONE' } };
    if (choice?.type === 'required') body.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
    if (choice?.type === 'tool') {
      body.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
    }
  }
  const config = buildGenerationConfig(req);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

/** Gemini 3 and later validate thought signatures on function calls. */
function signsForeignCalls(model: string): boolean {
  const m = /gemini-(\d+)/i.exec(model);
  return m !== null && Number(m[1]) >= 3;
}

function buildContents(messages: readonly CanonicalMessage[], signCalls: boolean): GeminiContent[] {
  const callNames = new Map<string, string>();
  const contents: GeminiContent[] = [];
  messages.forEach((m, i) => {
    for (const p of m.content) if (p.type === 'tool_call') callNames.set(p.id, p.name);
    const parts = toGeminiParts(m.content, {
      side: 'upstream',
      args: (json) => requireArgumentsObject(json, `messages[${i}]`),
      other: (p) =>
        p.type === 'image' ? [inlineData(p, `messages[${i}]`)] : toolResultParts(p, callNames, i),
    });
    if (parts.length === 0) return;
    const role = m.role === 'assistant' ? 'model' : 'user';
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  });
  if (signCalls) {
    for (const c of contents) {
      const first = c.parts.find((p) => p.functionCall !== undefined);
      if (c.role === 'model' && first !== undefined && first.thoughtSignature === undefined) {
        first.thoughtSignature = FOREIGN_CALL_SIGNATURE;
      }
    }
  }
  return contents;
}

function inlineData(p: ImagePart, param: string): GeminiPart {
  if (p.source.kind !== 'base64') {
    throw invalid(param, 'Gemini upstreams take images inline only; an image URL reached the request.');
  }
  return { inlineData: { mimeType: p.source.mediaType, data: p.source.data } };
}

/** A tool result as a functionResponse part, followed by its images as inline parts. */
function toolResultParts(p: ToolResultPart, callNames: ReadonlyMap<string, string>, i: number): GeminiPart[] {
  const name = callNames.get(p.toolCallId) ?? p.name;
  if (name === null) {
    throw invalid(`messages[${i}]`, `the tool result for '${p.toolCallId}' answers no earlier tool call.`);
  }
  const text = p.content
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
  const images = p.content.filter((c) => c.type === 'image').map((c) => inlineData(c, `messages[${i}]`));
  const response = p.isError ? { error: text } : { result: text };
  return [{ functionResponse: { name, response } }, ...images];
}

function buildGenerationConfig(req: CanonicalRequest): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  if (req.temperature !== null) config.temperature = req.temperature;
  if (req.topP !== null) config.topP = req.topP;
  if (req.topK !== null) config.topK = req.topK;
  if (req.maxTokens !== null) config.maxOutputTokens = req.maxTokens;
  if (req.stop.length > 0) config.stopSequences = req.stop;
  const format = req.responseFormat;
  if (format?.type === 'json_object' || format?.type === 'json_schema')
    config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') config.responseJsonSchema = format.schema;
  if (req.reasoning !== null) config.thinkingConfig = thinkingConfig(req.reasoning);
  return config;
}

/** Reasoning as a thinking budget: the budget, else the effort's, else -1 (Gemini's dynamic). */
function thinkingConfig(r: CanonicalReasoning): GeminiGenerationConfig['thinkingConfig'] {
  if (!r.enabled) return { thinkingBudget: 0 };
  const budget = r.budgetTokens ?? (r.effort === null ? -1 : EFFORT_BUDGET[r.effort]);
  return { thinkingBudget: budget, includeThoughts: true };
}
