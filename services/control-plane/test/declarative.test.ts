import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryCoordinationStore, OutboundDispatchers } from '@switchyard/adapters';
import { generateToken, hashKey } from '@switchyard/core';
import { ControlPlane } from '@switchyard/control-plane';
import {
  ADMIN_DATABASES,
  type AdminHarness,
  channelBody,
  dataOf,
  errorOf,
  obj,
  startAdminHarness,
  startMysqlAdminHarness,
} from './admin-harness.js';
import { checkSchema } from './json-schema-check.js';
import { OPENAPI, requestSchema, responseSchema } from './openapi-document.js';

const UPSTREAM_KEY = 'sk-upstream-declared-AAAAAAAAAAAA';
const SECOND_UPSTREAM_KEY = 'sk-upstream-declared-BBBBBBBBBBBB';
const CLIENT_KEY = 'sk-sy-declared-client-key-0123456789abcdef';

/** A document as the CLI posts it: secrets resolved to `{ value }`. */
function documentFor(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    groups: [{ name: 'vip', description: 'Paying customers', price_ratio: '1.5' }],
    prices: [{ model: 'house-model', input_per_million: '1', output_per_million: '2' }],
    channels: [
      {
        name: 'openai-declared',
        provider: 'openai',
        base_url: 'https://api.openai.com/v1',
        models: ['gpt-4o'],
        groups: ['default', 'vip'],
        accounts: [
          { name: 'primary', api_key: { value: UPSTREAM_KEY } },
          { name: 'secondary', api_key: { value: SECOND_UPSTREAM_KEY } },
        ],
      },
    ],
    users: [{ name: 'alice', email: 'alice@example.com', group: 'vip', quota: '10' }],
    keys: [{ name: 'alice-laptop', user: 'alice', key: { value: CLIENT_KEY }, rpm_limit: 60 }],
    ...overrides,
  };
}

interface Change {
  kind: string;
  name: string;
  action: string;
}

async function apply(h: AdminHarness, doc: unknown, query = ''): Promise<Change[]> {
  const res = await h.call('POST', `/apply${query}`, { json: doc });
  expect(res.status, res.text).toBe(200);
  return obj(res.body).changes as Change[];
}

function actionOf(changes: readonly Change[], kind: string, name: string): string | undefined {
  return changes.find((c) => c.kind === kind && c.name === name)?.action;
}

/** Every row of every table the file manages, for "nothing changed" comparisons. */
async function storedRows(h: AdminHarness): Promise<unknown[]> {
  return [
    await h.db.selectFrom('user_groups').selectAll().orderBy('name').execute(),
    await h.db.selectFrom('model_prices').selectAll().orderBy('model').execute(),
    await h.db.selectFrom('channels').selectAll().orderBy('id').execute(),
    await h.db.selectFrom('accounts').selectAll().orderBy('id').execute(),
    await h.db.selectFrom('users').selectAll().orderBy('id').execute(),
    await h.db.selectFrom('api_keys').selectAll().orderBy('id').execute(),
    await h.db.selectFrom('declared_entries').selectAll().orderBy('kind').orderBy('name').execute(),
  ];
}

