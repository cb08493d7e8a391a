import type { ResponseContext } from './response-context.js';
import type { MockFaults } from './mock-faults.js';

/** One server-sent event, already serialised; `content` marks the events `cutAfterChunks` counts. */
export interface SseEvent {
  data: string;
  content: boolean;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;

/** Events are batched into writes of about this many characters when there is no delay between them. */
const BATCH_CHARS = 16_384;

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
export async function streamSse(
  ctx: ResponseContext,
  events: readonly SseEvent[],
  faults: MockFaults,
): Promise<void> {
  const { res } = ctx;
  if (ctx.closed) return;
  res.writeHead(200, SSE_HEADERS);
  const firstByteDelay = faults.firstByteDelayMs ?? 0;
  const chunkDelay = faults.chunkDelayMs ?? 0;
  const cutAfter =
    faults.cutAfterChunks !== undefined && faults.cutAfterChunks >= 0 ? faults.cutAfterChunks : -1;
  if (firstByteDelay > 0) {
    res.flushHeaders();
    if (!(await ctx.sleep(firstByteDelay))) return;
  }

  let pending = '';
  let contentSent = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (event === undefined) continue;
    if (event.content && contentSent === cutAfter) {
      ctx.cut(pending);
      return;
    }
    if (i > 0 && chunkDelay > 0) {
      if (pending !== '' && !(await ctx.write(pending))) return;
      pending = '';
      if (!(await ctx.sleep(chunkDelay))) return;
    }
    pending += event.data;
    if (event.content && ++contentSent === cutAfter) {
      ctx.cut(pending);
      return;
    }
    if (pending.length >= BATCH_CHARS) {
      if (!(await ctx.write(pending))) return;
      pending = '';
    }
  }
  if (!ctx.closed) res.end(pending);
}
