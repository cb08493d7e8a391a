import { SseParser } from '../../sse/sse-parser.js';
import { readOpenAIUsage, type TokenUsage } from './usage.js';

const EVENT_END = Buffer.from('\n\n');
const USAGE = Buffer.from('"usage"');
const DONE = Buffer.from('data: [DONE]');
const CR = 0x0d;
const CONTENT = Buffer.from('"content":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Relays an OpenAI chat-completions SSE stream while watching it: records the usage the upstream
 * reports and, when the client did not ask for usage (the gateway asked on its behalf), drops the
 * usage-only chunk so the client sees exactly the stream it requested.
 *
 * Hot path: complete events are forwarded as the upstream's own bytes. Only a stretch of events that
 * mentions `"usage"` is decoded and parsed event by event (with SseParser); a stream with CRLF
 * line endings takes that path throughout.
 */
export class OpenAIChatStreamTap {
  readonly #stripUsageChunk: boolean;
  /** Bytes of an event not yet terminated by a blank line. */
  #pending: Buffer | null = null;
  #crlf = false;
  readonly #parser = new SseParser();
  usage: TokenUsage | null = null;
  sawDone = false;
  /** True when the upstream ended in the middle of an event. */
  tornTail = false;
  /**
   * Characters of `"content":"..."` text relayed so far (escapes counted as written): the delivered
   * answer's size, for estimating the tokens of a stream cut before its usage chunk.
   */
  contentChars = 0;
  /** The raw (JSON-escaped) `content` strings relayed so far, decoded only when asked for. */
  readonly #content: string[] = [];

  constructor(opts: { stripUsageChunk: boolean }) {
    this.#stripUsageChunk = opts.stripUsageChunk;
  }

  /** Returns the bytes to forward for this upstream chunk (empty when it completed no event). */
  push(chunk: Buffer): Buffer | string {
    if (this.#crlf || chunk.includes(CR)) {
      this.#crlf = true;
      const head = this.#pending;
      this.#pending = null;
      if (head !== null) return this.#slow(Buffer.concat([head, chunk]));
      return this.#slow(chunk);
    }
    const buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    const end = buf.lastIndexOf(EVENT_END);
    if (end === -1) {
      this.#pending = buf;
      return EMPTY;
    }
    const complete = buf.subarray(0, end + 2);
    this.#pending = end + 2 < buf.length ? Buffer.from(buf.subarray(end + 2)) : null;
    this.contentChars += contentStrings(complete, this.#content);
    if (!this.sawDone && complete.includes(DONE)) this.sawDone = true;
    if (!hasUsageObject(complete)) return complete;
    return this.#events(complete.toString('utf8'));
  }

  /** The answer text relayed so far (every `content` string, decoded), for counting its tokens. */
  deliveredText(): string {
    let text = '';
    for (const raw of this.#content) {
      try {
        text += JSON.parse(`"${raw}"`) as string;
      } catch {
        text += raw;
      }
    }
    return text;
  }

  /**
   * Called when the upstream body ended. A trailing event without its terminating blank line is a
   * torn write, never forwarded (a client would fail to parse half a JSON chunk); returns ''.
   */
  end(): string {
    const rest = this.#crlf ? this.#parser.end() : [];
    if (rest.length > 0 || (this.#pending !== null && this.#pending.toString('utf8').trim() !== '')) {
      this.tornTail = true;
    }
    this.#pending = null;
    return '';
  }

  #slow(bytes: Buffer): string {
    let out = '';
    for (const ev of this.#parser.push(bytes)) {
      if (ev.data !== null) this.contentChars += contentStrings(Buffer.from(ev.data), this.#content);
      out += this.#event(ev.raw, ev.data);
    }
    return out;
  }

  /** Processes a run of complete LF-terminated events, event by event. */
  #events(text: string): string {
    let out = '';
    for (const raw of text.split('\n\n')) {
      if (raw === '') continue;
      let data: string | null = null;
      for (const line of raw.split('\n')) {
        if (line.startsWith('data:')) {
          const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
          data = data === null ? v : `${data}\n${v}`;
        }
      }
      out += this.#event(raw, data);
    }
    return out;
  }

  #event(raw: string, data: string | null): string {
    if (data !== null) {
      if (data === '[DONE]') this.sawDone = true;
      else if (hasUsageObject(data) && this.#isUsageChunk(data)) return '';
    }
    return `${raw}\n\n`;
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

const EMPTY = Buffer.alloc(0);

/**
 * Collects every `"content":"..."` string value in `buf` (raw, still escaped) into `out` and returns
 * their total length (a scan, no JSON parse).
 */
function contentStrings(buf: Buffer, out: string[]): number {
  let n = 0;
  for (let at = buf.indexOf(CONTENT); at !== -1; at = buf.indexOf(CONTENT, at + 1)) {
    let i = at + CONTENT.length;
    const start = i;
    while (i < buf.length && buf[i] !== QUOTE) i += buf[i] === BACKSLASH ? 2 : 1;
    n += i - start;
    if (i > start) out.push(buf.toString('utf8', start, i));
  }
  return n;
}

/**
 * True when `"usage"` is followed by an object (`"usage":{` or `"usage": {`). With include_usage
 * every chunk carries `"usage":null`; only the one real usage object is worth a JSON.parse.
 */
export function hasUsageObject(text: Buffer | string): boolean {
  const find = (from: number): number =>
    typeof text === 'string' ? text.indexOf('"usage"', from) : text.indexOf(USAGE, from);
  const code = (i: number): number | undefined => (typeof text === 'string' ? text.charCodeAt(i) : text[i]);
  for (let at = find(0); at !== -1; at = find(at + 1)) {
    let i = at + USAGE.length;
    let c = code(i);
    while (c === 0x20 || c === 0x3a || c === 0x09) c = code(++i); // space, ':', tab
    if (c === 0x7b) return true; // '{'
  }
  return false;
}
