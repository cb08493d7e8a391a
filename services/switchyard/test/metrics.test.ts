import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type KeyView, type TestGateway } from './harness.js';

/**
 * The token, snapshot and consumer-lag metrics of the all-in-one, checked against what a known
 * request did: the usage row it wrote and the snapshot /readyz reports.
 */

let t: TestGateway;
let mock: MockUpstream;
let client: OpenAI;
const messages = [{ role: 'user' as const, content: 'count my tokens' }];

/** The value of one sample of a Prometheus text exposition (0 when the series is absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const scrape = async (): Promise<string> => (await fetch(`${t.gw.url}/metrics`)).text();
const tokens = (kind: string) => `switchyard_tokens_total{model="gpt-4o",kind="${kind}"}`;

beforeAll(async () => {
  [mock] = await startMocks(1);
  t = await startTestGateway();
  await t.admin('POST', '/channels', {
    name: 'metrics',
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: ['gpt-4o'],
    accounts: [{ api_key: 'sk-metrics' }],
  });
  const key = (await t.admin<KeyView>('POST', '/keys', { name: 'metrics' })).body;
  client = new OpenAI({ apiKey: key.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

describe('token, snapshot and usage-consumer metrics', () => {
  it('when one billed request finishes, then switchyard_tokens_total rose by its row’s prompt and completion tokens', async () => {
    const before = await scrape();
    await client.chat.completions.create(
      { model: 'gpt-4o', messages },
      { headers: { 'x-request-id': 'metrics-tokens-1' } },
    );
    await t.gw.idle();
    const after = await scrape();

    const written = await t.gw.db
      .selectFrom('usage_logs')
      .select(['prompt_tokens', 'completion_tokens'])
      .where('client_request_id', '=', 'metrics-tokens-1')
      .executeTakeFirstOrThrow();
    const expected = expectedCompletion({ model: 'gpt-4o', messages });
    expect(written.prompt_tokens).toBe(expected.promptTokens);
    expect(written.completion_tokens).toBe(expected.completionTokens);
    expect(sample(after, tokens('prompt')) - sample(before, tokens('prompt'))).toBe(written.prompt_tokens);
    expect(sample(after, tokens('completion')) - sample(before, tokens('completion'))).toBe(
      written.completion_tokens,
    );
    // The mock reports no cache reads or reasoning: those series stay absent rather than counting 0s.
    expect(after).not.toContain(tokens('cached'));
    expect(after).not.toContain(tokens('reasoning'));
    // A model no channel serves is not billed: it adds no token series.
    await client.chat.completions.create({ model: 'not-served', messages }).catch(() => undefined);
    await t.gw.idle();
    expect(await scrape()).not.toMatch(/switchyard_tokens_total\{model="unknown"/);
  });

  it('when the gateway serves a snapshot, then its version is exported and its age is small and grows only until the next change', async () => {
    const ready = (await (await fetch(`${t.gw.url}/readyz`)).json()) as {
      checks: { config: { version: number } };
    };
    const text = await scrape();
    expect(sample(text, 'switchyard_config_snapshot_version')).toBe(ready.checks.config.version);
    const age = sample(text, 'switchyard_config_snapshot_age_seconds');
    expect(text).toMatch(/^switchyard_config_snapshot_age_seconds \d/m);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);

    // A config change is a new snapshot: the version rises and the age starts again from 0, so it is
    // at most the time since the change was asked for (the old snapshot is older than that).
    const changeAskedAt = Date.now();
    await t.admin('POST', '/keys', { name: 'metrics-change' });
    const changed = await scrape();
    expect(sample(changed, 'switchyard_config_snapshot_version')).toBeGreaterThan(
      ready.checks.config.version,
    );
    expect(sample(changed, 'switchyard_config_snapshot_age_seconds')).toBeLessThanOrEqual(
      (Date.now() - changeAskedAt) / 1000,
    );
  });

  it('when every usage event is written, then switchyard_usage_consumer_pending is 0', async () => {
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    await t.gw.idle();
    const text = await scrape();
    expect(text).toContain('# TYPE switchyard_usage_consumer_pending gauge');
    expect(text).toMatch(/^switchyard_usage_consumer_pending 0$/m);
  });
});
