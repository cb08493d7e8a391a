import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../canonical/types.js';
import { anthropicClientCodec, anthropicUpstreamCodec } from './index.js';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const parse = (body: Record<string, unknown>) => anthropicClientCodec.parseRequest(body, {});
const build = (req: CanonicalRequest) =>
  anthropicUpstreamCodec.buildRequest(req, 'claude-sonnet-4-5-20250929');
const UPSTREAM_MODEL = 'claude-sonnet-4-5-20250929';

const minimal = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };

function canonical(over: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: 'claude-sonnet-4-5',
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

/** Runs `fn`, expecting an InvalidRequestError; returns it. */
function invalidRequest(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequestError');
}

const CASES = ['basic', 'multi-turn', 'vision', 'tool-use', 'thinking'];

describe('Anthropic client request → canonical (golden)', () => {
  for (const name of CASES) {
    it(`when the ${name} example is parsed, then it equals the expected canonical request`, () => {
      expect(parse(fixture(`${name}.client-request.json`))).toEqual(
        fixture(`${name}.canonical-request.json`),
      );
    });
  }
});

describe('canonical → Anthropic upstream body (golden)', () => {
  for (const name of CASES) {
    it(`when the ${name} canonical request is built, then it equals the expected upstream body`, () => {
      const body = anthropicUpstreamCodec.buildRequest(
        fixture<CanonicalRequest>(`${name}.canonical-request.json`),
        UPSTREAM_MODEL,
      );
      expect(body).toEqual(fixture(`${name}.upstream-request.json`));
    });
  }
});

describe('Anthropic client request: details', () => {
  it('when the model is only in the URL context, then it is taken from there; stream too', () => {
    const { model: _m, ...rest } = minimal;
    const req = anthropicClientCodec.parseRequest(rest, { model: 'claude-haiku-4-5', stream: true });
    expect(req.model).toBe('claude-haiku-4-5');
    expect(req.stream).toBe(true);
  });
  it('when tool_choice is any, tool or none, then it maps to required, tool and none', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    expect(parse({ ...minimal, tools, tool_choice: { type: 'any' } }).toolChoice).toEqual({
      type: 'required',
    });
    const forced = parse({
      ...minimal,
      tools,
      tool_choice: { type: 'tool', name: 'f', disable_parallel_tool_use: false },
    });
    expect(forced.toolChoice).toEqual({ type: 'tool', name: 'f' });
    expect(forced.parallelToolCalls).toBe(true);
    expect(parse({ ...minimal, tools, tool_choice: { type: 'none' } }).toolChoice).toEqual({ type: 'none' });
  });
  it('when thinking is disabled or adaptive, then reasoning says so', () => {
    expect(parse({ ...minimal, thinking: { type: 'disabled' } }).reasoning).toEqual({
      effort: null,
      budgetTokens: null,
      enabled: false,
    });
    expect(parse({ ...minimal, thinking: { type: 'adaptive' } }).reasoning).toEqual({
      effort: null,
      budgetTokens: null,
      enabled: true,
    });
  });
  it('when a custom tool says type custom and a tool result has image blocks, then both are accepted', () => {
    const req = parse({
      ...minimal,
      tools: [{ type: 'custom', name: 'f', input_schema: { type: 'object' } }],
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 't1',
              content: [
                { type: 'text', text: 'chart:' },
                { type: 'image', source: { type: 'url', url: 'https://example.com/c.png' } },
              ],
            },
          ],
        },
      ],
    });
    expect(req.tools).toEqual([{ name: 'f', description: null, parameters: { type: 'object' } }]);
    expect(req.messages[1]!.content[0]).toEqual({
      type: 'tool_result',
      toolCallId: 't1',
      name: 'f',
      content: [
        { type: 'text', text: 'chart:' },
        { type: 'image', source: { kind: 'url', url: 'https://example.com/c.png' } },
      ],
      isError: false,
    });
  });
});