for (const database of ADMIN_DATABASES) {
  describe(`POST /apply on ${database.name}`, () => {
    let h: AdminHarness;
    beforeEach(async () => {
      h = await database.start();
    });
    afterEach(async () => {
      await h.close();
    });

    it('when a document is applied to an empty gateway, then every entry is created, managed by the file, and in the snapshot', async () => {
      const changes = await apply(h, documentFor());
      expect(changes).toEqual([
        { kind: 'group', name: 'vip', action: 'created' },
        { kind: 'price', name: 'house-model', action: 'created' },
        { kind: 'channel', name: 'openai-declared', action: 'created' },
        { kind: 'account', name: 'openai-declared/primary', action: 'created' },
        { kind: 'account', name: 'openai-declared/secondary', action: 'created' },
        { kind: 'user', name: 'alice', action: 'created' },
        { kind: 'key', name: 'alice-laptop', action: 'created' },
      ]);
      const channel = dataOf((await h.call('GET', '/channels')).body)[0];
      expect(channel).toMatchObject({
        name: 'openai-declared',
        groups: ['default', 'vip'],
        managed_by: 'file',
      });
      expect((channel?.accounts as Record<string, unknown>[]).map((a) => a.managed_by)).toEqual([
        'file',
        'file',
      ]);
      const key = dataOf((await h.call('GET', '/keys')).body)[0];
      expect(key).toMatchObject({ name: 'alice-laptop', group: 'vip', rpm_limit: 60, managed_by: 'file' });
      expect((await h.call('GET', '/groups/vip')).body).toMatchObject({
        price_ratio: 1.5,
        managed_by: 'file',
      });
      expect((await h.call('GET', '/prices/house-model')).body).toMatchObject({ managed_by: 'file' });
      expect(dataOf((await h.call('GET', '/users')).body)[0]).toMatchObject({
        quota: '10',
        managed_by: 'file',
      });

      const snapshot = h.controlPlane.configSource.current();
      expect(snapshot.version).toBe(2);
      expect(snapshot.channels[0]?.accounts.map((a) => a.apiKey)).toEqual([
        UPSTREAM_KEY,
        SECOND_UPSTREAM_KEY,
      ]);
      // Only the digest is stored, as for keys the API generates.
      expect(snapshot.keys[0]?.keyHash).toBe(hashKey(CLIENT_KEY));
      const stored = JSON.stringify(await storedRows(h));
      expect(stored).not.toContain(CLIENT_KEY);
      expect(stored).not.toContain(UPSTREAM_KEY);
    });

    it('when the same document is applied twice, then the second reports every entry unchanged and writes nothing', async () => {
      await apply(h, documentFor());
      const before = await storedRows(h);
      const version = h.controlPlane.configSource.current().version;
      h.clock.now += 60_000;
      const second = await apply(h, documentFor());
      expect(second).toHaveLength(7);
      expect(second.every((c) => c.action === 'unchanged')).toBe(true);
      expect(await storedRows(h)).toEqual(before);
      expect(h.controlPlane.configSource.current().version).toBe(version);
    });

    it('when an API-created entry has a declared identity, then it is adopted (same id), updated and managed from then on', async () => {
      const created = obj(
        (await h.call('POST', '/channels', { json: channelBody({ name: 'openai-declared' }) })).body,
      );
      const changes = await apply(h, documentFor());
      expect(actionOf(changes, 'channel', 'openai-declared')).toBe('updated');
      const channels = dataOf((await h.call('GET', '/channels')).body);
      expect(channels).toHaveLength(1);
      expect(channels[0]).toMatchObject({ id: created.id, models: ['gpt-4o'], managed_by: 'file' });
      // The API-created account is not named in the file: it stays, unmanaged.
      const accounts = channels[0]?.accounts as Record<string, unknown>[];
      expect(accounts.map((a) => [a.name, a.managed_by])).toEqual([
        ['account-1', null],
        ['primary', 'file'],
        ['secondary', 'file'],
      ]);
    });
  });
}

