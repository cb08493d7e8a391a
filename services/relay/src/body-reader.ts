import type { IncomingMessage } from 'node:http';
import { InvalidRequestError, PayloadTooLargeError } from '@switchyard/core';

/** Reads the request body into one Buffer, refusing anything over `limit` bytes with a 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    const abandoned = (err?: unknown): void => {
      if (failed || req.complete) return;
      failed = true;
      reject(
        new InvalidRequestError('The request body ended early.', { code: 'incomplete_body', cause: err }),
      );
    };
    req.on('error', abandoned);
    // A client that disconnects mid-upload never sends 'end'; without this the handler would wait forever.
    req.on('close', () => abandoned());
  });
}

/** Parses a JSON object body; anything else is a 400 in the caller's format. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw new InvalidRequestError('The request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new InvalidRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_json' });
  }
  return value as Record<string, unknown>;
}
