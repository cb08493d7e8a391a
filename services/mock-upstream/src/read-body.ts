import type { IncomingMessage } from 'node:http';

/** Reads the whole request body; rejects when the client goes away first. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      done = true;
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks));
    });
    req.once('error', (err) => {
      done = true;
      reject(err);
    });
    req.once('close', () => {
      if (!done) reject(new Error('request closed before its body was complete'));
    });
  });
}
