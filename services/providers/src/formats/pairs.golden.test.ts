import { readFileSync } from 'node:fs';
import { GatewayError } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FramedEvent } from '../canonical/codec.js';
import type { CanonicalStreamEvent } from '../canonical/types.js';
import { SseParser } from '../sse/sse-parser.js';
import { CLIENT_CODECS, UPSTREAM_CODECS, type ClientFormat, type UpstreamFormat } from './registry.js';

/**
 * Golden fixtures for every client format × upstream format pair, in pair-fixtures/: the client's
 * documented tool-loop request as each upstream receives it, each upstream's documented tool-call
 * answer and stream as each client receives them. Inputs are the per-format fixtures (built from
 * the providers' documented examples) beside each converter. A pair the target cannot express is
 * recorded as the 400 it answers. Providers that share a format (Azure and the presets speak
 * openai-chat; Bedrock InvokeModel and Vertex rawPredict carry anthropic-messages; Vertex Gemini
 * speaks gemini) differ only in URL, auth and envelope, which their own tests cover.
 */
const read = (path: string): unknown => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
const text = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');

const gemini = read('./gemini/fixtures/function-calling.json') as {
  model: string;
  geminiRequest: Record<string, unknown>;
  geminiResponse: unknown;
};
const converse = read('./bedrock-converse/fixtures/tool-use.json') as { converseResponse: unknown };
const converseStream = read('./bedrock-converse/fixtures/stream-tool-use.json') as { events: FramedEvent[] };

const CLIENT_REQUESTS: Record<ClientFormat, { body: Record<string, unknown>; model?: string }> = {
  'openai-chat': {
    body: read('./openai-chat/fixtures/client-request-tool-loop.json') as Record<string, unknown>,
  },
  'openai-responses': {
    body: read('./openai-responses/fixtures/client-request-tool-loop.json') as Record<string, unknown>,
  },
  'anthropic-messages': {
    body: read('./anthropic-messages/fixtures/tool-use.client-request.json') as Record<string, unknown>,
  },
  gemini: { body: gemini.geminiRequest, model: gemini.model },
};

const UPSTREAM_RESPONSES: Record<UpstreamFormat, unknown> = {
  'openai-chat': read('./openai-chat/fixtures/upstream-response-tool-call.json'),
  'anthropic-messages': read('./anthropic-messages/fixtures/tool-use.upstream-response.json'),
  gemini: gemini.geminiResponse,
  'bedrock-converse': converse.converseResponse,
};

function sseFrames(path: string): FramedEvent[] {
  const p = new SseParser();
  const raw = text(path);
  return [...p.push(Buffer.from(raw)), ...p.end()]
    .filter((e) => e.data !== null)
    .map((e) => ({ event: e.event, data: e.data! }));
}

const UPSTREAM_STREAMS: Record<UpstreamFormat, FramedEvent[]> = {
  'openai-chat': sseFrames('./openai-chat/fixtures/upstream-stream-tool-call.sse'),
  'anthropic-messages': sseFrames('./anthropic-messages/fixtures/tool-use.upstream-stream.sse'),
  gemini: sseFrames('./gemini/fixtures/stream-function-call.sse.txt'),
  'bedrock-converse': converseStream.events,
};

const CLIENTS = Object.keys(CLIENT_CODECS) as ClientFormat[];
const UPSTREAMS = Object.keys(UPSTREAM_CODECS) as UpstreamFormat[];

function refusal(err: unknown): unknown {
  if (!(err instanceof GatewayError)) throw err;
  return { refused: { status: err.status, code: err.code, param: err.param, message: err.message } };
}

const golden = (name: string): string => `./pair-fixtures/${name}`;

/** Generated ids (random UUIDs and hex) stand as placeholders, so the goldens are stable. */
function stable(s: string): string {
  return s
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/[0-9a-f]{32,}/g, '<hex>');
}

beforeAll(() => {
  // Answers stamp `created` from the clock where the upstream gave none.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-12-01T00:00:00Z'));
});

afterAll(() => {
  vi.useRealTimers();
});

describe.each(CLIENTS)('client %s', (client) => {
  describe.each(UPSTREAMS)('upstream %s', (upstream) => {
    const pair = `${client}__${upstream}`;

    it('when the documented tool-loop request is converted, then the upstream body is the golden one', async () => {
      const { body, model } = CLIENT_REQUESTS[client];
      let out: unknown;
      try {
        const canonical = CLIENT_CODECS[client].parseRequest(
          structuredClone(body),
          model === undefined ? {} : { model },
        );
        out = UPSTREAM_CODECS[upstream].buildRequest(canonical, 'upstream-model');
      } catch (err) {
        out = refusal(err);
      }
      await expect(stable(`${JSON.stringify(out, null, 2)}\n`)).toMatchFileSnapshot(
        golden(`${pair}.request.json`),
      );
    });

    it('when the documented tool-call answer is converted, then the client body is the golden one', async () => {
      const canonical = UPSTREAM_CODECS[upstream].parseResponse(
        structuredClone(UPSTREAM_RESPONSES[upstream]),
      );
      const out = CLIENT_CODECS[client].renderResponse(canonical, {
        model: 'client-model',
        includeUsage: true,
        sse: true,
      });
      await expect(stable(`${JSON.stringify(out, null, 2)}\n`)).toMatchFileSnapshot(
        golden(`${pair}.response.json`),
      );
    });

    it('when the documented tool-call stream is converted, then the client stream is the golden one', async () => {
      const decoder = UPSTREAM_CODECS[upstream].createStreamDecoder();
      const encoder = CLIENT_CODECS[client].createStreamEncoder({
        model: 'client-model',
        includeUsage: true,
        sse: true,
      });
      const events: CanonicalStreamEvent[] = [];
      for (const frame of UPSTREAM_STREAMS[upstream]) events.push(...decoder.push(frame));
      events.push(...decoder.end());
      expect(decoder.complete).toBe(true);
      const out = events.map((e) => encoder.push(e)).join('');
      await expect(stable(out)).toMatchFileSnapshot(golden(`${pair}.stream.txt`));
    });
  });
});