describe('Anthropic client request: 400s', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['max_tokens is missing', { model: 'm', messages: minimal.messages }, 'max_tokens'],
    ['max_tokens is not a positive integer', { ...minimal, max_tokens: 0 }, 'max_tokens'],
    ['model is missing', { max_tokens: 5, messages: minimal.messages }, 'model'],
    ['messages is missing', { model: 'm', max_tokens: 5 }, 'messages'],
    ['messages is empty', { ...minimal, messages: [] }, 'messages'],
    ['a role is system', { ...minimal, messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role'],
    ['content is a number', { ...minimal, messages: [{ role: 'user', content: 3 }] }, 'messages.0.content'],
    ['system is a number', { ...minimal, system: 3 }, 'system'],
    ['a system block is not text', { ...minimal, system: [{ type: 'image' }] }, 'system.0'],
    [
      'an image source is malformed',
      {
        ...minimal,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] },
        ],
      },
      'messages.1.content.0.source',
    ],
    [
      'an image source is missing',
      { ...minimal, messages: [{ role: 'user', content: [{ type: 'image' }] }] },
      'messages.0.content.0.source',
    ],
    [
      'a base64 image has no media_type',
      {
        ...minimal,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'AA' } }] }],
      },
      'messages.0.content.0.source.media_type',
    ],
    [
      'a text block has no text',
      { ...minimal, messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      'messages.0.content.0.text',
    ],
    [
      'a document block is sent',
      {
        ...minimal,
        messages: [
          {
            role: 'user',
            content: [{ type: 'document', source: { type: 'text', data: 'x', media_type: 'text/plain' } }],
          },
        ],
      },
      'messages.0.content.0',
    ],
    [
      'an unknown block type is sent',
      { ...minimal, messages: [{ role: 'user', content: [{ type: 'search_result' }] }] },
      'messages.0.content.0.type',
    ],
    [
      'a tool_use has no input object',
      {
        ...minimal,
        messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: 'x' }] }],
      },
      'messages.0.content.0.input',
    ],
    [
      'a tool_use is in a user turn',
      {
        ...minimal,
        messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }],
      },
      'messages.0.content.0.type',
    ],
    [
      'a tool_result is in an assistant turn',
      { ...minimal, messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 't' }] }] },
      'messages.0.content.0.type',
    ],
    [
      'a tool_result has no tool_use_id',
      { ...minimal, messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] },
      'messages.0.content.0.tool_use_id',
    ],
    [
      'a tool_result holds a document',
      {
        ...minimal,
        messages: [
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document' }] }],
          },
        ],
      },
      'messages.0.content.0.content.0',
    ],
    [
      'is_error is not a boolean',
      {
        ...minimal,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', is_error: 'yes' }] }],
      },
      'messages.0.content.0.is_error',
    ],
    [
      'a thinking block has no thinking text',
      { ...minimal, messages: [{ role: 'assistant', content: [{ type: 'thinking', signature: 's' }] }] },
      'messages.0.content.0.thinking',
    ],
    [
      'a redacted_thinking block has no data',
      { ...minimal, messages: [{ role: 'assistant', content: [{ type: 'redacted_thinking' }] }] },
      'messages.0.content.0.data',
    ],
    [
      'a server tool (web search) is declared',
      { ...minimal, tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
      'tools.0.type',
    ],
    [
      'a server tool (bash) is declared',
      { ...minimal, tools: [{ type: 'bash_20250124', name: 'bash' }] },
      'tools.0.type',
    ],
    ['a tool has no input_schema', { ...minimal, tools: [{ name: 'f' }] }, 'tools.0.input_schema'],
    ['a tool has no name', { ...minimal, tools: [{ input_schema: { type: 'object' } }] }, 'tools.0.name'],
    ['tools is not an array', { ...minimal, tools: {} }, 'tools'],
    [
      'tool_choice has an unknown type',
      { ...minimal, tool_choice: { type: 'required' } },
      'tool_choice.type',
    ],
    ['tool_choice tool has no name', { ...minimal, tool_choice: { type: 'tool' } }, 'tool_choice.name'],
    [
      'disable_parallel_tool_use is not a boolean',
      { ...minimal, tool_choice: { type: 'auto', disable_parallel_tool_use: 1 } },
      'tool_choice.disable_parallel_tool_use',
    ],
    ['stop_sequences holds a number', { ...minimal, stop_sequences: ['a', 1] }, 'stop_sequences'],
    ['temperature is above 1', { ...minimal, temperature: 1.5 }, 'temperature'],
    ['top_p is not a number', { ...minimal, top_p: 'x' }, 'top_p'],
    ['top_k is fractional', { ...minimal, top_k: 2.5 }, 'top_k'],
    ['stream is not a boolean', { ...minimal, stream: 'yes' }, 'stream'],
    ['thinking has an unknown type', { ...minimal, thinking: { type: 'on' } }, 'thinking.type'],
    [
      'thinking enabled has no budget',
      { ...minimal, thinking: { type: 'enabled' } },
      'thinking.budget_tokens',
    ],
    [
      'thinking budget is below 1024',
      { ...minimal, thinking: { type: 'enabled', budget_tokens: 100 } },
      'thinking.budget_tokens',
    ],
    ['metadata.user_id is not a string', { ...minimal, metadata: { user_id: 5 } }, 'metadata.user_id'],
  ];
  for (const [situation, body, param] of cases) {
    it(`when ${situation}, then it is a 400 naming ${param}`, () => {
      const err = invalidRequest(() => parse(body));
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
    });
  }
  it("when max_tokens is missing, then the message reads like Anthropic's own", () => {
    expect(invalidRequest(() => parse({ model: 'm', messages: minimal.messages })).message).toBe(
      'max_tokens: Field required',
    );
  });
  it('when a server tool is declared, then the message names its type', () => {
    const err = invalidRequest(() =>
      parse({ ...minimal, tools: [{ type: 'text_editor_20250429', name: 'e' }] }),
    );
    expect(err.message).toContain('text_editor_20250429');
  });
});

