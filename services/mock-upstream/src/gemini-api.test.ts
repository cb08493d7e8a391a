import { GoogleGenAI } from '@google/genai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postJson, readBodyText } from '../test/http-helpers.js';
import { expectedCompletion } from './deterministic-completion.js';
import { geminiUsageMetadata } from './expected-wire-fields.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';

const KEY = 'AIza-mock';
const contents = [{ role: 'user', parts: [{ text: 'hello gemini' }] }];
const body = { contents, systemInstruction: { parts: [{ text: 'Be brief.' }] } };

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream({ requireKey: KEY });
});

afterEach(async () => {
  await mock.close();
});

const url = (model: string, method: string, query = ''): string =>
  `${mock.url}/v1beta/models/${model}:${method}${query}`;
const keyed = { 'x-goog-api-key': KEY };
type Chunk = {
  candidates: { content: { parts: Record<string, unknown>[] }; finishReason?: string }[];
  usageMetadata?: unknown;
};

describe('Gemini generateContent', () => {
  it('when called with x-goog-api-key, then the answer is a GenerateContentResponse with deterministic usage', async () => {
    const res = await postJson(url('gemini-2.5-flash', 'generateContent'), body, keyed);
    expect(res.status).toBe(200);
    const exp = expectedCompletion(body);
    expect(await res.json()).toEqual({
      candidates: [
        {
          content: { role: 'model', parts: [{ text: 'Echo: hello gemini' }] },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: exp.promptTokens,
        candidatesTokenCount: exp.completionTokens,
        totalTokenCount: exp.promptTokens + exp.completionTokens,
      },
      modelVersion: 'gemini-2.5-flash',
      responseId: expect.stringMatching(/^mock-resp-\d+$/),
    });
  });

  it('when thinking is on, then a thought part with a thoughtSignature comes first and thoughtsTokenCount counts it', async () => {
    const thinking = {
      ...body,
      generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 512 } },
    };
    const json = (await (
      await postJson(url('gemini-2.5-pro', 'generateContent'), thinking, keyed)
    ).json()) as Chunk;
    const exp = expectedCompletion(thinking);
    expect(json.candidates[0]?.content.parts).toEqual([
      { text: 'Thinking about: hello gemini', thought: true, thoughtSignature: exp.reasoning?.signature },
      { text: 'Echo: hello gemini' },
    ]);
    expect(json.usageMetadata).toEqual(geminiUsageMetadata(exp));
    expect(json.usageMetadata).toMatchObject({ thoughtsTokenCount: 5, candidatesTokenCount: 5 });
  });

  it('when a function is declared and "call tool" asked, then a functionCall part with id, name and args answers', async () => {
    const tools = [
      {
        functionDeclarations: [
          { name: 'lookup', parameters: { type: 'OBJECT', properties: { q: { type: 'STRING' } } } },
        ],
      },
    ];
    const ask = { contents: [{ role: 'user', parts: [{ text: 'call tool now' }] }], tools };
    const json = (await (
      await postJson(url('gemini-2.5-flash', 'generateContent'), ask, keyed)
    ).json()) as Chunk;
    expect(json.candidates[0]?.content.parts).toEqual([
      {
        functionCall: {
          id: expect.stringMatching(/^call_mock_/),
          name: 'lookup',
          args: { q: 'call tool now' },
        },
      },
    ]);
    expect(json.candidates[0]?.finishReason).toBe('STOP');
  });

  it('when an inline image, cached tokens and a low maxOutputTokens come, then echo, usage and MAX_TOKENS show them', async () => {
    const data = Buffer.from('12345678').toString('base64');
    const ask = {
      contents: [
        { role: 'user', parts: [{ text: 'see' }, { inlineData: { mimeType: 'image/webp', data } }] },
      ],
      generationConfig: { maxOutputTokens: 3 },
      mock_chunks: 4,
    };
    const res = await postJson(url('gemini-2.5-flash', 'generateContent'), ask, {
      ...keyed,
      'x-mock-cached-tokens': '2',
    });
    const json = (await res.json()) as Chunk;
    const exp = expectedCompletion(ask);
    expect(exp.content).toBe(
      expectedCompletion({ ...ask, generationConfig: {} })
        .chunks.slice(0, 3)
        .join(''),
    );
    expect(json.candidates[0]?.content.parts).toEqual([{ text: exp.content }]);
    expect(json.candidates[0]?.finishReason).toBe('MAX_TOKENS');
    expect(json.usageMetadata).toEqual(geminiUsageMetadata(exp, 2));
    expect(expectedCompletion({ ...ask, generationConfig: {}, mock_chunks: 1 }).content).toBe(
      'Echo: see [image: image/webp, 8]',
    );
  });
});