describe('POST /apply', () => {
  let h: AdminHarness;
  const coordination = new MemoryCoordinationStore();
  beforeEach(async () => {
    h = await startAdminHarness({ coordination });
  });
  afterEach(async () => {
    await h.close();
  });

  it('when a declared field changes, then only that entry is updated and the snapshot is republished once', async () => {
    await apply(h, documentFor());
    const version = h.controlPlane.configSource.current().version;
    const doc = documentFor();
    (doc.channels as Record<string, unknown>[])[0]!.priority = 7;
    const changes = await apply(h, doc);
    expect(changes.filter((c) => c.action !== 'unchanged')).toEqual([
      { kind: 'channel', name: 'openai-declared', action: 'updated' },
    ]);
    expect(h.controlPlane.configSource.current().version).toBe(version + 1);
    expect(h.controlPlane.configSource.current().channels[0]?.priority).toBe(7);
  });

  it('when an optional field is dropped from the file, then it takes its default again', async () => {
    const doc = documentFor();
    (doc.channels as Record<string, unknown>[])[0]!.weight = 9;
    await apply(h, doc);
    const changes = await apply(h, documentFor());
    expect(actionOf(changes, 'channel', 'openai-declared')).toBe('updated');
    expect(h.controlPlane.configSource.current().channels[0]?.weight).toBe(1);
  });

  it('when entries leave the file, then channels, accounts, prices and groups are deleted, keys disabled and users without keys deleted', async () => {
    const doc = documentFor({
      groups: [{ name: 'vip' }, { name: 'batch' }],
      users: [{ name: 'alice', group: 'vip' }, { name: 'bob' }],
    });
    await apply(h, doc);
    const keyId = Number(dataOf((await h.call('GET', '/keys')).body)[0]?.id);

    const channel = (doc.channels as Record<string, unknown>[])[0]!;
    channel.accounts = [(channel.accounts as unknown[])[0]];
    const fewerAccounts = await apply(h, doc);
    expect(fewerAccounts.filter((c) => c.action !== 'unchanged')).toEqual([
      { kind: 'account', name: 'openai-declared/secondary', action: 'deleted' },
    ]);

    const removed = await apply(
      h,
      documentFor({
        groups: [{ name: 'vip' }],
        prices: [],
        channels: [],
        users: [{ name: 'alice', group: 'vip' }],
        keys: [],
      }),
    );
    expect(removed.filter((c) => c.action !== 'unchanged')).toEqual([
      { kind: 'key', name: 'alice-laptop', action: 'disabled' },
      { kind: 'user', name: 'bob', action: 'deleted' },
      { kind: 'account', name: 'openai-declared/primary', action: 'deleted' },
      { kind: 'channel', name: 'openai-declared', action: 'deleted' },
      { kind: 'price', name: 'house-model', action: 'deleted' },
      { kind: 'group', name: 'batch', action: 'deleted' },
    ]);
    expect(dataOf((await h.call('GET', '/channels')).body)).toEqual([]);
    expect(await h.db.selectFrom('accounts').selectAll().execute()).toEqual([]);
    expect((await h.call('GET', '/prices/house-model')).status).toBe(404);
    expect((await h.call('GET', '/groups/batch')).status).toBe(404);
    // The key stays, disabled and no longer managed: its usage history and spend are kept.
    expect((await h.call('GET', `/keys/${keyId}`)).body).toMatchObject({ enabled: false, managed_by: null });
    expect(h.controlPlane.configSource.current().keys[0]).toMatchObject({ id: keyId, enabled: false });
  });

  it('when a removed group is still used by a key, then 409 group_in_use and nothing is written', async () => {
    await apply(h, documentFor());
    const before = await storedRows(h);
    const res = await h.call('POST', '/apply', {
      json: documentFor({ groups: [], prices: [] }),
    });
    expect(res.status).toBe(409);
    expect(errorOf(res.body)).toMatchObject({ code: 'group_in_use' });
    expect(errorOf(res.body).message).toContain("Group 'vip'");
    // The price removal that came first in the same apply was rolled back too.
    expect(await storedRows(h)).toEqual(before);
  });

  it('when an admin edits a managed entry through the API, then the edit stays until the next apply reverts the declared fields', async () => {
    await apply(h, documentFor());
    const channel = dataOf((await h.call('GET', '/channels')).body)[0]!;
    const accountId = (channel.accounts as { id: number }[])[0]!.id;
    expect(
      (await h.call('PATCH', `/channels/${String(channel.id)}`, { json: { priority: 99, name: 'renamed' } }))
        .status,
    ).toBe(200);
    expect((await h.call('POST', `/accounts/${accountId}/disable`)).status).toBe(200);
    const key = dataOf((await h.call('GET', '/keys')).body)[0]!;
    await h.call('PATCH', `/keys/${String(key.id)}`, { json: { rpm_limit: 5 } });
    expect(h.controlPlane.configSource.current().channels[0]?.priority).toBe(99);

    const changes = await apply(h, documentFor());
    expect(changes.filter((c) => c.action !== 'unchanged')).toEqual([
      { kind: 'channel', name: 'openai-declared', action: 'updated' },
      { kind: 'account', name: 'openai-declared/primary', action: 'updated' },
      { kind: 'key', name: 'alice-laptop', action: 'updated' },
    ]);
    const reverted = obj((await h.call('GET', `/channels/${String(channel.id)}`)).body);
    expect(reverted).toMatchObject({ name: 'openai-declared', priority: 0 });
    expect((await h.call('GET', `/accounts/${accountId}`)).body).toMatchObject({
      enabled: true,
      disabled_by: null,
    });
    expect((await h.call('GET', `/keys/${String(key.id)}`)).body).toMatchObject({ rpm_limit: 60 });
  });

  it('runtime state survives an apply: an automatically disabled account, its cooldown, and a key and user spend', async () => {
    await apply(h, documentFor());
    const channel = dataOf((await h.call('GET', '/channels')).body)[0]!;
    const accountId = (channel.accounts as { id: number }[])[0]!.id;
    await h.db
      .updateTable('accounts')
      .set({
        enabled: 0,
        disabled_by: 'auto',
        disabled_reason: 'upstream said 401',
        disabled_at: h.clock.now,
      })
      .where('id', '=', accountId)
      .execute();
    await coordination.coolDown(`acct:${accountId}`, 60_000);
    await h.db.updateTable('api_keys').set({ used_nano: 1234, last_used_at: h.clock.now }).execute();
    await h.db.updateTable('users').set({ used_nano: 5678 }).execute();

    const doc = documentFor();
    (doc.channels as Record<string, unknown>[])[0]!.priority = 3;
    (doc.keys as Record<string, unknown>[])[0]!.rpm_limit = 30;
    const changes = await apply(h, doc);
    expect(actionOf(changes, 'account', 'openai-declared/primary')).toBe('unchanged');

    const account = obj((await h.call('GET', `/accounts/${accountId}`)).body);
    expect(account).toMatchObject({
      enabled: false,
      disabled_by: 'auto',
      disabled_reason: 'upstream said 401',
    });
    expect((await coordination.cooldowns([`acct:${accountId}`]))[0]).toBeGreaterThan(0);
    const key = await h.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect([Number(key.used_nano), Number(key.last_used_at), Number(key.rpm_limit)]).toEqual([
      1234,
      h.clock.now,
      30,
    ]);
    const user = await h.db.selectFrom('users').select('used_nano').executeTakeFirstOrThrow();
    expect(Number(user.used_nano)).toBe(5678);
  });

  it('when an account declares enabled: false, then it is disabled by the file, and re-enabled when the line goes', async () => {
    const doc = documentFor();
    const accounts = (doc.channels as Record<string, unknown>[])[0]!.accounts as Record<string, unknown>[];
    accounts[1]!.enabled = false;
    await apply(h, doc);
    const secondary = dataOf((await h.call('GET', '/channels')).body)[0]!.accounts as Record<
      string,
      unknown
    >[];
    expect(secondary[1]).toMatchObject({
      enabled: false,
      disabled_by: 'admin',
      disabled_reason: 'disabled in the configuration file',
    });
    expect(actionOf(await apply(h, doc), 'account', 'openai-declared/secondary')).toBe('unchanged');
    expect(actionOf(await apply(h, documentFor()), 'account', 'openai-declared/secondary')).toBe('updated');
    expect(h.controlPlane.configSource.current().channels[0]?.accounts.map((a) => a.enabled)).toEqual([
      true,
      true,
    ]);
  });

  it('when an upstream secret is rotated, then the account is updated and the snapshot carries the new key; an unchanged one is unchanged', async () => {
    await apply(h, documentFor());
    const doc = documentFor();
    const accounts = (doc.channels as Record<string, unknown>[])[0]!.accounts as Record<string, unknown>[];
    accounts[0]!.api_key = { value: 'sk-upstream-rotated-CCCCCCCCCCCC' };
    const changes = await apply(h, doc);
    expect(actionOf(changes, 'account', 'openai-declared/primary')).toBe('updated');
    expect(actionOf(changes, 'account', 'openai-declared/secondary')).toBe('unchanged');
    expect(h.controlPlane.configSource.current().channels[0]?.accounts[0]?.apiKey).toBe(
      'sk-upstream-rotated-CCCCCCCCCCCC',
    );
  });

  it('when a client key is rotated in the file, then the key row keeps its id and spend and only the new key is valid', async () => {
    await apply(h, documentFor());
    const before = await h.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    const doc = documentFor();
    (doc.keys as Record<string, unknown>[])[0]!.key = { value: 'sk-sy-rotated-client-key-0123456789abcdef' };
    expect(actionOf(await apply(h, doc), 'key', 'alice-laptop')).toBe('updated');
    const after = await h.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(after.id).toBe(before.id);
    expect(after.key_hash).toBe(hashKey('sk-sy-rotated-client-key-0123456789abcdef'));
  });

  it('when a secret is a plain string, then 400 names its JSON path and nothing is written', async () => {
    const before = await storedRows(h);
    const doc = documentFor();
    const channels = doc.channels as Record<string, unknown>[];
    channels.push({
      name: 'second',
      provider: 'openai',
      models: ['gpt-4o'],
      accounts: [{ name: 'a', api_key: 'sk-plain-text-in-git' }],
    });
    const res = await h.call('POST', '/apply', { json: doc });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      type: 'invalid_request_error',
      param: 'channels[1].accounts[0].api_key',
    });
    expect(errorOf(res.body).message).toContain('channels[1].accounts[0].api_key');
    expect(res.text).not.toContain('sk-plain-text-in-git');
    expect(await storedRows(h)).toEqual(before);

    const key = documentFor({ keys: [{ name: 'k', key: CLIENT_KEY }] });
    expect(errorOf((await h.call('POST', '/apply', { json: key })).body).param).toBe('keys[0].key');
    const unresolved = documentFor({ keys: [{ name: 'k', key: { env: 'CLIENT_KEY' } }] });
    const res2 = await h.call('POST', '/apply', { json: unresolved });
    expect(errorOf(res2.body)).toMatchObject({ param: 'keys[0].key' });
    expect(errorOf(res2.body).message).toContain('unresolved');
  });

  it('when a field is invalid, then 400 names its JSON path and nothing of the document is written', async () => {
    const before = await storedRows(h);
    const version = h.controlPlane.configSource.current().version;
    const cases: [Record<string, unknown>, string][] = [
      [
        documentFor({ prices: [{ model: 'm', input_per_million: 'lots', output_per_million: 1 }] }),
        'prices[0].input_per_million',
      ],
      [documentFor({ users: [{ name: 'alice', group: 'nope' }] }), 'users[0].group'],
      [documentFor({ keys: [{ name: 'k', user: 'ghost', key: { value: CLIENT_KEY } }] }), 'keys[0].user'],
      [documentFor({ groups: [{ name: 'vip' }, { name: 'vip' }] }), 'groups[1].name'],
      [documentFor({ colour: 'blue' }), 'colour'],
      [
        documentFor({ prices: [{ model: 'm', input_per_million: 1, output_per_million: 1, extra: 1 }] }),
        'prices[0].extra',
      ],
      [documentFor({ keys: [{ name: 'k', key: { value: CLIENT_KEY }, user_id: 1 }] }), 'keys[0].user_id'],
      [
        documentFor({
          channels: [
            { name: 'c', provider: 'openai', accounts: [{ api_key: { value: 'sk-x' }, proxy_id: 1 }] },
          ],
        }),
        'channels[0].accounts[0].proxy_id',
      ],
      [{ ...documentFor(), version: 2 }, 'version'],
    ];
    for (const [doc, path] of cases) {
      const res = await h.call('POST', '/apply', { json: doc });
      expect(res.status, path).toBe(400);
      expect(errorOf(res.body).param, res.text).toBe(path);
    }
    const badUrl = documentFor();
    (badUrl.channels as Record<string, unknown>[])[0]!.base_url = 'http://169.254.169.254/latest';
    const res = await h.call('POST', '/apply', { json: badUrl });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('channels[0].base_url');
    const badWeight = documentFor();
    (badWeight.channels as Record<string, unknown>[])[0]!.weight = 0;
    expect(errorOf((await h.call('POST', '/apply', { json: badWeight })).body).param).toBe(
      'channels[0].weight',
    );
    expect(await storedRows(h)).toEqual(before);
    expect(h.controlPlane.configSource.current().version).toBe(version);
  });

  it('with ?dry_run=true, then the changes are reported and nothing is written or published', async () => {
    const before = await storedRows(h);
    const version = h.controlPlane.configSource.current().version;
    const res = await h.call('POST', '/apply?dry_run=true', { json: documentFor() });
    expect(res.status).toBe(200);
    expect(obj(res.body).dry_run).toBe(true);
    expect((obj(res.body).changes as Change[]).every((c) => c.action === 'created')).toBe(true);
    expect(await storedRows(h)).toEqual(before);
    expect(h.controlPlane.configSource.current().version).toBe(version);
    expect(obj((await h.call('POST', '/apply', { json: documentFor() })).body).dry_run).toBe(false);
  });

  it('secrets appear in no response and no log line', async () => {
    const texts: string[] = [];
    for (let i = 0; i < 2; i += 1) texts.push((await h.call('POST', '/apply', { json: documentFor() })).text);
    texts.push((await h.call('GET', '/channels')).text, (await h.call('GET', '/keys')).text);
    for (const text of [...texts, h.logText()]) {
      for (const secret of [UPSTREAM_KEY, SECOND_UPSTREAM_KEY, CLIENT_KEY])
        expect(text).not.toContain(secret);
    }
    expect(h.logs.some((l) => l.msg === 'configuration applied')).toBe(true);
  });

  it('entries created through the admin API and not named in the file are never touched', async () => {
    const other = obj((await h.call('POST', '/channels', { json: channelBody({ name: 'api-only' }) })).body);
    await h.call('POST', '/keys', { json: { name: 'api-key' } });
    await apply(h, documentFor());
    // vip stays declared: the retired key and user still name it.
    await apply(h, { version: 1, groups: [{ name: 'vip' }] });
    expect((await h.call('GET', `/channels/${String(other.id)}`)).body).toMatchObject({
      name: 'api-only',
      managed_by: null,
    });
    expect(dataOf((await h.call('GET', '/keys')).body).find((k) => k.name === 'api-key')).toMatchObject({
      enabled: true,
    });
    expect((await h.call('GET', '/groups/default')).status).toBe(200);
  });

  it('when two applies of a new document race in one process, then both succeed and each entry exists once', async () => {
    const [a, b] = await Promise.all([
      h.call('POST', '/apply', { json: documentFor() }),
      h.call('POST', '/apply', { json: documentFor() }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(dataOf((await h.call('GET', '/channels')).body)).toHaveLength(1);
    expect(await h.db.selectFrom('api_keys').selectAll().execute()).toHaveLength(1);
  });

  it('the document, its answer and its errors match the documented schemas; managed views too', async () => {
    const doc = documentFor();
    expect(checkSchema(doc, requestSchema('POST', '/apply'), OPENAPI)).toEqual([]);
    const res = await h.call('POST', '/apply', { json: doc });
    expect(checkSchema(res.body, responseSchema('POST', '/apply', '200'), OPENAPI)).toEqual([]);
    const bad = await h.call('POST', '/apply', { json: documentFor({ groups: [{ name: 'x y' }] }) });
    expect(checkSchema(bad.body, responseSchema('POST', '/apply', '400'), OPENAPI)).toEqual([]);
    const inUse = await h.call('POST', '/apply', { json: documentFor({ groups: [] }) });
    expect(inUse.status).toBe(409);
    expect(checkSchema(inUse.body, responseSchema('POST', '/apply', '409'), OPENAPI)).toEqual([]);
    const channel = dataOf((await h.call('GET', '/channels')).body)[0]!;
    const accountId = (channel.accounts as { id: number }[])[0]!.id;
    for (const [path, doc] of [
      ['/channels/{id}', `/channels/${String(channel.id)}`],
      ['/accounts/{id}', `/accounts/${accountId}`],
      ['/groups/{name}', '/groups/vip'],
      ['/prices/{model}', '/prices/house-model'],
      ['/keys', '/keys'],
      ['/users', '/users'],
    ] as const) {
      const got = await h.call('GET', doc);
      expect(checkSchema(got.body, responseSchema('GET', path, '200'), OPENAPI), path).toEqual([]);
    }
  });
});

describe('POST /apply from two control planes on one MySQL database', () => {
  let h: AdminHarness;
  let other: ControlPlane;
  let dispatchers: OutboundDispatchers;
  beforeEach(async () => {
    h = await startMysqlAdminHarness();
    dispatchers = new OutboundDispatchers({ policy: { allow: ['loopback'] } });
    other = new ControlPlane({
      db: h.db,
      secretBox: h.secretBox,
      adminTokenHash: hashKey(generateToken()),
      logger: pino({ level: 'silent' }),
      dispatcherFor: (proxyUrl) => dispatchers.dispatcherFor({ proxyUrl, connectTimeoutMs: 10_000 }),
    });
    await other.start();
  });
  afterEach(async () => {
    await other.close();
    await dispatchers.close();
    await h.close();
  });

  it('when both apply the same new document at once, then both succeed and every entry exists once', async () => {
    const results = await Promise.all([
      h.controlPlane.apply(documentFor()),
      other.apply(documentFor()),
      h.controlPlane.apply(documentFor()),
      other.apply(documentFor()),
    ]);
    expect(results.map((r) => r.changes.length)).toEqual([7, 7, 7, 7]);
    expect(await h.db.selectFrom('channels').selectAll().execute()).toHaveLength(1);
    expect(await h.db.selectFrom('accounts').selectAll().execute()).toHaveLength(2);
    expect(await h.db.selectFrom('users').selectAll().execute()).toHaveLength(1);
    expect(await h.db.selectFrom('api_keys').selectAll().execute()).toHaveLength(1);
    expect(await h.db.selectFrom('declared_entries').selectAll().execute()).toHaveLength(7);
  });
});
