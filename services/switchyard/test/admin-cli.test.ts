import { spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MockUpstream } from '@switchyard/mock-upstream';
import { runAdminCli } from '../src/admin-cli.js';
import { ADMIN_TOKEN, startMocks, startTestGateway, type TestGateway } from './harness.js';

/** The admin CLI against a running all-in-one gateway, run in-process with its output captured. */
const BIN = fileURLToPath(new URL('../bin/switchyard', import.meta.url));
const DIST_ADMIN_CLI = fileURLToPath(new URL('../dist/admin-cli.js', import.meta.url));
const WRONG_TOKEN = 'wrong-admin-token-9876543210';

let t: TestGateway;
let okMock: MockUpstream;
let failingMock: MockUpstream;
/** Everything any run printed, to check that no token ever appears in it. */
const printed: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env?: Record<string, string | undefined>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runAdminCli(args, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: env ?? { SWITCHYARD_URL: t.gw.url, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  printed.push(stdout, stderr);
  return { code, stdout, stderr };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await cli([...args, '--output', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** A port nothing listens on: bound once to get it, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  [okMock] = (await startMocks(1)) as [MockUpstream];
  [failingMock] = (await startMocks(1, { faults: { status: 500 } })) as [MockUpstream];
  t = await startTestGateway();
});

afterAll(async () => {
  await t?.stop();
  await okMock?.close();
  await failingMock?.close();
});

describe('switchyard admin commands', () => {
  let okChannel: number;
  let failingChannel: number;
  let keyId: number;
  let plaintext: string;

  it('when a key is created, then its plaintext is printed once with its row', async () => {
    const r = await cli([
      'keys',
      'create',
      '--name',
      'cli-key',
      '--quota',
      '12.5',
      '--models',
      'gpt-4o, gpt-4o-mini',
    ]);
    expect(r.code, r.stderr).toBe(0);
    plaintext = /^\s+(sk-sy-\S+)$/m.exec(r.stdout)![1]!;
    expect(r.stdout.split(plaintext)).toHaveLength(2);
    expect(r.stdout).toMatch(/^ID\s+NAME\s+PREFIX/m);
    const keys = await json<
      Array<{ id: number; name: string; quota: string; models: string[]; enabled: boolean }>
    >(['keys', 'list']);
    const key = keys.find((k) => k.name === 'cli-key')!;
    keyId = key.id;
    expect(key).toMatchObject({ quota: '12.5', models: ['gpt-4o', 'gpt-4o-mini'], enabled: true });
    expect(JSON.stringify(keys)).not.toContain(plaintext);
  });

  it('when keys are created with --output json, then the output is the API JSON with the key', async () => {
    const created = await json<{ id: number; key: string; rpm_limit: number; group: string }>([
      'keys',
      'create',
      '--name',
      'json-key',
      '--rpm',
      '60',
    ]);
    expect(created.key).toMatch(/^sk-sy-/);
    expect(created.rpm_limit).toBe(60);
    const disabled = await cli(['keys', 'disable', String(created.id)]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toBe(`key ${created.id} (json-key) disabled\n`);
    const keys = await json<Array<{ id: number; enabled: boolean }>>([
      'keys',
      'list',
      '--group',
      created.group,
    ]);
    expect(keys.find((k) => k.id === created.id)?.enabled).toBe(false);
  });

  it('when channels are added, then the list shows them in aligned columns', async () => {
    const added = await json<{ id: number; accounts: unknown[] }>([
      'channels',
      'add',
      '--name',
      'cli-ok',
      '--provider',
      'openai',
      '--base-url',
      `${okMock.url}/v1`,
      '--models',
      'gpt-4o',
      '--api-key',
      'sk-one',
      '--api-key',
      'sk-two',
    ]);
    okChannel = added.id;
    expect(added.accounts).toHaveLength(2);
    const failing = await cli([
      'channels',
      'add',
      '--name',
      'cli-failing',
      '--provider',
      'openai',
      '--base-url',
      `${failingMock.url}/v1`,
      '--models',
      'never-served',
      '--api-key',
      'sk-three',
    ]);
    expect(failing.code, failing.stderr).toBe(0);
    failingChannel = Number(/^(\d+)\s/m.exec(failing.stdout)![1]);

    const table = await cli(['channels', 'list']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    const row = rows.find((l) => l.includes('cli-ok'))!;
    expect(row.indexOf('cli-ok')).toBe(header!.indexOf('NAME'));
    expect(row.indexOf('openai')).toBe(header!.indexOf('PROVIDER'));
    expect(row.slice(header!.indexOf('ACCOUNTS')).startsWith('2/2')).toBe(true);
  });

  it('when a channel test passes, then it exits 0; when its upstream fails, then it exits 1', async () => {
    const ok = await cli(['channels', 'test', String(okChannel)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.match(/\btrue\b/g)).toHaveLength(2);

    const bad = await cli(['channels', 'test', String(failingChannel)]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('false');
    expect(bad.stderr).toContain(`channel ${failingChannel}: 1 of 1 accounts failed the test`);

    const missing = await cli(['channels', 'test', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('channel_not_found');
  });

  it('when accounts are added and listed, then they belong to the channel', async () => {
    const added = await cli([
      'accounts',
      'add-api-key',
      '--channel',
      String(okChannel),
      '--name',
      'third',
      '--api-key',
      'sk-third',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const accounts = await json<Array<{ name: string; channel_id: number; kind: string }>>([
      'accounts',
      'list',
      '--channel',
      String(okChannel),
    ]);
    expect(accounts.map((a) => a.name)).toEqual(['account-1', 'account-2', 'third']);
    expect(accounts.every((a) => a.channel_id === okChannel && a.kind === 'api_key')).toBe(true);
    expect(JSON.stringify(accounts)).not.toContain('sk-third');
  });

  it('when an OAuth sign-in is started and its callback given, then an oauth account is created', async () => {
    const channel = await json<{ id: number }>([
      'channels',
      'add',
      '--name',
      'cli-oauth',
      '--provider',
      'anthropic',
      '--base-url',
      okMock.url,
      '--models',
      'claude-*',
    ]);
    const overrides = [
      '--authorize-url',
      `${okMock.url}/oauth/authorize`,
      '--token-url',
      `${okMock.url}/oauth/token`,
    ];
    const shown = await cli([
      'accounts',
      'add-oauth',
      '--channel',
      String(channel.id),
      '--profile',
      'anthropic-claude-code',
      ...overrides,
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`${okMock.url}/oauth/authorize?`);

    const started = await json<{ authorization_url: string }>([
      'oauth',
      'start',
      '--channel',
      String(channel.id),
      '--profile',
      'anthropic-claude-code',
      '--name',
      'max',
      ...overrides,
    ]);
    const redirect = await fetch(started.authorization_url, { redirect: 'manual' });
    const done = await json<{ name: string; kind: string }>([
      'oauth',
      'callback',
      '--callback-url',
      redirect.headers.get('location')!,
    ]);
    expect(done).toMatchObject({ name: 'max', kind: 'oauth' });

    const neither = await cli(['oauth', 'callback']);
    expect(neither.code).toBe(2);
  });

  it('when one request was served, then usage lists it', async () => {
    const res = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plaintext}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'usage please' }] }),
    });
    expect(res.status).toBe(200);
    // The usage row is written by the accounting consumer after the answer: wait for it to land.
    const rows = await vi.waitFor(async () => {
      const r = await json<Array<{ key_id: number; model: string; status: string; channel_id: number }>>([
        'usage',
        '--key-id',
        String(keyId),
      ]);
      expect(r).toHaveLength(1);
      return r;
    });
    expect(rows[0]).toMatchObject({ key_id: keyId, model: 'gpt-4o', status: 'ok', channel_id: okChannel });
    const table = await cli(['usage', '--key-id', String(keyId), '--model', 'gpt-4o', '--limit', '5']);
    expect(table.code).toBe(0);
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(table.stdout).toContain('ok 200');
    const none = await json<unknown[]>(['usage', '--key-id', String(keyId), '--model', 'other']);
    expect(none).toEqual([]);
  });

  it('when asked for status, then it shows readiness, the snapshot version, the relay and account health', async () => {
    const ready = (await (await fetch(`${t.gw.url}/readyz`)).json()) as {
      checks: { config: { version: number } };
    };
    const r = await cli(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('readyz: ready');
    expect(r.stdout).toContain(`snapshot version: ${ready.checks.config.version}`);
    expect(r.stdout).toMatch(/^database\s+up$/m);
    expect(r.stdout).toMatch(new RegExp(`^${okChannel}\\s+\\d+\\s+third\\s+healthy`, 'm'));

    // The all-in-one's own relay, serving the version the process publishes.
    const version = ready.checks.config.version;
    expect(r.stdout).toMatch(new RegExp(`^RELAY\\s+SNAPSHOT\\s+STARTED\\s+SEEN\\s+DEPENDENCIES`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^\\S+:${process.pid}\\s+${version}\\s`, 'm'));

    const report = await json<{
      readyz: { body: { status: string } };
      channels: Array<{ channel_id: number }>;
      relays: {
        registry: string;
        control_plane_version: number;
        data: Array<{ id: string; snapshot_version: number }>;
      };
    }>(['status']);
    expect(report.readyz.body.status).toBe('ready');
    expect(report.channels.map((c) => c.channel_id)).toContain(failingChannel);
    expect(report.relays.registry).toBe('memory');
    expect(report.relays.data).toEqual([
      expect.objectContaining({
        id: expect.stringMatching(new RegExp(`:${process.pid}$`)),
        snapshot_version: version,
      }),
    ]);
    expect(report.relays.control_plane_version).toBe(version);

    const anonymous = await cli(['status'], { SWITCHYARD_URL: t.gw.url });
    expect(anonymous.code).toBe(0);
    expect(anonymous.stdout).toContain('no admin token');
  });

  it('when health-checked, then it exits 0 for the gateway and 2 for a closed port', async () => {
    const up = await cli(['health-check', '--url', t.gw.url], {});
    expect(up).toMatchObject({ code: 0, stdout: 'ready\n' });
    const port = await closedPort();
    const down = await cli(['health-check', '--url', `http://127.0.0.1:${port}`], {});
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port}`);
    const listing = await cli(['keys', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(listing.code).toBe(2);
  });

  it('when the gateway cannot reach its database, then status and health-check exit 1 (not ready) while it still answers', async () => {
    const broken = await startTestGateway();
    try {
      // The pool goes away under the running gateway: /readyz turns 503, /healthz stays 200.
      await broken.gw.db.destroy();
      const env = { SWITCHYARD_URL: broken.gw.url, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN };
      const health = await cli(['health-check'], env);
      expect(health).toMatchObject({ code: 1, stdout: 'not ready (HTTP 503)\n' });
      // With the token the admin API fails too (no database); status still shows what it knows.
      const status = await cli(['status'], env);
      expect(status.code, status.stderr).toBe(1);
      expect(status.stdout).toContain('healthz: ok');
      expect(status.stdout).toMatch(/readyz: not.ready/);
      expect(status.stdout).toMatch(/^database\s+down$/m);
      expect(status.stdout).toMatch(/^admin API: .*HTTP 5\d\d\)$/m);
      const report = JSON.parse((await cli(['status', '--output', 'json'], env)).stdout) as Record<
        string,
        unknown
      >;
      expect(report.admin_api_error).toMatch(/HTTP 5\d\d/);
      expect(report.channels).toBeNull();
    } finally {
      await broken.stop().catch(() => undefined);
    }
  });

  it('when the token is wrong, then it exits 1 with the API message and code, and never prints the token', async () => {
    const api = (await (
      await fetch(`${t.gw.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } })
    ).json()) as { error: { message: string; code: string } };
    const r = await cli(['keys', 'list'], { SWITCHYARD_URL: t.gw.url, SWITCHYARD_ADMIN_TOKEN: WRONG_TOKEN });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(api.error.message);
    expect(r.stderr).toContain(`(${api.error.code}, HTTP 401)`);
    const flag = await cli(['channels', 'list', '--token', WRONG_TOKEN, '--url', t.gw.url], {});
    expect(flag.code).toBe(1);
  });

  it('when the command line is wrong, then it exits 2 naming the problem', async () => {
    const cases: Array<[string[], string]> = [
      [['keys', 'create'], '--name is required'],
      [['keys', 'create', '--name', 'x', '--rpm', 'many'], '--rpm: must be a positive integer'],
      [['keys', 'rotate'], 'unknown keys command "rotate"'],
      [['keys'], 'missing keys command'],
      [['keys', 'disable'], 'missing <id>'],
      [['channels', 'list', '--colour'], "Unknown option '--colour'"],
      [['channels', 'list', '--output', 'yaml'], '--output yaml: must be table or json'],
    ];
    const noToken = await cli(['keys', 'list'], { SWITCHYARD_URL: t.gw.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('no admin token: pass --token or set SWITCHYARD_ADMIN_TOKEN');
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
  });

  it('when every command above ran, then no output contained an admin token', () => {
    expect(printed.length).toBeGreaterThan(20);
    for (const text of printed) {
      expect(text).not.toContain(ADMIN_TOKEN);
      expect(text).not.toContain(WRONG_TOKEN);
    }
  });

  it('when run through bin/switchyard, then the executable dispatches admin commands', async () => {
    if (!existsSync(DIST_ADMIN_CLI))
      throw new Error('services/switchyard/dist is missing: run `npm test` (it builds first)');
    const child = spawn(BIN, ['keys', 'list', '--output', 'json'], {
      env: { ...process.env, SWITCHYARD_URL: t.gw.url, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, stderr).toBe(0);
    const keys = JSON.parse(stdout) as Array<{ id: number }>;
    expect(keys.map((k) => k.id)).toContain(keyId);
    expect(stdout + stderr).not.toContain(ADMIN_TOKEN);
  });
});

describe('paging', () => {
  /** A stand-in admin API that pages every list 2 rows at a time and records the queries it got. */
  let fake: http.Server;
  let fakeUrl: string;
  const queries: URLSearchParams[] = [];
  beforeAll(async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: `row-${i + 1}` }));
    fake = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://fake');
      queries.push(url.searchParams);
      const from = Number(url.searchParams.get('cursor') ?? '0');
      const size = Math.min(2, Number(url.searchParams.get('limit')));
      const next = from + size < rows.length ? String(from + size) : null;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: rows.slice(from, from + size), next_cursor: next }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => fake.close(() => resolve()));
  });

  it('when keys span several pages, then keys list follows the cursor to the last page', async () => {
    queries.length = 0;
    const r = await cli([
      'keys',
      'list',
      '--user-id',
      '7',
      '--output',
      'json',
      '--url',
      fakeUrl,
      '--token',
      'x',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ id: number }>).map((k) => k.id)).toEqual([1, 2, 3, 4, 5]);
    expect(queries.map((q) => q.get('cursor'))).toEqual([null, '2', '4']);
    expect(queries.every((q) => q.get('user_id') === '7')).toBe(true);
  });

  it('when usage is limited, then it stops paging once it has that many rows', async () => {
    queries.length = 0;
    const r = await cli(['usage', '--limit', '3', '--output', 'json', '--url', fakeUrl, '--token', 'x']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(3);
    expect(queries.map((q) => q.get('limit'))).toEqual(['3', '1']);
  });
});
