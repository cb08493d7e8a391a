import { crc32 } from 'node:zlib';
import { UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { EventStreamDecoder } from './eventstream.js';
import { createBedrockUnframer } from './unframer.js';

/** AWS's event-stream codec test vectors (aws-sdk-js-v3 eventstream-marshaller). */
const VECTORS = {
  empty_message: [0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 125, 152, 200, 255],
  int32_header: [
    0, 0, 0, 43, 0, 0, 0, 14, 52, 139, 236, 123, 8, 101, 118, 101, 110, 116, 45, 105, 100, 4, 0, 0, 160, 12,
    123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 211, 137, 2, 133,
  ],
  payload_one_str_header: [
    0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101,
    7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111,
    111, 39, 58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
  ],
  corrupted_headers: [
    0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 43, 116, 121, 112, 101,
    7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111,
    111, 39, 58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
  ],
  corrupted_header_len: [
    0, 0, 0, 61, 0, 0, 1, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101,
    7, 0, 16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111,
    111, 39, 58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
  ],
  corrupted_length: [
    1, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 195,
    101, 57, 54,
  ],
  corrupted_payload: [
    0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 141, 195,
    101, 57, 54,
  ],
};
const bytes = (v: number[]) => Uint8Array.from(v);
const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');

type TestHeader =
  | [string, 'bool', boolean]
  | [string, 'byte' | 'short' | 'int', number]
  | [string, 'long', bigint]
  | [string, 'bytes', Uint8Array]
  | [string, 'string', string]
  | [string, 'timestamp', Date]
  | [string, 'uuid', string];

/** A minimal event-stream encoder, the inverse of the decoder under test. */
function encode(headers: TestHeader[], payload: string | Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (const [name, type, value] of headers) {
    const n = Buffer.from(name, 'utf8');
    parts.push(Buffer.from([n.length]), n);
    switch (type) {
      case 'bool':
        parts.push(Buffer.from([value ? 0 : 1]));
        break;
      case 'byte': {
        const b = Buffer.alloc(2);
        b.writeUInt8(2, 0);
        b.writeInt8(value, 1);
        parts.push(b);
        break;
      }
      case 'short': {
        const b = Buffer.alloc(3);
        b.writeUInt8(3, 0);
        b.writeInt16BE(value, 1);
        parts.push(b);
        break;
      }
      case 'int': {
        const b = Buffer.alloc(5);
        b.writeUInt8(4, 0);
        b.writeInt32BE(value, 1);
        parts.push(b);
        break;
      }
      case 'long': {
        const b = Buffer.alloc(9);
        b.writeUInt8(5, 0);
        b.writeBigInt64BE(value, 1);
        parts.push(b);
        break;
      }
      case 'bytes':
      case 'string': {
        const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
        const b = Buffer.alloc(3);
        b.writeUInt8(type === 'bytes' ? 6 : 7, 0);
        b.writeUInt16BE(v.length, 1);
        parts.push(b, v);
        break;
      }
      case 'timestamp': {
        const b = Buffer.alloc(9);
        b.writeUInt8(8, 0);
        b.writeBigInt64BE(BigInt(value.getTime()), 1);
        parts.push(b);
        break;
      }
      case 'uuid':
        parts.push(Buffer.from([9]), Buffer.from(value.replace(/-/g, ''), 'hex'));
        break;
    }
  }
  const headerBytes = Buffer.concat(parts);
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const total = 12 + headerBytes.length + body.length + 4;
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headerBytes.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const withoutCrc = Buffer.concat([prelude, headerBytes, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(withoutCrc), 0);
  return Buffer.concat([withoutCrc, crc]);
}

function expectCorrupt(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UpstreamError);
  expect((caught as UpstreamError).code).toBe('upstream_bad_stream');
}

describe('event-stream decoder on the AWS test vectors', () => {
  it('when the vector is an empty message, then it decodes to no headers and no payload', () => {
    const [m] = new EventStreamDecoder().push(bytes(VECTORS.empty_message));
    expect(m?.headers).toEqual({});
    expect(m?.payload.length).toBe(0);
  });

  it('when the vector has an int32 header, then its value is read as a signed 32-bit integer', () => {
    const [m] = new EventStreamDecoder().push(bytes(VECTORS.int32_header));
    expect(m?.headers).toEqual({ 'event-id': 0x0000a00c });
    expect(utf8(m!.payload)).toBe("{'foo':'bar'}");
  });

  it('when the vector has one string header, then the header and the payload are decoded', () => {
    const [m] = new EventStreamDecoder().push(bytes(VECTORS.payload_one_str_header));
    expect(m?.headers).toEqual({ 'content-type': 'application/json' });
    expect(utf8(m!.payload)).toBe("{'foo':'bar'}");
  });

  it.each(['corrupted_headers', 'corrupted_header_len', 'corrupted_length', 'corrupted_payload'] as const)(
    'when the vector is %s, then decoding fails with a corrupt-stream error',
    (name) => {
      expectCorrupt(() => new EventStreamDecoder().push(bytes(VECTORS[name])));
    },
  );
});

describe('event-stream decoder', () => {
  const event = (type: string, payload: string) =>
    encode(
      [
        [':event-type', 'string', type],
        [':content-type', 'string', 'application/json'],
        [':message-type', 'string', 'event'],
      ],
      payload,
    );

  it('when every header type appears, then each is decoded to its value', () => {
    const when = new Date('2025-01-15T10:30:00.123Z');
    const [m] = new EventStreamDecoder().push(
      encode(
        [
          ['t', 'bool', true],
          ['f', 'bool', false],
          ['b', 'byte', -7],
          ['s', 'short', -300],
          ['i', 'int', 2_000_000_000],
          ['l', 'long', -(2n ** 40n)],
          ['bin', 'bytes', Uint8Array.from([0, 255, 1])],
          ['str', 'string', 'héllo'],
          ['ts', 'timestamp', when],
          ['id', 'uuid', '0123abcd-4567-89ef-0123-456789abcdef'],
        ],
        'p',
      ),
    );
    expect(m?.headers).toEqual({
      t: true,
      f: false,
      b: -7,
      s: -300,
      i: 2_000_000_000,
      l: -(2n ** 40n),
      bin: Uint8Array.from([0, 255, 1]),
      str: 'héllo',
      ts: when,
      id: '0123abcd-4567-89ef-0123-456789abcdef',
    });
  });

  it('when several messages arrive in one chunk, then all are returned in order', () => {
    const d = new EventStreamDecoder();
    const out = d.push(Buffer.concat([event('a', '{"n":1}'), event('b', '{"n":2}'), event('c', '{"n":3}')]));
    expect(out.map((m) => [m.headers[':event-type'], utf8(m.payload)])).toEqual([
      ['a', '{"n":1}'],
      ['b', '{"n":2}'],
      ['c', '{"n":3}'],
    ]);
    expect(() => d.end()).not.toThrow();
  });

  it('when the stream is fed one byte at a time, then each message appears once it is complete', () => {
    const stream = Buffer.concat([event('first', '{"x":"é"}'), event('second', '{}')]);
    const d = new EventStreamDecoder();
    const seen: Array<[number, string]> = [];
    for (let i = 0; i < stream.length; i++) {
      for (const m of d.push(stream.subarray(i, i + 1))) seen.push([i, String(m.headers[':event-type'])]);
    }
    const firstLength = event('first', '{"x":"é"}').length;
    expect(seen).toEqual([
      [firstLength - 1, 'first'],
      [stream.length - 1, 'second'],
    ]);
  });

  it('when chunks split the stream at every possible pair of points, then the same messages come out', () => {
    const stream = Buffer.concat([event('a', '{"k":"v"}'), event('b', '[1,2,3]')]);
    for (let i = 1; i < stream.length; i += 3) {
      for (let j = i; j < stream.length; j += 5) {
        const d = new EventStreamDecoder();
        const out = [
          ...d.push(stream.subarray(0, i)),
          ...d.push(stream.subarray(i, j)),
          ...d.push(stream.subarray(j)),
        ];
        expect(out.map((m) => utf8(m.payload))).toEqual(['{"k":"v"}', '[1,2,3]']);
      }
    }
  });

  it('when a payload byte is flipped, then the message CRC check fails', () => {
    const m = event('a', '{"k":"v"}');
    m[m.length - 6]! ^= 0xff;
    expectCorrupt(() => new EventStreamDecoder().push(m));
  });

  it('when the prelude is damaged, then the prelude CRC check fails before waiting for the body', () => {
    const m = event('a', '{"k":"v"}');
    m[5]! ^= 0x01;
    expectCorrupt(() => new EventStreamDecoder().push(m.subarray(0, 12)));
  });

  it('when the body ends inside a message, then end() reports a cut stream', () => {
    const d = new EventStreamDecoder();
    expect(d.push(event('a', '{}').subarray(0, 20))).toEqual([]);
    let caught: unknown;
    try {
      d.end();
    } catch (err) {
      caught = err;
    }
    expect((caught as UpstreamError).code).toBe('upstream_stream_cut');
  });
});

describe('Bedrock unframer', () => {
  const message = (type: string, payload: string) =>
    encode(
      [
        [':event-type', 'string', type],
        [':content-type', 'string', 'application/json'],
        [':message-type', 'string', 'event'],
      ],
      payload,
    );
  const exception = (type: string, payload: string) =>
    encode(
      [
        [':exception-type', 'string', type],
        [':content-type', 'string', 'application/json'],
        [':message-type', 'string', 'exception'],
      ],
      payload,
    );
  /** InvokeModelWithResponseStream wraps each Anthropic event as {"bytes": base64} (plus a padding field "p"). */
  const chunk = (event: unknown) =>
    message(
      'chunk',
      JSON.stringify({ bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abcd' }),
    );

  it('when Converse stream events arrive, then each becomes its :event-type and JSON payload', () => {
    const u = createBedrockUnframer('bedrock-converse');
    const stream = Buffer.concat([
      message('messageStart', '{"role":"assistant"}'),
      message('contentBlockDelta', '{"contentBlockIndex":0,"delta":{"text":"Hello"}}'),
      message('messageStop', '{"stopReason":"end_turn"}'),
      message(
        'metadata',
        '{"usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15},"metrics":{"latencyMs":300}}',
      ),
    ]);
    const out = [...u.push(stream.subarray(0, 50)), ...u.push(stream.subarray(50)), ...u.end()];
    expect(out).toEqual([
      { event: 'messageStart', data: '{"role":"assistant"}' },
      { event: 'contentBlockDelta', data: '{"contentBlockIndex":0,"delta":{"text":"Hello"}}' },
      { event: 'messageStop', data: '{"stopReason":"end_turn"}' },
      {
        event: 'metadata',
        data: '{"usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15},"metrics":{"latencyMs":300}}',
      },
    ]);
  });

  it('when a Converse stream carries an exception, then it is framed under its :exception-type', () => {
    const u = createBedrockUnframer('bedrock-converse');
    expect(u.push(exception('throttlingException', '{"message":"Too many requests"}'))).toEqual([
      { event: 'throttlingException', data: '{"message":"Too many requests"}' },
    ]);
  });

  it('when InvokeModel chunks arrive, then each decoded Anthropic event is framed under its type', () => {
    const start = {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude',
        usage: { input_tokens: 9, output_tokens: 1 },
      },
    };
    const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Héllo' } };
    const u = createBedrockUnframer('anthropic-messages');
    const stream = Buffer.concat([chunk(start), chunk(delta)]);
    const out = [...u.push(stream.subarray(0, 7)), ...u.push(stream.subarray(7))];
    expect(out).toEqual([
      { event: 'message_start', data: JSON.stringify(start) },
      { event: 'content_block_delta', data: JSON.stringify(delta) },
    ]);
  });

  it('when an Anthropic-model stream is throttled, then the exception becomes an overloaded_error event', () => {
    const u = createBedrockUnframer('anthropic-messages');
    const [e] = u.push(exception('throttlingException', '{"message":"Too many tokens, please wait."}'));
    expect(e?.event).toBe('error');
    expect(JSON.parse(e!.data)).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Too many tokens, please wait.' },
    });
  });

  it('when an Anthropic-model stream fails otherwise, then the exception becomes an api_error event', () => {
    const u = createBedrockUnframer('anthropic-messages');
    const [e] = u.push(exception('modelStreamErrorException', '{"message":"boom","originalStatusCode":500}'));
    expect(JSON.parse(e!.data)).toEqual({ type: 'error', error: { type: 'api_error', message: 'boom' } });
  });

  it('when an Anthropic-model stream has a chunk without bytes, then it is a corrupt-stream error', () => {
    const u = createBedrockUnframer('anthropic-messages');
    expectCorrupt(() => u.push(message('chunk', '{"p":"x"}')));
  });

  it('when a protocol-level error message arrives, then it is framed as an exception keeping its code', () => {
    const err = encode(
      [
        [':message-type', 'string', 'error'],
        [':error-code', 'string', 'InternalFailure'],
        [':error-message', 'string', 'An internal error occurred'],
      ],
      '',
    );
    expect(createBedrockUnframer('bedrock-converse').push(err)).toEqual([
      { event: 'internalServerException', data: '{"message":"InternalFailure: An internal error occurred"}' },
    ]);
    const [e] = createBedrockUnframer('anthropic-messages').push(err);
    expect(JSON.parse(e!.data)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'InternalFailure: An internal error occurred' },
    });
  });

  it('when the format is not one Bedrock streams, then no unframer is made', () => {
    expect(() => createBedrockUnframer('openai-chat')).toThrow(/does not take 'openai-chat'/);
  });
});
