import { SseParser } from '../sse/sse-parser.js';
import { readOpenAIUsage, type TokenUsage } from './usage.js';

/**
 * Relays an OpenAI chat-completions SSE stream while watching it: records the usage the upstream
 * reports and, when the client did not ask for usage (the gateway asked on its behalf), drops the
 * usage-only chunk so the client sees exactly the stream it requested.
 */
export class OpenAIChatStreamTap {
  readonly #parser = new SseParser();
  readonly #stripUsageChunk: boolean;
  usage: TokenUsage | null = null;
  /** Content-bearing events seen (a `data:` event other than [DONE]). */
  chunks = 0;
  sawDone = false;

  constructor(opts: { stripUsageChunk: boolean }) {
    this.#stripUsageChunk = opts.stripUsageChunk;
  }

  /** Returns the text to forward for this upstream chunk ('' when it completed no event). */
  push(chunk: Uint8Array): string {
    return this.#forward(this.#parser.push(chunk));
  }

  /**
   * Called when the upstream body ended. A trailing event without its terminating blank line is a
   * torn write, never forwarded (a client would fail to parse half a JSON chunk); returns ''.
   */
  end(): string {
    const torn = this.#parser.end();
    if (torn.length > 0) this.tornTail = true;
    return '';
  }

  /** True when the upstream ended in the middle of an event. */
  tornTail = false;

  #forward(events: ReturnType<SseParser['push']>): string {
    let out = '';
    for (const ev of events) {
      if (ev.data !== null) {
        if (ev.data === '[DONE]') {
          this.sawDone = true;
        } else {
          this.chunks++;
          // Only chunks that mention usage are parsed; content chunks pass through untouched.
          if (ev.data.includes('"usage"') && this.#isUsageChunk(ev.data)) continue;
        }
      }
      out += ev.raw + '\n\n';
    }
    return out;
  }

  /** Records usage from the chunk; true when the chunk must be dropped. */
  #isUsageChunk(data: string): boolean {
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return false;
    }
    if (obj === null || typeof obj !== 'object') return false;
    const o = obj as { usage?: unknown; choices?: unknown };
    const usage = readOpenAIUsage(o.usage);
    if (usage === null) return false;
    this.usage = usage;
    return this.#stripUsageChunk && Array.isArray(o.choices) && o.choices.length === 0;
  }
}
