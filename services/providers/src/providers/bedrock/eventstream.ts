import { crc32 } from 'node:zlib';
import { UpstreamError } from '@switchyard/core';

/** A header value of an AWS event-stream message, by its wire type. */
export type EventStreamHeaderValue =
  /** Types 0 (true) and 1 (false). */
  | boolean
  /** Types 2 (byte), 3 (short), 4 (integer). */
  | number
  /** Type 5 (long). */
  | bigint
  /** Type 6 (byte array). */
  | Uint8Array
  /** Type 7 (string) and type 9 (UUID, as 8-4-4-4-12 hex). */
  | string
  /** Type 8 (timestamp, epoch milliseconds). */
  | Date;

/** One decoded `application/vnd.amazon.eventstream` message. */
export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>;
  payload: Uint8Array;
}

/** Prelude: total length (4), headers length (4), prelude CRC (4). */
const PRELUDE_BYTES = 12;
const MESSAGE_CRC_BYTES = 4;
/** Why 16 MiB: AWS's limit for one event-stream message; anything larger is a corrupt length. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Incremental decoder of AWS's binary event stream (as Bedrock streams answers): feed it chunks split
 * anywhere, get back the messages they complete. Both CRC32s (prelude and message) are verified; a
 * mismatch or an impossible length throws an UpstreamError.
 */
export class EventStreamDecoder {
  #chunks: Buffer[] = [];
  #length = 0;

  push(chunk: Uint8Array): EventStreamMessage[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#length += chunk.byteLength;
    }
    const out: EventStreamMessage[] = [];
    while (this.#length >= PRELUDE_BYTES) {
      const prelude = this.#peek(PRELUDE_BYTES);
      const total = prelude.readUInt32BE(0);
      const headersLength = prelude.readUInt32BE(4);
      if (crc32(prelude.subarray(0, 8)) !== prelude.readUInt32BE(8)) throw corrupt('prelude CRC mismatch');
      if (total < PRELUDE_BYTES + MESSAGE_CRC_BYTES || total > MAX_MESSAGE_BYTES) {
        throw corrupt(`impossible message length ${total}`);
      }
      if (headersLength > total - PRELUDE_BYTES - MESSAGE_CRC_BYTES) {
        throw corrupt(`headers length ${headersLength} exceeds the message`);
      }
      if (this.#length < total) break;
      out.push(decodeMessage(this.#take(total), headersLength));
    }
    return out;
  }

  /** The body ended: throws when it stopped in the middle of a message. */
  end(): void {
    if (this.#length > 0) {
      const left = this.#length;
      this.#chunks = [];
      this.#length = 0;
      throw new UpstreamError(`The Bedrock event stream ended inside a message (${left} bytes left).`, {
        retryable: false,
        code: 'upstream_stream_cut',
      });
    }
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
    const msg = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return msg;
  }
}

function decodeMessage(msg: Buffer, headersLength: number): EventStreamMessage {
  const crcAt = msg.length - MESSAGE_CRC_BYTES;
  if (crc32(msg.subarray(0, crcAt)) !== msg.readUInt32BE(crcAt)) throw corrupt('message CRC mismatch');
  return {
    headers: decodeHeaders(msg.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headersLength)),
    payload: msg.subarray(PRELUDE_BYTES + headersLength, crcAt),
  };
}

function decodeHeaders(buf: Buffer): Record<string, EventStreamHeaderValue> {
  const headers: Record<string, EventStreamHeaderValue> = {};
  let at = 0;
  const need = (n: number): void => {
    if (at + n > buf.length) throw corrupt('truncated header');
  };
  while (at < buf.length) {
    need(1);
    const nameLength = buf.readUInt8(at);
    at += 1;
    need(nameLength + 1);
    const name = buf.toString('utf8', at, at + nameLength);
    at += nameLength;
    const type = buf.readUInt8(at);
    at += 1;
    let value: EventStreamHeaderValue;
    switch (type) {
      case 0:
        value = true;
        break;
      case 1:
        value = false;
        break;
      case 2:
        need(1);
        value = buf.readInt8(at);
        at += 1;
        break;
      case 3:
        need(2);
        value = buf.readInt16BE(at);
        at += 2;
        break;
      case 4:
        need(4);
        value = buf.readInt32BE(at);
        at += 4;
        break;
      case 5:
        need(8);
        value = buf.readBigInt64BE(at);
        at += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const len = buf.readUInt16BE(at);
        at += 2;
        need(len);
        value = type === 6 ? new Uint8Array(buf.subarray(at, at + len)) : buf.toString('utf8', at, at + len);
        at += len;
        break;
      }
      case 8:
        need(8);
        value = new Date(Number(buf.readBigInt64BE(at)));
        at += 8;
        break;
      case 9: {
        need(16);
        const hex = buf.toString('hex', at, at + 16);
        value = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
        at += 16;
        break;
      }
      default:
        throw corrupt(`unknown header value type ${type}`);
    }
    headers[name] = value;
  }
  return headers;
}

function corrupt(what: string): UpstreamError {
  return new UpstreamError(`The Bedrock event stream is corrupt (${what}).`, {
    retryable: true,
    code: 'upstream_bad_stream',
  });
}
