import { crc32 } from 'node:zlib';

/**
 * Encoder of AWS event-stream messages (`application/vnd.amazon.eventstream`), the binary framing of
 * Bedrock's streaming answers. A message is:
 *
 *   total length (uint32 BE) | headers length (uint32 BE) | prelude CRC32 (of the 8 bytes before)
 *   headers | payload | message CRC32 (of everything before)
 *
 * and each header `name length (uint8) | name | value type (uint8) | value`. Only string values
 * (type 7: uint16 BE length, UTF-8 bytes) are written, which is all Bedrock sends.
 */

/** Prelude (two lengths) + prelude CRC, and the trailing message CRC. */
const PRELUDE_BYTES = 12;
const MESSAGE_CRC_BYTES = 4;
const STRING_HEADER_TYPE = 7;

function encodeHeaders(headers: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    // Names are length-prefixed by one byte, string values by two.
    if (nameBytes.length > 0xff) throw new Error(`event-stream header name too long: ${name}`);
    if (valueBytes.length > 0xffff) throw new Error(`event-stream header value too long: ${name}`);
    const header = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    let at = header.writeUInt8(nameBytes.length, 0);
    at += nameBytes.copy(header, at);
    at = header.writeUInt8(STRING_HEADER_TYPE, at);
    at = header.writeUInt16BE(valueBytes.length, at);
    valueBytes.copy(header, at);
    parts.push(header);
  }
  return Buffer.concat(parts);
}

/** One event-stream message with string `headers` and `payload`. */
export function encodeEventStreamMessage(
  headers: Readonly<Record<string, string>>,
  payload: Uint8Array | string,
): Buffer {
  const headerBytes = encodeHeaders(headers);
  const payloadBytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const total = PRELUDE_BYTES + headerBytes.length + payloadBytes.length + MESSAGE_CRC_BYTES;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, PRELUDE_BYTES);
  message.set(payloadBytes, PRELUDE_BYTES + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - MESSAGE_CRC_BYTES)), total - MESSAGE_CRC_BYTES);
  return message;
}

/** A Bedrock stream event: `:message-type: event`, `:event-type: <type>`, a JSON payload. */
export function encodeEventMessage(eventType: string, payload: unknown): Buffer {
  return encodeEventStreamMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify(payload),
  );
}