describe('Anthropic upstream body: details', () => {
  it('when no max_tokens is given, then it is 4096, or the thinking budget + 4096 when thinking is on', () => {
    expect(build(canonical()).max_tokens).toBe(4096);
    const thinking = build(canonical({ reasoning: { effort: null, budgetTokens: 2000, enabled: true } }));
    expect(thinking.max_tokens).toBe(6096);
    expect(thinking.thinking).toEqual({ type: 'enabled', budget_tokens: 2000 });
  });
  it('when reasoning comes as an effort, then it maps to the CONVERSION.md budgets', () => {
    const budgets = (['minimal', 'low', 'medium', 'high'] as const).map(
      (effort) => build(canonical({ reasoning: { effort, budgetTokens: null, enabled: true } })).thinking,
    );
    expect(budgets).toEqual([1024, 2048, 8192, 24576].map((b) => ({ type: 'enabled', budget_tokens: b })));
  });
  it('when an effort budget exceeds the given max_tokens, then the budget shrinks to fit', () => {
    const body = build(
      canonical({ maxTokens: 5000, reasoning: { effort: 'high', budgetTokens: null, enabled: true } }),
    );
    expect(body.max_tokens).toBe(5000);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 4999 });
  });
  it('when reasoning is off, then thinking is disabled; when unset, no thinking field is sent', () => {
    expect(
      build(canonical({ reasoning: { effort: null, budgetTokens: null, enabled: false } })).thinking,
    ).toEqual({
      type: 'disabled',
    });
    expect(build(canonical())).not.toHaveProperty('thinking');
  });
  it('when consecutive turns share a role, then they merge and tool results come first in the user turn', () => {
    const body = build(
      canonical({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'q' }] },
          { role: 'assistant', content: [{ type: 'tool_call', id: 'c1', name: 'f', arguments: '{"a":1}' }] },
          { role: 'assistant', content: [{ type: 'tool_call', id: 'c2', name: 'f', arguments: '' }] },
          { role: 'user', content: [{ type: 'text', text: 'also this' }] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                toolCallId: 'c1',
                name: 'f',
                content: [{ type: 'text', text: 'r1' }],
                isError: false,
              },
              { type: 'tool_result', toolCallId: 'c2', name: 'f', content: [], isError: false },
            ],
          },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'q' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'c1', name: 'f', input: { a: 1 } },
          { type: 'tool_use', id: 'c2', name: 'f', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'c1', content: [{ type: 'text', text: 'r1' }] },
          { type: 'tool_result', tool_use_id: 'c2' },
          { type: 'text', text: 'also this' },
        ],
      },
    ]);
  });
  it('when thinking has no signature (another provider), then it is dropped, and an emptied turn disappears', () => {
    const body = build(
      canonical({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a' }] },
          { role: 'assistant', content: [{ type: 'thinking', text: 'hmm', signature: null }] },
          { role: 'user', content: [{ type: 'text', text: 'b' }] },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', text: 'signed', signature: 'sig' },
              { type: 'text', text: '' },
              { type: 'text', text: 'ok' },
            ],
          },
        ],
      }),
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'signed', signature: 'sig' },
          { type: 'text', text: 'ok' },
        ],
      },
    ]);
  });
  it('when tool_choice and parallelToolCalls are set, then they map to any/tool/none and disable_parallel_tool_use', () => {
    const tools = [{ name: 'f', description: null, parameters: {} }];
    const choice = (over: Partial<CanonicalRequest>) => build(canonical({ tools, ...over })).tool_choice;
    expect(choice({ toolChoice: { type: 'required' }, parallelToolCalls: false })).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });
    expect(choice({ toolChoice: { type: 'tool', name: 'f' } })).toEqual({ type: 'tool', name: 'f' });
    expect(choice({ toolChoice: { type: 'none' }, parallelToolCalls: false })).toEqual({ type: 'none' });
    expect(choice({ parallelToolCalls: false })).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(choice({})).toBeUndefined();
    expect(build(canonical({ tools })).tools).toEqual([{ name: 'f', input_schema: { type: 'object' } }]);
  });
  it('when the request streams, names a user and has stop sequences, then stream, metadata and stop_sequences are set', () => {
    const body = build(canonical({ stream: true, user: 'u-1', stop: ['END'] }));
    expect(body).toMatchObject({ stream: true, metadata: { user_id: 'u-1' }, stop_sequences: ['END'] });
  });
  it('when thinking is on and temperature is exactly 1, then it is kept', () => {
    const body = build(
      canonical({ temperature: 1, reasoning: { effort: 'low', budgetTokens: null, enabled: true } }),
    );
    expect(body.temperature).toBe(1);
  });
});

