import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEventStream, eventPayloads } from '../test/aws-event-stream-decoder.js';
import { signBedrockRequest } from '../test/sigv4-sign.js';
import type { SigningKeys } from '../test/sigv4-sign.js';
import { anthropicMessage } from './anthropic-answer.js';
import { converseResponse } from './converse-answer.js';
import { expectedCompletion } from './deterministic-completion.js';
import { converseUsage } from './expected-wire-fields.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';

const KEYS: SigningKeys = { accessKeyId: 'AKIAMOCKEXAMPLE', secretAccessKey: 'mock/secret/KEY' };
const CLAUDE = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const NOVA = 'amazon.nova-pro-v1:0';
const invokeBody = {
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'hello bedrock' }],
};
const converseBody = {
  system: [{ text: 'Be brief.' }],
  messages: [{ role: 'user', content: [{ text: 'hello converse' }] }],
  inferenceConfig: { maxTokens: 256 },
};

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream({ awsCredentials: KEYS });
});

afterEach(async () => {
  await mock.close();
});

function modelUrl(modelId: string, action: string): string {
  return `${mock.url}/model/${encodeURIComponent(modelId)}/${action}`;
}

/** POSTs `body` SigV4-signed with `keys` (the exact bytes sent are the ones signed). */
function signedPost(
  url: string,
  body: unknown,
  keys: SigningKeys = KEYS,
  extra: Record<string, string> = {},
): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = { 'content-type': 'application/json', ...signBedrockRequest(url, text, keys), ...extra };
  return fetch(url, { method: 'POST', headers, body: text });
}

async function eventsOf(res: Response): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const { messages, rest } = decodeEventStream(Buffer.from(await res.arrayBuffer()));
  expect(rest).toHaveLength(0);
  expect(
    messages.every(
      (m) => m.headers[':message-type'] === 'event' && m.headers[':content-type'] === 'application/json',
    ),
  ).toBe(true);
  return eventPayloads(messages);
}

describe('Bedrock InvokeModel (Anthropic bodies)', () => {
  it('when a signed invoke arrives, then the Anthropic message answers and the access key is recorded', async () => {
    const res = await signedPost(modelUrl(CLAUDE, 'invoke'), invokeBody);
    expect(res.status).toBe(200);
    const exp = expectedCompletion(invokeBody);
    expect(await res.json()).toEqual({
      ...anthropicMessage(exp, { id: 'x', model: CLAUDE, toolId: 'x', cachedTokens: 0 }),
      id: expect.stringMatching(/^msg_bdrk_mock_/),
    });
    expect(res.headers.get('x-amzn-bedrock-output-token-count')).toBe(String(exp.completionTokens));
    expect(mock.requests[0]?.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke');
    expect(mock.requests[0]?.awsAccessKeyId).toBe('AKIAMOCKEXAMPLE');
  });

  it('when invoke-with-response-stream is called, then chunk events carry the base64 Anthropic events', async () => {
    const body = { ...invokeBody, thinking: { type: 'enabled', budget_tokens: 1024 }, mock_chunks: 2 };
    const res = await signedPost(modelUrl(CLAUDE, 'invoke-with-response-stream'), body);
    expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    const events = await eventsOf(res);
    expect(events.every((e) => e.type === 'chunk' && Object.keys(e.payload).join() === 'bytes')).toBe(true);
    const inner = events.map(
      (e) =>
        JSON.parse(Buffer.from(String(e.payload.bytes), 'base64').toString('utf8')) as Record<
          string,
          unknown
        >,
    );
    const exp = expectedCompletion(body);
    expect(inner.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(inner[5]).toMatchObject({
      delta: { type: 'signature_delta', signature: exp.reasoning?.signature },
    });
    expect(inner[12]).toEqual({
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: exp.promptTokens,
        outputTokenCount: exp.completionTokens,
        invocationLatency: 0,
        firstByteLatency: 0,
      },
    });
  });

  it('when a tool, an image and cached tokens come to invoke, then the Anthropic shapes carry them, streamed too', async () => {
    const body = {
      ...invokeBody,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'call tool: describe' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0K' } },
          ],
        },
      ],
      tools: [
        { name: 'describe', input_schema: { type: 'object', properties: { text: { type: 'string' } } } },
      ],
    };
    const cached = { 'x-mock-cached-tokens': '4' };
    const json = (await (await signedPost(modelUrl(CLAUDE, 'invoke'), body, KEYS, cached)).json()) as Record<
      string,
      unknown
    >;
    const exp = expectedCompletion(body);
    expect(json).toMatchObject({
      content: [{ type: 'tool_use', name: 'describe', input: { text: 'call tool: describe' } }],
      usage: { input_tokens: exp.promptTokens - 4, cache_read_input_tokens: 4 },
    });
    const events = await eventsOf(
      await signedPost(modelUrl(CLAUDE, 'invoke-with-response-stream'), body, KEYS, cached),
    );
    const inner = events.map(
      (e) =>
        JSON.parse(Buffer.from(String(e.payload.bytes), 'base64').toString('utf8')) as Record<
          string,
          unknown
        >,
    );
    const partials = inner.filter(
      (e) => (e.delta as { type?: string } | undefined)?.type === 'input_json_delta',
    );
    expect(partials.length).toBeGreaterThanOrEqual(2);
    expect(inner[0]).toMatchObject({ message: { usage: { cache_read_input_tokens: 4 } } });
    const plain = expectedCompletion({ ...body, tools: [] });
    expect(plain.content).toBe('Echo: call tool: describe [image: image/png, 6]');
  });

  it('when the body lacks anthropic_version or carries model or stream, then a 400 ValidationException answers', async () => {
    const { anthropic_version: _v, ...noVersion } = invokeBody;
    for (const body of [noVersion, { ...invokeBody, model: CLAUDE }, { ...invokeBody, stream: true }]) {
      const res = await signedPost(modelUrl(CLAUDE, 'invoke'), body);
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
      expect(await res.json()).toEqual({ message: expect.stringMatching(/^Malformed input request: /) });
    }
  });
});

