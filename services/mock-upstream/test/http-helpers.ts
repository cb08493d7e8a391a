/** Test helpers: small HTTP and SSE utilities over global fetch. */

export interface SseMessage {
  /** The `event:` name, if any. */
  event: string | undefined;
  /** The raw `data:` payload. */
  data: string;
}

export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/** Parses complete SSE events out of `text` (a trailing incomplete event is ignored). */
export function parseSse(text: string): SseMessage[] {
  const messages: SseMessage[] = [];
  const blocks = text.split('\n\n');
  blocks.pop();
  for (const block of blocks) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    messages.push({ event, data: data.join('\n') });
  }
  return messages;
}

/** Reads a response body to its end or to a transport error, which is returned rather than thrown. */
export async function readBodyText(res: Response): Promise<{ text: string; error: unknown }> {
  if (!res.body) return { text: '', error: undefined };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

/** Reads an SSE response to its end (or transport error). */
export async function readSse(res: Response): Promise<{ messages: SseMessage[]; error: unknown }> {
  const { text, error } = await readBodyText(res);
  return { messages: parseSse(text), error };
}

/** The JSON payloads of OpenAI-style `data:` events, without the `[DONE]` sentinel. */
export function jsonPayloads(messages: readonly SseMessage[]): Record<string, unknown>[] {
  return messages
    .filter((m) => m.data !== '[DONE]')
    .map((m) => JSON.parse(m.data) as Record<string, unknown>);
}

/** Reads a response body's bytes to its end or to a transport error, which is returned rather than thrown. */
export async function readBodyBytes(res: Response): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Uint8Array[] = [];
  if (!res.body) return { bytes: Buffer.alloc(0), error: undefined };
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(parts), error };
  }
  return { bytes: Buffer.concat(parts), error: undefined };
}
