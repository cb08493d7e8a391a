import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../canonical/types.js';
import { openaiChatClientCodec, openaiChatUpstreamCodec } from './index.js';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const parse = (body: Record<string, unknown>): CanonicalRequest =>
  openaiChatClientCodec.parseRequest(body, {});

const base = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hi' }] };

/** The InvalidRequestError `fn` throws (failing the test when it throws nothing or something else). */
function rejection(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('OpenAI Chat client request → canonical', () => {
  it.each(['tools', 'vision', 'tool-loop', 'options'])(
    'when the documented %s request is parsed, then it equals its canonical fixture',
    (name) => {
      expect(parse(fixture(`client-request-${name}.json`))).toEqual(
        fixture(`client-request-${name}.canonical.json`),
      );
    },
  );

  it('when the URL context names the model and streaming, then they win over the body', () => {
    const req = openaiChatClientCodec.parseRequest(base, { model: 'from-url', stream: true });
    expect([req.model, req.stream]).toEqual(['from-url', true]);
  });

  it('when reasoning_effort is none, then reasoning is explicitly off', () => {
    expect(parse({ ...base, reasoning_effort: 'none' }).reasoning).toEqual({
      effort: null,
      budgetTokens: null,
      enabled: false,
    });
  });

  it('when an assistant message sends empty content beside tool calls, then only the tool call remains', () => {
    const req = parse({
      model: 'm',
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    });
    expect(req.messages[1]!.content).toEqual([{ type: 'tool_call', id: 'c1', name: 'f', arguments: '{}' }]);
  });

  it('when a tool message answers no earlier call, then its result has no name', () => {
    const req = parse({ model: 'm', messages: [{ role: 'tool', tool_call_id: 'x', content: 'r' }] });
    expect(req.messages[0]!.content[0]).toMatchObject({ type: 'tool_result', toolCallId: 'x', name: null });
  });

  it('when a user message follows tool messages, then it is a turn of its own', () => {
    const req = parse({
      model: 'm',
      messages: [
        { role: 'tool', tool_call_id: 'a', content: '1' },
        { role: 'tool', tool_call_id: 'b', content: '2' },
        { role: 'user', content: 'next' },
      ],
    });
    expect(req.messages.map((m) => m.content.map((p) => p.type))).toEqual([
      ['tool_result', 'tool_result'],
      ['text'],
    ]);
  });
});

describe('OpenAI Chat client request: refusals', () => {
  const tool = { type: 'function', function: { name: 'f', parameters: { type: 'object' } } };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['messages is not an array', { model: 'm', messages: {} }, 'messages'],
    ['messages is empty', { model: 'm', messages: [] }, 'messages'],
    ['the model is missing', { messages: base.messages }, 'model'],
    ['a message is not an object', { model: 'm', messages: ['hi'] }, 'messages[0]'],
    ['a message has no role', { model: 'm', messages: [{ content: 'x' }] }, 'messages[0].role'],
    ['a role is unknown', { model: 'm', messages: [{ role: 'bot', content: 'x' }] }, 'messages[0].role'],
    [
      'the legacy function role is used',
      { model: 'm', messages: [{ role: 'function', name: 'f', content: 'x' }] },
      'messages[0].role',
    ],
    [
      'user content is a number',
      { model: 'm', messages: [{ role: 'user', content: 3 }] },
      'messages[0].content',
    ],
    [
      'user content is an empty array',
      { model: 'm', messages: [{ role: 'user', content: [] }] },
      'messages[0].content',
    ],
    [
      'a content part has an unknown type',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'video' }] }] },
      'messages[0].content[0].type',
    ],
    [
      'a text part has no text',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      'messages[0].content[0].text',
    ],
    [
      'an input_audio part is sent',
      {
        model: 'm',
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] },
        ],
      },
      'messages[0].content[0]',
    ],
    [
      'a file part is sent',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] },
      'messages[0].content[0]',
    ],
    [
      'an image part has no URL',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
      'messages[0].content[0].image_url.url',
    ],
    [
      'an image detail is unknown',
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'max' } }],
          },
        ],
      },
      'messages[0].content[0].image_url.detail',
    ],
    [
      'a data URL is not base64',
      {
        model: 'm',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,raw' } }] },
        ],
      },
      'messages[0].content[0].image_url.url',
    ],
    [
      'a system message carries an image',
      {
        model: 'm',
        messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x' } }] }],
      },
      'messages[0].content[0].type',
    ],
    [
      'an assistant message has neither content nor tool calls',
      { model: 'm', messages: [{ role: 'assistant' }] },
      'messages[0].content',
    ],
    [
      'an assistant message uses the legacy function_call',
      {
        model: 'm',
        messages: [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }],
      },
      'messages[0].function_call',
    ],
    [
      'an assistant message refers to earlier audio',
      { model: 'm', messages: [{ role: 'assistant', content: null, audio: { id: 'audio_1' } }] },
      'messages[0].audio',
    ],
    [
      'a tool call has no id',
      {
        model: 'm',
        messages: [
          { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] },
        ],
      },
      'messages[0].tool_calls[0].id',
    ],
    [
      'a tool call has non-string arguments',
      {
        model: 'm',
        messages: [
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }],
          },
        ],
      },
      'messages[0].tool_calls[0].function.arguments',
    ],
    [
      'a tool call is not a function call',
      {
        model: 'm',
        messages: [
          { role: 'assistant', tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'f', input: '' } }] },
        ],
      },
      'messages[0].tool_calls[0].type',
    ],
    [
      'a tool message has no tool_call_id',
      { model: 'm', messages: [{ role: 'tool', content: 'x' }] },
      'messages[0].tool_call_id',
    ],
    [
      'a tool message carries an image',
      {
        model: 'm',
        messages: [
          {
            role: 'tool',
            tool_call_id: 'c',
            content: [{ type: 'image_url', image_url: { url: 'https://x' } }],
          },
        ],
      },
      'messages[0].content[0].type',
    ],
    ['tools is not an array', { ...base, tools: {} }, 'tools'],
    [
      'a tool is not a function tool',
      { ...base, tools: [{ type: 'custom', custom: { name: 'f' } }] },
      'tools[0].type',
    ],
    ['a tool has no function', { ...base, tools: [{ type: 'function' }] }, 'tools[0].function'],
    [
      'a tool function has no name',
      { ...base, tools: [{ type: 'function', function: {} }] },
      'tools[0].function.name',
    ],
    [
      'a tool function has non-object parameters',
      { ...base, tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] },
      'tools[0].function.parameters',
    ],
    ['tool_choice is unknown', { ...base, tools: [tool], tool_choice: 'any' }, 'tool_choice'],
    [
      'tool_choice names no function',
      { ...base, tools: [tool], tool_choice: { type: 'function' } },
      'tool_choice',
    ],
    ['the legacy functions are sent', { ...base, functions: [{ name: 'f' }] }, 'functions'],
    ['the legacy function_call is sent', { ...base, function_call: 'auto' }, 'function_call'],
    ['logprobs are asked for', { ...base, logprobs: true }, 'logprobs'],
    ['top_logprobs are asked for', { ...base, top_logprobs: 3 }, 'top_logprobs'],
    ['audio output is asked for by modalities', { ...base, modalities: ['text', 'audio'] }, 'modalities'],
    ['audio output parameters are sent', { ...base, audio: { voice: 'alloy', format: 'wav' } }, 'audio'],
    ['a predicted output is sent', { ...base, prediction: { type: 'content', content: 'x' } }, 'prediction'],
    ['web search options are sent', { ...base, web_search_options: {} }, 'web_search_options'],
    ['max_tokens is zero', { ...base, max_tokens: 0 }, 'max_tokens'],
    ['max_completion_tokens is fractional', { ...base, max_completion_tokens: 1.5 }, 'max_completion_tokens'],
    ['temperature is above 2', { ...base, temperature: 2.5 }, 'temperature'],
    ['top_p is a string', { ...base, top_p: '1' }, 'top_p'],
    ['stop is a number', { ...base, stop: 1 }, 'stop'],
    ['n is zero', { ...base, n: 0 }, 'n'],
    ['stream is a string', { ...base, stream: 'yes' }, 'stream'],
    [
      'stream_options.include_usage is a string',
      { ...base, stream: true, stream_options: { include_usage: 'yes' } },
      'stream_options.include_usage',
    ],
    [
      'response_format has an unknown type',
      { ...base, response_format: { type: 'yaml' } },
      'response_format.type',
    ],
    [
      'a json_schema format has no schema object',
      { ...base, response_format: { type: 'json_schema' } },
      'response_format.json_schema',
    ],
    [
      'a json_schema format has no name',
      { ...base, response_format: { type: 'json_schema', json_schema: { schema: {} } } },
      'response_format.json_schema.name',
    ],
    ['reasoning_effort is unknown', { ...base, reasoning_effort: 'extreme' }, 'reasoning_effort'],
    ['parallel_tool_calls is a string', { ...base, parallel_tool_calls: 'true' }, 'parallel_tool_calls'],
    ['user is a number', { ...base, user: 7 }, 'user'],
  ];
  it.each(cases)('when %s, then it is a 400 naming the parameter', (_, body, param) => {
    const err = rejection(() => parse(body));
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });
});