describe('Bedrock Converse', () => {
  it('when converse is called with a tool, an image and cached tokens, then the Converse shapes answer', async () => {
    const png = Buffer.from('abcdef').toString('base64');
    const plain = {
      ...converseBody,
      messages: [
        { role: 'user', content: [{ text: 'look' }, { image: { format: 'png', source: { bytes: png } } }] },
      ],
    };
    const res = await signedPost(modelUrl(NOVA, 'converse'), plain, KEYS, { 'x-mock-cached-tokens': '3' });
    const exp = expectedCompletion(plain);
    expect(exp.content).toBe('Echo: look [image: image/png, 6]');
    expect(await res.json()).toEqual(converseResponse(exp, { toolUseId: 'x', cachedTokens: 3 }));
    expect(converseUsage(exp, 3)).toMatchObject({
      inputTokens: exp.promptTokens - 3,
      cacheReadInputTokens: 3,
    });

    const toolBody = {
      messages: [{ role: 'user', content: [{ text: 'call tool: Rome' }] }],
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: 'weather',
              inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } },
            },
          },
        ],
      },
    };
    const tool = (await (await signedPost(modelUrl(NOVA, 'converse'), toolBody)).json()) as Record<
      string,
      unknown
    >;
    expect(tool).toMatchObject({
      output: {
        message: {
          role: 'assistant',
          content: [{ toolUse: { name: 'weather', input: { city: 'call tool: Rome' } } }],
        },
      },
      stopReason: 'tool_use',
    });
  });

  it('when converse-stream is called with reasoning and a tool, then the ConverseStream events answer in order', async () => {
    const body = {
      messages: [{ role: 'user', content: [{ text: 'call tool: Rome' }] }],
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: 'weather',
              inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } },
            },
          },
        ],
      },
      additionalModelRequestFields: { reasoning_config: { type: 'enabled', budget_tokens: 1024 } },
      mock_chunks: 2,
    };
    const events = await eventsOf(await signedPost(modelUrl(NOVA, 'converse-stream'), body));
    const exp = expectedCompletion(body);
    expect(events.map((e) => e.type)).toEqual([
      'messageStart',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'contentBlockStart',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    expect(events[3]?.payload).toEqual({
      contentBlockIndex: 0,
      delta: { reasoningContent: { signature: exp.reasoning?.signature } },
    });
    expect(events[5]?.payload).toEqual({
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: expect.stringMatching(/^tooluse_mock_/), name: 'weather' } },
    });
    const input = events
      .slice(6, 8)
      .map((e) => (e.payload.delta as { toolUse: { input: string } }).toolUse.input);
    expect(input.join('')).toBe('{"city":"call tool: Rome"}');
    expect(events[9]?.payload).toEqual({ stopReason: 'tool_use' });
    expect(events[10]?.payload).toEqual({ usage: converseUsage(exp), metrics: { latencyMs: 0 } });
  });

  it('when converse-stream answers text, then text deltas need no contentBlockStart', async () => {
    const events = await eventsOf(
      await signedPost(modelUrl(NOVA, 'converse-stream'), { ...converseBody, mock_chunks: 3 }),
    );
    const exp = expectedCompletion({ ...converseBody, mock_chunks: 3 });
    expect(events.map((e) => e.type)).toEqual([
      'messageStart',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    expect(events.slice(1, 4).map((e) => (e.payload.delta as { text: string }).text)).toEqual(exp.chunks);
  });
});

