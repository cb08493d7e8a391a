import type { ServerResponse } from 'node:http';

/**
 * Writes `data` honouring backpressure: resolves at once when the socket took it, else on 'drain'
 * (or 'close', so a vanished client never leaves the relay waiting).
 */
export function writeWithBackpressure(res: ServerResponse, data: string | Uint8Array): Promise<void> | null {
  if (res.write(data)) return null;
  if (res.destroyed) return null;
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Sends a complete JSON (or pre-serialised) body with the given status. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