describe('Gemini streamGenerateContent', () => {
  it('when alt=sse, then each chunk is data: <json>\\r\\n\\r\\n and the last carries finishReason and usage', async () => {
    const res = await postJson(
      url('gemini-2.5-flash', 'streamGenerateContent', '?alt=sse'),
      { ...body, mock_chunks: 3 },
      keyed,
    );
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { text } = await readBodyText(res);
    const frames = text.split('\r\n\r\n');
    expect(frames.pop()).toBe('');
    const chunks = frames.map((f) => {
      expect(f.startsWith('data: ')).toBe(true);
      return JSON.parse(f.slice(6)) as Chunk;
    });
    const exp = expectedCompletion({ ...body, mock_chunks: 3 });
    expect(chunks.slice(0, 3).map((c) => c.candidates[0]?.content.parts[0]?.text)).toEqual(exp.chunks);
    expect(
      chunks
        .slice(0, 3)
        .every((c) => c.usageMetadata === undefined && c.candidates[0]?.finishReason === undefined),
    ).toBe(true);
    expect(chunks[3]).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: geminiUsageMetadata(exp),
    });
  });

  it('when alt is not sse, then the stream is one JSON array written chunk by chunk', async () => {
    const res = await postJson(
      url('gemini-2.0-flash', 'streamGenerateContent'),
      { ...body, mock_chunks: 2 },
      keyed,
    );
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    const { text } = await readBodyText(res);
    const chunks = JSON.parse(text) as Chunk[];
    expect(chunks).toHaveLength(3);
    expect(chunks.map((c) => c.candidates[0]?.content.parts[0]?.text).join('')).toBe(
      expectedCompletion(body).content,
    );
    expect(text.startsWith('[{')).toBe(true);
    expect(text.split('},\r\n{')).toHaveLength(3);

    const spaced = await postJson(url('gemini-2.0-flash', 'streamGenerateContent'), body, {
      ...keyed,
      'x-mock-chunk-delay-ms': '50',
    });
    const reader = spaced.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.startsWith('[')).toBe(true);
    expect(JSON.parse(first.slice(1))).toMatchObject({
      candidates: [{ content: { parts: [{ text: 'Echo' }] } }],
    });
    await reader.cancel();
  });
});

describe('Gemini through the official @google/genai SDK', () => {
  const ai = (): GoogleGenAI => new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: mock.url } });

  it('when generateContent and generateContentStream are called, then .text, thoughts and usage read back', async () => {
    const exp = expectedCompletion({ contents: [{ role: 'user', parts: [{ text: 'sdk hello' }] }] });
    const done = await ai().models.generateContent({ model: 'gemini-2.5-flash', contents: 'sdk hello' });
    expect(done.text).toBe(exp.content);
    expect(done.usageMetadata?.totalTokenCount).toBe(exp.promptTokens + exp.completionTokens);

    let text = '';
    let thoughts = '';
    const stream = await ai().models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'sdk hello',
      config: { thinkingConfig: { includeThoughts: true } },
    });
    for await (const chunk of stream) {
      for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
        if (part.thought) thoughts += part.text ?? '';
        else text += part.text ?? '';
      }
    }
    expect(text).toBe(exp.content);
    expect(thoughts).toBe('Thinking about: sdk hello');
    expect(mock.requests.at(-1)?.query).toEqual({ alt: 'sse' });
  });

  it('when a function call is answered and models are listed, then functionCalls and the model list read back', async () => {
    const done = await ai().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'call tool please',
      config: {
        tools: [
          {
            functionDeclarations: [
              {
                name: 'find',
                parametersJsonSchema: { type: 'object', properties: { q: { type: 'string' } } },
              },
            ],
          },
        ],
      },
    });
    expect(done.functionCalls).toEqual([
      { id: expect.any(String), name: 'find', args: { q: 'call tool please' } },
    ]);
    const names: string[] = [];
    for await (const model of await ai().models.list()) names.push(model.name ?? '');
    expect(names).toEqual(['models/gemini-2.5-pro', 'models/gemini-2.5-flash', 'models/gemini-2.0-flash']);
  });
});

describe('Gemini keys and errors', () => {
  it('when the key comes as ?key=, then it is accepted; wrong is 400 API_KEY_INVALID-like, missing is 403', async () => {
    expect((await postJson(url('gemini-2.5-flash', 'generateContent', `?key=${KEY}`), body)).status).toBe(
      200,
    );
    const wrong = await postJson(url('gemini-2.5-flash', 'generateContent'), body, {
      'x-goog-api-key': 'bad',
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
      },
    });
    const missing = await postJson(url('gemini-2.5-flash', 'generateContent'), body);
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { status: string } }).error.status).toBe('PERMISSION_DENIED');
  });

  it('when the body is malformed or has no contents, or a model is unknown, then Google-shaped errors answer', async () => {
    const malformed = await postJson(url('gemini-2.5-flash', 'generateContent'), '{"contents":', keyed);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: { code: 400, message: expect.any(String), status: 'INVALID_ARGUMENT' },
    });
    const empty = await postJson(url('gemini-2.5-flash', 'generateContent'), {}, keyed);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toContain('contents');
    const unknown = await fetch(`${mock.url}/v1beta/models/nope`, { headers: keyed });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
    const one = await fetch(`${mock.url}/v1beta/models/gemini-2.5-pro`, { headers: keyed });
    expect(await one.json()).toMatchObject({
      name: 'models/gemini-2.5-pro',
      supportedGenerationMethods: ['generateContent', 'countTokens'],
    });
  });
});
