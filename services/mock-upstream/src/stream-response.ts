import type { OutgoingHttpHeaders } from 'node:http';
import type { MockFaults } from './mock-faults.js';
import type { ResponseContext } from './response-context.js';

/**
 * One event of a streamed answer, already serialised (SSE text, a JSON-array element, or a binary
 * AWS event-stream message); `content` marks the events `cutAfterChunks` counts.
 */
export interface StreamEvent {
  data: string | Uint8Array;
  content: boolean;
}

/** Events are batched into writes of about this many bytes when there is no delay between them. */
const BATCH_SIZE = 16_384;

/** Serialised events waiting for one write; text stays text unless a binary event joins. */
class PendingWrite {
  private parts: (string | Uint8Array)[] = [];
  size = 0;

  add(data: string | Uint8Array): void {
    this.parts.push(data);
    this.size += data.length;
  }

  take(): string | Uint8Array {
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    if (parts.every((p) => typeof p === 'string')) return parts.join('');
    return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  }
}

/**
 * Streams `events` as a 200 response with `headers`, applying the stream faults (`firstByteDelayMs`,
 * `chunkDelayMs`, `cutAfterChunks`) and respecting backpressure.
 */
export async function streamEvents(
  ctx: ResponseContext,
  events: readonly StreamEvent[],
  faults: MockFaults,
  headers: OutgoingHttpHeaders,
): Promise<void> {
  const { res } = ctx;
  if (ctx.closed) return;
  res.writeHead(200, headers);
  const firstByteDelay = faults.firstByteDelayMs ?? 0;
  const chunkDelay = faults.chunkDelayMs ?? 0;
  const cutAfter =
    faults.cutAfterChunks !== undefined && faults.cutAfterChunks >= 0 ? faults.cutAfterChunks : -1;
  if (firstByteDelay > 0) {
    res.flushHeaders();
    if (!(await ctx.sleep(firstByteDelay))) return;
  }

  const pending = new PendingWrite();
  let contentSent = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (event === undefined) continue;
    if (event.content && contentSent === cutAfter) {
      ctx.cut(pending.take());
      return;
    }
    if (i > 0 && chunkDelay > 0) {
      if (pending.size > 0 && !(await ctx.write(pending.take()))) return;
      if (!(await ctx.sleep(chunkDelay))) return;
    }
    pending.add(event.data);
    if (event.content && ++contentSent === cutAfter) {
      ctx.cut(pending.take());
      return;
    }
    if (pending.size >= BATCH_SIZE) {
      if (!(await ctx.write(pending.take()))) return;
    }
  }
  if (!ctx.closed) res.end(pending.take());
}
