import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse } from '../../canonical/types.js';
import { openaiResponsesClientCodec } from './index.js';
import type { ResponseBody } from './response.js';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const ctx = { model: 'gpt-4.1', includeUsage: false, sse: false };
const canonical = fixture<CanonicalResponse>('canonical-response.json');
const render = (res: CanonicalResponse): ResponseBody =>
  openaiResponsesClientCodec.renderResponse(res, ctx) as ResponseBody;

describe('canonical answer → Responses client', () => {
  it('when an answer with reasoning, text and a tool call is rendered, then it equals the Response fixture', () => {
    expect(render(canonical)).toEqual(fixture('client-response.json'));
  });

  it('when the answer is rendered, then it has no output_text field (that is an SDK convenience)', () => {
    expect(render(canonical)).not.toHaveProperty('output_text');
  });

  it.each([
    ['max_tokens', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
    ['refusal', 'content_filter'],
  ] as const)('when the stop reason is %s, then the Response is incomplete for %s', (stopReason, reason) => {
    const body = render({ ...canonical, stopReason });
    expect([body.status, body.incomplete_details]).toEqual(['incomplete', { reason }]);
  });

  it('when the id already is a Response id, then it is kept', () => {
    expect(render({ ...canonical, id: 'resp_abc123' }).id).toBe('resp_abc123');
  });

  it('when an error is rendered, then it has the OpenAI shape', () => {
    const { status, body } = openaiResponsesClientCodec.renderError(
      new UpstreamError('The upstream answered HTTP 503.', {
        retryable: true,
        status: 503,
        code: 'upstream_unavailable',
      }),
    );
    expect([status, body]).toEqual([
      503,
      {
        error: {
          message: 'The upstream answered HTTP 503.',
          type: 'api_error',
          param: null,
          code: 'upstream_unavailable',
        },
      },
    ]);
  });
});
