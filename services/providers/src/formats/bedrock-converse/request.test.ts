import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../canonical/json-fields.js';
import type { CanonicalMessage, CanonicalRequest } from '../../canonical/types.js';
import { bedrockConverseUpstreamCodec } from './index.js';

interface RequestFixture {
  canonicalRequest: CanonicalRequest;
  converseRequest: JsonObject;
}

const fixture = (name: string): RequestFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as RequestFixture;

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

const build = (over: Partial<CanonicalRequest>): JsonObject =>
  bedrockConverseUpstreamCodec.buildRequest(request(over), 'amazon.nova-pro-v1:0');

function rejection(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('expected an InvalidRequestError');
}

const tool = { name: 'top_song', description: null, parameters: { type: 'object', properties: {} } };
const png = { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } as const;
const withCall: CanonicalMessage[] = [
  { role: 'user', content: [{ type: 'text', text: 'Top song?' }] },
  { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'top_song', arguments: '{}' }] },
  {
    role: 'user',
    content: [{ type: 'tool_result', toolCallId: 't1', name: null, content: [], isError: false }],
  },
];

describe('canonical → Bedrock Converse request', () => {
  it.each(['text', 'tool-use'])(
    'when the documented %s request is built, then the body is the expected Converse request',
    (name) => {
      const f = fixture(name);
      expect(bedrockConverseUpstreamCodec.buildRequest(f.canonicalRequest, 'amazon.nova-lite-v1:0')).toEqual(
        f.converseRequest,
      );
    },
  );

  it('when the request streams or names a model, then neither goes in the body', () => {
    const body = build({ stream: true, model: 'gpt-4o' });
    expect(Object.keys(body)).toEqual(['messages']);
  });

  it('when turns share a role, then they merge; when a tool result is an error with an image, then it keeps both', () => {
    const body = build({
      stop: ['END'],
      topP: 0.9,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Look:' }] },
        { role: 'user', content: [{ type: 'image', source: png }] },
        { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'shot', arguments: '{"x":1}' }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              toolCallId: 't1',
              name: 'shot',
              content: [
                { type: 'text', text: 'failed' },
                { type: 'image', source: png },
                { type: 'text', text: '' },
              ],
              isError: true,
            },
          ],
        },
      ],
    });
    const image = { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } };
    expect(body).toEqual({
      messages: [
        { role: 'user', content: [{ text: 'Look:' }, image] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'shot', input: { x: 1 } } }] },
        {
          role: 'user',
          content: [
            { toolResult: { toolUseId: 't1', content: [{ text: 'failed' }, image], status: 'error' } },
          ],
        },
      ],
      inferenceConfig: { topP: 0.9, stopSequences: ['END'] },
    });
  });

  it.each([
    ['image/jpeg', 'jpeg'],
    ['image/jpg', 'jpeg'],
    ['image/gif', 'gif'],
    ['image/webp', 'webp'],
  ])('when an image is %s, then its Converse format is %s', (mediaType, format) => {
    const messages: CanonicalMessage[] = [
      { role: 'user', content: [{ type: 'image', source: { kind: 'base64', mediaType, data: 'AA==' } }] },
    ];
    expect(build({ messages }).messages).toEqual([
      { role: 'user', content: [{ image: { format, source: { bytes: 'AA==' } } }] },
    ]);
  });

  it('when an image is a URL or of a type Converse lacks, then it is a 400', () => {
    expect(bedrockConverseUpstreamCodec.needsInlineImages).toBe(true);
    const url: CanonicalMessage[] = [
      {
        role: 'user',
        content: [{ type: 'image', source: { kind: 'url', url: 'https://example.com/a.png' } }],
      },
    ];
    expect(rejection(() => build({ messages: url })).param).toBe('messages[0]');
    const bmp: CanonicalMessage[] = [
      {
        role: 'user',
        content: [{ type: 'image', source: { kind: 'base64', mediaType: 'image/bmp', data: 'Qk0=' } }],
      },
    ];
    expect(rejection(() => build({ messages: bmp })).param).toBe('messages[0]');
  });

  it.each([
    [{ type: 'auto' }, { auto: {} }],
    [{ type: 'required' }, { any: {} }],
    [{ type: 'tool', name: 'top_song' }, { tool: { name: 'top_song' } }],
  ] as const)('when the tool choice is %j, then toolChoice is %j', (toolChoice, expected) => {
    expect(build({ tools: [tool], toolChoice }).toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'top_song', inputSchema: { json: tool.parameters } } }],
      toolChoice: expected,
    });
  });

  it('when the tool choice is none without tool history, then no toolConfig is sent', () => {
    expect(build({ tools: [tool], toolChoice: { type: 'none' } })).not.toHaveProperty('toolConfig');
  });

  it('when the tool choice is none in a conversation with tool results, then it is a 400 naming tool_choice', () => {
    expect(
      rejection(() => build({ tools: [tool], toolChoice: { type: 'none' }, messages: withCall })).param,
    ).toBe('tool_choice');
  });

  it('when a response format asks for JSON, then it is a 400 naming response_format', () => {
    expect(rejection(() => build({ responseFormat: { type: 'json_object' } })).param).toBe('response_format');
    const schema = { type: 'json_schema', name: 'r', schema: {}, strict: true } as const;
    expect(rejection(() => build({ responseFormat: schema })).param).toBe('response_format');
    expect(build({ responseFormat: { type: 'text' } })).not.toHaveProperty('responseFormat');
  });

  it('when n is above 1 or tool arguments are not a JSON object, then it is a 400', () => {
    expect(rejection(() => build({ n: 3 })).param).toBe('n');
    const messages: CanonicalMessage[] = [
      { role: 'assistant', content: [{ type: 'tool_call', id: 't', name: 'f', arguments: 'oops' }] },
    ];
    expect(rejection(() => build({ messages })).param).toBe('messages[0]');
  });

  it('when earlier reasoning is signed, unsigned or redacted, then only signed and redacted reasoning go back', () => {
    const messages: CanonicalMessage[] = [
      {
        role: 'assistant',
        content: [
          { type: 'thinking', text: 'unsigned', signature: null },
          { type: 'thinking', text: 'signed', signature: 'sig' },
          { type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' },
          { type: 'text', text: 'Answer.' },
        ],
      },
    ];
    expect(build({ messages }).messages).toEqual([
      {
        role: 'assistant',
        content: [
          { reasoningContent: { reasoningText: { text: 'signed', signature: 'sig' } } },
          { reasoningContent: { redactedContent: 'ZW5jcnlwdGVk' } },
          { text: 'Answer.' },
        ],
      },
    ]);
  });

  it('when reasoning is requested, then no model-specific reasoning field is sent', () => {
    expect(build({ reasoning: { effort: 'high', budgetTokens: null, enabled: true } })).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
    });
  });
});