describe('Anthropic upstream body: 400s', () => {
  const thinking = { effort: null, budgetTokens: 2048, enabled: true };
  const cases: Array<[string, Partial<CanonicalRequest>, string]> = [
    ['JSON mode is asked', { responseFormat: { type: 'json_object' } }, 'response_format'],
    [
      'a JSON schema is asked',
      { responseFormat: { type: 'json_schema', name: 'x', schema: {}, strict: true } },
      'response_format',
    ],
    ['n is above 1', { n: 2 }, 'n'],
    [
      'thinking is on with a temperature other than 1',
      { reasoning: thinking, temperature: 0.2 },
      'temperature',
    ],
    ['thinking is on with top_k', { reasoning: thinking, topK: 5 }, 'top_k'],
    ['thinking is on with top_p below 0.95', { reasoning: thinking, topP: 0.5 }, 'top_p'],
    [
      'thinking is on with forced tool use',
      {
        reasoning: thinking,
        tools: [{ name: 'f', description: null, parameters: {} }],
        toolChoice: { type: 'required' },
      },
      'tool_choice',
    ],
    ['an explicit budget is not below max_tokens', { reasoning: thinking, maxTokens: 2048 }, 'max_tokens'],
    [
      'an effort budget cannot fit max_tokens',
      { reasoning: { effort: 'low', budgetTokens: null, enabled: true }, maxTokens: 1000 },
      'max_tokens',
    ],
    ['temperature is above Anthropic’s maximum', { temperature: 1.5 }, 'temperature'],
    [
      'tool-call arguments are not JSON',
      {
        messages: [
          { role: 'assistant', content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '{oops' }] },
        ],
      },
      'messages.0.content.0.arguments',
    ],
    [
      'tool-call arguments are not an object',
      {
        messages: [
          { role: 'assistant', content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '[1]' }] },
        ],
      },
      'messages.0.content.0.arguments',
    ],
  ];
  for (const [situation, over, param] of cases) {
    it(`when ${situation}, then it is a 400 naming ${param}`, () => {
      const err = invalidRequest(() => build(canonical(over)));
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
    });
  }
});
