import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accessTokenFor, jwtAssertion, postTokenRequest } from '../test/google-jwt.js';
import { postJson, readSse } from '../test/http-helpers.js';
import { anthropicMessage } from './anthropic-answer.js';
import { expectedCompletion } from './deterministic-completion.js';
import { geminiUsageMetadata } from './expected-wire-fields.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';

let mock: MockUpstream;
let clock: number;

beforeEach(async () => {
  clock = Date.now();
  mock = await startMockUpstream({ now: () => clock });
});

afterEach(async () => {
  await mock.close();
});

const PREFIX = '/v1/projects/mock-project/locations/us-central1/publishers';
const geminiUrl = (method: string, query = ''): string =>
  `${mock.url}${PREFIX}/google/models/gemini-2.5-flash:${method}${query}`;
const claudeUrl = (method: string): string =>
  `${mock.url}${PREFIX}/anthropic/models/claude-sonnet-4-5@20250929:${method}`;
const contents = [{ role: 'user', parts: [{ text: 'hello vertex' }] }];
const claudeBody = {
  anthropic_version: 'vertex-2023-10-16',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'hello claude' }],
};

async function bearer(): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await accessTokenFor(mock.googleServiceAccount())}` };
}

describe('the token endpoint', () => {
  it('when a service-account JWT is posted, then an hour-long bearer token answers and the exchange is counted', async () => {
    const account = mock.googleServiceAccount();
    expect(account).toMatchObject({
      type: 'service_account',
      project_id: 'mock-project',
      client_email: 'mock@mock-project.iam.gserviceaccount.com',
      token_uri: `${mock.url}/token`,
      private_key: expect.stringContaining('BEGIN PRIVATE KEY'),
      private_key_id: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const res = await postTokenRequest(account.token_uri, jwtAssertion(account));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      access_token: expect.stringMatching(/^ya29\./),
      expires_in: 3600,
      token_type: 'Bearer',
    });
    expect(mock.tokenExchanges).toBe(1);
    expect(mock.requests[0]?.body).toMatchObject({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    });
  });

  it('when the JWT is signed by another key, or its iss, aud, scope, kid, exp or grant is wrong, then the exchange fails', async () => {
    const account = mock.googleServiceAccount();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const now = Math.floor(clock / 1000);
    const cases: [string, string, string?][] = [
      [jwtAssertion(account, {}, { privateKey: other }), 'invalid_grant'],
      [jwtAssertion(account, { iss: 'someone@else.iam.gserviceaccount.com' }), 'invalid_grant'],
      [jwtAssertion(account, { aud: 'https://oauth2.googleapis.com/token' }), 'invalid_grant'],
      [jwtAssertion(account, { scope: 'https://www.googleapis.com/auth/userinfo.email' }), 'invalid_scope'],
      [jwtAssertion(account, {}, { header: { kid: 'not-the-key' } }), 'invalid_grant'],
      [jwtAssertion(account, { iat: now - 7200, exp: now - 3600 }), 'invalid_grant'],
      [jwtAssertion(account, { iat: now, exp: now + 7200 }), 'invalid_grant'],
      [jwtAssertion(account, {}, { header: { alg: 'HS256' } }), 'invalid_grant'],
      ['not.a.jwt', 'invalid_grant'],
      [jwtAssertion(account), 'unsupported_grant_type', 'authorization_code'],
    ];
    for (const [assertion, error, grant] of cases) {
      const res = await postTokenRequest(account.token_uri, assertion, grant);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error, error_description: expect.any(String) });
    }
    expect(mock.tokenExchanges).toBe(cases.length);
  });

  it('when tokenStatus is set, then every exchange fails with it until it is cleared', async () => {
    const failing = await startMockUpstream({ tokenStatus: 503 });
    try {
      const account = failing.googleServiceAccount();
      const res = await postTokenRequest(account.token_uri, jwtAssertion(account));
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'internal_failure', error_description: expect.any(String) });
      failing.tokenStatus = null;
      expect((await postTokenRequest(account.token_uri, jwtAssertion(account))).status).toBe(200);
      expect(failing.tokenExchanges).toBe(2);
    } finally {
      await failing.close();
    }
  });
});

describe('Vertex publishers/google (Gemini)', () => {
  it('when a token the mock issued is presented, then generateContent answers in Gemini shape', async () => {
    const res = await postJson(geminiUrl('generateContent'), { contents }, await bearer());
    expect(res.status).toBe(200);
    const exp = expectedCompletion({ contents });
    expect(await res.json()).toMatchObject({
      candidates: [{ content: { role: 'model', parts: [{ text: exp.content }] }, finishReason: 'STOP' }],
      usageMetadata: geminiUsageMetadata(exp),
      modelVersion: 'gemini-2.5-flash',
    });
  });

  it('when streaming with alt=sse, then the SSE chunks spell the answer', async () => {
    const res = await postJson(geminiUrl('streamGenerateContent', '?alt=sse'), { contents }, await bearer());
    const { messages } = await readSse(new Response((await res.text()).replaceAll('\r\n', '\n')));
    const text = messages
      .map(
        (m) =>
          (JSON.parse(m.data) as { candidates: { content: { parts: { text: string }[] } }[] }).candidates[0]
            ?.content.parts[0]?.text,
      )
      .join('');
    expect(text).toBe(expectedCompletion({ contents }).content);
  });

  it('when thinking, a tool, an image and cached tokens come, then the Gemini shapes carry them', async () => {
    const headers = { ...(await bearer()), 'x-mock-cached-tokens': '2' };
    const thinking = {
      contents: [
        {
          role: 'user',
          parts: [{ text: 'see' }, { fileData: { mimeType: 'image/png', fileUri: 'gs://b/x.png' } }],
        },
      ],
      generationConfig: { thinkingConfig: { includeThoughts: true } },
    };
    const json = (await (await postJson(geminiUrl('generateContent'), thinking, headers)).json()) as Record<
      string,
      unknown
    >;
    const exp = expectedCompletion(thinking);
    expect(json).toMatchObject({
      candidates: [
        {
          content: {
            parts: [
              { text: 'Thinking about: see', thought: true, thoughtSignature: exp.reasoning?.signature },
              { text: 'Echo: see [image: url, url]' },
            ],
          },
        },
      ],
      usageMetadata: geminiUsageMetadata(exp, 2),
    });
    const tool = {
      contents: [{ role: 'user', parts: [{ text: 'call tool' }] }],
      tools: [{ functionDeclarations: [{ name: 'noop', parameters: { type: 'object' } }] }],
    };
    const call = (await (await postJson(geminiUrl('generateContent'), tool, headers)).json()) as Record<
      string,
      unknown
    >;
    expect(call).toMatchObject({
      candidates: [{ content: { parts: [{ functionCall: { name: 'noop', args: {} } }] } }],
    });
  });

  it('when the token is missing, unknown or expired, then the answer is a 401 in Google shape', async () => {
    const headers = await bearer();
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer ya29.forged' },
      { 'x-goog-api-key': 'key' },
    ];
    for (const auth of attempts) {
      const res = await postJson(geminiUrl('generateContent'), { contents }, auth);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { code: 401, message: expect.stringContaining('OAuth 2'), status: 'UNAUTHENTICATED' },
      });
    }
    clock += 3600 * 1000;
    expect((await postJson(geminiUrl('generateContent'), { contents }, headers)).status).toBe(401);
  });
});

describe('Vertex publishers/anthropic (Claude)', () => {
  it('when rawPredict gets a Messages body without model, then the answer names the URL model', async () => {
    const res = await postJson(claudeUrl('rawPredict'), claudeBody, await bearer());
    expect(res.status).toBe(200);
    const exp = expectedCompletion(claudeBody);
    const opts = { id: 'x', model: 'claude-sonnet-4-5@20250929', toolId: 'x', cachedTokens: 0 };
    expect(await res.json()).toEqual({
      ...anthropicMessage(exp, opts),
      id: expect.stringMatching(/^msg_mock_/),
    });
  });

  it('when streamRawPredict is called, then the Anthropic SSE sequence answers', async () => {
    const res = await postJson(
      claudeUrl('streamRawPredict'),
      { ...claudeBody, stream: true },
      await bearer(),
    );
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { messages } = await readSse(res);
    expect(messages[0]?.event).toBe('message_start');
    expect(JSON.parse(messages[0]?.data ?? '{}')).toMatchObject({
      message: { model: 'claude-sonnet-4-5@20250929' },
    });
    expect(messages.at(-1)?.event).toBe('message_stop');
  });

  it('when thinking, a tool, an image and cached tokens come, then the Anthropic shapes carry them', async () => {
    const headers = { ...(await bearer()), 'x-mock-cached-tokens': '3' };
    const body = {
      ...claudeBody,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'call tool on this' },
            { type: 'image', source: { type: 'base64', media_type: 'image/gif', data: 'R0lGOD' } },
          ],
        },
      ],
      tools: [
        { name: 'inspect', input_schema: { type: 'object', properties: { what: { type: 'string' } } } },
      ],
    };
    const json = (await (await postJson(claudeUrl('rawPredict'), body, headers)).json()) as Record<
      string,
      unknown
    >;
    const exp = expectedCompletion(body);
    expect(json).toMatchObject({
      content: [
        { type: 'thinking', signature: exp.reasoning?.signature },
        { type: 'tool_use', name: 'inspect', input: { what: 'call tool on this' } },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: exp.promptTokens - 3, cache_read_input_tokens: 3 },
    });
    const { messages } = await readSse(
      await postJson(claudeUrl('streamRawPredict'), { ...body, stream: true }, headers),
    );
    const partials = messages
      .map((m) => JSON.parse(m.data) as { delta?: { type: string; partial_json?: string } })
      .filter((e) => e.delta?.type === 'input_json_delta');
    expect(partials.length).toBeGreaterThanOrEqual(2);
    const image = expectedCompletion({
      ...claudeBody,
      messages: [{ role: 'user', content: body.messages[0]?.content.slice(1) ?? [] }],
    });
    expect(image.content).toBe('Echo:  [image: image/gif, 4]');
  });

  it('when the body has a model, lacks anthropic_version or max_tokens, then a 400 in Anthropic shape answers', async () => {
    const headers = await bearer();
    const bodies = [
      { ...claudeBody, model: 'claude-sonnet-4-5' },
      { ...claudeBody, anthropic_version: 'bedrock-2023-05-31' },
      { anthropic_version: 'vertex-2023-10-16', messages: claudeBody.messages },
    ];
    for (const body of bodies) {
      const res = await postJson(claudeUrl('rawPredict'), body, headers);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.any(String) },
      });
    }
    const unauthenticated = await postJson(claudeUrl('rawPredict'), claudeBody);
    expect(((await unauthenticated.json()) as { error: { status: string } }).error.status).toBe(
      'UNAUTHENTICATED',
    );
  });
});
