import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '@switchyard/core';
import { decodeUsageEvent, encodeUsageEvent } from './usage-event-json.js';

const EVENT: UsageEvent = {
  requestId: 'req-1',
  clientRequestId: 'client-1',
  keyId: 7,
  userId: 3,
  channelId: 2,
  accountId: 5,
  model: 'gpt-4o',
  upstreamModel: 'gpt-4o-2024-08-06',
  promptTokens: 100,
  completionTokens: 20,
  totalTokens: 120,
  cachedTokens: 40,
  reasoningTokens: 5,
  costNano: 123_456_789_012,
  partial: true,
  status: 'ok',
  httpStatus: 200,
  latencyMs: 321,
  stream: true,
  error: null,
  createdAt: 1_800_000_000_000,
};

/** The event as a relay from before users and costs wrote it. */
function legacy(): Record<string, unknown> {
  const { userId: _u, costNano: _c, partial: _p, ...rest } = EVENT;
  return rest;
}

describe('usage event JSON', () => {
  it('when an event is encoded and decoded, then every field comes back unchanged', () => {
    expect(decodeUsageEvent(encodeUsageEvent(EVENT))).toEqual(EVENT);
  });

  it('when an event object carries extra properties, then they are not put on the wire', () => {
    const text = encodeUsageEvent({ ...EVENT, secret: 'sk-should-not-travel' } as UsageEvent);
    expect(text).not.toContain('sk-should-not-travel');
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(Object.keys(EVENT).sort());
  });

  it('when an older relay left out userId, costNano and partial, then they decode as null, 0 and false', () => {
    expect(decodeUsageEvent(JSON.stringify(legacy()))).toEqual({
      ...EVENT,
      userId: null,
      costNano: 0,
      partial: false,
    });
  });

  it.each([
    ['a negative cost', { costNano: -5 }, { costNano: 0 }],
    ['a string cost', { costNano: '5' }, { costNano: 0 }],
    ['a fractional cost', { costNano: 5.7 }, { costNano: 5 }],
    ['a string user', { userId: '3' }, { userId: null }],
    ['a zero user', { userId: 0 }, { userId: null }],
    ['a fractional user', { userId: 1.5 }, { userId: null }],
    ['a truthy non-boolean partial', { partial: 1 }, { partial: false }],
  ])('when the JSON holds %s, then it decodes to the default', (_what, patch, expected) => {
    expect(decodeUsageEvent(JSON.stringify({ ...EVENT, ...patch }))).toEqual({ ...EVENT, ...expected });
  });

  it.each(['not json', '42', 'null', '{"keyId":1}'])(
    'when the text is %j, then it decodes to null',
    (text) => {
      expect(decodeUsageEvent(text)).toBeNull();
    },
  );
});
