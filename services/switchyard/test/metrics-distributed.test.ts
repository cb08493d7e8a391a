import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import {
  adminCall,
  configVersion,
  distributedSuite,
  startDistributedStack,
  type DistributedStack,
  propagated,
  quietLogger,
} from './distributed-harness.js';
import { loadConfig, startAccountingRole, type RoleHandle } from '../src/index.js';

/**
 * The metrics only distributed roles register, scraped from real roles on the machine's MariaDB,
 * Redis and NATS: the relay's snapshot gauges and token counter, accounting's consumer lag.
 */
const suite = distributedSuite('metrics', 'ef');
const messages = [{ role: 'user' as const, content: 'distributed metrics' }];
let stack: DistributedStack;
let database: DistributedStack['database'];
let mock: MockUpstream;
let cp: RoleHandle;
let relay: RoleHandle;
let accounting: RoleHandle;

const env = (extra: Record<string, string>) => suite.env(database.url, extra);
const scrape = async (r: RoleHandle): Promise<string> => (await fetch(`${r.url}/metrics`)).text();
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  stack = await startDistributedStack(suite, { relayIds: [undefined] });
  ({ database, cp } = stack);
  relay = stack.relays[0]!;
  mock = await startMockUpstream({ name: 'metrics-distributed' });
  accounting = await startAccountingRole(loadConfig(env({})), quietLogger);
});

afterAll(async () => {
  await accounting?.close();
  await mock?.close();
  await stack?.close();
});

describe('distributed role metrics', () => {
  it('when a relay has just started, then it exports the version of its snapshot and an age of a few seconds at most', async () => {
    const text = await scrape(relay);
    expect(sample(text, 'switchyard_config_snapshot_version')).toBe(await configVersion(relay));
    const age = sample(text, 'switchyard_config_snapshot_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(30);
  });

  it('when a billed request went through the relay and accounting wrote it, then the relay counted its tokens and accounting has nothing pending', async () => {
    const admin = async <T>(route: string, body: unknown): Promise<T> => {
      const res = await adminCall<T>(cp, suite.adminToken, 'POST', route, body);
      expect(res.status).toBeLessThan(300);
      return res.body;
    };
    await admin('/channels', {
      name: 'metrics',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['gpt-4o'],
      accounts: [{ api_key: 'sk-metrics' }],
    });
    const key = await admin<{ key: string }>('/keys', { name: 'metrics' });
    await propagated(cp, [relay]);
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    await relay.idle!();
    await accounting.idle!();

    const expected = expectedCompletion({ model: 'gpt-4o', messages });
    const relayText = await scrape(relay);
    expect(sample(relayText, 'switchyard_tokens_total{model="gpt-4o",kind="prompt"}')).toBe(
      expected.promptTokens,
    );
    expect(sample(relayText, 'switchyard_tokens_total{model="gpt-4o",kind="completion"}')).toBe(
      expected.completionTokens,
    );
    // The new channel and key were a new snapshot: its age restarted.
    expect(sample(relayText, 'switchyard_config_snapshot_age_seconds')).toBeLessThan(30);
    expect(sample(await scrape(accounting), 'switchyard_usage_consumer_pending')).toBe(0);
  });
});
