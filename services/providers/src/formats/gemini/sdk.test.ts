import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';
import type { GenerateContentResponse } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanonicalRequest, CanonicalResponse, CanonicalStreamEvent } from '../../canonical/types.js';
import { geminiClientCodec } from './index.js';

/**
 * The official `@google/genai` SDK against a local server that parses its requests with the client
 * codec and answers with the codec's renderings, so both directions meet the SDK's expectations.
 */

const usage = {
  inputTokens: 11,
  outputTokens: 25,
  cachedInputTokens: 4,
  cacheCreationInputTokens: 0,
  reasoningTokens: 5,
};

const textAnswer: CanonicalResponse = {
  id: 'resp-text',
  model: 'upstream',
  created: 0,
  content: [
    { type: 'thinking', text: 'The user greets me.', signature: null },
    { type: 'text', text: 'Hello! ' },
    { type: 'text', text: 'How can I help?' },
  ],
  stopReason: 'end_turn',
  stopSequence: null,
  usage,
};

const callAnswer: CanonicalResponse = {
  ...textAnswer,
  id: 'resp-call',
  content: [
    {
      type: 'tool_call',
      id: 'toolu_42',
      name: 'controlLight',
      arguments: '{"brightness":25,"colorTemperature":"warm"}',
    },
  ],
  stopReason: 'tool_use',
};

const streamEvents: CanonicalStreamEvent[] = [
  { type: 'message_start', id: 'resp-stream', model: 'upstream', usage: null },
  { type: 'block_start', index: 0, block: { type: 'thinking' } },
  { type: 'thinking_delta', index: 0, text: 'Let me think.' },
  { type: 'block_stop', index: 0 },
  { type: 'block_start', index: 1, block: { type: 'text' } },
  { type: 'text_delta', index: 1, text: 'Dimming ' },
  { type: 'text_delta', index: 1, text: 'the lights.' },
  { type: 'block_stop', index: 1 },
  { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_7', name: 'controlLight' } },
  { type: 'tool_args_delta', index: 2, json: '{"brightness":' },
  { type: 'tool_args_delta', index: 2, json: '25}' },
  { type: 'block_stop', index: 2 },
  { type: 'message_delta', stopReason: 'tool_use', stopSequence: null, usage },
  { type: 'message_stop' },
];

let server: Server;
let ai: GoogleGenAI;
let answer: CanonicalResponse = textAnswer;
const seen: Array<{ url: string; request: CanonicalRequest }> = [];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const url = req.url ?? '';
  const m = /\/models\/([^:]+):(generateContent|streamGenerateContent)/.exec(url);
  const stream = m?.[2] === 'streamGenerateContent';
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  const request = geminiClientCodec.parseRequest(body, { model: m?.[1], stream });
  seen.push({ url, request });
  const ctx = { model: request.model, includeUsage: false, sse: url.includes('alt=sse') };
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(geminiClientCodec.renderResponse(answer, ctx)));
    return;
  }
  res.writeHead(200, { 'content-type': ctx.sse ? 'text/event-stream' : 'application/json' });
  const encoder = geminiClientCodec.createStreamEncoder(ctx);
  for (const event of streamEvents) {
    const text = encoder.push(event);
    if (text !== '') res.write(text);
  }
  res.end();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const { status, body } = geminiClientCodec.renderError(err);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: `http://127.0.0.1:${port}` } });
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

const lightTool = {
  functionDeclarations: [
    {
      name: 'controlLight',
      description: 'Set the brightness and color temperature of a room light.',
      parameters: {
        type: Type.OBJECT,
        properties: { brightness: { type: Type.NUMBER }, colorTemperature: { type: Type.STRING } },
        required: ['brightness', 'colorTemperature'],
      },
    },
  ],
};

