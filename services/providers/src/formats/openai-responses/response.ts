import { randomUUID } from 'node:crypto';
import type { RenderContext } from '../../canonical/codec.js';
import type { CanonicalResponse, CanonicalUsage, StopReason } from '../../canonical/types.js';

/** An output item of a Response: a reasoning summary, an assistant message or a function call. */
export type OutputItem =
  | { type: 'reasoning'; id: string; summary: Array<{ type: 'summary_text'; text: string }> }
  | {
      type: 'message';
      id: string;
      status: 'in_progress' | 'completed';
      role: 'assistant';
      content: Array<{ type: 'output_text'; text: string; annotations: [] }>;
    }
  | {
      type: 'function_call';
      id: string;
      call_id: string;
      name: string;
      arguments: string;
      status: 'in_progress' | 'completed';
    };

/** The Response `usage` object. */
export interface ResponsesUsageBody {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** The Response statuses the gateway produces. */
export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete';

/** The Response object (https://platform.openai.com/docs/api-reference/responses/object). */
export interface ResponseBody {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: false;
  error: null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: null;
  max_output_tokens: null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: null;
  reasoning: { effort: null; summary: null };
  store: false;
  temperature: null;
  text: { format: { type: 'text' } };
  tool_choice: 'auto';
  tools: [];
  top_p: null;
  truncation: 'disabled';
  usage: ResponsesUsageBody | null;
  metadata: Record<string, never>;
}

/** The id stem shared by a Response (`resp_<stem>`) and its items (`msg_<stem>_<n>`, ...). */
export function idStem(canonicalId: string): string {
  const stem = canonicalId.replace(/^resp_/, '').replace(/[^A-Za-z0-9]/g, '');
  return stem === '' ? randomUUID().replaceAll('-', '') : stem;
}

/** An output item id, unique within its Response. */
export function itemId(prefix: 'msg' | 'rs' | 'fc', stem: string, outputIndex: number): string {
  return `${prefix}_${stem}_${outputIndex}`;
}

/** The final status of a Response whose answer stopped for `stop`. */
export function statusOf(stop: StopReason): Pick<ResponseBody, 'status' | 'incomplete_details'> {
  if (stop === 'max_tokens') {
    return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  }
  if (stop === 'content_filter' || stop === 'refusal') {
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  }
  return { status: 'completed', incomplete_details: null };
}

/** Canonical usage as the Responses API reports it. */
export function renderResponsesUsage(u: CanonicalUsage): ResponsesUsageBody {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

/**
 * A Response object. The request's own settings (tools, temperature, ...) are not known when
 * rendering, so those fields carry the API's neutral values.
 */
export function responseBody(fields: {
  stem: string;
  createdAt: number;
  model: string;
  status: Pick<ResponseBody, 'status' | 'incomplete_details'>;
  output: OutputItem[];
  usage: ResponsesUsageBody | null;
}): ResponseBody {
  return {
    id: `resp_${fields.stem}`,
    object: 'response',
    created_at: fields.createdAt,
    status: fields.status.status,
    background: false,
    error: null,
    incomplete_details: fields.status.incomplete_details,
    instructions: null,
    max_output_tokens: null,
    model: fields.model,
    output: fields.output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: null,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: null,
    truncation: 'disabled',
    usage: fields.usage,
    metadata: {},
  };
}

/**
 * Renders a canonical answer as a Response: one output item per canonical part, in order
 * (reasoning → `reasoning` item with a summary, text → `message`, tool call → `function_call`).
 * Redacted reasoning has no Responses form and is left out.
 */
export function renderResponsesResponse(res: CanonicalResponse, ctx: RenderContext): ResponseBody {
  const stem = idStem(res.id);
  const output: OutputItem[] = [];
  for (const part of res.content) {
    const n = output.length;
    if (part.type === 'thinking') {
      output.push({
        type: 'reasoning',
        id: itemId('rs', stem, n),
        summary: [{ type: 'summary_text', text: part.text }],
      });
    } else if (part.type === 'text') {
      output.push({
        type: 'message',
        id: itemId('msg', stem, n),
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: part.text, annotations: [] }],
      });
    } else if (part.type === 'tool_call') {
      output.push({
        type: 'function_call',
        id: itemId('fc', stem, n),
        call_id: part.id,
        name: part.name,
        arguments: part.arguments,
        status: 'completed',
      });
    }
  }
  return responseBody({
    stem,
    createdAt: res.created,
    model: ctx.model,
    status: statusOf(res.stopReason),
    output,
    usage: renderResponsesUsage(res.usage),
  });
}