describe('canonical → OpenAI Chat upstream body', () => {
  it('when the tool loop is converted back, then tool results become tool messages and reasoning is dropped', () => {
    const req = parse(fixture('client-request-tool-loop.json'));
    expect(openaiChatUpstreamCodec.buildRequest(req, 'gpt-4.1-2025-04-14')).toEqual(
      fixture('upstream-request-tool-loop.json'),
    );
  });

  it('when a request from another format carries thinking, tool-result images and a budget, then the body follows CONVERSION.md', () => {
    const req = fixture<CanonicalRequest>('canonical-request-mixed.json');
    expect(openaiChatUpstreamCodec.buildRequest(req, 'gpt-4.1')).toEqual(
      fixture('upstream-request-mixed.json'),
    );
  });

  it('when the request asks for a JSON schema and n > 1, then both are sent', () => {
    const req = parse({
      ...base,
      n: 2,
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } },
    });
    expect(openaiChatUpstreamCodec.buildRequest(req, 'up')).toMatchObject({
      n: 2,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 's', schema: { type: 'object' }, strict: false },
      },
    });
  });

  it.each([
    [512, 'minimal'],
    [1024, 'minimal'],
    [4096, 'low'],
    [16384, 'medium'],
    [16385, 'high'],
  ])('when the thinking budget is %i tokens, then reasoning_effort is %s', (budgetTokens, effort) => {
    const req: CanonicalRequest = {
      ...parse(base),
      reasoning: { effort: null, budgetTokens, enabled: true },
    };
    expect(openaiChatUpstreamCodec.buildRequest(req, 'up').reasoning_effort).toBe(effort);
  });

  it('when reasoning is turned off, then no reasoning_effort is sent', () => {
    const req: CanonicalRequest = {
      ...parse(base),
      reasoning: { effort: 'high', budgetTokens: null, enabled: false },
    };
    expect(openaiChatUpstreamCodec.buildRequest(req, 'up')).not.toHaveProperty('reasoning_effort');
  });

  it('when parallel_tool_calls is set without tools, then it is left out (OpenAI refuses it)', () => {
    const req = parse({ ...base, parallel_tool_calls: false });
    expect(openaiChatUpstreamCodec.buildRequest(req, 'up')).not.toHaveProperty('parallel_tool_calls');
  });

  it('when an assistant turn holds only reasoning, then no assistant message is sent', () => {
    const req: CanonicalRequest = {
      ...parse(base),
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a' }] },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'x' }] },
        { role: 'user', content: [{ type: 'text', text: 'b' }] },
      ],
    };
    expect(openaiChatUpstreamCodec.buildRequest(req, 'up').messages).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ]);
  });

  it('when top_k is set, then it is a 400 naming top_k', () => {
    const err = rejection(() => openaiChatUpstreamCodec.buildRequest(parse({ ...base, top_k: 40 }), 'up'));
    expect(err.param).toBe('top_k');
  });
});
