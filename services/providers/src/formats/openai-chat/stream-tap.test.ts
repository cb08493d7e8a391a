import { describe, expect, it } from 'vitest';
import { OpenAIChatStreamTap, hasUsageObject } from './stream-tap.js';
import { SseParser } from '../../sse/sse-parser.js';

const enc = { encode: (s: string) => Buffer.from(s, 'utf8') };
const str = (b: Buffer | string) => b.toString();
const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const content = chunk({
  id: 'c',
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta: { content: 'hi' } }],
  usage: null,
});
const usage = chunk({
  id: 'c',
  object: 'chat.completion.chunk',
  choices: [],
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
});
const done = 'data: [DONE]\n\n';

describe('SSE parser', () => {
  it('when an event is split across chunks and multi-byte characters, then it is reassembled', () => {
    const p = new SseParser();
    const text = 'event: x\ndata: {"t":"héllo"}\n\ndata: 2\n\n';
    const bytes = enc.encode(text);
    const events = [
      ...p.push(bytes.slice(0, 22)),
      ...p.push(bytes.slice(22, 29)),
      ...p.push(bytes.slice(29)),
    ];
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['x', '{"t":"héllo"}'],
      [null, '2'],
    ]);
  });
  it('when CRLF line endings and multi-line data are used, then data lines are joined', () => {
    const p = new SseParser();
    expect(p.push(enc.encode('data: a\r\ndata: b\r\n\r\n')).map((e) => e.data)).toEqual(['a\nb']);
    expect(p.push(enc.encode('data: tail'))).toEqual([]);
    expect(p.end().map((e) => e.data)).toEqual(['tail']);
  });
});

describe('OpenAI stream tap', () => {
  it('when the client did not ask for usage, then the usage chunk is recorded and dropped', () => {
    const tap = new OpenAIChatStreamTap({ stripUsageChunk: true });
    const out = str(tap.push(enc.encode(content + usage + done))) + tap.end();
    expect(out).toBe(content + done);
    expect(tap.usage).toEqual({ promptTokens: 7, completionTokens: 3, totalTokens: 10 });
    expect(tap.sawDone).toBe(true);
  });
  it('when the client asked for usage, then the usage chunk is forwarded too', () => {
    const tap = new OpenAIChatStreamTap({ stripUsageChunk: false });
    const out = [content, usage, done].map((c) => str(tap.push(enc.encode(c)))).join('');
    expect(out).toBe(content + usage + done);
    expect(tap.usage?.totalTokens).toBe(10);
  });
  it('when events are split across chunks and use CRLF, then usage is still found and stripped', () => {
    const tap = new OpenAIChatStreamTap({ stripUsageChunk: true });
    const whole = (content + usage + done).replace(/\n/g, '\r\n');
    let out = '';
    for (let i = 0; i < whole.length; i += 7) out += str(tap.push(enc.encode(whole.slice(i, i + 7))));
    expect(out.replace(/\r/g, '')).toBe(content + done);
    expect(tap.usage?.promptTokens).toBe(7);
    expect(tap.sawDone).toBe(true);
  });
  it('when LF events are split mid-event, then bytes are forwarded only once complete', () => {
    const tap = new OpenAIChatStreamTap({ stripUsageChunk: true });
    const whole = content + usage + content + done;
    let out = '';
    for (let i = 0; i < whole.length; i += 11) out += str(tap.push(enc.encode(whole.slice(i, i + 11))));
    expect(out).toBe(content + content + done);
    expect(tap.usage?.totalTokens).toBe(10);
  });
  it('when the stream is cut before [DONE], then the tap says so and has no usage', () => {
    const tap = new OpenAIChatStreamTap({ stripUsageChunk: true });
    tap.push(enc.encode(content + content.slice(0, 10)));
    expect(tap.end()).toBe('');
    expect(tap.tornTail).toBe(true);
    expect(tap.sawDone).toBe(false);
    expect(tap.usage).toBeNull();
  });
});

describe('usage detection', () => {
  it('when usage is null or absent, then no parse is needed; when it is an object, with or without spaces, it is found', () => {
    expect(hasUsageObject('{"choices":[],"usage":null}')).toBe(false);
    expect(hasUsageObject(Buffer.from('{"usage": null, "x": "usage"}'))).toBe(false);
    expect(hasUsageObject('{"usage":{"prompt_tokens":1}}')).toBe(true);
    expect(hasUsageObject(Buffer.from('{"usage": {"prompt_tokens":1}}'))).toBe(true);
    expect(hasUsageObject(Buffer.from('{"a":"usage","usage" : {}}'))).toBe(true);
  });
});

describe('delivered content size', () => {
  it('when content chunks are relayed, then contentChars counts their text, in both the LF and CRLF paths', () => {
    const chunk = (text: string) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
    const lf = new OpenAIChatStreamTap({ stripUsageChunk: false });
    lf.push(Buffer.from(chunk('Hello') + chunk(', wor')));
    lf.push(Buffer.from(chunk('ld "q"')));
    // `"q"` is written as \"q\": escapes count as written (an estimate, not a decode).
    expect(lf.contentChars).toBe(5 + 5 + 8);
    const crlf = new OpenAIChatStreamTap({ stripUsageChunk: false });
    crlf.push(Buffer.from(chunk('Hello').replace(/\n/g, '\r\n')));
    expect(crlf.contentChars).toBe(5);
  });
});
