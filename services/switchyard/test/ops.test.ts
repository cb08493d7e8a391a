import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type ChannelView, type KeyView, type TestGateway } from './harness.js';

let t: TestGateway;
let mock: MockUpstream;
let channel: ChannelView;
let client: OpenAI;
const messages = [{ role: 'user' as const, content: 'metrics please' }];

beforeAll(async () => {
  [mock] = await startMocks(1);
  t = await startTestGateway();
  channel = (
    await t.admin<ChannelView>('POST', '/channels', {
      name: 'ops',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['gpt-4o'],
      accounts: [{ api_key: 'sk-ops' }],
    })
  ).body;
  const key = (await t.admin<KeyView>('POST', '/keys', { name: 'ops' })).body;
  client = new OpenAI({ apiKey: key.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

describe('health, readiness and metrics', () => {
  it('when the gateway runs, then /healthz and /readyz say so with their detail', async () => {
    expect((await fetch(`${t.gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.gw.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as {
      status: string;
      checks: { database: string; config: { version: number; channels: number } };
    };
    expect(body.status).toBe('ready');
    expect(body.checks.database).toBe('up');
    expect(body.checks.config.channels).toBe(1);
    expect(body.checks.config.version).toBeGreaterThanOrEqual(2);
  });

  it('when requests were served, then /metrics counts them by route, model, channel and status', async () => {
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    for await (const _ of await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }))
      void _;
    await client.chat.completions.create({ model: 'not-served', messages }).catch(() => undefined);
    const text = await (await fetch(`${t.gw.url}/metrics`)).text();
    const ch = String(channel.id);
    expect(text).toContain(
      `switchyard_http_requests_total{route="/v1/chat/completions",model="gpt-4o",channel="${ch}",status="200"} 2`,
    );
    // A model no channel serves is labelled "unknown": clients cannot grow the label set.
    expect(text).toContain(
      'switchyard_http_requests_total{route="/v1/chat/completions",model="unknown",channel="none",status="404"} 1',
    );
    expect(text).not.toContain('not-served');
    expect(text).toContain(`switchyard_upstream_attempts_total{channel="${ch}",outcome="ok"} 2`);
    expect(text).toMatch(
      new RegExp(`switchyard_stream_time_to_first_token_seconds_count\\{model="gpt-4o",channel="${ch}"\\} 1`),
    );
    expect(text).toMatch(
      /switchyard_http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/chat\/completions"/,
    );
    expect(text).toContain('process_resident_memory_bytes');
    await t.gw.idle();
    const after = await (await fetch(`${t.gw.url}/metrics`)).text();
    expect(after).toContain('switchyard_usage_rows_written_total 3');
  });
});

describe('graceful shutdown', () => {
  it('when the gateway is closed with a stream in flight, then the stream still completes before close resolves', async () => {
    const g = await startTestGateway();
    const [m] = await startMocks(1);
    try {
      await g.admin('POST', '/channels', {
        name: 'drain',
        provider: 'openai',
        base_url: `${m!.url}/v1`,
        models: ['gpt-4o'],
        accounts: [{ api_key: 'sk-drain' }],
      });
      const key = (await g.admin<KeyView>('POST', '/keys', { name: 'drain' })).body;
      const c = new OpenAI({ apiKey: key.key, baseURL: `${g.gw.url}/v1`, maxRetries: 0 });
      const params = {
        model: 'gpt-4o',
        messages,
        stream: true as const,
        mock: { chunkDelayMs: 40 },
        mock_chunks: 8,
      };
      const stream = await c.chat.completions.create(params);
      let text = '';
      let closed: Promise<void> | null = null;
      let closeResolved = false;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (closed === null && text !== '') {
          closed = g.gw.close().then(() => {
            closeResolved = true;
          });
        }
        expect(closeResolved).toBe(false);
      }
      expect(text).toBe(expectedCompletion({ ...params, messages }).content);
      await closed;
      expect(m!.requests[0]?.aborted).toBe(false);
      // New connections are refused once draining started.
      await expect(fetch(`${g.gw.url}/healthz`)).rejects.toThrow();
    } finally {
      await g.stop();
      await m!.close();
    }
  });
});

describe('idle upstream streams', () => {
  it('when an upstream stream goes silent past the idle timeout, then the client gets an error event and the row says upstream_timeout', async () => {
    const g = await startTestGateway({ SWITCHYARD_UPSTREAM_IDLE_TIMEOUT_MS: '150' });
    const [m] = await startMocks(1);
    try {
      await g.admin('POST', '/channels', {
        name: 'idle',
        provider: 'openai',
        base_url: `${m!.url}/v1`,
        models: ['gpt-4o'],
        accounts: [{ api_key: 'sk-idle' }],
      });
      const key = (await g.admin<KeyView>('POST', '/keys', { name: 'idle' })).body;
      const c = new OpenAI({ apiKey: key.key, baseURL: `${g.gw.url}/v1`, maxRetries: 0 });
      // The mock sends its first chunk at once, then waits 5 s before each of the next ones.
      const params = {
        model: 'gpt-4o',
        messages,
        stream: true as const,
        mock: { chunkDelayMs: 5_000 },
        mock_chunks: 4,
      };
      const stream = await c.chat.completions.create(params);
      const err = await (async () => {
        for await (const _ of stream) void _;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/timed out/i);
      await m!.waitForAbort();
      await g.gw.idle();
      const usage = await g.admin<{ data: Array<{ status: string; error: string | null }> }>('GET', '/usage');
      expect(usage.body.data[0]).toMatchObject({ status: 'error', error: 'upstream_timeout' });
    } finally {
      await g.stop();
      await m!.close();
    }
  });
});