describe('the @google/genai SDK against the Gemini codec', () => {
  it('when the SDK calls generateContent, then the request parses and .text and usage read the answer', async () => {
    answer = textAnswer;
    const res = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Hello',
      config: {
        systemInstruction: 'Be brief.',
        temperature: 0.2,
        thinkingConfig: { includeThoughts: true, thinkingBudget: 512 },
      },
    });
    expect(res.text).toBe('Hello! How can I help?');
    expect(res.functionCalls).toBeUndefined();
    expect(res.usageMetadata).toMatchObject({
      promptTokenCount: 11,
      candidatesTokenCount: 20,
      thoughtsTokenCount: 5,
      cachedContentTokenCount: 4,
      totalTokenCount: 36,
    });
    expect(res.modelVersion).toBe('gemini-2.5-flash');
    expect(res.responseId).toBe('resp-text');
    const { request } = seen.at(-1)!;
    expect(request).toMatchObject({
      model: 'gemini-2.5-flash',
      system: 'Be brief.',
      temperature: 0.2,
      stream: false,
      reasoning: { budgetTokens: 512, enabled: true },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
    });
  });

  it('when the answer is a tool call, then .functionCalls has its name, args and id', async () => {
    answer = callAnswer;
    const res = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Dim the lights so the room feels cozy and warm.',
      config: {
        tools: [lightTool],
        toolConfig: {
          functionCallingConfig: {
            mode: FunctionCallingConfigMode.ANY,
            allowedFunctionNames: ['controlLight'],
          },
        },
      },
    });
    expect(res.functionCalls).toEqual([
      { name: 'controlLight', args: { brightness: 25, colorTemperature: 'warm' }, id: 'toolu_42' },
    ]);
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    expect(seen.at(-1)!.request).toMatchObject({
      toolChoice: { type: 'tool', name: 'controlLight' },
      tools: [
        {
          name: 'controlLight',
          parameters: { type: 'object', properties: { brightness: { type: 'number' } } },
        },
      ],
    });
  });

  it('when the SDK streams, then the chunks give the text, the function call and the final usage', async () => {
    const stream = await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'Dim the lights.',
    });
    let text = '';
    const calls: unknown[] = [];
    let last: GenerateContentResponse | undefined;
    for await (const chunk of stream) {
      // `.text` warns on a chunk with a function call; such chunks carry no text here.
      if (chunk.functionCalls === undefined) text += chunk.text ?? '';
      calls.push(...(chunk.functionCalls ?? []));
      last = chunk;
    }
    expect(text).toBe('Dimming the lights.');
    expect(calls).toEqual([{ name: 'controlLight', args: { brightness: 25 }, id: 'toolu_7' }]);
    expect(last?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(last?.usageMetadata).toMatchObject({
      promptTokenCount: 11,
      candidatesTokenCount: 20,
      thoughtsTokenCount: 5,
    });
    expect(seen.at(-1)).toMatchObject({ request: { stream: true } });
    expect(seen.at(-1)!.url).toContain('alt=sse');
  });

  it('when the SDK continues a function-calling chat, then its history parses with matching tool-call ids', async () => {
    const chat = ai.chats.create({ model: 'gemini-2.5-flash', config: { tools: [lightTool] } });
    answer = callAnswer;
    const first = await chat.sendMessage({ message: 'Dim the lights.' });
    expect(first.functionCalls?.[0]?.id).toBe('toolu_42');
    answer = textAnswer;
    await chat.sendMessage({
      message: [{ functionResponse: { id: 'toolu_42', name: 'controlLight', response: { output: 'done' } } }],
    });
    expect(seen.at(-1)!.request.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Dim the lights.' }] },
      {
        role: 'assistant',
        content: [
          {
            type: 'tool_call',
            id: 'toolu_42',
            name: 'controlLight',
            arguments: '{"brightness":25,"colorTemperature":"warm"}',
          },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            toolCallId: 'toolu_42',
            name: 'controlLight',
            content: [{ type: 'text', text: 'done' }],
            isError: false,
          },
        ],
      },
    ]);
  });

  it('when the codec refuses a request, then the SDK surfaces the Gemini error status', async () => {
    await expect(
      ai.models.generateContent({
        model: 'gemini-2.5-flash',
        contents: 'Hi',
        config: { cachedContent: 'cachedContents/x' },
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
