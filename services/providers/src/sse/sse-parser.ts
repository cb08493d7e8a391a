/** One server-sent event: its raw text (without the blank line ending it) and its parsed fields. */
export interface SseEvent {
  /** The event exactly as received, without the terminating blank line. */
  raw: string;
  /** The `event:` field, or null. */
  event: string | null;
  /** The `data:` lines joined with "\n", or null when the event had none. */
  data: string | null;
}

/**
 * Incremental SSE parser: feed it byte chunks as they arrive, get back the events they complete.
 * Per-stream state (the partial event and the UTF-8 decoder) lives in the instance.
 */
export class SseParser {
  readonly #decoder = new TextDecoder();
  #buffer = '';

  /** Returns the events completed by `chunk`; a partial trailing event waits for the next chunk. */
  push(chunk: Uint8Array): SseEvent[] {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    return this.#take();
  }

  /** Returns whatever is left once the stream has ended (an unterminated last event). */
  end(): SseEvent[] {
    this.#buffer += this.#decoder.decode();
    const rest = this.#buffer;
    this.#buffer = '';
    return rest.trim() === '' ? [] : [parseEvent(rest)];
  }

  #take(): SseEvent[] {
    const events: SseEvent[] = [];
    let buf = this.#buffer;
    for (;;) {
      const m = /\r?\n\r?\n/.exec(buf);
      if (m === null) break;
      const raw = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (raw !== '') events.push(parseEvent(raw));
    }
    this.#buffer = buf;
    return events;
  }
}

function parseEvent(raw: string): SseEvent {
  let event: string | null = null;
  let data: string | null = null;
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === null ? v : `${data}\n${v}`;
    } else if (line.startsWith('event:')) {
      event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
    }
  }
  return { raw, event, data };
}
