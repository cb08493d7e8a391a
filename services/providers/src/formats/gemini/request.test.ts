import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../canonical/json-fields.js';
import type { CanonicalRequest } from '../../canonical/types.js';
import { geminiClientCodec } from './index.js';

interface RequestFixture {
  model: string;
  geminiRequest: JsonObject;
  canonicalRequest: CanonicalRequest;
}

const fixture = (name: string): RequestFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as RequestFixture;

const FIXTURES = ['text', 'chat', 'image', 'function-calling', 'thinking', 'json-mode'];

const parse = (body: JsonObject, stream = false): CanonicalRequest =>
  geminiClientCodec.parseRequest(body, { model: 'gemini-2.5-flash', stream });

const user = (...parts: JsonObject[]): JsonObject => ({ role: 'user', parts });
const model = (...parts: JsonObject[]): JsonObject => ({ role: 'model', parts });
const hi = user({ text: 'Hi' });

/** The InvalidRequestError `fn` throws, for asserting its parameter. */
function rejection(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('Gemini client request → canonical', () => {
  it.each(FIXTURES)(
    'when the documented %s request arrives, then it parses to the expected canonical request',
    (name) => {
      const f = fixture(name);
      expect(geminiClientCodec.parseRequest(f.geminiRequest, { model: f.model, stream: false })).toEqual(
        f.canonicalRequest,
      );
    },
  );

  it('when the URL is the streaming endpoint, then the request streams and names the URL model', () => {
    const req = geminiClientCodec.parseRequest(
      { contents: [hi] },
      { model: 'gemini-2.0-flash', stream: true },
    );
    expect(req).toMatchObject({ model: 'gemini-2.0-flash', stream: true });
  });

  it('when no model is given by the URL or the body, then it is a 400 naming model', () => {
    expect(rejection(() => geminiClientCodec.parseRequest({ contents: [hi] }, {})).param).toBe('model');
  });

  it('when contents is missing or empty, then it is a 400 naming contents', () => {
    expect(rejection(() => parse({})).param).toBe('contents');
    expect(rejection(() => parse({ contents: [] })).param).toBe('contents');
  });

  it('when a content has an unknown role or no parts, then it is a 400 naming it', () => {
    expect(rejection(() => parse({ contents: [{ role: 'system', parts: [{ text: 'x' }] }] })).param).toBe(
      'contents[0].role',
    );
    expect(rejection(() => parse({ contents: [{ role: 'user', parts: [] }] })).param).toBe(
      'contents[0].parts',
    );
  });

  it('when a fileData part names an image, then it becomes an image URL part', () => {
    const req = parse({
      contents: [user({ fileData: { mimeType: 'image/png', fileUri: 'https://example.com/cat.png' } })],
    });
    expect(req.messages[0]!.content).toEqual([
      { type: 'image', source: { kind: 'url', url: 'https://example.com/cat.png' } },
    ]);
  });

  it('when a fileData or inlineData part is not an image, then it is a 400 naming its mimeType', () => {
    const pdf = { fileData: { mimeType: 'application/pdf', fileUri: 'https://example.com/a.pdf' } };
    expect(rejection(() => parse({ contents: [user(pdf)] })).param).toBe(
      'contents[0].parts[0].fileData.mimeType',
    );
    const audio = { inlineData: { mimeType: 'audio/mp3', data: 'AAAA' } };
    expect(rejection(() => parse({ contents: [user({ text: 'x' }, audio)] })).param).toBe(
      'contents[0].parts[1].inlineData.mimeType',
    );
  });

  it('when a part kind is unsupported (executableCode), then it is a 400 naming the part', () => {
    const code = { executableCode: { language: 'PYTHON', code: 'print(1)' } };
    const err = rejection(() => parse({ contents: [user(code)] }));
    expect(err.param).toBe('contents[0].parts[0]');
    expect(err.message).toContain('executableCode');
  });

  it('when calls and responses carry ids, then the ids are kept', () => {
    const req = parse({
      contents: [
        hi,
        model({ functionCall: { id: 'fc-1', name: 'lookup', args: { q: 'a' } } }),
        user({ functionResponse: { id: 'fc-1', name: 'lookup', response: { result: 'found' } } }),
      ],
    });
    expect(req.messages[1]!.content).toEqual([
      { type: 'tool_call', id: 'fc-1', name: 'lookup', arguments: '{"q":"a"}' },
    ]);
    expect(req.messages[2]!.content).toEqual([
      {
        type: 'tool_result',
        toolCallId: 'fc-1',
        name: 'lookup',
        content: [{ type: 'text', text: 'found' }],
        isError: false,
      },
    ]);
  });

  it('when calls carry no ids, then they get call_<n> by conversation order and responses match by name in order', () => {
    const req = parse({
      contents: [
        hi,
        model(
          { functionCall: { name: 'weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'time', args: {} } },
          { functionCall: { name: 'weather', args: { city: 'Oslo' } } },
        ),
        user(
          { functionResponse: { name: 'weather', response: { result: 'sunny' } } },
          { functionResponse: { name: 'weather', response: { result: 'snow' } } },
          { functionResponse: { name: 'time', response: { result: '12:00' } } },
        ),
        model({ functionCall: { name: 'weather', args: { city: 'Rome' } } }),
        user({ functionResponse: { name: 'weather', response: { result: 'warm' } } }),
      ],
    });
    const ids = (i: number): Array<string | null> =>
      req.messages[i]!.content.map((p) =>
        p.type === 'tool_call' ? p.id : p.type === 'tool_result' ? p.toolCallId : null,
      );
    expect(ids(1)).toEqual(['call_0', 'call_1', 'call_2']);
    expect(ids(2)).toEqual(['call_0', 'call_2', 'call_1']);
    expect(ids(3)).toEqual(['call_3']);
    expect(ids(4)).toEqual(['call_3']);
  });

  it('when a functionResponse answers no earlier call, then it is a 400 naming it', () => {
    const body = { contents: [hi, user({ functionResponse: { name: 'ghost', response: {} } })] };
    expect(rejection(() => parse(body)).param).toBe('contents[1].parts[0].functionResponse');
  });

  it('when a functionResponse holds output, error or several keys, then the result text and error flag follow', () => {
    const req = parse({
      contents: [
        hi,
        model(
          { functionCall: { name: 'a', args: {} } },
          { functionCall: { name: 'b', args: {} } },
          { functionCall: { name: 'c', args: {} } },
        ),
        user(
          { functionResponse: { name: 'a', response: { output: { temp: 21 } } } },
          { functionResponse: { name: 'b', response: { error: 'not found' } } },
          { functionResponse: { name: 'c', response: { temp: 21, unit: 'C' } } },
        ),
      ],
    });
    expect(req.messages[2]!.content).toEqual([
      {
        type: 'tool_result',
        toolCallId: 'call_0',
        name: 'a',
        content: [{ type: 'text', text: '{"temp":21}' }],
        isError: false,
      },
      {
        type: 'tool_result',
        toolCallId: 'call_1',
        name: 'b',
        content: [{ type: 'text', text: 'not found' }],
        isError: true,
      },
      {
        type: 'tool_result',
        toolCallId: 'call_2',
        name: 'c',
        content: [{ type: 'text', text: '{"temp":21,"unit":"C"}' }],
        isError: false,
      },
    ]);
  });

  it('when model turns carry thought parts and signatures, then they become thinking parts in place', () => {
    const req = parse({
      contents: [
        hi,
        model(
          { text: 'Weighing the options.', thought: true },
          { text: ' Picking one.', thought: true, thoughtSignature: 'sig-thought' },
          { functionCall: { name: 'pick', args: {} }, thoughtSignature: 'sig-call' },
        ),
      ],
    });
    expect(req.messages[1]!.content).toEqual([
      { type: 'thinking', text: 'Weighing the options. Picking one.', signature: 'sig-thought' },
      { type: 'thinking', text: '', signature: 'sig-call' },
      { type: 'tool_call', id: 'call_0', name: 'pick', arguments: '{}' },
    ]);
  });

  it.each(['googleSearch', 'codeExecution', 'urlContext'])(
    'when a %s tool is declared, then it is a 400 naming it',
    (tool) => {
      const err = rejection(() => parse({ contents: [hi], tools: [{ [tool]: {} }] }));
      expect(err.param).toBe(`tools[0].${tool}`);
      expect(err.message).toContain(tool);
    },
  );

  it('when a declaration gives parametersJsonSchema or no parameters, then the schema is kept or empty', () => {
    const schema = { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false };
    const req = parse({
      contents: [hi],
      tools: [{ functionDeclarations: [{ name: 'search', parametersJsonSchema: schema }, { name: 'now' }] }],
    });
    expect(req.tools).toEqual([
      { name: 'search', description: null, parameters: schema },
      { name: 'now', description: null, parameters: { type: 'object', properties: {} } },
    ]);
  });

  it('when a declaration uses nullable, anyOf, example and snake_case keywords, then they become JSON Schema', () => {
    const req = parse({
      contents: [hi],
      tools: [
        {
          function_declarations: [
            {
              name: 'f',
              parameters: {
                type: 'OBJECT',
                properties: {
                  tags: { type: 'ARRAY', items: { type: 'STRING' }, max_items: 3, nullable: true },
                  id: { any_of: [{ type: 'STRING' }, { type: 'INTEGER' }], example: 7 },
                },
              },
            },
          ],
        },
      ],
    });
    expect(req.tools[0]!.parameters).toEqual({
      type: 'object',
      properties: {
        tags: { type: ['array', 'null'], items: { type: 'string' }, maxItems: 3 },
        id: { anyOf: [{ type: 'string' }, { type: 'integer' }], examples: [7] },
      },
    });
  });

  it.each([
    [{ mode: 'AUTO' }, { type: 'auto' }],
    [{ mode: 'VALIDATED' }, { type: 'auto' }],
    [{ mode: 'NONE' }, { type: 'none' }],
    [{ mode: 'ANY' }, { type: 'required' }],
    [
      { mode: 'ANY', allowedFunctionNames: ['controlLight'] },
      { type: 'tool', name: 'controlLight' },
    ],
  ])('when functionCallingConfig is %j, then the tool choice is %j', (config, choice) => {
    expect(parse({ contents: [hi], toolConfig: { functionCallingConfig: config } }).toolChoice).toEqual(
      choice,
    );
  });

  it('when ANY names several functions or another mode names any, then it is a 400 naming allowedFunctionNames', () => {
    const several = { mode: 'ANY', allowedFunctionNames: ['a', 'b'] };
    expect(
      rejection(() => parse({ contents: [hi], toolConfig: { functionCallingConfig: several } })).param,
    ).toBe('toolConfig.functionCallingConfig.allowedFunctionNames');
    const auto = { mode: 'AUTO', allowedFunctionNames: ['a'] };
    expect(
      rejection(() => parse({ contents: [hi], toolConfig: { functionCallingConfig: auto } })).param,
    ).toBe('toolConfig.functionCallingConfig.allowedFunctionNames');
    const bad = { mode: 'SOMETIMES' };
    expect(rejection(() => parse({ contents: [hi], toolConfig: { functionCallingConfig: bad } })).param).toBe(
      'toolConfig.functionCallingConfig.mode',
    );
  });

  it('when candidateCount is above 1, then it is kept as n for the relay to refuse', () => {
    expect(parse({ contents: [hi], generationConfig: { candidateCount: 2 } }).n).toBe(2);
  });

  it('when responseMimeType is JSON without a schema or with responseJsonSchema, then the format is json_object or that schema', () => {
    expect(
      parse({ contents: [hi], generationConfig: { responseMimeType: 'application/json' } }).responseFormat,
    ).toEqual({
      type: 'json_object',
    });
    const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
    const config = { responseMimeType: 'application/json', responseJsonSchema: schema };
    expect(parse({ contents: [hi], generationConfig: config }).responseFormat).toEqual({
      type: 'json_schema',
      name: 'response',
      schema,
      strict: false,
    });
  });

  it('when the response format cannot be expressed, then it is a 400 naming the field', () => {
    const cases: Array<[JsonObject, string]> = [
      [{ responseMimeType: 'text/x.enum' }, 'generationConfig.responseMimeType'],
      [{ responseSchema: { type: 'STRING' } }, 'generationConfig.responseMimeType'],
      [{ responseLogprobs: true }, 'generationConfig.responseLogprobs'],
      [{ responseModalities: ['TEXT', 'IMAGE'] }, 'generationConfig.responseModalities'],
      [{ speechConfig: { voiceConfig: {} } }, 'generationConfig.speechConfig'],
    ];
    for (const [config, param] of cases) {
      expect(rejection(() => parse({ contents: [hi], generationConfig: config })).param).toBe(param);
    }
  });

  it.each([
    [{ thinkingBudget: 0 }, { effort: null, budgetTokens: null, enabled: false }],
    [
      { thinkingBudget: -1, includeThoughts: true },
      { effort: null, budgetTokens: null, enabled: true },
    ],
    [{ includeThoughts: true }, { effort: null, budgetTokens: null, enabled: true }],
    [{ thinkingLevel: 'HIGH' }, { effort: 'high', budgetTokens: null, enabled: true }],
    [{ thinking_budget: 4096 }, { effort: null, budgetTokens: 4096, enabled: true }],
    [{ includeThoughts: false }, null],
  ])('when thinkingConfig is %j, then reasoning is %j', (thinkingConfig, reasoning) => {
    expect(parse({ contents: [hi], generationConfig: { thinkingConfig } }).reasoning).toEqual(reasoning);
  });

  it('when thinkingLevel or thinkingBudget is out of range, then it is a 400 naming it', () => {
    const level = { thinkingConfig: { thinkingLevel: 'EXTREME' } };
    expect(rejection(() => parse({ contents: [hi], generationConfig: level })).param).toBe(
      'generationConfig.thinkingConfig.thinkingLevel',
    );
    const budget = { thinkingConfig: { thinkingBudget: -2 } };
    expect(rejection(() => parse({ contents: [hi], generationConfig: budget })).param).toBe(
      'generationConfig.thinkingConfig.thinkingBudget',
    );
  });

  it('when safetySettings are given, then they are ignored; when cachedContent is, then it is a 400', () => {
    const safety = [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }];
    expect(parse({ contents: [hi], safetySettings: safety }).messages).toHaveLength(1);
    expect(rejection(() => parse({ contents: [hi], cachedContent: 'cachedContents/abc' })).param).toBe(
      'cachedContent',
    );
  });
});
