import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';
import { startMocks, startTestGateway, type KeyView, type TestGateway, type UsageRow } from './harness.js';

/** The all-in-one gateway on the machine's MariaDB instead of SQLite: same behaviour, other adapter. */
const SECRET_KEY = 'ab'.repeat(32);
const BIN = fileURLToPath(new URL('../bin/switchyard', import.meta.url));
const messages = [{ role: 'user' as const, content: 'Hello from MariaDB' }];

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let mock: MockUpstream;

beforeAll(async () => {
  database = await createTestDatabase();
  [mock] = await startMocks(1);
});
afterAll(async () => {
  await mock?.close();
  await database?.drop();
});

describe('the all-in-one gateway on MySQL/MariaDB', () => {
  it('when it runs on MariaDB, then chat works, usage is exact, and config and credentials survive a restart', async () => {
    const env = { SWITCHYARD_DATABASE_URL: database.url, SWITCHYARD_SECRET_KEY: SECRET_KEY };
    let t: TestGateway = await startTestGateway(env);
    let key: KeyView;
    try {
      const ch = await t.admin<{ id: number }>('POST', '/channels', {
        name: 'maria',
        provider: 'openai',
        base_url: `${mock.url}/v1`,
        models: ['gpt-4o'],
        accounts: [{ api_key: 'sk-upstream-maria' }],
      });
      expect(ch.status).toBe(201);
      key = (await t.admin<KeyView>('POST', '/keys', { name: 'maria' })).body;
      const client = new OpenAI({ apiKey: key.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
      const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
      let streamed = '';
      for await (const c of await client.chat.completions.create({
        model: 'gpt-4o',
        messages,
        stream: true,
      })) {
        streamed += c.choices[0]?.delta.content ?? '';
      }
      const exp = expectedCompletion({ model: 'gpt-4o', messages });
      expect(res.choices[0]?.message.content).toBe(exp.content);
      expect(streamed).toBe(exp.content);
      await t.gw.idle();
      const usage = await t.admin<{ data: UsageRow[] }>('GET', `/usage?key_id=${key.id}`);
      expect(usage.body.data.map((r) => [r.stream, r.prompt_tokens, r.completion_tokens, r.status])).toEqual([
        [true, exp.promptTokens, exp.completionTokens, 'ok'],
        [false, exp.promptTokens, exp.completionTokens, 'ok'],
      ]);
      expect(usage.body.data[0]?.channel_id).toBe(ch.body.id);
    } finally {
      await t.stop();
    }

    // A second process on the same database: the key and the encrypted upstream credential still work.
    t = await startTestGateway(env);
    try {
      const client = new OpenAI({ apiKey: key.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect(mock.requests.at(-1)?.headers.authorization).toBe('Bearer sk-upstream-maria');
      await t.admin('PATCH', `/keys/${key.id}`, { enabled: false });
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
    } finally {
      await t.stop();
    }
  });

  it('when `switchyard migrate` targets MariaDB, then it reports the schema current without printing the password', () => {
    const ok = spawnSync(BIN, ['migrate', '--database-url', database.url], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`schema of mysql://root@127.0.0.1:3306/${database.name} is up to date`);
    const bad = spawnSync(BIN, ['migrate', '--database-url', 'mysql://root:s3cret-pw@127.0.0.1:1/nowhere'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      'SWITCHYARD_DATABASE_URL: cannot reach mysql://root:***@127.0.0.1:1/nowhere',
    );
    expect(bad.stderr).not.toContain('s3cret-pw');
  });
});
