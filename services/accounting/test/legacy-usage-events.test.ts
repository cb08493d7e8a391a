import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kysely } from 'kysely';
import { connect } from 'nats';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNodeSqliteDialect, NatsUsageBus, UsageSpool } from '@switchyard/adapters';
import { type DB, migrateToLatest, type UsageEvent } from '@switchyard/core';
import { UsageWriter } from '@switchyard/accounting';
import { deleteNatsStreams, natsTestNames, NATS_TEST_URL } from '../../adapters/test/nats-test-streams.js';
import { insertKey, keyBalance } from './ledger-fixtures.js';

/** Fields relays added over time: an event from before them lacks all of them. */
type LaterFields = 'cachedTokens' | 'reasoningTokens' | 'userId' | 'costNano' | 'partial';

/** What a later field decodes to when an older relay did not write it. */
const DEFAULTS: Pick<UsageEvent, LaterFields> = {
  cachedTokens: 0,
  reasoningTokens: 0,
  userId: null,
  costNano: 0,
  partial: false,
};

/** A usage event as a relay from before `cachedTokens`/`reasoningTokens` (and users and costs) encoded it. */
function legacyEvent(requestId: string): Omit<UsageEvent, LaterFields> {
  return {
    requestId,
    clientRequestId: null,
    keyId: 1,
    channelId: 2,
    accountId: 3,
    model: 'gpt-4o',
    upstreamModel: 'gpt-4o',
    promptTokens: 9,
    completionTokens: 4,
    totalTokens: 13,
    status: 'ok',
    httpStatus: 200,
    latencyMs: 10,
    stream: false,
    error: null,
    createdAt: 1_800_000_000_000,
  };
}

/** How a legacy event's later fields land in its row. */
const LEGACY_COLUMNS = { cached_tokens: 0, reasoning_tokens: 0, user_id: null, cost_nano: 0, partial: 0 };

const streams: string[] = [];
afterAll(() => deleteNatsStreams(streams));

describe('usage events from older relays', () => {
  let db: Kysely<DB>;
  let writer: UsageWriter;
  let dir: string;

  beforeEach(async () => {
    db = new Kysely<DB>({ dialect: createNodeSqliteDialect(':memory:') });
    await migrateToLatest(db);
    writer = new UsageWriter(db);
    // Key 1, which every legacy event names.
    expect(await insertKey(db, 1)).toBe(1);
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-legacy-spool-'));
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ledger(): Promise<Array<Record<string, unknown>>> {
    return db
      .selectFrom('usage_logs')
      .select([
        'request_id',
        'prompt_tokens',
        'cached_tokens',
        'reasoning_tokens',
        'user_id',
        'cost_nano',
        'partial',
      ])
      .orderBy('request_id')
      .execute();
  }

  it('when a spooled line has no cached or reasoning tokens, then it is recovered and written with 0 for both', async () => {
    writeFileSync(path.join(dir, 'spool-000000000001.jsonl'), `${JSON.stringify(legacyEvent('req-old'))}\n`);
    const { spool, recovered } = UsageSpool.open({ dir });
    try {
      expect(recovered.map((r) => r.event)).toEqual([{ ...legacyEvent('req-old'), ...DEFAULTS }]);
      expect(await writer.write(recovered.map((r) => r.event))).toBe(1);
    } finally {
      spool.close();
    }
    expect(await ledger()).toEqual([{ request_id: 'req-old', prompt_tokens: 9, ...LEGACY_COLUMNS }]);
    const daily = await db.selectFrom('usage_daily').select(['cached_tokens', 'reasoning_tokens']).execute();
    expect(daily).toEqual([{ cached_tokens: 0, reasoning_tokens: 0 }]);
  });

  it('when JetStream holds an event without cached or reasoning tokens, then the consumer accepts it and it is written with 0 for both', async () => {
    const names = natsTestNames();
    streams.push(names.stream);
    const bus = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...names });
    const nc = await connect({ servers: NATS_TEST_URL });
    try {
      const handled: UsageEvent[] = [];
      bus.subscribe(async (events) => {
        await writer.write(events);
        handled.push(...events);
      });
      const js = nc.jetstream();
      await js.publish(names.subject, new TextEncoder().encode(JSON.stringify(legacyEvent('req-queued'))), {
        msgID: 'req-queued',
      });
      await vi.waitFor(() => expect(handled).toHaveLength(1), { timeout: 10_000, interval: 20 });

      expect(handled[0]).toEqual({ ...legacyEvent('req-queued'), ...DEFAULTS });
      expect(await ledger()).toEqual([{ request_id: 'req-queued', prompt_tokens: 9, ...LEGACY_COLUMNS }]);
      // The key exists; a legacy event carries no cost, so nothing is charged, but the key was used.
      expect(await keyBalance(db, 1)).toEqual({ used_nano: 0, last_used_at: legacyEvent('x').createdAt });
    } finally {
      await bus.close();
      await nc.close();
    }
  });
});
