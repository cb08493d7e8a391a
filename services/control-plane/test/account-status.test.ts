import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BREAKER, migrateToLatest, type DB } from '@switchyard/core';
import { DIALECTS } from '../../adapters/test/dialects.js';
import { AccountStatusService } from '../src/account-status.js';
import { ChannelRepository } from '../src/channel-repository.js';
import { type AdminHarness, channelBody, obj, startAdminHarness } from './admin-harness.js';

const REASON = 'upstream answered HTTP 401 (authentication failed)';

for (const dialect of DIALECTS) {
  describe(`AccountStatusService on ${dialect.name}`, () => {
    let db: Kysely<DB>;
    let dispose: () => Promise<void>;
    let service: AccountStatusService;
    let publishes: number;
    let clock: number;
    let channelId: number;
    let accountIds: number[];

    beforeAll(async () => {
      ({ db, dispose } = await dialect.open());
      await migrateToLatest(db);
    });
    afterAll(async () => {
      await dispose();
    });

    beforeEach(async () => {
      await db.deleteFrom('accounts').execute();
      await db.deleteFrom('channels').execute();
      publishes = 0;
      clock = 1_767_000_000_000;
      service = new AccountStatusService({
        db,
        logger: pino({ level: 'silent' }),
        now: () => clock++,
        publish: async () => {
          publishes++;
        },
      });
      const channel = await new ChannelRepository(db).create(
        {
          name: 'c',
          provider: 'openai',
          baseUrl: 'https://api.openai.com/v1',
          options: {},
          models: ['gpt-4o'],
          modelMapping: {},
          priority: 0,
          weight: 1,
          groups: ['default'],
          enabled: true,
          accountStrategy: 'round-robin',
          stickySessions: false,
          timeouts: { connectMs: null, firstByteMs: null, idleMs: null },
          breaker: { ...DEFAULT_BREAKER },
          accounts: [
            { name: 'a', credential: 'enc-a' },
            { name: 'b', credential: 'enc-b' },
          ],
        },
        clock,
      );
      channelId = channel.id;
      accountIds = channel.accounts.map((a) => a.id);
    });

    async function row(id: number) {
      const r = await db
        .selectFrom('accounts')
        .select(['enabled', 'disabled_by', 'disabled_reason', 'disabled_at'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return {
        ...r,
        enabled: Number(r.enabled),
        disabled_at: r.disabled_at === null ? null : Number(r.disabled_at),
      };
    }

    it('when an enabled account is reported, then it is disabled by auto with the reason and time, and one snapshot is published', async () => {
      const [a, b] = accountIds as [number, number];
      await service.reportAuthFailure({ accountId: a, channelId, upstreamStatus: 401, reason: REASON });
      expect(await row(a)).toEqual({
        enabled: 0,
        disabled_by: 'auto',
        disabled_reason: REASON,
        disabled_at: 1_767_000_000_000,
      });
      expect(await row(b)).toMatchObject({ enabled: 1, disabled_by: null });
      expect(publishes).toBe(1);
    });

    it('when relays report the same account at once, then it is disabled once and published once', async () => {
      const a = accountIds[0]!;
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          service.reportAuthFailure({ accountId: a, channelId, upstreamStatus: 403, reason: `relay ${i}` }),
        ),
      );
      expect(publishes).toBe(1);
      const after = await row(a);
      expect(after).toMatchObject({ enabled: 0, disabled_by: 'auto' });
      expect(after.disabled_reason).toMatch(/^relay \d$/);
    });

    it('when an admin-disabled account is reported, then its admin reason stays and nothing is published', async () => {
      const a = accountIds[0]!;
      await db
        .updateTable('accounts')
        .set({ enabled: 0, disabled_by: 'admin', disabled_reason: 'rotating keys', disabled_at: 5 })
        .where('id', '=', a)
        .execute();
      await service.reportAuthFailure({ accountId: a, channelId, upstreamStatus: 401, reason: REASON });
      expect(await row(a)).toEqual({
        enabled: 0,
        disabled_by: 'admin',
        disabled_reason: 'rotating keys',
        disabled_at: 5,
      });
      expect(publishes).toBe(0);
    });

    it('when a report names an account that does not exist, then nothing changes and nothing is published', async () => {
      await service.reportAuthFailure({ accountId: 999_999, channelId, upstreamStatus: 401, reason: REASON });
      expect(await row(accountIds[0]!)).toMatchObject({ enabled: 1 });
      expect(publishes).toBe(0);
    });

    it('when a report carries no reason, then the stored reason names the upstream status', async () => {
      await service.reportAuthFailure({
        accountId: accountIds[0]!,
        channelId,
        upstreamStatus: 401,
        reason: '  ',
      });
      expect((await row(accountIds[0]!)).disabled_reason).toBe(REASON);
    });

    it('when a recovered account is re-enabled, then only an auto-disabled one changes and its disabled_* are cleared', async () => {
      const [a, b] = accountIds as [number, number];
      await service.reportAuthFailure({ accountId: a, channelId, upstreamStatus: 401, reason: REASON });
      await db
        .updateTable('accounts')
        .set({ enabled: 0, disabled_by: 'admin' })
        .where('id', '=', b)
        .execute();
      expect(await service.enableRecovered(a)).toBe(true);
      expect(await service.enableRecovered(a)).toBe(false);
      expect(await service.enableRecovered(b)).toBe(false);
      expect(await row(a)).toEqual({
        enabled: 1,
        disabled_by: null,
        disabled_reason: null,
        disabled_at: null,
      });
      expect(await row(b)).toMatchObject({ enabled: 0, disabled_by: 'admin' });
    });
  });
}

describe('ControlPlane.accountStatus', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('when a relay reports an account, then the next snapshot carries it disabled', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    const accountId = (created.accounts as Array<{ id: number }>)[0]!.id;
    const version = h.controlPlane.configSource.current().version;
    await h.controlPlane.accountStatus.reportAuthFailure({
      accountId,
      channelId: created.id as number,
      upstreamStatus: 401,
      reason: REASON,
    });
    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.version).toBe(version + 1);
    expect(snapshot.channels[0]!.accounts[0]).toMatchObject({ id: accountId, enabled: false });
    expect(
      h.logs.some((l) => l.msg === 'account disabled automatically: the upstream rejected its credential'),
    ).toBe(true);
  });
});
