import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEventStream, eventPayloads } from '../test/aws-event-stream-decoder.js';
import { accessTokenFor } from '../test/google-jwt.js';
import { postJson, readBodyBytes, readBodyText } from '../test/http-helpers.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';

let mock: MockUpstream;
let vertexAuth: Record<string, string>;

beforeEach(async () => {
  mock = await startMockUpstream({ chunks: 4 });
  vertexAuth = { authorization: `Bearer ${await accessTokenFor(mock.googleServiceAccount())}` };
});

afterEach(async () => {
  await mock.close();
});

const VERTEX = '/v1/projects/p/locations/us-central1/publishers';
const chat = { messages: [{ role: 'user', content: 'hi there' }] };
const gemini = { contents: [{ role: 'user', parts: [{ text: 'hi there' }] }] };
const vertexClaude = { anthropic_version: 'vertex-2023-10-16', max_tokens: 64, messages: chat.messages };
const bedrockClaude = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: chat.messages };
const converse = { messages: [{ role: 'user', content: [{ text: 'hi there' }] }] };

interface RouteCase {
  name: string;
  path: string;
  body: unknown;
  auth: () => Record<string, string>;
  /** The error body expected for a 429 in the route's shape. */
  error429: unknown;
  errorType?: string;
}

const ROUTES: RouteCase[] = [
  {
    name: 'Azure deployments',
    path: '/openai/deployments/d/chat/completions?api-version=2024-10-21',
    body: chat,
    auth: () => ({}),
    error429: { error: { message: expect.any(String), type: 'requests', code: 'rate_limit_exceeded' } },
  },
  {
    name: 'Gemini generateContent',
    path: '/v1beta/models/gemini-2.5-flash:generateContent',
    body: gemini,
    auth: () => ({}),
    error429: { error: { code: 429, message: expect.any(String), status: 'RESOURCE_EXHAUSTED' } },
  },
  {
    name: 'Vertex Gemini',
    path: `${VERTEX}/google/models/gemini-2.5-flash:generateContent`,
    body: gemini,
    auth: () => vertexAuth,
    error429: { error: { code: 429, message: expect.any(String), status: 'RESOURCE_EXHAUSTED' } },
  },
  {
    name: 'Vertex Claude',
    path: `${VERTEX}/anthropic/models/claude-sonnet-4-5:rawPredict`,
    body: vertexClaude,
    auth: () => vertexAuth,
    error429: { type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } },
  },
  {
    name: 'Bedrock invoke',
    path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke',
    body: bedrockClaude,
    auth: () => ({}),
    error429: { message: expect.any(String) },
    errorType: 'ThrottlingException',
  },
  {
    name: 'Bedrock converse',
    path: '/model/amazon.nova-lite-v1%3A0/converse',
    body: converse,
    auth: () => ({}),
    error429: { message: expect.any(String) },
    errorType: 'ThrottlingException',
  },
];

describe.each(ROUTES)('faults on $name', (route) => {
  it('when x-mock-status is 429, then the route answers it in its own shape with retry-after', async () => {
    const res = await postJson(`${mock.url}${route.path}`, route.body, {
      ...route.auth(),
      'x-mock-status': '429',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    if (route.errorType) expect(res.headers.get('x-amzn-errortype')).toBe(route.errorType);
    expect(await res.json()).toEqual(route.error429);
  });

  it('when the instance has a status fault, a body mock field clears it, and without it the route answers 200', async () => {
    mock.setFaults({ status: 503 });
    expect((await postJson(`${mock.url}${route.path}`, route.body, route.auth())).status).toBe(503);
    const cleared = { ...(route.body as object), mock: { status: 200 } };
    expect((await postJson(`${mock.url}${route.path}`, cleared, route.auth())).status).toBe(200);
  });

  it('when latencyMs and firstByteDelayMs are set, then the answer waits for both', async () => {
    const startedAt = performance.now();
    const res = await postJson(`${mock.url}${route.path}`, route.body, {
      ...route.auth(),
      'x-mock-latency-ms': '40',
      'x-mock-first-byte-delay-ms': '40',
    });
    expect(res.status).toBe(200);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(80 - 2);
  });

  it('when hang is set, then nothing answers and the client leaving marks the request aborted', async () => {
    const controller = new AbortController();
    const before = mock.requests.length;
    const pending = postJson(
      `${mock.url}${route.path}`,
      route.body,
      { ...route.auth(), 'x-mock-hang': '1' },
      controller.signal,
    );
    await mock.waitForRequests(before + 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect((await mock.waitForAbort()).path).toBe(route.path.split('?')[0]);
  });
});

describe('stream faults on the new stream routes', () => {
  it('when cutAfterChunks cuts a Gemini SSE stream, then the finishReason chunk never arrives', async () => {
    const res = await postJson(`${mock.url}/v1beta/models/m:streamGenerateContent?alt=sse`, gemini, {
      'x-mock-cut-after': '2',
    });
    const { text, error } = await readBodyText(res);
    expect(error).toBeDefined();
    expect(text.split('\r\n\r\n').filter((f) => f !== '')).toHaveLength(2);
    expect(text).not.toContain('finishReason');
  });

  it('when cutAfterChunks cuts a Gemini JSON-array stream, then the array is never closed', async () => {
    const res = await postJson(`${mock.url}/v1beta/models/m:streamGenerateContent`, {
      ...gemini,
      mock: { cutAfterChunks: 3 },
    });
    const { text, error } = await readBodyText(res);
    expect(error).toBeDefined();
    expect(text.startsWith('[')).toBe(true);
    expect(text.endsWith(']')).toBe(false);
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('when cutAfterChunks cuts a Bedrock event stream, then only whole messages up to the cut arrive', async () => {
    const res = await postJson(`${mock.url}/model/amazon.nova-lite-v1%3A0/converse-stream`, converse, {
      'x-mock-cut-after': '2',
    });
    const { bytes, error } = await readBodyBytes(res);
    expect(error).toBeDefined();
    const { messages, rest } = decodeEventStream(bytes);
    expect(rest).toHaveLength(0);
    expect(eventPayloads(messages).map((e) => e.type)).toEqual([
      'messageStart',
      'contentBlockDelta',
      'contentBlockDelta',
    ]);
  });

  it('when chunkDelayMs spaces a Bedrock invoke stream, then every event arrives after the delays', async () => {
    const startedAt = performance.now();
    const res = await postJson(
      `${mock.url}/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream`,
      bedrockClaude,
      {
        'x-mock-chunk-delay-ms': '10',
      },
    );
    const { messages } = decodeEventStream(Buffer.from(await res.arrayBuffer()));
    // message_start, block start, ping, 4 deltas, block stop, message_delta, message_stop
    expect(messages).toHaveLength(10);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(9 * 10 - 2);
  });

  it('when a Vertex Claude stream is cut, then message_stop never arrives', async () => {
    const res = await postJson(
      `${mock.url}${VERTEX}/anthropic/models/claude-sonnet-4-5:streamRawPredict`,
      vertexClaude,
      {
        ...vertexAuth,
        'x-mock-cut-after': '1',
      },
    );
    const { text, error } = await readBodyText(res);
    expect(error).toBeDefined();
    expect(text).toContain('content_block_delta');
    expect(text).not.toContain('message_stop');
  });
});
