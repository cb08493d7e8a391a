import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderMatrix, type ProviderMatrix } from './provider-matrix.js';

/**
 * Fuzzed and malformed bodies for every client endpoint, sent through a passthrough and a converting
 * channel: every answer is a 4xx (or a 2xx when the mutation happened to stay valid) in the caller's
 * error shape, never a 5xx, and the gateway keeps serving.
 */
let m: ProviderMatrix;

beforeAll(async () => {
  m = await startProviderMatrix();
});

afterAll(async () => {
  await m?.stop();
});

/** A small seeded PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = [
  '',
  'user',
  'assistant',
  'tool',
  'model',
  'system',
  'text',
  'image_url',
  'tool_use',
  '\u0000',
  '💥',
  'x'.repeat(300),
];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 6 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -1, 1.5, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER][Math.floor(r() * 7)];
    case 3:
    case 4:
      return STRINGS[Math.floor(r() * STRINGS.length)];
    case 5:
      return {};
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const keys = [
        'role',
        'content',
        'type',
        'text',
        'parts',
        'name',
        'id',
        'input',
        'arguments',
        'source',
        'url',
      ];
      for (let i = Math.floor(r() * 4); i > 0; i--)
        o[keys[Math.floor(r() * keys.length)]!] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** Replaces one random path in a deep copy of `body` with a random value (or deletes it). */
function mutate(body: unknown, r: () => number): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  let node: unknown = copy;
  for (let depth = 0; depth < 5; depth++) {
    if (node === null || typeof node !== 'object') break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[Math.floor(r() * keys.length)]!;
    const child = (node as Record<string, unknown>)[k];
    if (r() < 0.4 || child === null || typeof child !== 'object') {
      if (r() < 0.2) delete (node as Record<string, unknown>)[k];
      else (node as Record<string, unknown>)[k] = randomValue(r);
      break;
    }
    node = child;
  }
  return copy;
}

interface Endpoint {
  name: string;
  path: (model: string) => string;
  shape: 'openai' | 'anthropic' | 'gemini';
  valid: (model: string) => Record<string, unknown>;
}

const ENDPOINTS: Endpoint[] = [
  {
    name: 'chat completions',
    path: () => '/v1/chat/completions',
    shape: 'openai',
    valid: (model) => ({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
      max_tokens: 50,
    }),
  },
  {
    name: 'responses',
    path: () => '/v1/responses',
    shape: 'openai',
    valid: (model) => ({
      model,
      instructions: 'Be brief.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }],
      max_output_tokens: 50,
    }),
  },
  {
    name: 'anthropic messages',
    path: () => '/v1/messages',
    shape: 'anthropic',
    valid: (model) => ({
      model,
      max_tokens: 50,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }],
    }),
  },
  {
    name: 'anthropic count_tokens',
    path: () => '/v1/messages/count_tokens',
    shape: 'anthropic',
    valid: (model) => ({ model, messages: [{ role: 'user', content: 'Hi' }] }),
  },
  {
    name: 'gemini generateContent',
    path: (model) => `/v1beta/models/${model}:generateContent`,
    shape: 'gemini',
    valid: () => ({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      generationConfig: { maxOutputTokens: 50 },
    }),
  },
  {
    name: 'gemini streamGenerateContent',
    path: (model) => `/v1beta/models/${model}:streamGenerateContent?alt=sse`,
    shape: 'gemini',
    valid: () => ({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
  },
  {
    name: 'gemini countTokens',
    path: (model) => `/v1beta/models/${model}:countTokens`,
    shape: 'gemini',
    valid: () => ({ contents: [{ role: 'user', parts: [{ text: 'Count me' }] }] }),
  },
  {
    name: 'embeddings',
    path: () => '/v1/embeddings',
    shape: 'openai',
    valid: (model) => ({ model, input: ['a', 'b'] }),
  },
  {
    name: 'completions',
    path: () => '/v1/completions',
    shape: 'openai',
    valid: (model) => ({ model, prompt: 'Say hi', max_tokens: 5 }),
  },
];

function expectShape(shape: Endpoint['shape'], status: number, text: string, context: string): void {
  expect(status, context).toBeLessThan(500);
  if (status < 400) return;
  const body = JSON.parse(text) as Record<string, unknown>;
  if (shape === 'openai') {
    const e = body.error as Record<string, unknown>;
    expect(typeof e.message, context).toBe('string');
    expect(typeof e.type, context).toBe('string');
  } else if (shape === 'anthropic') {
    expect(body.type, context).toBe('error');
    expect(typeof (body.error as Record<string, unknown>).type, context).toBe('string');
  } else {
    const e = body.error as Record<string, unknown>;
    expect(e.code, context).toBe(status);
    expect(typeof e.status, context).toBe('string');
  }
}

async function send(path: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${m.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${m.key.key}`,
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe('fuzzed request bodies', () => {
  const RAW = [
    '',
    'not json',
    '{',
    '[]',
    'null',
    '"a string"',
    '42',
    '{"model": 5}',
    '\u0000\u0001',
    '{"a":'.repeat(50),
  ];

  for (const ep of ENDPOINTS) {
    // One model served by the same format (passthrough) and one reached through a conversion.
    const models =
      ep.shape === 'anthropic'
        ? ['m-anthropic', 'm-openai']
        : ep.shape === 'gemini'
          ? ['m-gemini', 'm-anthropic']
          : ['m-openai', 'm-anthropic'];
    const servingModels = ep.name === 'embeddings' || ep.name === 'completions' ? ['m-openai'] : models;

    it(`when ${ep.name} gets malformed JSON, then it answers 400 in its own error shape`, async () => {
      for (const raw of RAW) {
        const r = await send(ep.path(servingModels[0]!), raw);
        expect(r.status, `${ep.name} ${JSON.stringify(raw)}`).toBeGreaterThanOrEqual(400);
        expectShape(ep.shape, r.status, r.text, `${ep.name} ${JSON.stringify(raw)}`);
      }
    });

    for (const model of servingModels) {
      it(`when ${ep.name} to ${model} gets 150 mutated bodies, then none is answered with a 5xx`, async () => {
        const seed = 1234 + model.length * 7 + ep.name.length;
        const r = prng(seed);
        for (let i = 0; i < 150; i++) {
          const body = mutate(ep.valid(model), r);
          const res = await send(ep.path(model), JSON.stringify(body));
          expectShape(
            ep.shape,
            res.status,
            res.text,
            `${ep.name} seed ${seed} #${i}: ${JSON.stringify(body).slice(0, 400)}`,
          );
        }
        // And the gateway still serves a valid request afterwards.
        const ok = await send(ep.path(model), JSON.stringify(ep.valid(model)));
        // The mock has no legacy completions route: its 404 is relayed as it is.
        expect(ok.status, ok.text).toBe(ep.name === 'completions' ? 404 : 200);
      });
    }
  }
});
