import type { MockFaults } from './mock-faults.js';
import type { ResponseContext } from './response-context.js';
import { streamEvents } from './stream-response.js';

/** One server-sent event, already serialised; `content` marks the events `cutAfterChunks` counts. */
export interface SseEvent {
  data: string;
  content: boolean;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;

/** `data: <json>\n\n` */
export function dataEvent(payload: unknown, content = false): SseEvent {
  return { data: `data: ${JSON.stringify(payload)}\n\n`, content };
}

/** `event: <name>\ndata: <json>\n\n` */
export function namedEvent(name: string, payload: unknown, content = false): SseEvent {
  return { data: `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`, content };
}

/**
 * Streams `events` as a 200 text/event-stream response, applying the stream faults
 * (`firstByteDelayMs`, `chunkDelayMs`, `cutAfterChunks`) and respecting backpressure.
 */
export function streamSse(
  ctx: ResponseContext,
  events: readonly SseEvent[],
  faults: MockFaults,
): Promise<void> {
  return streamEvents(ctx, events, faults, SSE_HEADERS);
}
