import { expectedCompletion } from './deterministic-completion.js';
import { geminiResponse, geminiStreamChunks } from './gemini-answer.js';
import type { RouteRequest } from './route-request.js';
import { awaitFirstByte } from './route-request.js';
import { sendJson } from './send-json.js';
import { streamEvents } from './stream-response.js';
import type { StreamEvent } from './stream-response.js';
import { sendError } from './wire-errors.js';

/** What the URL says about a generateContent call (AI Studio and Vertex alike). */
export interface GenerateContentCall {
  /** The model segment of the URL. */
  model: string;
  /** `:streamGenerateContent` rather than `:generateContent`. */
  stream: boolean;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;
const ARRAY_HEADERS = { 'content-type': 'application/json; charset=UTF-8' } as const;

/**
 * `models/{model}:generateContent` and `:streamGenerateContent`: the deterministic answer as a
 * GenerateContentResponse; streamed as SSE (`data: <chunk>\r\n\r\n`) with `alt=sse`, else as one JSON
 * array written element by element (`[` chunk `,\r\n` chunk ... `]`).
 */
export async function handleGenerateContent(
  r: RouteRequest,
  call: GenerateContentCall,
  /** Wraps each answer object (Code Assist's `{"response": ...}` envelope); none by default. */
  wrap: (payload: unknown) => unknown = (payload) => payload,
): Promise<void> {
  const { ctx, body, faults } = r;
  if (!Array.isArray(body.contents)) {
    sendError(ctx.res, 'google', 400, '* GenerateContentRequest.contents: contents is not specified');
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const n = r.nextId();
  const opts = {
    model: call.model,
    responseId: `mock-resp-${n}`,
    callId: `call_mock_${n}`,
    cachedTokens: r.cachedTokens,
  };
  if (!call.stream) {
    if (!(await awaitFirstByte(r))) return;
    sendJson(ctx.res, 200, wrap(geminiResponse(expected, opts)));
    return;
  }
  const chunks = geminiStreamChunks(expected, opts);
  if (r.query.get('alt') === 'sse') {
    const events = chunks.map((c) => ({
      data: `data: ${JSON.stringify(wrap(c.payload))}\r\n\r\n`,
      content: c.content,
    }));
    await streamEvents(ctx, events, faults, SSE_HEADERS);
    return;
  }
  const events: StreamEvent[] = chunks.map((c, i) => ({
    data: `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(wrap(c.payload))}`,
    content: c.content,
  }));
  events.push({ data: ']', content: false });
  await streamEvents(ctx, events, faults, ARRAY_HEADERS);
}
