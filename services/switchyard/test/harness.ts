import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startMockUpstream, type MockUpstream, type MockUpstreamOptions } from '@switchyard/mock-upstream';
import { createLogger, loadConfig, startAllInOne, type AllInOne } from '../src/index.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A gateway on a free port over a temporary data dir, with its log lines captured as parsed JSON. */
export interface TestGateway {
  gw: AllInOne;
  dataDir: string;
  logs: Array<Record<string, unknown>>;
  rawLog: () => string;
  admin<T = unknown>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-test-'));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const config = loadConfig({
    SWITCHYARD_HTTP_PORT: '0',
    SWITCHYARD_HTTP_HOST: '127.0.0.1',
    SWITCHYARD_DATA_DIR: dataDir,
    SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHYARD_LOG_LEVEL: 'info',
    ...env,
  });
  const gw = await startAllInOne(config, { logger: createLogger(config.logLevel, sink) });
  return {
    gw,
    dataDir,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    rawLog: () => lines.join('\n'),
    async admin<T>(method: string, route: string, body?: unknown) {
      const res = await fetch(`${gw.url}/admin/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    },
    async stop() {
      await gw.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startMocks(n: number, opts: MockUpstreamOptions = {}): Promise<MockUpstream[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startMockUpstream({ name: `mock-${i}`, ...opts })));
}

export interface ChannelView {
  id: number;
  name: string;
  accounts: Array<{ id: number; name: string; enabled: boolean }>;
}

export interface KeyView {
  id: number;
  key: string;
}

export interface UsageRow {
  request_id: string;
  client_request_id: string | null;
  key_id: number;
  channel_id: number | null;
  model: string;
  upstream_model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  status: string;
  http_status: number;
  latency_ms: number;
  stream: boolean;
  error: string | null;
  created_at: string;
}

/**
 * Channel settings for suites that test something other than failover: a breaker that never opens, so
 * one test's failures cannot take a channel away from the next (pair with `resetAccountHealth`).
 */
export const NO_BREAKER = { breaker: { volume_threshold: 10_000 } } as const;

/**
 * Re-enables every account of every channel, which also clears its cooldown: test isolation for
 * suites whose tests share channels, so one test's upstream failures do not bench them for the next.
 */
export async function resetAccountHealth(t: Pick<TestGateway, 'admin'>): Promise<void> {
  const channels = await t.admin<{ data: Array<{ accounts: Array<{ id: number }> }> }>('GET', '/channels');
  await Promise.all(
    channels.body.data.flatMap((c) => c.accounts.map((a) => t.admin('POST', `/accounts/${a.id}/enable`))),
  );
}
