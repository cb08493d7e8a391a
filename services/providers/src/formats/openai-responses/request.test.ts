import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../canonical/types.js';
import { openaiResponsesClientCodec } from './index.js';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const parse = (body: Record<string, unknown>): CanonicalRequest =>
  openaiResponsesClientCodec.parseRequest(body, {});

const base = { model: 'gpt-4.1', input: 'Hi' };

function rejection(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('Responses client request → canonical', () => {
  it.each(['text', 'image', 'tool-loop'])(
    'when the documented %s request is parsed, then it equals its canonical fixture',
    (name) => {
      expect(parse(fixture(`client-request-${name}.json`))).toEqual(
        fixture(`client-request-${name}.canonical.json`),
      );
    },
  );

  it('when items come without type, then role marks them as messages', () => {
    const req = parse({
      model: 'm',
      input: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ],
    });
    expect(req.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'a' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'b' }] },
    ]);
  });

  it('when a function_call_output carries a content array, then its text and images become the tool result', () => {
    const req = parse({
      model: 'm',
      input: [
        { type: 'function_call', call_id: 'c1', name: 'snap', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'snap', arguments: '{}' },
        {
          type: 'function_call_output',
          call_id: 'c1',
          output: [
            { type: 'input_text', text: 'shot' },
            { type: 'input_image', image_url: 'https://example.com/a.png' },
          ],
        },
        { type: 'function_call_output', call_id: 'c2', output: 'second' },
      ],
    });
    expect(req.messages).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'tool_call', id: 'c1', name: 'snap', arguments: '{}' },
          { type: 'tool_call', id: 'c2', name: 'snap', arguments: '{}' },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            toolCallId: 'c1',
            name: 'snap',
            content: [
              { type: 'text', text: 'shot' },
              { type: 'image', source: { kind: 'url', url: 'https://example.com/a.png' } },
            ],
            isError: false,
          },
          {
            type: 'tool_result',
            toolCallId: 'c2',
            name: 'snap',
            content: [{ type: 'text', text: 'second' }],
            isError: false,
          },
        ],
      },
    ]);
  });

  it('when a reasoning item has only encrypted content, then nothing of it is kept', () => {
    const req = parse({
      model: 'm',
      input: [
        { role: 'user', content: 'q' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAA' },
        { role: 'assistant', content: [{ type: 'output_text', text: 'a' }] },
      ],
    });
    expect(req.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'a' }] });
  });

  it('when reasoning effort is none and detail is original, then reasoning is off and detail is high', () => {
    const req = parse({
      model: 'm',
      reasoning: { effort: 'none' },
      input: [
        {
          role: 'user',
          content: [{ type: 'input_image', image_url: 'https://x/y.png', detail: 'original' }],
        },
      ],
    });
    expect(req.reasoning).toEqual({ effort: null, budgetTokens: null, enabled: false });
    expect(req.messages[0]!.content[0]).toMatchObject({ detail: 'high' });
  });

  it('when the URL context names the model, then it wins over the body', () => {
    expect(openaiResponsesClientCodec.parseRequest(base, { model: 'url-model' }).model).toBe('url-model');
  });
});

