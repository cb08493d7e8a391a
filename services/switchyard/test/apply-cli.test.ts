import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockUpstream } from '@switchyard/mock-upstream';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';
import { runAdminCli } from '../src/admin-cli.js';
import { loadConfig, startControlPlaneRole } from '../src/index.js';
import { distributedSuite, quietLogger } from './distributed-harness.js';
import { ADMIN_TOKEN, startMocks, startTestGateway, type TestGateway } from './harness.js';

/** `switchyard apply -f` against a running all-in-one, and `serve` applying SWITCHYARD_CONFIG_FILE at start. */
const BIN = fileURLToPath(new URL('../bin/switchyard', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const UPSTREAM_KEY = 'sk-mock-upstream-declared-1111';
const ROTATED_UPSTREAM_KEY = 'sk-mock-upstream-rotated-2222';
const CLIENT_KEY = 'sk-sy-declared-by-file-0123456789abcdef';

let t: TestGateway;
let mock: MockUpstream;
let dir: string;
/** Everything any run printed, to check that no secret ever appears in it. */
const printed: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runAdminCli(args, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: { SWITCHYARD_URL: t.gw.url, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
  });
  printed.push(stdout, stderr);
  return { code, stdout, stderr };
}

/** switchyard.yaml for the mock upstream; `keys: false` leaves the client key out. */
function yamlFor(upstreamUrl: string, opts: { priority?: number; keys?: boolean } = {}): string {
  return `# Declared by the apply-cli test.
version: 1
groups:
  - name: team
    price_ratio: 1
channels:
  - name: mock-declared
    provider: openai
    base_url: ${upstreamUrl}/v1
    models: [gpt-4o-mini]
    groups: [team]
    priority: ${opts.priority ?? 0}
    accounts:
      - name: main
        api_key: { env: MOCK_UPSTREAM_KEY }
users:
  - name: ci
    group: team
${
  opts.keys === false
    ? 'keys: []\n'
    : `keys:
  - name: ci-key
    user: ci
    key: { file: ./client.key }
`
}`;
}

async function chat(key: string): Promise<Response> {
  return fetch(`${t.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

interface Change {
  kind: string;
  name: string;
  action: string;
}

beforeAll(async () => {
  [mock] = (await startMocks(1)) as [MockUpstream];
  t = await startTestGateway();
  dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-apply-'));
  // A mounted Secret ends with a newline; it is no part of the key.
  await writeFile(path.join(dir, 'client.key'), `${CLIENT_KEY}\n`);
  await writeFile(path.join(dir, 'switchyard.yaml'), yamlFor(mock.url));
});

afterAll(async () => {
  await t?.stop();
  await mock?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('switchyard apply -f', () => {
  const file = () => path.join(dir, 'switchyard.yaml');

  it('when a file is applied twice, then both exit 0 and the second reports every entry unchanged', async () => {
    const first = await cli(['apply', '-f', file()], { MOCK_UPSTREAM_KEY: UPSTREAM_KEY });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^KIND\s+NAME\s+ACTION$/m);
    expect(first.stdout).toMatch(/^channel\s+mock-declared\s+created$/m);
    expect(first.stdout).toMatch(/^account\s+mock-declared\/main\s+created$/m);
    expect(first.stdout).toContain('created 5');

    const second = await cli(['apply', '-f', file(), '--output', 'json'], {
      MOCK_UPSTREAM_KEY: UPSTREAM_KEY,
    });
    expect(second.code, second.stderr).toBe(0);
    const body = JSON.parse(second.stdout) as { dry_run: boolean; changes: Change[] };
    expect(body.dry_run).toBe(false);
    expect(body.changes).toHaveLength(5);
    expect(body.changes.every((c) => c.action === 'unchanged')).toBe(true);
  });

  it('then a client request with the declared key goes through the declared channel with the declared upstream key', async () => {
    const res = await chat(CLIENT_KEY);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('when the upstream secret in the environment is rotated, then apply updates the account and the upstream sees the new key', async () => {
    const r = await cli(['apply', '-f', file()], { MOCK_UPSTREAM_KEY: ROTATED_UPSTREAM_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^account\s+mock-declared\/main\s+updated$/m);
    expect(r.stdout).toMatch(/^channel\s+mock-declared\s+unchanged$/m);
    expect((await chat(CLIENT_KEY)).status).toBe(200);
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ROTATED_UPSTREAM_KEY}`);
  });

  it('with --dry-run, then the changes are printed and nothing is written', async () => {
    const changed = path.join(dir, 'changed.yaml');
    await writeFile(changed, yamlFor(mock.url, { priority: 5 }));
    const before = await t.admin<{ data: Array<{ name: string; priority: number; updated_at: string }> }>(
      'GET',
      '/channels',
    );
    const r = await cli(['apply', '-f', changed, '--dry-run'], { MOCK_UPSTREAM_KEY: ROTATED_UPSTREAM_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^channel\s+mock-declared\s+updated$/m);
    expect(r.stdout).toContain('dry run, nothing written');
    const after = await t.admin('GET', '/channels');
    expect(after.body).toEqual(before.body);
  });

  it('when a variable the file names is not set, then exit 2 naming it and the path, and nothing is sent', async () => {
    const r = await cli(['apply', '-f', file()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MOCK_UPSTREAM_KEY');
    expect(r.stderr).toContain('channels[0].accounts[0].api_key');
    const missing = await cli(['apply', '-f', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    const noFile = await cli(['apply']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('-f <file> is required');
  });

  it('when the file is refused by the API, then exit 1 with its message; invalid YAML is exit 2', async () => {
    const plain = path.join(dir, 'plain.yaml');
    await writeFile(
      plain,
      yamlFor(mock.url).replace('api_key: { env: MOCK_UPSTREAM_KEY }', 'api_key: sk-plain-in-git'),
    );
    const r = await cli(['apply', '-f', plain]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'channels[0].accounts[0].api_key'");
    expect(r.stderr).toContain('HTTP 400');
    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'version: 1\nchannels: [\n');
    const b = await cli(['apply', '-f', broken]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('broken.yaml');
  });

  it('when a key leaves the file, then it is disabled and a request with it is refused 401', async () => {
    const noKeys = path.join(dir, 'no-keys.yaml');
    await writeFile(noKeys, yamlFor(mock.url, { keys: false }));
    const r = await cli(['apply', '-f', noKeys], { MOCK_UPSTREAM_KEY: ROTATED_UPSTREAM_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^key\s+ci-key\s+disabled$/m);
    expect((await chat(CLIENT_KEY)).status).toBe(401);
  });

  it('deploy/switchyard.example.yaml is a valid document (dry run, its secret files moved into the test dir)', async () => {
    const example = await readFile(
      new URL('../../../deploy/switchyard.example.yaml', import.meta.url),
      'utf8',
    );
    const secrets = path.join(dir, 'secrets');
    await mkdir(secrets, { recursive: true });
    await writeFile(path.join(secrets, 'openai-backup'), 'sk-example-backup-key\n');
    await writeFile(path.join(secrets, 'staging-ci-key'), 'sk-sy-example-staging-ci-0123456789\n');
    const copy = path.join(dir, 'example.yaml');
    await writeFile(copy, example.replaceAll('/run/secrets/switchyard/', `${secrets}/`));
    // A gateway of its own: this suite's file manages other entries on the shared one.
    const fresh = await startTestGateway();
    let r: Run;
    try {
      r = await cli(['apply', '-f', copy, '--dry-run', '--output', 'json'], {
        SWITCHYARD_URL: fresh.gw.url,
        OPENAI_API_KEY: 'sk-example-openai',
        ANTHROPIC_API_KEY: 'sk-ant-example',
        DATA_PIPELINE_KEY: 'sk-sy-example-data-pipeline-0123456789',
      });
    } finally {
      await fresh.stop();
    }
    expect(r.code, r.stderr).toBe(0);
    const changes = (JSON.parse(r.stdout) as { changes: Change[] }).changes;
    expect(changes.filter((c) => c.kind === 'channel').map((c) => c.name)).toEqual(['openai', 'anthropic']);
    expect(changes.find((c) => c.kind === 'group' && c.name === 'default')?.action).toBe('updated');
  });

  it('no secret was ever printed or logged', () => {
    for (const text of [...printed, t.rawLog()]) {
      for (const secret of [UPSTREAM_KEY, ROTATED_UPSTREAM_KEY, CLIENT_KEY])
        expect(text).not.toContain(secret);
    }
  });
});

/** Starts `switchyard serve` and resolves with its URL, or rejects with what it printed when it exits. */
function serve(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(BIN, ['serve', '--port', '0', '--host', '127.0.0.1'], { env });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`exit ${code}: ${out}`)));
  });
}

function exitOf(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(BIN, args, { env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('switchyard serve with SWITCHYARD_CONFIG_FILE', () => {
  beforeAll(() => {
    if (!existsSync(DIST))
      throw new Error('services/switchyard/dist is missing: run `npm test` (it builds first)');
  });

  function serveEnv(dataDir: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN,
      SWITCHYARD_LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  it('when the file is valid, then it is applied before the gateway serves, and the declared key works at once', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-serve-file-'));
    try {
      const env = serveEnv(dataDir, {
        SWITCHYARD_CONFIG_FILE: path.join(dir, 'switchyard.yaml'),
        MOCK_UPSTREAM_KEY: UPSTREAM_KEY,
      });
      const { child, url } = await serve(env);
      try {
        const channels = (await (
          await fetch(`${url}/admin/v1/channels`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
        ).json()) as { data: Array<{ name: string; managed_by: string | null }> };
        expect(channels.data).toEqual([
          expect.objectContaining({ name: 'mock-declared', managed_by: 'file' }),
        ]);
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(res.status).toBe(200);
      } finally {
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        });
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('when a variable is missing or the file invalid, then the start fails with a message naming the file, the path and the variable', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-serve-bad-'));
    try {
      const file = path.join(dir, 'switchyard.yaml');
      const base = { ...process.env };
      delete base.MOCK_UPSTREAM_KEY;
      const missing = await exitOf(serveEnv(dataDir, { ...base, SWITCHYARD_CONFIG_FILE: file }), [
        'serve',
        '--port',
        '0',
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(file);
      expect(missing.stderr).toContain('channels[0].accounts[0].api_key');
      expect(missing.stderr).toContain('MOCK_UPSTREAM_KEY');

      const invalid = path.join(dir, 'invalid-start.yaml');
      await writeFile(invalid, yamlFor(mock.url).replace('priority: 0', 'priority: high'));
      const refused = await exitOf(serveEnv(dataDir, { MOCK_UPSTREAM_KEY: UPSTREAM_KEY }), [
        'serve',
        '--port',
        '0',
        '--config-file',
        invalid,
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(invalid);
      expect(refused.stderr).toContain('channels[0].priority');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the control-plane role with SWITCHYARD_CONFIG_FILE', () => {
  it('when two control planes start at once on one MySQL database, then both apply the file and each entry exists once', async () => {
    const suite = distributedSuite('applystart', 'c7');
    const database = await createTestDatabase();
    const env = suite.env(database.url, {
      SWITCHYARD_GRPC_PORT: '0',
      SWITCHYARD_CONFIG_FILE: path.join(dir, 'switchyard.yaml'),
    });
    try {
      const roles = await Promise.all([
        startControlPlaneRole(loadConfig(env), quietLogger, { MOCK_UPSTREAM_KEY: UPSTREAM_KEY }),
        startControlPlaneRole(loadConfig(env), quietLogger, { MOCK_UPSTREAM_KEY: UPSTREAM_KEY }),
      ]);
      try {
        for (const role of roles) {
          const res = await fetch(`${role.url}/admin/v1/channels`, {
            headers: { authorization: `Bearer ${suite.adminToken}` },
          });
          const body = (await res.json()) as { data: Array<{ name: string; accounts: unknown[] }> };
          expect(body.data.map((c) => [c.name, c.accounts.length])).toEqual([['mock-declared', 1]]);
        }
      } finally {
        for (const role of roles) await role.close();
      }
    } finally {
      await suite.cleanup();
      await database.drop();
    }
  });
});
