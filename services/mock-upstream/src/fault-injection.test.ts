import { afterEach, describe, expect, it } from 'vitest';
import { jsonPayloads, postJson, readBodyText, readSse } from '../test/http-helpers.js';
import { expectedCompletion } from './deterministic-completion.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';
import type { MockUpstreamOptions } from './mock-upstream-options.js';

const messages = [{ role: 'user', content: 'hello world' }];
const chatBody = { model: 'gpt-4o', messages };
const streamBody = { ...chatBody, stream: true };
const anthropicBody = { model: 'claude-sonnet-4-5', max_tokens: 50, messages };

const open: MockUpstream[] = [];

async function start(opts?: MockUpstreamOptions): Promise<MockUpstream> {
  const mock = await startMockUpstream(opts);
  open.push(mock);
  return mock;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** Content deltas of an OpenAI stream. */
function contentDeltas(chunks: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    const content = (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content;
    if (content) out.push(content);
  }
  return out;
}

describe('status faults', () => {
  it('answers every request with the per-instance status until the faults are cleared', async () => {
    const mock = await start({ faults: { status: 503 } });
    const chat = await postJson(`${mock.url}/v1/chat/completions`, chatBody);
    expect(chat.status).toBe(503);
    expect(await chat.json()).toEqual({
      error: { message: expect.any(String), type: 'server_error', code: 'service_unavailable' },
    });
    const anthropic = await postJson(`${mock.url}/v1/messages`, anthropicBody);
    expect(anthropic.status).toBe(503);
    expect(await anthropic.json()).toEqual({
      type: 'error',
      error: { type: 'api_error', message: expect.any(String) },
    });
    expect((await fetch(`${mock.url}/v1/models`)).status).toBe(503);

    mock.setFaults(null);
    expect((await postJson(`${mock.url}/v1/chat/completions`, chatBody)).status).toBe(200);
    mock.setFaults({ status: 500 });
    expect((await postJson(`${mock.url}/v1/chat/completions`, chatBody)).status).toBe(500);
    mock.reset();
    expect((await postJson(`${mock.url}/v1/chat/completions`, chatBody)).status).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });

  it('adds retry-after: 1 to a 429', async () => {
    const mock = await start({ faults: { status: 429 } });
    const res = await postJson(`${mock.url}/v1/messages`, anthropicBody);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
  });

  it('takes a per-request status from the x-mock-status header', async () => {
    const mock = await start();
    const res = await postJson(`${mock.url}/v1/chat/completions`, chatBody, { 'x-mock-status': '502' });
    expect(res.status).toBe(502);
    expect((await postJson(`${mock.url}/v1/chat/completions`, chatBody)).status).toBe(200);
  });

  it('takes a per-request status from the body field mock, which wins over headers and instance faults', async () => {
    const mock = await start({ faults: { status: 503 } });
    const viaBody = await postJson(`${mock.url}/v1/messages`, { ...anthropicBody, mock: { status: 429 } });
    expect(viaBody.status).toBe(429);
    expect(((await viaBody.json()) as { type: string }).type).toBe('error');
    const bodyOverHeader = await postJson(
      `${mock.url}/v1/chat/completions`,
      { ...chatBody, mock: { status: 400 } },
      { 'x-mock-status': '500' },
    );
    expect(bodyOverHeader.status).toBe(400);
    const cleared = await postJson(`${mock.url}/v1/chat/completions`, { ...chatBody, mock: { status: 200 } });
    expect(cleared.status).toBe(200);
    expect(mock.requests[0]?.body).toEqual({ ...anthropicBody, mock: { status: 429 } });
  });
});

describe('stream faults', () => {
  it('cuts the connection after cutAfterChunks content chunks, without [DONE]', async () => {
    const mock = await start({ chunks: 5 });
    const res = await postJson(`${mock.url}/v1/chat/completions`, {
      ...streamBody,
      stream_options: { include_usage: true },
      mock: { cutAfterChunks: 2 },
    });
    expect(res.status).toBe(200);
    const { messages: events, error } = await readSse(res);
    expect(error).toBeDefined();
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    const chunks = jsonPayloads(events);
    expect(contentDeltas(chunks)).toEqual(expectedCompletion(chatBody).chunks.slice(0, 2));
    expect(chunks.some((c) => c.usage !== null)).toBe(false);
    await mock.waitForRequests(1);
    expect(mock.requests[0]?.aborted).toBe(false);
  });

  it('cuts by header and on Anthropic streams too, even after the last content chunk', async () => {
    const mock = await start();
    const res = await postJson(
      `${mock.url}/v1/messages`,
      { ...anthropicBody, stream: true, mock_chunks: 3 },
      {
        'x-mock-cut-after': '3',
      },
    );
    const { messages: events, error } = await readSse(res);
    expect(error).toBeDefined();
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
    ]);
    const zero = await postJson(`${mock.url}/v1/chat/completions`, streamBody, { 'x-mock-cut-after': '0' });
    const cutAtOnce = await readSse(zero);
    expect(cutAtOnce.error).toBeDefined();
    expect(contentDeltas(jsonPayloads(cutAtOnce.messages))).toEqual([]);
  });

  it('holds the first event for firstByteDelayMs after sending the headers at once', async () => {
    const mock = await start();
    const delay = 300;
    const startedAt = performance.now();
    const res = await postJson(`${mock.url}/v1/chat/completions`, {
      ...streamBody,
      mock: { firstByteDelayMs: delay },
    });
    const headersAt = performance.now();
    expect(res.status).toBe(200);
    expect(headersAt - startedAt).toBeLessThan(delay);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = performance.now();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    expect(firstAt - startedAt).toBeGreaterThanOrEqual(delay - 2);
    await reader.cancel();
  });

  it('delays a non-stream response by latencyMs + firstByteDelayMs before the headers', async () => {
    const mock = await start({ faults: { latencyMs: 100 } });
    const startedAt = performance.now();
    const res = await postJson(`${mock.url}/v1/chat/completions`, chatBody, {
      'x-mock-first-byte-delay-ms': '100',
    });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(200 - 2);
    expect(res.status).toBe(200);
  });

  it('spaces the stream events by chunkDelayMs', async () => {
    const mock = await start();
    const startedAt = performance.now();
    const res = await postJson(`${mock.url}/v1/chat/completions`, streamBody, {
      'x-mock-chunk-delay-ms': '20',
    });
    const { messages: events, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(events).toHaveLength(8); // role, 5 content, finish, [DONE]
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(7 * 20 - 2);
  });
});