describe('Responses client request: refusals', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['previous_response_id is given', { ...base, previous_response_id: 'resp_1' }, 'previous_response_id'],
    ['a conversation is given', { ...base, conversation: 'conv_1' }, 'conversation'],
    ['background is asked for', { ...base, background: true }, 'background'],
    ['a stored prompt is referenced', { ...base, prompt: { id: 'pmpt_1' } }, 'prompt'],
    ['top_logprobs are asked for', { ...base, top_logprobs: 2 }, 'top_logprobs'],
    ['the model is missing', { input: 'Hi' }, 'model'],
    ['input is missing', { model: 'm' }, 'input'],
    ['input is an empty array', { model: 'm', input: [] }, 'input'],
    ['an item is not an object', { model: 'm', input: ['x'] }, 'input[0]'],
    ['an item has neither type nor role', { model: 'm', input: [{ content: 'x' }] }, 'input[0].type'],
    [
      'an item type is a built-in tool call',
      { model: 'm', input: [{ type: 'web_search_call', id: 'ws_1' }] },
      'input[0].type',
    ],
    [
      'an item references a stored item',
      { model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] },
      'input[0]',
    ],
    ['a message role is unknown', { model: 'm', input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    [
      'message content is a number',
      { model: 'm', input: [{ role: 'user', content: 1 }] },
      'input[0].content',
    ],
    [
      'a content part type is unknown',
      { model: 'm', input: [{ role: 'user', content: [{ type: 'input_video' }] }] },
      'input[0].content[0].type',
    ],
    [
      'an image is given by file_id',
      {
        model: 'm',
        input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }],
      },
      'input[0].content[0].file_id',
    ],
    [
      'an image has no URL',
      { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', detail: 'auto' }] }] },
      'input[0].content[0].image_url',
    ],
    [
      'an image detail is unknown',
      {
        model: 'm',
        input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x', detail: 'max' }] }],
      },
      'input[0].content[0].detail',
    ],
    [
      'a data URL is not base64',
      {
        model: 'm',
        input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png,raw' }] }],
      },
      'input[0].content[0].image_url',
    ],
    [
      'a file is attached',
      { model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] },
      'input[0].content[0]',
    ],
    [
      'audio is attached',
      {
        model: 'm',
        input: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x' } }] }],
      },
      'input[0].content[0]',
    ],
    [
      'a system message carries an image',
      { model: 'm', input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://x' }] }] },
      'input[0].content[0].type',
    ],
    [
      'a function_call has no call_id',
      { model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] },
      'input[0].call_id',
    ],
    [
      'a function_call has no arguments',
      { model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f' }] },
      'input[0].arguments',
    ],
    [
      'a function_call_output has no output',
      { model: 'm', input: [{ type: 'function_call_output', call_id: 'c' }] },
      'input[0].output',
    ],
    [
      'a reasoning summary has no text',
      { model: 'm', input: [{ type: 'reasoning', summary: [{ type: 'summary_text' }] }] },
      'input[0].summary[0].text',
    ],
    ['instructions is not a string', { ...base, instructions: ['x'] }, 'instructions'],
    ['tools is not an array', { ...base, tools: {} }, 'tools'],
    ['web_search is asked for', { ...base, tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    [
      'file_search is asked for',
      { ...base, tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] },
      'tools[0].type',
    ],
    [
      'code_interpreter is asked for',
      { ...base, tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] },
      'tools[0].type',
    ],
    [
      'computer use is asked for',
      { ...base, tools: [{ type: 'computer_use_preview', display_width: 1024 }] },
      'tools[0].type',
    ],
    [
      'a function tool has no name',
      { ...base, tools: [{ type: 'function', parameters: {} }] },
      'tools[0].name',
    ],
    [
      'a function tool has non-object parameters',
      { ...base, tools: [{ type: 'function', name: 'f', parameters: [] }] },
      'tools[0].parameters',
    ],
    ['tool_choice is a hosted tool', { ...base, tool_choice: { type: 'file_search' } }, 'tool_choice'],
    ['tool_choice is unknown', { ...base, tool_choice: 'any' }, 'tool_choice'],
    ['max_output_tokens is zero', { ...base, max_output_tokens: 0 }, 'max_output_tokens'],
    ['temperature is negative', { ...base, temperature: -1 }, 'temperature'],
    ['top_p is above 1', { ...base, top_p: 1.5 }, 'top_p'],
    ['reasoning effort is unknown', { ...base, reasoning: { effort: 'huge' } }, 'reasoning.effort'],
    ['text.format has an unknown type', { ...base, text: { format: { type: 'xml' } } }, 'text.format.type'],
    [
      'a json_schema format has no name',
      { ...base, text: { format: { type: 'json_schema', schema: {} } } },
      'text.format.name',
    ],
    ['stream is a string', { ...base, stream: 'true' }, 'stream'],
  ];
  it.each(cases)('when %s, then it is a 400 naming the parameter', (_, body, param) => {
    const err = rejection(() => parse(body));
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });

  it('when previous_response_id is given, then the message says the gateway keeps no state', () => {
    expect(rejection(() => parse({ ...base, previous_response_id: 'resp_1' })).message).toContain(
      'the gateway keeps no conversation state; send the full input',
    );
  });

  it('when a built-in tool is asked for, then the message names it', () => {
    expect(rejection(() => parse({ ...base, tools: [{ type: 'web_search' }] })).message).toContain(
      "'web_search'",
    );
  });
});
