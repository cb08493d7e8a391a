import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../canonical/json-fields.js';
import type { CanonicalMessage, CanonicalReasoning, CanonicalRequest } from '../../canonical/types.js';
import { geminiUpstreamCodec } from './index.js';
import { FOREIGN_CALL_SIGNATURE } from './upstream-request.js';

interface RequestFixture {
  model: string;
  canonicalRequest: CanonicalRequest;
  upstreamRequest: JsonObject;
}

const fixture = (name: string): RequestFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as RequestFixture;

const FIXTURES = ['text', 'chat', 'image', 'function-calling', 'thinking', 'json-mode'];

function request(over: Partial<CanonicalRequest>): CanonicalRequest {
  return {
    model: 'client-model',
    system: null,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    tools: [],
    toolChoice: null,
    parallelToolCalls: null,
    maxTokens: null,
    temperature: null,
    topP: null,
    topK: null,
    stop: [],
    stream: false,
    n: 1,
    responseFormat: null,
    reasoning: null,
    user: null,
    ...over,
  };
}

const build = (over: Partial<CanonicalRequest>, model = 'gemini-2.5-flash'): JsonObject =>
  geminiUpstreamCodec.buildRequest(request(over), model);

function rejection(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('expected an InvalidRequestError');
}

const tool = {
  name: 'lookup',
  description: 'Looks things up.',
  parameters: { type: 'object', properties: {} },
};

/** A user question, the model's call of `lookup`, and the caller's result. */
const loop: CanonicalMessage[] = [
  { role: 'user', content: [{ type: 'text', text: 'Find it.' }] },
  {
    role: 'assistant',
    content: [{ type: 'tool_call', id: 'toolu_1', name: 'lookup', arguments: '{"q":"it"}' }],
  },
  {
    role: 'user',
    content: [
      {
        type: 'tool_result',
        toolCallId: 'toolu_1',
        name: null,
        content: [{ type: 'text', text: 'Here.' }],
        isError: false,
      },
    ],
  },
];

