import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, type Content } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectedEmbedding, type RecordedRequest } from '@switchyard/mock-upstream';
import type { UsageRow } from './harness.js';
import { TARGETS, startProviderMatrix, type ProviderMatrix, type Target } from './provider-matrix.js';

/**
 * Every client format × every provider, end to end: the official SDKs (openai Chat and Responses,
 * @anthropic-ai/sdk, @google/genai) against the all-in-one gateway, whose channels reach every kind
 * of upstream on the mock (OpenAI, Azure, Anthropic, Gemini, Bedrock InvokeModel and Converse, Vertex
 * Gemini and Anthropic, a preset). Plain answers, streams, tool calls with their results and usage.
 */
let m: ProviderMatrix;
let openai: OpenAI;
let anthropic: Anthropic;
let gemini: GoogleGenAI;

const TOOL_SCHEMA = {
  type: 'object',
  properties: { query: { type: 'string', description: 'What to look up' } },
  required: ['query'],
};
const ASK_TOOL = 'Please call tool lookup for me';

beforeAll(async () => {
  m = await startProviderMatrix();
  openai = new OpenAI({ apiKey: m.key.key, baseURL: `${m.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: m.key.key, baseURL: m.url, maxRetries: 0 });
  gemini = new GoogleGenAI({ apiKey: m.key.key, httpOptions: { baseUrl: m.url } });
});

afterAll(async () => {
  await m?.stop();
});

afterEach(async () => {
  m.mock.cachedTokens = 0;
  await m.resetHealth();
});

let seq = 0;
function requestId(): string {
  seq++;
  return `sdk-matrix-${seq}`;
}

async function usageRow(clientRequestId: string): Promise<UsageRow> {
  await m.t.gw.idle();
  const res = await m.t.admin<{ data: UsageRow[] }>('GET', `/usage?key_id=${m.key.id}&limit=500`);
  const row = res.body.data.find((r) => r.client_request_id === clientRequestId);
  if (row === undefined) throw new Error(`no usage row for ${clientRequestId}`);
  return row;
}

/** The body the mock received last (the converted request). */
function lastUpstream(): RecordedRequest {
  const r = m.mock.requests.filter((x) => !x.path.startsWith('/token')).at(-1);
  if (r === undefined) throw new Error('the mock received nothing');
  return r;
}

/** The tool result the mock received, in its own format: proof the conversion carried it. */
function expectUpstreamToolResult(target: Target, callId: string, text: string): void {
  const body = lastUpstream().body as Record<string, unknown>;
  const json = JSON.stringify(body);
  expect(json).toContain(text);
  switch (target.format) {
    case 'openai-chat': {
      const msgs = body.messages as Array<Record<string, unknown>>;
      expect(msgs.some((x) => x.role === 'tool' && x.tool_call_id === callId)).toBe(true);
      break;
    }
    case 'anthropic-messages': {
      const msgs = body.messages as Array<{ content: unknown }>;
      const blocks = msgs.flatMap((x) =>
        Array.isArray(x.content) ? (x.content as Array<Record<string, unknown>>) : [],
      );
      expect(blocks.some((b) => b.type === 'tool_result' && b.tool_use_id === callId)).toBe(true);
      break;
    }
    case 'gemini': {
      const contents = body.contents as Array<{ parts: Array<Record<string, unknown>> }>;
      const parts = contents.flatMap((c) => c.parts);
      expect(
        parts.some((p) => (p.functionResponse as { name?: string } | undefined)?.name === 'lookup'),
      ).toBe(true);
      break;
    }
    case 'bedrock-converse': {
      const msgs = body.messages as Array<{ content: Array<Record<string, unknown>> }>;
      const blocks = msgs.flatMap((x) => x.content);
      expect(
        blocks.some((b) => (b.toolResult as { toolUseId?: string } | undefined)?.toolUseId === callId),
      ).toBe(true);
      break;
    }
  }
}

describe.each(TARGETS.map((t) => [t.name, t] as const))('through %s', (_name, target) => {
  const model = target.model;

  describe('OpenAI Chat Completions (openai SDK)', () => {
    it('when asked plainly, then the answer and its usage arrive in OpenAI shape and in the ledger', async () => {
      const id = requestId();
      const res = await openai.chat.completions.create(
        {
          model,
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hello matrix' },
          ],
        },
        { headers: { 'x-request-id': id } },
      );
      // A same-format passthrough relays the upstream's own model name; a conversion names the client's.
      if (target.format !== 'openai-chat') expect(res.model).toBe(model);
      expect(res.choices[0]!.message.content).toBe('Echo: Hello matrix');
      expect(res.choices[0]!.finish_reason).toBe('stop');
      expect(res.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(res.usage!.completion_tokens).toBe(5);
      const row = await usageRow(id);
      expect([row.prompt_tokens, row.completion_tokens]).toEqual([
        res.usage!.prompt_tokens,
        res.usage!.completion_tokens,
      ]);
      expect(row.status).toBe('ok');
    });

    it('when streamed with include_usage, then the text arrives in chunks and usage comes last', async () => {
      const stream = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Stream matrix' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | null | undefined;
      let finish: string | null = null;
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        if (c?.delta.content) {
          text += c.delta.content;
          chunks++;
        }
        if (c?.finish_reason) finish = c.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('Echo: Stream matrix');
      expect(chunks).toBeGreaterThanOrEqual(2);
      expect(finish).toBe('stop');
      expect(usage?.completion_tokens).toBe(5);
    });

    it('when the model calls a tool in a stream, then the SDK assembles the call and the result goes back upstream', async () => {
      const tools: OpenAI.ChatCompletionTool[] = [
        {
          type: 'function',
          function: { name: 'lookup', description: 'Look something up', parameters: TOOL_SCHEMA },
        },
      ];
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: ASK_TOOL }];
      const runner = openai.chat.completions.stream({ model, messages, tools });
      const first = await runner.finalChatCompletion();
      const call = first.choices[0]!.message.tool_calls?.[0];
      expect(first.choices[0]!.finish_reason).toBe('tool_calls');
      expect(call?.type === 'function' && call.function.name).toBe('lookup');
      expect(JSON.parse(call!.type === 'function' ? call!.function.arguments : '{}')).toEqual({
        query: ASK_TOOL,
      });

      const second = await openai.chat.completions.create({
        model,
        tools,
        messages: [
          ...messages,
          first.choices[0]!.message as OpenAI.ChatCompletionMessageParam,
          { role: 'tool', tool_call_id: call!.id, content: 'lookup result: 42' },
        ],
      });
      expect(second.choices[0]!.finish_reason).toBe('stop');
      expect(second.choices[0]!.message.content).toMatch(/^Echo: /);
      expectUpstreamToolResult(target, call!.id, 'lookup result: 42');
    });

    it('when the message carries a base64 image, then the upstream receives it as an image', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      const res = await openai.chat.completions.create({
        model,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
            ],
          },
        ],
      });
      expect(res.choices[0]!.message.content).toBe(`Echo: Look [image: image/png, ${png.length}]`);
    });
  });

  describe('OpenAI Responses (openai SDK)', () => {
    it('when asked plainly, then output_text and usage arrive', async () => {
      const res = await openai.responses.create({
        model,
        instructions: 'Be brief.',
        input: 'Hello responses',
      });
      expect(res.output_text).toBe('Echo: Hello responses');
      expect(res.status).toBe('completed');
      expect(res.usage?.output_tokens).toBe(5);
    });

    it('when streamed, then the typed events assemble into the final response', async () => {
      const stream = openai.responses.stream({ model, input: 'Stream responses' });
      const deltas: string[] = [];
      stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      expect(final.output_text).toBe('Echo: Stream responses');
      expect(deltas.join('')).toBe('Echo: Stream responses');
      expect(deltas.length).toBeGreaterThanOrEqual(2);
    });

    it('when the model calls a function, then the call and its output make a loop', async () => {
      const tools: OpenAI.Responses.Tool[] = [
        {
          type: 'function',
          name: 'lookup',
          description: 'Look something up',
          parameters: TOOL_SCHEMA,
          strict: false,
        },
      ];
      const first = await openai.responses.stream({ model, input: ASK_TOOL, tools }).finalResponse();
      const call = first.output.find((o) => o.type === 'function_call');
      expect(call?.type === 'function_call' && call.name).toBe('lookup');
      expect(JSON.parse(call!.type === 'function_call' ? call!.arguments : '{}')).toEqual({
        query: ASK_TOOL,
      });
      const callId = call!.type === 'function_call' ? call!.call_id : '';
      const second = await openai.responses.create({
        model,
        tools,
        input: [
          { role: 'user', content: ASK_TOOL },
          ...first.output.filter((o) => o.type === 'function_call'),
          { type: 'function_call_output', call_id: callId, output: 'lookup result: 42' },
        ] as OpenAI.Responses.ResponseInput,
      });
      expect(second.output_text).toMatch(/^Echo: /);
      expectUpstreamToolResult(target, callId, 'lookup result: 42');
    });
  });

  describe('Anthropic Messages (@anthropic-ai/sdk)', () => {
    it('when asked plainly, then the message and its usage arrive in Anthropic shape', async () => {
      const msg = await anthropic.messages.create({
        model,
        max_tokens: 256,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'Hello claude client' }],
      });
      expect(msg.type).toBe('message');
      if (target.format !== 'anthropic-messages' || target.name !== 'anthropic')
        expect(msg.model).toBe(model);
      expect(msg.content).toEqual([
        expect.objectContaining({ type: 'text', text: 'Echo: Hello claude client' }),
      ]);
      expect(msg.stop_reason).toBe('end_turn');
      expect(msg.usage.output_tokens).toBe(5);
      expect(msg.usage.input_tokens).toBeGreaterThan(0);
    });

    it('when streamed with a tool, then input_json_delta events assemble the tool input', async () => {
      const stream = anthropic.messages.stream({
        model,
        max_tokens: 256,
        tools: [
          {
            name: 'lookup',
            description: 'Look something up',
            input_schema: TOOL_SCHEMA as Anthropic.Tool.InputSchema,
          },
        ],
        messages: [{ role: 'user', content: ASK_TOOL }],
      });
      const events: string[] = [];
      stream.on('streamEvent', (e) => events.push(e.type));
      const msg = await stream.finalMessage();
      expect(events[0]).toBe('message_start');
      expect(events).toContain('content_block_delta');
      expect(events.at(-1)).toBe('message_stop');
      expect(msg.stop_reason).toBe('tool_use');
      const use = msg.content.find((b) => b.type === 'tool_use');
      expect(use?.type === 'tool_use' && use.name).toBe('lookup');
      expect(use?.type === 'tool_use' && use.input).toEqual({ query: ASK_TOOL });

      const second = await anthropic.messages.create({
        model,
        max_tokens: 256,
        tools: [{ name: 'lookup', input_schema: TOOL_SCHEMA as Anthropic.Tool.InputSchema }],
        messages: [
          { role: 'user', content: ASK_TOOL },
          { role: 'assistant', content: msg.content },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: use!.type === 'tool_use' ? use!.id : '',
                content: 'lookup result: 42',
              },
            ],
          },
        ],
      });
      expect(second.stop_reason).toBe('end_turn');
      expectUpstreamToolResult(target, use!.type === 'tool_use' ? use!.id : '', 'lookup result: 42');
    });

    it('when thinking is on and streamed, then thinking arrives before the text where the target reasons', async () => {
      const stream = anthropic.messages.stream({
        model,
        max_tokens: 4096,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        messages: [{ role: 'user', content: 'Think matrix' }],
      });
      const msg = await stream.finalMessage();
      const text = msg.content.find((b) => b.type === 'text');
      expect(text?.type === 'text' && text.text).toBe('Echo: Think matrix');
      const thinking = msg.content.find((b) => b.type === 'thinking');
      if (target.format === 'bedrock-converse') {
        // Converse models here have no reasoning switch: the request is answered without thinking.
        expect(thinking).toBeUndefined();
      } else {
        expect(thinking?.type === 'thinking' && thinking.thinking).toBe('Thinking about: Think matrix');
        expect(msg.content[0]!.type).toBe('thinking');
      }
    });

    it('when count_tokens is asked, then a positive count comes back', async () => {
      const res = await anthropic.messages.countTokens({
        model,
        messages: [{ role: 'user', content: 'How many tokens is this sentence?' }],
      });
      expect(res.input_tokens).toBeGreaterThan(3);
    });
  });

  describe('Gemini (@google/genai)', () => {
    it('when generateContent is called, then text and usageMetadata arrive in Gemini shape', async () => {
      const res = await gemini.models.generateContent({
        model,
        contents: 'Hello gemini client',
        config: { systemInstruction: 'Be brief.' },
      });
      expect(res.text).toBe('Echo: Hello gemini client');
      expect(res.candidates?.[0]?.finishReason).toBe('STOP');
      expect(res.usageMetadata?.candidatesTokenCount).toBe(5);
      expect(res.usageMetadata?.promptTokenCount).toBeGreaterThan(0);
    });

    it('when streamed, then the chunks carry the text in order', async () => {
      const stream = await gemini.models.generateContentStream({ model, contents: 'Stream gemini client' });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        if (chunk.text) {
          text += chunk.text;
          chunks++;
        }
      }
      expect(text).toBe('Echo: Stream gemini client');
      expect(chunks).toBeGreaterThanOrEqual(2);
    });

    it('when the model calls a function, then functionCalls has it and the response goes back upstream', async () => {
      const tools = [
        {
          functionDeclarations: [
            { name: 'lookup', description: 'Look something up', parametersJsonSchema: TOOL_SCHEMA },
          ],
        },
      ];
      const contents: Content[] = [{ role: 'user', parts: [{ text: ASK_TOOL }] }];
      const first = await gemini.models.generateContent({ model, contents, config: { tools } });
      const call = first.functionCalls?.[0];
      expect(call?.name).toBe('lookup');
      expect(call?.args).toEqual({ query: ASK_TOOL });
      const second = await gemini.models.generateContent({
        model,
        config: { tools },
        contents: [
          ...contents,
          first.candidates![0]!.content!,
          {
            role: 'user',
            parts: [
              {
                functionResponse: { name: 'lookup', id: call?.id, response: { result: 'lookup result: 42' } },
              },
            ],
          },
        ],
      });
      expect(second.text).toMatch(/^Echo: /);
      const body = JSON.stringify(lastUpstream().body);
      expect(body).toContain('lookup result: 42');
    });
  });
});

describe('cached and reasoning tokens', () => {
  it.each(TARGETS.filter((t) => t.format !== 'bedrock-converse').map((t) => [t.name, t] as const))(
    'when %s reports cached prompt tokens, then the OpenAI client sees them in prompt_tokens_details',
    async (_name, target) => {
      m.mock.cachedTokens = 4;
      const res = await openai.chat.completions.create({
        model: target.model,
        messages: [{ role: 'user', content: 'A prompt long enough to have some cached tokens in it' }],
      });
      expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(4);
      expect(res.usage!.prompt_tokens).toBeGreaterThan(4);
    },
  );

  it.each(TARGETS.filter((t) => t.format !== 'bedrock-converse').map((t) => [t.name, t] as const))(
    'when %s reasons for an OpenAI client with reasoning_effort, then reasoning tokens are reported',
    async (_name, target) => {
      const res = await openai.chat.completions.create({
        model: target.model,
        reasoning_effort: 'low',
        messages: [{ role: 'user', content: 'Reason please' }],
      });
      expect(res.choices[0]!.message.content).toBe('Echo: Reason please');
      expect((res.choices[0]!.message as unknown as { reasoning_content?: string }).reasoning_content).toBe(
        'Thinking about: Reason please',
      );
      // Anthropic counts thinking inside output_tokens and reports no separate reasoning count.
      if (target.format === 'anthropic-messages') {
        expect(res.usage?.completion_tokens_details?.reasoning_tokens ?? 0).toBe(0);
      } else {
        expect(res.usage?.completion_tokens_details?.reasoning_tokens).toBeGreaterThan(0);
      }
    },
  );
});

describe('embeddings (openai SDK)', () => {
  it.each(TARGETS.filter((t) => t.format === 'openai-chat').map((t) => [t.name, t] as const))(
    'when %s embeds two inputs, then the SDK decodes two vectors and the usage',
    async (_name, target) => {
      const res = await openai.embeddings.create({ model: target.model, input: ['first input', 'second'] });
      expect(res.data).toHaveLength(2);
      // The SDK asks for base64 (float32): compare at float32 precision.
      expect(res.data[0]!.embedding.map(Math.fround)).toEqual(
        expectedEmbedding('first input').map(Math.fround),
      );
      expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    },
  );
});
