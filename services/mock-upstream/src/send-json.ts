import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Sends `body` as a complete JSON response (no-op when the connection is already gone). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: OutgoingHttpHeaders,
): void {
  if (res.destroyed || res.headersSent) return;
  const payload = JSON.stringify(body);
  const all: OutgoingHttpHeaders = {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  };
  res.writeHead(status, all);
  res.end(payload);
}
