import { crc32 } from 'node:zlib';

/** Test helper: a decoder of AWS event-stream messages that checks both CRCs. */

export interface DecodedEventMessage {
  headers: Record<string, string | number | boolean>;
  payload: Buffer;
}

/** Decodes one message from the start of `bytes`; returns it and its length. Throws on a bad CRC. */
export function decodeEventStreamMessage(bytes: Buffer): { message: DecodedEventMessage; length: number } {
  const total = bytes.readUInt32BE(0);
  const headersLength = bytes.readUInt32BE(4);
  if (crc32(bytes.subarray(0, 8)) !== bytes.readUInt32BE(8)) throw new Error('prelude CRC mismatch');
  if (crc32(bytes.subarray(0, total - 4)) !== bytes.readUInt32BE(total - 4))
    throw new Error('message CRC mismatch');
  const headers: Record<string, string | number | boolean> = {};
  let at = 12;
  const end = 12 + headersLength;
  while (at < end) {
    const nameLength = bytes.readUInt8(at);
    const name = bytes.toString('utf8', at + 1, at + 1 + nameLength);
    at += 1 + nameLength;
    const type = bytes.readUInt8(at);
    at += 1;
    if (type === 0 || type === 1) headers[name] = type === 0;
    else if (type === 2) headers[name] = bytes.readInt8(at++);
    else if (type === 3) {
      headers[name] = bytes.readInt16BE(at);
      at += 2;
    } else if (type === 4) {
      headers[name] = bytes.readInt32BE(at);
      at += 4;
    } else if (type === 6 || type === 7) {
      const length = bytes.readUInt16BE(at);
      headers[name] = bytes.toString(type === 7 ? 'utf8' : 'base64', at + 2, at + 2 + length);
      at += 2 + length;
    } else throw new Error(`unsupported header type ${type}`);
  }
  return { message: { headers, payload: bytes.subarray(end, total - 4) }, length: total };
}

/** Decodes every message of a whole event-stream body (an incomplete tail is returned apart). */
export function decodeEventStream(body: Buffer): { messages: DecodedEventMessage[]; rest: Buffer } {
  const messages: DecodedEventMessage[] = [];
  let at = 0;
  while (body.length - at >= 12 && body.length - at >= body.readUInt32BE(at)) {
    const { message, length } = decodeEventStreamMessage(body.subarray(at));
    messages.push(message);
    at += length;
  }
  return { messages, rest: body.subarray(at) };
}

/** The JSON payloads of decoded messages, with their `:event-type`. */
export function eventPayloads(
  messages: readonly DecodedEventMessage[],
): { type: string; payload: Record<string, unknown> }[] {
  return messages.map((m) => ({
    type: String(m.headers[':event-type']),
    payload: JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>,
  }));
}
