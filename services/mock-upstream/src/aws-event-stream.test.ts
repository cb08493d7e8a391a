import { describe, expect, it } from 'vitest';
import { decodeEventStream, decodeEventStreamMessage } from '../test/aws-event-stream-decoder.js';
import { encodeEventMessage, encodeEventStreamMessage } from './aws-event-stream.js';

/** awslabs/aws-c-event-stream's test messages (tests/channel_handler_test.c): exact encodings. */
const EMPTY_MESSAGE = Buffer.from('000000100000000005c248eb7d98c8ff', 'hex');
const PAYLOAD_ONLY = Buffer.from('0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936', 'hex');
const WITH_CONTENT_TYPE = Buffer.concat([
  Buffer.from('0000003d0000002007fd83960c', 'hex'),
  Buffer.from('content-type'),
  Buffer.from('070010', 'hex'),
  Buffer.from("application/json{'foo':'bar'}"),
  Buffer.from('8d9c08b1', 'hex'),
]);

describe('encodeEventStreamMessage', () => {
  it('when encoding the aws-c-event-stream test messages, then the bytes are the published ones', () => {
    expect(encodeEventStreamMessage({}, '')).toEqual(EMPTY_MESSAGE);
    expect(encodeEventStreamMessage({}, "{'foo':'bar'}")).toEqual(PAYLOAD_ONLY);
    expect(encodeEventStreamMessage({ 'content-type': 'application/json' }, "{'foo':'bar'}")).toEqual(
      WITH_CONTENT_TYPE,
    );
  });

  it('when a Bedrock event is encoded, then decoding returns its headers and JSON payload with valid CRCs', () => {
    const payload = { contentBlockIndex: 0, delta: { text: 'héllo 😀' } };
    const bytes = encodeEventMessage('contentBlockDelta', payload);
    const { message, length } = decodeEventStreamMessage(bytes);
    expect(length).toBe(bytes.length);
    expect(message.headers).toEqual({
      ':event-type': 'contentBlockDelta',
      ':content-type': 'application/json',
      ':message-type': 'event',
    });
    expect(JSON.parse(message.payload.toString('utf8'))).toEqual(payload);
  });

  it('when several messages are concatenated, then they decode one by one and a flipped bit fails a CRC', () => {
    const body = Buffer.concat([encodeEventMessage('a', { n: 1 }), encodeEventMessage('b', { n: 2 })]);
    const { messages, rest } = decodeEventStream(body);
    expect(messages.map((m) => m.headers[':event-type'])).toEqual(['a', 'b']);
    expect(rest).toHaveLength(0);
    const corrupt = Buffer.from(body);
    corrupt[corrupt.length - 10] = (corrupt[corrupt.length - 10] ?? 0) ^ 1;
    expect(() => decodeEventStream(corrupt)).toThrow(/message CRC/);
    const prelude = Buffer.from(EMPTY_MESSAGE);
    prelude[9] = 0xc3;
    expect(() => decodeEventStreamMessage(prelude)).toThrow(/prelude CRC/);
  });

  it('when a header name is longer than 255 bytes, then encoding refuses it', () => {
    expect(() => encodeEventStreamMessage({ ['x'.repeat(256)]: 'v' }, '')).toThrow(/too long/);
  });
});