describe('hang and client aborts', () => {
  it('never answers a hung request and marks it aborted when the client goes away', async () => {
    const mock = await start();
    const controller = new AbortController();
    const pending = postJson(
      `${mock.url}/v1/chat/completions`,
      chatBody,
      { 'x-mock-hang': '1' },
      controller.signal,
    );
    await mock.waitForRequests(1);
    expect(mock.requests[0]?.aborted).toBe(false);
    controller.abort();
    await expect(pending).rejects.toThrow();
    const aborted = await mock.waitForAbort();
    expect(aborted).toBe(mock.requests[0]);
    expect(aborted.aborted).toBe(true);
    expect(aborted.path).toBe('/v1/chat/completions');
    // resolves at once now that one is aborted
    expect(await mock.waitForAbort()).toBe(aborted);
  });

  it('marks a stream aborted when the client leaves mid-way', async () => {
    const mock = await start();
    const controller = new AbortController();
    const res = await postJson(
      `${mock.url}/v1/messages`,
      { ...anthropicBody, stream: true, mock_chunks: 50, mock: { chunkDelayMs: 50 } },
      {},
      controller.signal,
    );
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('message_start');
    controller.abort();
    const aborted = await mock.waitForAbort();
    expect(aborted.aborted).toBe(true);
    expect(mock.requests).toHaveLength(1);
  });

  it('hangs through a body fault too, and close() ends hung connections', async () => {
    const mock = await start({ faults: { hang: false } });
    const pending = postJson(`${mock.url}/v1/messages`, { ...anthropicBody, mock: { hang: true } });
    await mock.waitForRequests(1);
    await mock.close();
    await expect(pending).rejects.toThrow();
    expect(mock.requests[0]?.aborted).toBe(false);
  });

  it('does not mark a completed response as aborted', async () => {
    const mock = await start();
    const { text } = await readBodyText(await postJson(`${mock.url}/v1/chat/completions`, streamBody));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(mock.requests[0]?.aborted).toBe(false);
  });
});

describe('faults keyed by credential', () => {
  it('when one credential has a fault, then only requests presenting it fail, however the key is carried', async () => {
    const mock = await start();
    mock.setCredentialFaults('sk-bad', { status: 500 });
    const bad = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bad' },
      body: JSON.stringify(chatBody),
    });
    expect(bad.status).toBe(500);
    const badAnthropic = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-bad' },
      body: JSON.stringify(anthropicBody),
    });
    expect(badAnthropic.status).toBe(500);
    const good = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-good' },
      body: JSON.stringify(chatBody),
    });
    expect(good.status).toBe(200);
    mock.setCredentialFaults('sk-bad', null);
    const healed = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bad' },
      body: JSON.stringify(chatBody),
    });
    expect(healed.status).toBe(200);
  });

  it('when a 429 fault names retryAfterSeconds, then retry-after carries it', async () => {
    const mock = await start();
    mock.setCredentialFaults('sk-limited', { status: 429, retryAfterSeconds: 2 });
    const res = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-limited' },
      body: JSON.stringify(chatBody),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
  });
});