describe('Bedrock SigV4 verification', () => {
  const expectInvalidSignature = async (res: Response): Promise<string> => {
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    const { message } = (await res.json()) as { message: string };
    expect(message).toMatch(
      /^The request signature we calculated does not match the signature you provided\./,
    );
    return message;
  };

  it('when the secret is wrong, then a 403 shows the canonical request AWS would have signed', async () => {
    const message = await expectInvalidSignature(
      await signedPost(modelUrl(CLAUDE, 'invoke'), invokeBody, { ...KEYS, secretAccessKey: 'wrong' }),
    );
    expect(message).toContain('/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/invoke');
    expect(mock.requests[0]?.awsAccessKeyId).toBeUndefined();
  });

  it('when the Authorization is missing, names another key, or the body changed after signing, then a 403 answers', async () => {
    const url = modelUrl(NOVA, 'converse');
    await expectInvalidSignature(await fetch(url, { method: 'POST', body: JSON.stringify(converseBody) }));
    await expectInvalidSignature(await signedPost(url, converseBody, { ...KEYS, accessKeyId: 'AKIAOTHER' }));
    const signed = signBedrockRequest(url, JSON.stringify(converseBody), KEYS);
    const tampered = JSON.stringify({ ...converseBody, messages: [] });
    await expectInvalidSignature(await fetch(url, { method: 'POST', headers: signed, body: tampered }));
  });

  it('when the path is signed without the second encoding, then the signature does not match', async () => {
    const url = modelUrl(CLAUDE, 'invoke');
    const text = JSON.stringify(invokeBody);
    // Signing the decoded path (":" not encoded twice) is the classic Bedrock signer bug.
    const headers = signBedrockRequest(url.replace('%3A', ':'), text, KEYS);
    await expectInvalidSignature(await fetch(url, { method: 'POST', headers, body: text }));
  });

  it('when session credentials are configured, then the signed X-Amz-Security-Token is required', async () => {
    const temporary = await startMockUpstream({ awsCredentials: { ...KEYS, sessionToken: 'session-token' } });
    try {
      const url = `${temporary.url}/model/${encodeURIComponent(NOVA)}/converse`;
      const text = JSON.stringify(converseBody);
      const post = (keys: SigningKeys): Promise<Response> =>
        fetch(url, { method: 'POST', headers: signBedrockRequest(url, text, keys), body: text });
      expect((await post({ ...KEYS, sessionToken: 'session-token' })).status).toBe(200);
      await expectInvalidSignature(await post(KEYS));
    } finally {
      await temporary.close();
    }
  });

  it('when no awsCredentials are configured, then unsigned Bedrock requests are accepted', async () => {
    const open = await startMockUpstream();
    try {
      const res = await fetch(`${open.url}/model/${encodeURIComponent(NOVA)}/converse`, {
        method: 'POST',
        body: JSON.stringify(converseBody),
      });
      expect(res.status).toBe(200);
      expect(open.requests[0]?.awsAccessKeyId).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});
