import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type KeyView } from './harness.js';

/**
 * Graceful shutdown as operators rely on it: not-ready first (the load balancer drains the pod), then
 * in-flight streams finish, the usage is written, and the process exits 0.
 */
const BIN = fileURLToPath(new URL('../bin/switchyard', import.meta.url));
const ADMIN = 'shutdown-admin-token-0123456789';
const messages = [{ role: 'user' as const, content: 'finish me before you go' }];
let mock: MockUpstream;

beforeAll(async () => {
  if (!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url))))
    throw new Error('services/switchyard/dist is missing: run `npm test` (it builds first)');
  [mock] = (await startMocks(1)) as [MockUpstream];
});
afterAll(async () => {
  await mock?.close();
});

async function provision(url: string): Promise<OpenAI> {
  const admin = (route: string, body: unknown) =>
    fetch(`${url}/admin/v1${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const ch = await admin('/channels', {
    name: 'drain',
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: ['gpt-4o'],
    accounts: [{ api_key: 'sk-drain' }],
  });
  expect(ch.status).toBe(201);
  const key = (await (await admin('/keys', { name: 'drain' })).json()) as KeyView;
  return new OpenAI({ apiKey: key.key, baseURL: `${url}/v1`, maxRetries: 0 });
}

const slowStream = {
  model: 'gpt-4o',
  messages,
  stream: true as const,
  mock: { chunkDelayMs: 60 },
  mock_chunks: 12,
};

describe('graceful shutdown', () => {
  it('when a drain delay is set, then on close /readyz says 503 at once while requests are still served, and the stream in flight completes', async () => {
    const g = await startTestGateway({ SWITCHYARD_SHUTDOWN_DRAIN_DELAY_MS: '1500' });
    try {
      const ch = await g.admin('POST', '/channels', {
        name: 'drain',
        provider: 'openai',
        base_url: `${mock.url}/v1`,
        models: ['gpt-4o'],
        accounts: [{ api_key: 'sk-drain' }],
      });
      expect(ch.status).toBe(201);
      const key = (await g.admin<KeyView>('POST', '/keys', { name: 'drain' })).body;
      const client = new OpenAI({ apiKey: key.key, baseURL: `${g.gw.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create(slowStream);
      let text = '';
      let closed: Promise<void> | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (closed === null && text !== '') {
          closed = g.gw.close();
          const ready = await fetch(`${g.gw.url}/readyz`);
          expect(ready.status).toBe(503);
          expect(await ready.json()).toMatchObject({ checks: { shutting_down: true } });
          // Still serving while the load balancer catches up.
          const late = await client.chat.completions.create({ model: 'gpt-4o', messages });
          expect(late.choices[0]?.message.content).toBe(
            expectedCompletion({ model: 'gpt-4o', messages }).content,
          );
        }
      }
      expect(text).toBe(expectedCompletion({ ...slowStream, messages }).content);
      await closed;
      await expect(fetch(`${g.gw.url}/healthz`)).rejects.toThrow();
    } finally {
      await g.stop();
    }
  });

  it('when the process gets SIGTERM with a stream in flight, then the stream completes, the process exits 0 and the usage row is written', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-sigterm-'));
    let child: ChildProcess | null = null;
    try {
      child = spawn(BIN, ['serve', '--port', '0', '--host', '127.0.0.1'], {
        env: {
          ...process.env,
          SWITCHYARD_DATA_DIR: dataDir,
          SWITCHYARD_ADMIN_TOKEN: ADMIN,
          SWITCHYARD_LOG_LEVEL: 'warn',
        },
      });
      const proc = child;
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        let banner = '';
        proc.stderr!.on('data', (d: Buffer) => {
          banner += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`switchyard exited with ${code}: ${banner}`)));
      });
      const client = await provision(url);
      const stream = await client.chat.completions.create(slowStream);
      let text = '';
      let signalled = false;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (!signalled && text !== '') {
          signalled = true;
          proc.kill('SIGTERM');
        }
      }
      expect(signalled).toBe(true);
      expect(text).toBe(expectedCompletion({ ...slowStream, messages }).content);
      expect(await exited).toBe(0);
      child = null;
      const db = new DatabaseSync(path.join(dataDir, 'switchyard.db'), { readOnly: true });
      try {
        const rows = db.prepare('SELECT status, completion_tokens, stream FROM usage_logs').all();
        expect(rows).toEqual([{ status: 'ok', completion_tokens: 12, stream: 1 }]);
      } finally {
        db.close();
      }
    } finally {
      child?.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
