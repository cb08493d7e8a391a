import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCoordinationStore } from '@switchyard/adapters';
import { type AdminHarness, channelBody, dataOf, errorOf, obj, startAdminHarness } from './admin-harness.js';
import { AWS_CREDENTIAL } from './credential-fixtures.js';
import { disableAccountAutomatically, enableAccount } from '../src/account-repository.js';

const SECOND_KEY = 'sk-second-account-BBBBBBBBBBBB';
const NOW_ISO = '2026-01-02T03:04:05.000Z';

describe('admin accounts', () => {
  let h: AdminHarness;
  let coordination: MemoryCoordinationStore;
  let channelId: number;

  beforeEach(async () => {
    coordination = new MemoryCoordinationStore();
    h = await startAdminHarness({ coordination });
    channelId = obj((await h.call('POST', '/channels', { json: channelBody() })).body).id as number;
  });
  afterEach(async () => {
    await h.close();
  });

  function addAccount(json: Record<string, unknown> = { api_key: SECOND_KEY }) {
    return h.call('POST', `/channels/${channelId}/accounts`, { json });
  }

  it('when an account is added with only a key, then 201 with defaults and health, and the snapshot carries the key decrypted', async () => {
    const res = await addAccount();
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      channel_id: channelId,
      name: 'account-2',
      kind: 'api_key',
      enabled: true,
      disabled_reason: null,
      disabled_by: null,
      disabled_at: null,
      proxy_id: null,
      oauth_profile: null,
      token_expires_at: null,
      managed_by: null,
      created_at: NOW_ISO,
      updated_at: NOW_ISO,
      health: {
        status: 'healthy',
        cooldown_until: null,
        breaker: [],
        last_error: null,
        last_error_at: null,
        last_status: null,
        disabled_reason: null,
      },
    });
    const id = obj(res.body).id;
    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.version).toBe(3);
    expect(snapshot.channels[0]?.accounts.find((a) => a.id === id)).toMatchObject({
      apiKey: SECOND_KEY,
      enabled: true,
      proxyUrl: null,
    });
  });

  it('the new credential is stored encrypted and appears in no account response or log line', async () => {
    const created = await addAccount({ name: 'second', api_key: SECOND_KEY, enabled: false });
    const id = obj(created.body).id as number;
    const row = await h.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.credential).not.toContain(SECOND_KEY);
    expect(h.secretBox.decrypt(row.credential)).toBe(SECOND_KEY);
    const responses = [
      created,
      await h.call('GET', `/accounts/${id}`),
      await h.call('GET', `/channels/${channelId}/accounts`),
      await h.call('GET', `/channels/${channelId}/health`),
      await h.call('PATCH', `/accounts/${id}`, { json: { name: 'renamed' } }),
      await h.call('POST', `/accounts/${id}/enable`),
      await h.call('POST', `/accounts/${id}/disable`),
    ];
    for (const res of responses) {
      expect(res.status).toBeLessThan(300);
      expect(res.text).not.toContain(SECOND_KEY);
      expect(res.text).not.toContain(row.credential);
      expect(res.text).not.toMatch(/"(api_key|credential)":/);
    }
    expect(h.logText()).not.toContain(SECOND_KEY);
  });

  it('GET /channels/:id/accounts lists the channel accounts by id, each as GET /accounts/:id shows it', async () => {
    const second = obj((await addAccount()).body);
    const list = await h.call('GET', `/channels/${channelId}/accounts`);
    expect(list.status).toBe(200);
    const data = dataOf(list.body);
    expect(data.map((a) => a.name)).toEqual(['account-1', 'account-2']);
    expect(data[1]).toEqual(second);
    expect((await h.call('GET', `/accounts/${String(data[0]?.id)}`)).body).toEqual(data[0]);
  });

  it.each([
    ['with spaces in the key', 'openai', 'sk has spaces'],
    ['an API key on an AWS channel', 'bedrock', 'sk-not-an-aws-credential'],
  ])(
    'when the credential does not fit the provider (%s), then 400 naming api_key, never quoting it, nothing stored',
    async (_what, provider, key) => {
      const body =
        provider === 'bedrock'
          ? {
              name: 'aws',
              provider,
              options: { region: 'eu-west-1' },
              models: ['m'],
              accounts: [{ api_key: AWS_CREDENTIAL }],
            }
          : channelBody({ name: 'other' });
      const target = obj((await h.call('POST', '/channels', { json: body })).body).id as number;
      const res = await h.call('POST', `/channels/${target}/accounts`, { json: { api_key: key } });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ param: 'api_key', type: 'invalid_request_error' });
      expect(res.text).not.toContain(key);
      const rows = await h.db.selectFrom('accounts').select('id').where('channel_id', '=', target).execute();
      expect(rows).toHaveLength(1);
    },
  );

  it.each([
    ['an unknown field', { api_key: SECOND_KEY, kind: 'oauth' }, 'kind'],
    ['no api_key', { name: 'x' }, 'api_key'],
    [
      'a proxy_id that is neither id, "auto" nor null',
      { api_key: SECOND_KEY, proxy_id: 'first' },
      'proxy_id',
    ],
    ['a non-boolean enabled', { api_key: SECOND_KEY, enabled: 1 }, 'enabled'],
  ])('when the body has %s, then 400 naming %s', async (_what, json, param) => {
    const res = await addAccount(json);
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe(param);
  });

  it.each([
    ['GET', '/accounts/999'],
    ['PATCH', '/accounts/999'],
    ['DELETE', '/accounts/999'],
    ['POST', '/accounts/999/disable'],
    ['POST', '/accounts/999/enable'],
    ['GET', '/accounts/abc'],
  ])('when %s %s names no account, then 404 account_not_found', async (method, path) => {
    const res = await h.call(method, path, method === 'PATCH' ? { json: { name: 'x' } } : {});
    expect(res.status).toBe(404);
    expect(errorOf(res.body)).toMatchObject({ code: 'account_not_found', param: 'id' });
  });

  it.each([
    ['GET', '/channels/999/accounts'],
    ['POST', '/channels/999/accounts'],
    ['GET', '/channels/999/health'],
  ])(
    'when %s %s names no channel, then 404 channel_not_found and nothing is stored',
    async (method, path) => {
      const res = await h.call(method, path, method === 'POST' ? { json: { api_key: SECOND_KEY } } : {});
      expect(res.status).toBe(404);
      expect(errorOf(res.body).code).toBe('channel_not_found');
      expect(await h.db.selectFrom('accounts').selectAll().execute()).toHaveLength(1);
    },
  );

  it('when a PATCH renames and rotates the key, then the new key is stored encrypted and in the next snapshot', async () => {
    const id = obj((await addAccount()).body).id as number;
    h.clock.now += 60_000;
    const res = await h.call('PATCH', `/accounts/${id}`, {
      json: { name: 'rotated', api_key: 'sk-rotated-CCCCCC' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'rotated',
      updated_at: '2026-01-02T03:05:05.000Z',
      created_at: NOW_ISO,
    });
    expect(res.text).not.toContain('sk-rotated');
    const row = await h.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(h.secretBox.decrypt(row.credential)).toBe('sk-rotated-CCCCCC');
    const account = h.controlPlane.configSource.current().channels[0]?.accounts.find((a) => a.id === id);
    expect(account).toMatchObject({ name: 'rotated', apiKey: 'sk-rotated-CCCCCC' });
  });

  it('when a PATCH rotates the key to one the provider cannot use, then 400 and the old key stays', async () => {
    const id = obj((await addAccount()).body).id as number;
    const res = await h.call('PATCH', `/accounts/${id}`, { json: { api_key: 'two words' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('api_key');
    const row = await h.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(h.secretBox.decrypt(row.credential)).toBe(SECOND_KEY);
  });

  it('when a PATCH gives an api_key to an OAuth account, then 400 oauth_account and its credential is kept', async () => {
    const id = obj((await addAccount()).body).id as number;
    await h.db
      .updateTable('accounts')
      .set({ kind: 'oauth', oauth_profile: 'anthropic-claude-code' })
      .where('id', '=', id)
      .execute();
    const res = await h.call('PATCH', `/accounts/${id}`, { json: { api_key: 'sk-manual' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ code: 'oauth_account', param: 'api_key' });
    const row = await h.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(h.secretBox.decrypt(row.credential)).toBe(SECOND_KEY);
  });

  it('when an admin disables an account with a reason, then it is out of rotation with who, why and when', async () => {
    const id = obj((await addAccount()).body).id as number;
    h.clock.now += 1000;
    const res = await h.call('POST', `/accounts/${id}/disable`, { json: { reason: 'quota used up' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      enabled: false,
      disabled_by: 'admin',
      disabled_reason: 'quota used up',
      disabled_at: '2026-01-02T03:04:06.000Z',
      health: { status: 'disabled', disabled_reason: 'quota used up' },
    });
    const account = h.controlPlane.configSource.current().channels[0]?.accounts.find((a) => a.id === id);
    expect(account?.enabled).toBe(false);
    const summary = (obj((await h.call('GET', `/channels/${channelId}`)).body).accounts as unknown[])
      .map(obj)
      .find((a) => a.id === id);
    expect(summary).toMatchObject({ enabled: false, disabled_by: 'admin', disabled_reason: 'quota used up' });
  });

  it('when an admin disables an account without a body, then the default reason is recorded', async () => {
    const id = obj((await addAccount()).body).id as number;
    const res = await h.call('POST', `/accounts/${id}/disable`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ enabled: false, disabled_reason: 'disabled by an admin' });
  });

  it('when an admin enables a disabled, cooling-down account, then the disabled fields and its cooldown are cleared', async () => {
    const id = obj((await addAccount()).body).id as number;
    await h.call('POST', `/accounts/${id}/disable`, { json: { reason: 'maintenance' } });
    await coordination.coolDown(`acct:${id}`, 600_000);
    const res = await h.call('POST', `/accounts/${id}/enable`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      enabled: true,
      disabled_by: null,
      disabled_reason: null,
      disabled_at: null,
      health: { status: 'healthy', cooldown_until: null },
    });
    expect(await coordination.cooldowns([`acct:${id}`])).toEqual([0]);
    const account = h.controlPlane.configSource.current().channels[0]?.accounts.find((a) => a.id === id);
    expect(account?.enabled).toBe(true);
  });

  it('when an account is deleted, then 204, it is 404 afterwards and gone from the snapshot', async () => {
    const id = obj((await addAccount()).body).id as number;
    const res = await h.call('DELETE', `/accounts/${id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await h.call('GET', `/accounts/${id}`)).status).toBe(404);
    const ids = h.controlPlane.configSource.current().channels[0]?.accounts.map((a) => a.id);
    expect(ids).not.toContain(id);
  });

  it('when a channel already has 100 accounts, then adding one more is 409 channel_full', async () => {
    const rows = Array.from({ length: 99 }, (_, i) => ({
      channel_id: channelId,
      name: `bulk-${i}`,
      credential: h.secretBox.encrypt(`sk-bulk-${i}`),
      enabled: 1,
      created_at: 0,
    }));
    await h.db.insertInto('accounts').values(rows).execute();
    const res = await addAccount();
    expect(res.status).toBe(409);
    expect(errorOf(res.body).code).toBe('channel_full');
    expect(await h.db.selectFrom('accounts').select('id').execute()).toHaveLength(100);
  });

  it('every account write publishes a new snapshot before answering, and reads publish none', async () => {
    const version = () => h.controlPlane.configSource.current().version;
    const start = version();
    const id = obj((await addAccount()).body).id as number;
    expect(version()).toBe(start + 1);
    await h.call('GET', `/accounts/${id}`);
    await h.call('GET', `/channels/${channelId}/health`);
    expect(version()).toBe(start + 1);
    await h.call('PATCH', `/accounts/${id}`, { json: { name: 'n' } });
    await h.call('POST', `/accounts/${id}/disable`);
    await h.call('POST', `/accounts/${id}/enable`);
    await h.call('DELETE', `/accounts/${id}`);
    expect(version()).toBe(start + 5);
  });
});

describe('disableAccountAutomatically / enableAccount', () => {
  let h: AdminHarness;
  let accountId: number;
  beforeEach(async () => {
    h = await startAdminHarness();
    const channel = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    accountId = (channel.accounts as { id: number }[])[0]?.id ?? 0;
  });
  afterEach(async () => {
    await h.close();
  });

  it('when the account is enabled, then it is disabled by auto with the reason; a second report changes nothing', async () => {
    const at = Date.parse('2026-02-01T00:00:00Z');
    expect(await disableAccountAutomatically(h.db, accountId, 'upstream answered 401', at)).toBe(true);
    expect(await disableAccountAutomatically(h.db, accountId, 'another reason', at + 1)).toBe(false);
    const account = await h.call('GET', `/accounts/${accountId}`);
    expect(account.body).toMatchObject({
      enabled: false,
      disabled_by: 'auto',
      disabled_reason: 'upstream answered 401',
      disabled_at: '2026-02-01T00:00:00.000Z',
    });
  });

  it('when an admin disabled the account, then an automatic report does not overwrite the admin reason', async () => {
    await h.call('POST', `/accounts/${accountId}/disable`, { json: { reason: 'admin said so' } });
    expect(await disableAccountAutomatically(h.db, accountId, 'upstream answered 403', 1)).toBe(false);
    expect((await h.call('GET', `/accounts/${accountId}`)).body).toMatchObject({
      disabled_by: 'admin',
      disabled_reason: 'admin said so',
    });
  });

  it('when the account does not exist, then both return false', async () => {
    expect(await disableAccountAutomatically(h.db, 999, 'gone', 1)).toBe(false);
    expect(await enableAccount(h.db, 999, 1)).toBe(false);
  });

  it('when a disabled account is enabled, then true and the disabled fields are cleared; enabling again is false', async () => {
    await disableAccountAutomatically(h.db, accountId, 'upstream answered 401', 1);
    expect(await enableAccount(h.db, accountId, 2)).toBe(true);
    expect(await enableAccount(h.db, accountId, 3)).toBe(false);
    expect((await h.call('GET', `/accounts/${accountId}`)).body).toMatchObject({
      enabled: true,
      disabled_by: null,
      disabled_reason: null,
      disabled_at: null,
    });
  });
});
