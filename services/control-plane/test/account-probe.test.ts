import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboundDispatchers } from '@switchyard/adapters';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import { AccountProbe } from '../src/account-probe.js';
import { AccountStatusService } from '../src/account-status.js';
import { ChannelRepository } from '../src/channel-repository.js';
import { ChannelTester } from '../src/channel-tester.js';
import { type AdminHarness, channelBody, obj, startAdminHarness } from './admin-harness.js';

const GOOD_KEY = 'sk-probe-good-key-0123456789';
const REASON = 'upstream answered HTTP 401 (authentication failed)';

describe('AccountProbe', () => {
  let h: AdminHarness;
  let mock: MockUpstream;
  beforeEach(async () => {
    h = await startAdminHarness();
    mock = await startMockUpstream({ requireKey: GOOD_KEY });
  });
  afterEach(async () => {
    await h.close();
    await mock.close();
  });

  /** A channel on the mock with one account per key, each then disabled as `disabledBy` says. */
  async function channelWith(accounts: Array<{ key: string; disabledBy: 'auto' | 'admin' | null }>) {
    const res = await h.call('POST', '/channels', {
      json: channelBody({
        base_url: `${mock.url}/v1`,
        models: ['gpt-4o-mini'],
        accounts: accounts.map((a, i) => ({ name: `acct-${i}`, api_key: a.key })),
      }),
    });
    const channel = obj(res.body);
    const ids = (channel.accounts as Array<{ id: number }>).map((a) => a.id);
    for (const [i, a] of accounts.entries()) {
      if (a.disabledBy === null) continue;
      await h.db
        .updateTable('accounts')
        .set({ enabled: 0, disabled_by: a.disabledBy, disabled_reason: REASON, disabled_at: 1 })
        .where('id', '=', ids[i]!)
        .execute();
    }
    return { channelId: channel.id as number, ids };
  }

  async function account(id: number) {
    const r = await h.db
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

  it('when an auto-disabled account answers again, then probeNow() re-enables it, clears disabled_* and publishes it enabled', async () => {
    const { ids } = await channelWith([{ key: GOOD_KEY, disabledBy: 'auto' }]);
    const version = h.controlPlane.configSource.current().version;
    const round = await h.controlPlane.accountProbe.probeNow();
    expect(round).toEqual({ probed: 1, reenabled: [ids[0]] });
    expect(await account(ids[0]!)).toEqual({
      enabled: 1,
      disabled_by: null,
      disabled_reason: null,
      disabled_at: null,
    });
    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.version).toBe(version + 1);
    expect(snapshot.channels[0]!.accounts[0]).toMatchObject({ id: ids[0], enabled: true });
    expect(
      h.logs.some((l) => l.msg === 'account probe succeeded; account re-enabled' && l.accountId === ids[0]),
    ).toBe(true);
    expect(h.logText()).not.toContain(GOOD_KEY);
  });

  it('when an auto-disabled account still fails, then it stays disabled with its reason and nothing is published', async () => {
    const { ids } = await channelWith([{ key: 'sk-still-revoked-000000', disabledBy: 'auto' }]);
    const version = h.controlPlane.configSource.current().version;
    const round = await h.controlPlane.accountProbe.probeNow();
    expect(round).toEqual({ probed: 1, reenabled: [] });
    expect(await account(ids[0]!)).toEqual({
      enabled: 0,
      disabled_by: 'auto',
      disabled_reason: REASON,
      disabled_at: 1,
    });
    expect(h.controlPlane.configSource.current().version).toBe(version);
    expect(mock.requests).toHaveLength(1);
    expect(h.logText()).not.toContain('sk-still-revoked-000000');
  });

  it('when accounts are disabled by an admin, enabled, or OAuth, then the probe never sends them a request', async () => {
    const { ids } = await channelWith([
      { key: GOOD_KEY, disabledBy: 'admin' },
      { key: GOOD_KEY, disabledBy: null },
      { key: '{"access_token":"at","refresh_token":"rt"}', disabledBy: 'auto' },
    ]);
    await h.db.updateTable('accounts').set({ kind: 'oauth' }).where('id', '=', ids[2]!).execute();
    const round = await h.controlPlane.accountProbe.probeNow();
    expect(round).toEqual({ probed: 0, reenabled: [] });
    expect(mock.requests).toHaveLength(0);
    expect(await account(ids[0]!)).toMatchObject({ enabled: 0, disabled_by: 'admin' });
  });

  it('when a timer-driven round re-enables an account, then its cooldown is cleared and one snapshot is published; after stop() nothing is probed', async () => {
    const { ids } = await channelWith([{ key: GOOD_KEY, disabledBy: 'auto' }]);
    const cleared: string[] = [];
    let onSuccess: () => void = () => undefined;
    const succeeded = new Promise<void>((resolve) => {
      onSuccess = resolve;
    });
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (chunk.toString().includes('account probe succeeded')) onSuccess();
          cb();
        },
      }),
    );
    const dispatchers = new OutboundDispatchers({ policy: { allow: ['loopback'] } });
    const publishes: number[] = [];
    const publish = async () => {
      publishes.push(Date.now());
    };
    const probe = new AccountProbe({
      db: h.db,
      channels: new ChannelRepository(h.db),
      tester: new ChannelTester({
        db: h.db,
        secretBox: h.secretBox,
        policy: { allow: ['loopback'] },
        dispatcherFor: (proxyUrl) => dispatchers.dispatcherFor({ proxyUrl, connectTimeoutMs: 10_000 }),
        logger,
        now: Date.now,
      }),
      status: new AccountStatusService({ db: h.db, logger, now: Date.now, publish }),
      logger,
      publish,
      // Why 10 ms: the first round starts almost at once; the test awaits its log line, not the clock.
      intervalMs: 10,
      coordination: {
        clearCooldown: async (key) => {
          cleared.push(key);
        },
      },
    });
    try {
      probe.start();
      await succeeded;
    } finally {
      await probe.stop();
      await dispatchers.close();
    }
    expect(cleared).toEqual([`acct:${ids[0]}`]);
    expect(publishes).toHaveLength(1);
    expect(await account(ids[0]!)).toMatchObject({ enabled: 1 });
    // Stopped for good: even an auto-disabled account is no longer probed.
    await h.db
      .updateTable('accounts')
      .set({ enabled: 0, disabled_by: 'auto' })
      .where('id', '=', ids[0]!)
      .execute();
    const requestsAfterStop = mock.requests.length;
    expect(await probe.probeNow()).toEqual({ probed: 0, reenabled: [] });
    expect(mock.requests.length).toBe(requestsAfterStop);
  });
});
