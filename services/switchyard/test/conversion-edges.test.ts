import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SseParser } from '@switchyard/providers';
import { startProviderMatrix, type ProviderMatrix } from './provider-matrix.js';

/**
 * What the SDK tests do not reach: errors after the first byte in each client's own format, the
 * clear 400s for what a target cannot express, and streams converted as they arrive.
 */
let m: ProviderMatrix;

beforeAll(async () => {
  m = await startProviderMatrix();
});

afterAll(async () => {
  await m?.stop();
});

afterEach(async () => {
  m.mock.setFaults(null);
  await m.resetHealth();
});

type ClientShape = 'openai-chat' | 'openai-responses' | 'anthropic' | 'gemini';

function request(shape: ClientShape, model: string, stream: boolean, extra: Record<string, unknown> = {}) {
  const headers = {
    authorization: `Bearer ${m.key.key}`,
    'content-type': 'application/json',
    'anthropic-version': '2023-06-01',
  };
  const text = 'Tell me a long story about gateways';
  switch (shape) {
    case 'openai-chat':
      return {
        url: `${m.url}/v1/chat/completions`,
        headers,
        body: { model, stream, messages: [{ role: 'user', content: text }], ...extra },
      };
    case 'openai-responses':
      return { url: `${m.url}/v1/responses`, headers, body: { model, stream, input: text, ...extra } };
    case 'anthropic':
      return {
        url: `${m.url}/v1/messages`,
        headers,
        body: { model, stream, max_tokens: 512, messages: [{ role: 'user', content: text }], ...extra },
      };
    case 'gemini':
      return {
        url: `${m.url}/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
        headers: { 'x-goog-api-key': m.key.key, 'content-type': 'application/json' },
        body: { contents: [{ role: 'user', parts: [{ text }] }], ...extra },
      };
  }
}

async function post(shape: ClientShape, model: string, stream: boolean, extra: Record<string, unknown> = {}) {
  const r = request(shape, model, stream, extra);
  const res = await fetch(r.url, { method: 'POST', headers: r.headers, body: JSON.stringify(r.body) });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

function events(text: string): Array<{ event: string | null; data: unknown }> {
  const p = new SseParser();
  return [...p.push(Buffer.from(text)), ...p.end()].map((e) => ({
    event: e.event,
    data: e.data === null || e.data === '[DONE]' ? e.data : JSON.parse(e.data),
  }));
}

/** The last event of a stream is the client format's own error event. */
function expectStreamError(shape: ClientShape, text: string): void {
  const evs = events(text);
  const last = evs.at(-1)!;
  const data = last.data as Record<string, unknown>;
  switch (shape) {
    case 'openai-chat':
      expect(last.event).toBeNull();
      expect((data.error as Record<string, unknown>).code).toBe('upstream_stream_cut');
      break;
    case 'openai-responses':
      expect(last.event).toBe('error');
      expect(data.type).toBe('error');
      expect(data.code).toBe('upstream_stream_cut');
      break;
    case 'anthropic':
      expect(last.event).toBe('error');
      expect(data.type).toBe('error');
      expect((data.error as Record<string, unknown>).type).toBe('api_error');
      break;
    case 'gemini':
      expect((data.error as Record<string, unknown>).status).toBe('INTERNAL');
      break;
  }
}

const SHAPES: ClientShape[] = ['openai-chat', 'openai-responses', 'anthropic', 'gemini'];
/** A passthrough target per client shape and two converting ones. */
const MODELS = ['m-openai', 'm-anthropic', 'm-gemini', 'm-bedrock-converse', 'm-vertex-claude'];

describe('mid-stream errors', () => {
  for (const shape of SHAPES) {
    for (const model of MODELS) {
      it(`when the upstream behind ${model} cuts a ${shape} stream after 2 chunks, then the client gets them and its own error event, and usage says error`, async () => {
        m.mock.setFaults({ cutAfterChunks: 2 });
        const r = await post(shape, model, true);
        expect(r.status).toBe(200);
        expect(r.contentType).toContain('text/event-stream');
        expect(r.text).toContain('Echo');
        expectStreamError(shape, r.text);
        await m.t.gw.idle();
        const rows = await m.t.admin<{
          data: Array<{ model: string; status: string; error: string | null }>;
        }>('GET', `/usage?key_id=${m.key.id}&limit=1`);
        expect(rows.body.data[0]).toMatchObject({ model, status: 'error' });
      });
    }
  }
});

describe('upstream errors before the first byte', () => {
  for (const shape of SHAPES) {
    it(`when a converting upstream refuses a ${shape} request with a 400, then the client gets that 400 in its own shape`, async () => {
      m.mock.setFaults({ status: 400 });
      const model = shape === 'openai-chat' || shape === 'openai-responses' ? 'm-anthropic' : 'm-openai';
      const r = await post(shape, model, false);
      expect(r.status).toBe(400);
      const body = JSON.parse(r.text) as Record<string, unknown>;
      if (shape === 'anthropic')
        expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      else if (shape === 'gemini')
        expect(body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
      else expect(body).toMatchObject({ error: { type: 'invalid_request_error' } });
    });
  }

  it('when every account is overloaded (529), then an Anthropic client gets overloaded_error', async () => {
    m.mock.setFaults({ status: 529 });
    const r = await post('anthropic', 'm-openai', false);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });
});

describe('what a target cannot express is a clear 400', () => {
  it('when an OpenAI client asks n=2 of an Anthropic model, then 400 names n', async () => {
    const r = await post('openai-chat', 'm-anthropic', false, { n: 2 });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { param: 'n', type: 'invalid_request_error' } });
  });

  it('when an OpenAI client asks n=2 of an OpenAI model, then it is passed through', async () => {
    const r = await post('openai-chat', 'm-openai', false, { n: 2 });
    expect(r.status).toBe(200);
  });

  it('when an OpenAI client asks JSON mode of an Anthropic model, then 400 names response_format', async () => {
    const r = await post('openai-chat', 'm-anthropic', false, { response_format: { type: 'json_object' } });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { param: 'response_format' } });
  });

  it('when an OpenAI client asks a JSON schema of a Gemini model, then it reaches Gemini as responseJsonSchema', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const r = await post('openai-chat', 'm-gemini', false, {
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema } },
    });
    expect(r.status).toBe(200);
    const body = m.mock.requests.at(-1)!.body as { generationConfig: Record<string, unknown> };
    expect(body.generationConfig.responseMimeType).toBe('application/json');
    expect(body.generationConfig.responseJsonSchema).toEqual(schema);
  });

  it('when a Responses client sends previous_response_id, then 400 explains the gateway keeps no state', async () => {
    const r = await post('openai-responses', 'm-openai', false, { previous_response_id: 'resp_1' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { param: 'previous_response_id' } });
  });

  it('when an image URL must be fetched for Gemini and points at a private address, then 400 image_url_refused', async () => {
    const r = await post('openai-chat', 'm-gemini', false, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'http://169.254.169.254/latest/meta-data/' } },
          ],
        },
      ],
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'image_url_refused' } });
  });

  it('when an image URL goes to an Anthropic model, then it stays a URL (Anthropic fetches it)', async () => {
    const r = await post('openai-chat', 'm-anthropic', false, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          ],
        },
      ],
    });
    expect(r.status).toBe(200);
    const body = m.mock.requests.at(-1)!.body as {
      messages: Array<{ content: Array<Record<string, unknown>> }>;
    };
    expect(body.messages[0]!.content[1]).toMatchObject({
      type: 'image',
      source: { type: 'url', url: 'https://example.com/cat.png' },
    });
  });
});

describe('metrics', () => {
  it('when requests pass through and are converted, then the format counter says which', async () => {
    await post('anthropic', 'm-anthropic', false);
    await post('anthropic', 'm-gemini', false);
    const text = await (await fetch(`${m.url}/metrics`)).text();
    const value = (labels: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`switchyard_format_attempts_total{${labels}}`));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    expect(
      value('client_format="anthropic-messages",upstream_format="anthropic-messages",mode="passthrough"'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('client_format="anthropic-messages",upstream_format="gemini",mode="converted"'),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('streams are converted as they arrive', () => {
  it('when the upstream paces its chunks, then the converted stream delivers the first text long before the last', async () => {
    m.mock.setFaults({ chunkDelayMs: 150 });
    const r = request('anthropic', 'm-openai', true);
    const t0 = performance.now();
    const res = await fetch(r.url, { method: 'POST', headers: r.headers, body: JSON.stringify(r.body) });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    let firstText = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
      if (firstText === 0 && seen.includes('text_delta')) firstText = performance.now() - t0;
    }
    const total = performance.now() - t0;
    // 5 content chunks 150 ms apart: buffering the whole answer would deliver the first text at the end.
    expect(firstText).toBeGreaterThan(0);
    expect(total - firstText).toBeGreaterThan(400);
    expect(seen).toContain('message_stop');
  });
});