describe('canonical → Gemini upstream request', () => {
  it.each(FIXTURES)(
    'when the %s canonical request is built, then the body is the expected Gemini request',
    (name) => {
      const f = fixture(name);
      expect(geminiUpstreamCodec.buildRequest(f.canonicalRequest, f.model)).toEqual(f.upstreamRequest);
    },
  );

  it('when the request streams, then neither model nor stream is in the body (both go in the URL)', () => {
    const body = build({ stream: true, model: 'gpt-4o' });
    expect(body).not.toHaveProperty('model');
    expect(body).not.toHaveProperty('stream');
  });

  it('when consecutive turns share a role, then they merge into one content', () => {
    const body = build({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'One.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Two.' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Three.' }] },
        { role: 'assistant', content: [{ type: 'tool_call', id: 'c1', name: 'lookup', arguments: '' }] },
      ],
    });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'One.' }, { text: 'Two.' }] },
      { role: 'model', parts: [{ text: 'Three.' }, { functionCall: { name: 'lookup', args: {} } }] },
    ]);
  });

  it('when a tool result answers an earlier call, then it is a functionResponse named after that call, without ids', () => {
    const body = build({ messages: loop, tools: [tool] });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Find it.' }] },
      { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { q: 'it' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { result: 'Here.' } } }] },
    ]);
  });

  it('when a tool result is an error with an image, then the response is {error} and the image follows inline', () => {
    const messages = structuredClone(loop);
    messages[2]!.content = [
      {
        type: 'tool_result',
        toolCallId: 'toolu_1',
        name: null,
        content: [
          { type: 'text', text: 'Failed:' },
          { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'text', text: 'see screenshot' },
        ],
        isError: true,
      },
    ];
    expect((build({ messages }).contents as unknown[])[2]).toEqual({
      role: 'user',
      parts: [
        { functionResponse: { name: 'lookup', response: { error: 'Failed:\nsee screenshot' } } },
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      ],
    });
  });

  it('when a tool result answers no known call and has no name, then it is a 400', () => {
    const messages: CanonicalMessage[] = [
      {
        role: 'user',
        content: [{ type: 'tool_result', toolCallId: 'nope', name: null, content: [], isError: false }],
      },
    ];
    expect(rejection(() => build({ messages })).param).toBe('messages[0]');
  });

  it('when an image is still a URL, then it is a 400 (the relay inlines URLs first)', () => {
    const messages: CanonicalMessage[] = [
      {
        role: 'user',
        content: [{ type: 'image', source: { kind: 'url', url: 'https://example.com/a.png' } }],
      },
    ];
    expect(geminiUpstreamCodec.needsInlineImages).toBe(true);
    expect(rejection(() => build({ messages })).param).toBe('messages[0]');
  });

  it('when tool-call arguments are not a JSON object, then it is a 400', () => {
    const messages: CanonicalMessage[] = [
      { role: 'assistant', content: [{ type: 'tool_call', id: 'c', name: 'lookup', arguments: '{"q":' }] },
    ];
    expect(rejection(() => build({ messages })).param).toBe('messages[0]');
    messages[0]!.content = [{ type: 'tool_call', id: 'c', name: 'lookup', arguments: '[1]' }];
    expect(rejection(() => build({ messages })).param).toBe('messages[0]');
  });

  it('when n is above 1, then it is a 400 naming n', () => {
    expect(rejection(() => build({ n: 2 })).param).toBe('n');
  });

  it.each([
    [{ type: 'auto' }, { mode: 'AUTO' }],
    [{ type: 'none' }, { mode: 'NONE' }],
    [{ type: 'required' }, { mode: 'ANY' }],
    [
      { type: 'tool', name: 'lookup' },
      { mode: 'ANY', allowedFunctionNames: ['lookup'] },
    ],
  ] as const)('when the tool choice is %j, then functionCallingConfig is %j', (toolChoice, config) => {
    const body = build({ tools: [tool], toolChoice });
    expect(body.toolConfig).toEqual({ functionCallingConfig: config });
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          { name: 'lookup', description: 'Looks things up.', parametersJsonSchema: tool.parameters },
        ],
      },
    ]);
  });

  it('when a tool choice comes without tools, then no toolConfig is sent', () => {
    expect(build({ toolChoice: { type: 'required' } })).not.toHaveProperty('toolConfig');
  });

  it.each([
    [
      { effort: 'minimal', budgetTokens: null, enabled: true },
      { thinkingBudget: 1024, includeThoughts: true },
    ],
    [
      { effort: 'low', budgetTokens: null, enabled: true },
      { thinkingBudget: 2048, includeThoughts: true },
    ],
    [
      { effort: 'medium', budgetTokens: null, enabled: true },
      { thinkingBudget: 8192, includeThoughts: true },
    ],
    [
      { effort: 'high', budgetTokens: null, enabled: true },
      { thinkingBudget: 24576, includeThoughts: true },
    ],
    [
      { effort: 'high', budgetTokens: 3000, enabled: true },
      { thinkingBudget: 3000, includeThoughts: true },
    ],
    [
      { effort: null, budgetTokens: null, enabled: true },
      { thinkingBudget: -1, includeThoughts: true },
    ],
    [{ effort: 'high', budgetTokens: null, enabled: false }, { thinkingBudget: 0 }],
  ] as Array<[CanonicalReasoning, JsonObject]>)(
    'when reasoning is %j, then thinkingConfig is %j',
    (reasoning, config) => {
      expect(build({ reasoning }).generationConfig).toEqual({ thinkingConfig: config });
    },
  );

  it('when the response format is json_object, then only responseMimeType is set', () => {
    expect(build({ responseFormat: { type: 'json_object' } }).generationConfig).toEqual({
      responseMimeType: 'application/json',
    });
  });

  it('when earlier thinking has signatures, then it goes back as thought parts or on the next call; unsigned thinking is dropped', () => {
    const messages: CanonicalMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'Go.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', text: 'Unsigned summary.', signature: null },
          { type: 'thinking', text: 'Signed reasoning.', signature: 'sig-1' },
          { type: 'thinking', text: '', signature: 'sig-2' },
          { type: 'tool_call', id: 'c', name: 'lookup', arguments: '{}' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'thinking', text: '', signature: 'dangling' },
        ],
      },
    ];
    expect((build({ messages }).contents as unknown[])[1]).toEqual({
      role: 'model',
      parts: [
        { text: 'Signed reasoning.', thought: true, thoughtSignature: 'sig-1' },
        { functionCall: { name: 'lookup', args: {} }, thoughtSignature: 'sig-2' },
      ],
    });
  });

  it('when a Gemini 3 model gets calls without signatures, then the first call of each model turn carries the documented skip signature', () => {
    const messages: CanonicalMessage[] = [
      ...loop,
      {
        role: 'assistant',
        content: [
          { type: 'thinking', text: '', signature: 'real' },
          { type: 'tool_call', id: 'c2', name: 'lookup', arguments: '{}' },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            toolCallId: 'c2',
            name: null,
            content: [{ type: 'text', text: 'ok' }],
            isError: false,
          },
        ],
      },
    ];
    const calls = (model: string): unknown[] =>
      (
        geminiUpstreamCodec.buildRequest(request({ messages }), model).contents as Array<{
          parts: JsonObject[];
        }>
      )
        .flatMap((c) => c.parts)
        .filter((p) => p.functionCall !== undefined)
        .map((p) => p.thoughtSignature);
    expect(calls('gemini-3-pro-preview')).toEqual([FOREIGN_CALL_SIGNATURE, 'real']);
    expect(calls('gemini-2.5-flash')).toEqual([undefined, 'real']);
  });

  it('when a turn has nothing Gemini can take, then it is left out and its neighbours merge', () => {
    const body = build({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'A' }] },
        { role: 'assistant', content: [{ type: 'thinking', text: 'unsigned', signature: null }] },
        { role: 'user', content: [{ type: 'text', text: 'B' }] },
      ],
    });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'A' }, { text: 'B' }] }]);
  });
});
