import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import { ADMIN_TOKEN, startMocks, startTestGateway, type TestGateway } from './harness.js';

/**
 * The README's quick-start, run as written: its shell blocks with bash and curl, its `openai` SDK
 * example with node. Only the ports are changed, to the test's gateway and mock upstream.
 */
const run = promisify(execFile);
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

function block(after: string, lang: string): string {
  const at = readme.indexOf(after);
  if (at === -1) throw new Error(`README has no "${after}"`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme.slice(at));
  if (!m) throw new Error(`README has no ${lang} block after "${after}"`);
  return m[1]!;
}

let t: TestGateway;
let mock: MockUpstream;
let port: (text: string) => string;

beforeAll(async () => {
  [mock] = await startMocks(1);
  t = await startTestGateway();
  const gwPort = new URL(t.gw.url).port;
  port = (text) =>
    text
      .replaceAll('localhost:8080', `127.0.0.1:${gwPort}`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${gwPort}`)
      .replaceAll('127.0.0.1:9090', `127.0.0.1:${mock.port}`);
});

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

describe('README quick-start', () => {
  it('when the curl examples are run as written, then they create a channel and key and chat, plain and streamed', async () => {
    const setup = port(block('Create a channel and a client key', 'sh'));
    const chat = port(block('Chat with curl', 'sh'));
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', `${setup}\necho "KEY=$KEY"\n${chat}`], {
      env: { ...process.env, ADMIN: ADMIN_TOKEN },
    });
    const content = expectedCompletion({ messages: [{ role: 'user', content: 'Hello gateway' }] }).content;
    expect(stdout).toMatch(/KEY=sk-sy-\S+/);
    expect(stdout).toContain(`"content":"${content}"`);
    expect(stdout).toContain('data: [DONE]');
    expect(mock.requests.length).toBe(2);
  });

  it('when the openai SDK example is run, then it prints the answer and streams the second one', async () => {
    const k = await t.admin<{ key: string }>('POST', '/keys', { name: 'readme-sdk' });
    // Written inside the repo so that `import 'openai'` resolves from its node_modules.
    const file = fileURLToPath(new URL(`./.readme-example-${process.pid}.mjs`, import.meta.url));
    await writeFile(file, port(block('Or with the official `openai` SDK', 'js')));
    try {
      const { stdout } = await run(process.execPath, [file], { env: { ...process.env, KEY: k.body.key } });
      expect(stdout).toContain(
        expectedCompletion({ messages: [{ role: 'user', content: 'Hello gateway' }] }).content,
      );
      expect(stdout).toContain(
        expectedCompletion({ messages: [{ role: 'user', content: 'Hello again' }] }).content,
      );
      expect(stdout).toMatch(/prompt_tokens: \d+/);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('when the Anthropic SDK example is run, then the OpenAI channel answers it, plain and streamed', async () => {
    const k = await t.admin<{ key: string }>('POST', '/keys', { name: 'readme-anthropic' });
    const file = fileURLToPath(new URL(`./.readme-anthropic-${process.pid}.mjs`, import.meta.url));
    await writeFile(file, port(block('Or with the official Anthropic SDK', 'js')));
    try {
      const { stdout } = await run(process.execPath, [file], { env: { ...process.env, KEY: k.body.key } });
      expect(stdout).toContain('Echo: Hello from Claude land');
      expect(stdout).toMatch(/output_tokens: \d+/);
      expect(stdout).toContain('Echo: Stream it');
      // The mock saw Chat Completions bodies: the gateway converted both requests.
      const last = mock.requests.at(-1)!;
      expect(last.path).toBe('/v1/chat/completions');
    } finally {
      await rm(file, { force: true });
    }
  });
});
