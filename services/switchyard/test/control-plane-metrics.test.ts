import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminCall,
  configVersion,
  distributedSuite,
  quietLogger,
  startDistributedStack,
  type DistributedStack,
} from './distributed-harness.js';
import type { MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type TestGateway } from './harness.js';
import { loadConfig, startRelayRole, type RoleHandle } from '../src/index.js';

/**
 * The control plane's own metrics, scraped from a real control-plane role (MariaDB, Redis, NATS) and
 * from the all-in-one after real actions: admin calls by route pattern, relays' watch streams, the
 * snapshots it published.
 */
const suite = distributedSuite('cpmetrics', 'd4');
let stack: DistributedStack;
let cp: RoleHandle;
let aio: TestGateway;
let mock: MockUpstream;

const scrape = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
/** Polls the control plane's scrape until `series` reads `want`; throws after 5 s naming the last value. */
async function until(series: string, want: number): Promise<void> {
  const t0 = performance.now();
  let seen: number | undefined;
  while (performance.now() - t0 < 5_000) {
    seen = sample(await scrape(cp.url), series);
    if (seen === want) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${series} is ${seen}, wanted ${want}`);
}
const admin = <T>(method: string, route: string, body?: unknown) =>
  adminCall<T>(cp, suite.adminToken, method, route, body);
const channelBody = (name: string) => ({
  name,
  provider: 'openai',
  base_url: 'http://127.0.0.1:9/v1',
  models: [name],
  accounts: [{ api_key: `sk-${name}` }],
});

beforeAll(async () => {
  stack = await startDistributedStack(suite, { relayIds: [] });
  cp = stack.cp;
  aio = await startTestGateway();
  [mock] = await startMocks(1);
});

afterAll(async () => {
  await aio?.stop();
  await mock?.close();
  await stack?.close();
});

describe('control-plane metrics', () => {
  it('when a relay connects, then the watcher gauge counts its stream, and drops it when the relay stops', async () => {
    expect(sample(await scrape(cp.url), 'switchyard_config_watchers')).toBe(0);
    const relay = await startRelayRole(
      loadConfig(suite.env(stack.database.url, { SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${cp.grpcPort}` })),
      quietLogger,
    );
    try {
      await until('switchyard_config_watchers', 1);
    } finally {
      await relay.close();
    }
    await until('switchyard_config_watchers', 0);
  });

  it('when admin calls name an id in the path, then they are counted and timed by the route pattern, never the raw path', async () => {
    const created = await admin<{ id: number }>('POST', '/channels', channelBody('pattern'));
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await admin('GET', `/channels/${id}`)).status).toBe(200);
    expect((await admin('GET', `/channels/${id + 1000}`)).status).toBe(404);
    const anonymous = await fetch(`${cp.url}/admin/v1/channels/${id}`);
    expect(anonymous.status).toBe(401);

    const text = await scrape(cp.url);
    const route = '/admin/v1/channels/:id';
    expect(
      sample(text, `switchyard_admin_requests_total{method="POST",route="/admin/v1/channels",status="201"}`),
    ).toBe(1);
    expect(sample(text, `switchyard_admin_requests_total{method="GET",route="${route}",status="200"}`)).toBe(
      1,
    );
    expect(sample(text, `switchyard_admin_requests_total{method="GET",route="${route}",status="404"}`)).toBe(
      1,
    );
    // Refused before routing: no pattern is known, and the path is not used instead.
    expect(sample(text, `switchyard_admin_requests_total{method="GET",route="unmatched",status="401"}`)).toBe(
      1,
    );
    expect(
      sample(text, `switchyard_admin_request_duration_seconds_count{method="GET",route="${route}"}`),
    ).toBe(2);
    expect(text).not.toContain(`/channels/${id}"`);
  });

  it('when an admin change is made, then the published version and the published snapshot count rise with it', async () => {
    const before = await scrape(cp.url);
    const version = sample(before, 'switchyard_config_published_version')!;
    const published = sample(before, 'switchyard_config_snapshots_published_total')!;
    expect(version).toBe(await configVersion(cp));
    expect((await admin('POST', '/channels', channelBody('publish'))).status).toBe(201);

    const after = await scrape(cp.url);
    expect(sample(after, 'switchyard_config_published_version')).toBeGreaterThan(version);
    expect(sample(after, 'switchyard_config_published_version')).toBe(await configVersion(cp));
    expect(sample(after, 'switchyard_config_snapshots_published_total')).toBeGreaterThan(published);
  });

  it('when the all-in-one serves the admin API, then its registry has the same admin and publishing metrics, without the watcher gauge', async () => {
    const created = await aio.admin<{ id: number }>('POST', '/channels', channelBody('all-in-one'));
    expect(created.status).toBe(201);
    expect((await aio.admin('GET', `/channels/${created.body.id}`)).status).toBe(200);
    const text = await scrape(aio.gw.url);
    expect(
      sample(
        text,
        'switchyard_admin_requests_total{method="GET",route="/admin/v1/channels/:id",status="200"}',
      ),
    ).toBe(1);
    expect(sample(text, 'switchyard_config_published_version')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'switchyard_config_snapshots_published_total')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE switchyard_account_failure_reports_total counter');
    expect(text).not.toContain('switchyard_config_watchers');
  });

  it('when the all-in-one relay meets a rejected account credential, then the report is counted as disabled and logged with the request’s ids', async () => {
    const bad = 'sk-aio-rejected';
    mock.setCredentialFaults(bad, { status: 401 });
    const channel = await aio.admin<{ id: number; accounts: Array<{ id: number }> }>('POST', '/channels', {
      name: 'aio-reports',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['aio-reports'],
      account_strategy: 'fill-first',
      accounts: [{ api_key: bad }, { api_key: 'sk-aio-working' }],
    });
    const key = await aio.admin<{ key: string }>('POST', '/keys', {
      name: 'aio-reports',
      pinned_channel_id: channel.body.id,
    });
    const res = await fetch(`${aio.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key.body.key}`,
        'content-type': 'application/json',
        'x-request-id': 'aio-report-1',
      },
      body: JSON.stringify({ model: 'aio-reports', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const text = await scrape(aio.gw.url);
    expect(sample(text, 'switchyard_account_failure_reports_total{outcome="disabled"}')).toBe(1);
    const disabled = aio.logs.find(
      (l) => l.msg === 'account disabled automatically: the upstream rejected its credential',
    );
    expect(disabled).toMatchObject({
      accountId: channel.body.accounts[0]!.id,
      client_request_id: 'aio-report-1',
    });
    expect(disabled?.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
