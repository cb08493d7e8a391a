import type { FramedEvent } from '../../canonical/codec.js';
import type { Unframer } from '../../provider-adapter.js';
import { SseParser, type SseEvent } from '../../sse/sse-parser.js';

/** Unframes a text/event-stream body: one FramedEvent per SSE event that carries data. */
export function createSseUnframer(): Unframer {
  const parser = new SseParser();
  return {
    push: (chunk) => framed(parser.push(chunk)),
    end: () => framed(parser.end()),
  };
}

function framed(events: SseEvent[]): FramedEvent[] {
  const out: FramedEvent[] = [];
  for (const e of events) if (e.data !== null) out.push({ event: e.event, data: e.data });
  return out;
}
