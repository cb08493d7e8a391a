import { randomBytes } from 'node:crypto';
import { Kysely } from 'kysely';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSqliteDialect } from '@switchyard/adapters';
import { type ConfigSnapshot, type DB, hashKey, migrateToLatest, SecretBox } from '@switchyard/core';
import { ControlPlane } from '@switchyard/control-plane';
import { type AdminHarness, channelBody, obj, startAdminHarness } from './admin-harness.js';
import { AWS_CREDENTIAL, serviceAccountKey } from './credential-fixtures.js';

describe('config snapshot', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('after start(), the first snapshot is version 1 and reflects the database: the default group and the seeded prices', async () => {
    const seeded = await h.db.selectFrom('model_prices').select('model').orderBy('model').execute();
    expect(seeded.length).toBeGreaterThan(20);
    expect(h.controlPlane.configSource.current()).toEqual({
      version: 1,
      channels: [],
      keys: [],
      modelAliases: {},
      users: [],
      groups: [{ name: 'default', ratioPpm: 1_000_000 }],
      prices: seeded.map((r) => expect.objectContaining({ model: r.model })),
    });
  });

  it('a created channel is in the snapshot with its upstream key decrypted and every routing field', async () => {
    const created = obj(
      (
        await h.call('POST', '/channels', {
          json: channelBody({ model_mapping: { 'gpt-4': 'gpt-4o' }, priority: 2, weight: 5, group: 'vip' }),
        })
      ).body,
    );
    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.version).toBe(2);
    const accountId = (created.accounts as { id: number }[])[0]?.id;
    expect(snapshot.channels).toEqual([
      {
        id: created.id,
        name: 'openai-main',
        provider: 'openai',
        baseUrl: 'https://api.openai.com/v1',
        options: {},
        models: ['gpt-4o', 'gpt-4o-mini*'],
        modelMapping: { 'gpt-4': 'gpt-4o' },
        priority: 2,
        weight: 5,
        groups: ['vip'],
        enabled: true,
        accountStrategy: 'round-robin',
        stickySessions: false,
        timeouts: { connectMs: null, firstByteMs: null, idleMs: null },
        breaker: { errorThresholdPercent: 50, volumeThreshold: 5, resetTimeoutMs: 30000, windowMs: 10000 },
        accounts: [
          {
            id: accountId,
            channelId: created.id,
            name: 'account-1',
            enabled: true,
            apiKey: 'sk-upstream-secret-AAAAAAAAAAAA',
            kind: 'api_key',
            authScheme: 'default',
            extraHeaders: {},
            systemPromptPrefix: null,
            proxyUrl: null,
          },
        ],
      },
    ]);
  });

  it('when a Vertex channel is created with options, then the snapshot carries its options, defaulted base_url and decrypted service-account key', async () => {
    const key = serviceAccountKey();
    const options = {
      project_id: 'switchyard-test',
      location: 'europe-west4',
      token_url: 'https://oauth2.googleapis.com/token',
    };
    const created = await h.call('POST', '/channels', {
      json: {
        name: 'vertex',
        provider: 'vertex',
        models: ['gemini-2.5-pro'],
        options,
        accounts: [{ api_key: key }],
      },
    });
    expect(created.status).toBe(201);
    const [channel] = h.controlPlane.configSource.current().channels;
    expect(channel).toMatchObject({
      provider: 'vertex',
      baseUrl: 'https://europe-west4-aiplatform.googleapis.com',
      options,
      models: ['gemini-2.5-pro'],
    });
    expect(channel?.accounts.map((a) => a.apiKey)).toEqual([key]);
  });

  it('when a channel options are changed by PATCH, then the next snapshot has the new options and base_url', async () => {
    const created = obj(
      (
        await h.call('POST', '/channels', {
          json: {
            name: 'bedrock',
            provider: 'bedrock',
            models: ['m'],
            accounts: [{ api_key: AWS_CREDENTIAL }],
          },
        })
      ).body,
    );
    expect(h.controlPlane.configSource.current().channels[0]?.options).toEqual({});
    await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { options: { region: 'eu-central-1' } },
    });
    expect(h.controlPlane.configSource.current().channels[0]).toMatchObject({
      options: { region: 'eu-central-1' },
      baseUrl: 'https://bedrock-runtime.eu-central-1.amazonaws.com',
      accounts: [expect.objectContaining({ apiKey: AWS_CREDENTIAL })],
    });
  });

  it('a created key is in the snapshot as its hash, with models, expiry and group', async () => {
    const created = obj(
      (
        await h.call('POST', '/keys', {
          json: { name: 'k', models: ['gpt-*'], expires_at: '2030-01-01T00:00:00Z' },
        })
      ).body,
    );
    expect(h.controlPlane.configSource.current().keys).toEqual([
      {
        id: created.id,
        name: 'k',
        keyHash: hashKey(String(created.key)),
        models: ['gpt-*'],
        expiresAt: Date.parse('2030-01-01T00:00:00Z'),
        enabled: true,
        group: 'default',
        pinnedChannelId: null,
        excludedChannelIds: [],
        userId: null,
        quotaNano: null,
        usedNano: 0,
        ipAllowlist: null,
        rpmLimit: null,
        tpmLimit: null,
        concurrencyLimit: null,
        createdAt: Date.parse('2026-01-02T03:04:05.000Z'),
      },
    ]);
  });

  it('a key of a user, with a quota, limits and an allowlist, and its user, group and price are in the snapshot, one write each', async () => {
    const versions: number[] = [];
    h.controlPlane.configSource.subscribe((s) => versions.push(s.version));
    const group = await h.call('POST', '/groups', { json: { name: 'vip', price_ratio: '0.9' } });
    const user = obj(
      (
        await h.call('POST', '/users', {
          json: { name: 'reseller', group: 'vip', quota: '100', rpm_limit: 600, concurrency_limit: 8 },
        })
      ).body,
    );
    h.clock.now += 1000;
    const key = obj(
      (
        await h.call('POST', '/keys', {
          json: {
            name: 'k',
            user_id: user.id,
            quota: '2.5',
            ip_allowlist: ['203.0.113.0/24'],
            tpm_limit: 50_000,
          },
        })
      ).body,
    );
    await h.call('PUT', '/prices/house-model', { json: { input_per_million: 1, output_per_million: 2 } });
    expect(group.status).toBe(201);
    expect(versions).toEqual([2, 3, 4, 5]);

    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.keys).toEqual([
      {
        id: key.id,
        name: 'k',
        keyHash: hashKey(String(key.key)),
        models: null,
        expiresAt: null,
        enabled: true,
        group: 'vip',
        pinnedChannelId: null,
        excludedChannelIds: [],
        userId: user.id,
        quotaNano: 2_500_000_000,
        usedNano: 0,
        ipAllowlist: ['203.0.113.0/24'],
        rpmLimit: null,
        tpmLimit: 50_000,
        concurrencyLimit: null,
        createdAt: Date.parse('2026-01-02T03:04:06.000Z'),
      },
    ]);
    expect(snapshot.users).toEqual([
      {
        id: user.id,
        name: 'reseller',
        enabled: true,
        group: 'vip',
        quotaNano: 100_000_000_000,
        usedNano: 0,
        rpmLimit: 600,
        tpmLimit: null,
        concurrencyLimit: 8,
        createdAt: Date.parse('2026-01-02T03:04:05.000Z'),
      },
    ]);
    expect(snapshot.groups).toEqual([
      { name: 'default', ratioPpm: 1_000_000 },
      { name: 'vip', ratioPpm: 900_000 },
    ]);
    expect(snapshot.prices).toContainEqual({
      model: 'house-model',
      inputNano: 1_000_000_000,
      outputNano: 2_000_000_000,
      cachedInputNano: null,
      reasoningNano: null,
      perRequestNano: 0,
      perImageNano: 0,
    });
  });

  it('reads and failed writes of users, groups and prices do not publish a snapshot', async () => {
    await h.call('GET', '/users');
    await h.call('GET', '/groups');
    await h.call('GET', '/prices');
    await h.call('GET', '/prices/gpt-4o/quote?prompt_tokens=10');
    await h.call('POST', '/users', { json: { name: 'u', group: 'ghost' } });
    await h.call('POST', '/groups', { json: { name: 'bad name' } });
    await h.call('DELETE', '/groups/default');
    await h.call('PUT', '/prices/m', { json: { input_per_million: -1, output_per_million: 1 } });
    await h.call('POST', '/users/9/topup', { json: { amount: '1' } });
    expect(h.controlPlane.configSource.current().version).toBe(1);
  });

  it('when a key is disabled and re-enabled, then current() shows each state as soon as the response arrives', async () => {
    const created = obj((await h.call('POST', '/keys', { json: { name: 'k' } })).body);
    const path = `/keys/${String(created.id)}`;
    const state = () => h.controlPlane.configSource.current().keys.find((k) => k.id === created.id)?.enabled;
    expect(state()).toBe(true);
    expect((await h.call('PATCH', path, { json: { enabled: false } })).status).toBe(200);
    expect(state()).toBe(false);
    expect((await h.call('PATCH', path, { json: { enabled: true } })).status).toBe(200);
    expect(state()).toBe(true);
  });

  it('when a channel is disabled, then it stays in the snapshot with enabled: false', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    await h.call('PATCH', `/channels/${String(created.id)}`, { json: { enabled: false } });
    const channels = h.controlPlane.configSource.current().channels;
    expect(channels.map((c) => [c.id, c.enabled])).toEqual([[created.id, false]]);
  });

  it('subscribers get every new snapshot, in order, before the write response arrives', async () => {
    const seen: ConfigSnapshot[] = [];
    const unsubscribe = h.controlPlane.configSource.subscribe((s) => seen.push(s));
    const channel = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    expect(seen.map((s) => s.version)).toEqual([2]);
    await h.call('POST', '/keys', { json: { name: 'k' } });
    await h.call('DELETE', `/channels/${String(channel.id)}`);
    expect(seen.map((s) => s.version)).toEqual([2, 3, 4]);
    expect(seen[2]?.channels).toEqual([]);
    expect(seen.at(-1)).toBe(h.controlPlane.configSource.current());

    unsubscribe();
    await h.call('POST', '/keys', { json: { name: 'k2' } });
    expect(seen).toHaveLength(3);
    expect(h.controlPlane.configSource.current().version).toBe(5);
  });

  it('reads and failed writes do not publish a snapshot', async () => {
    await h.call('GET', '/channels');
    await h.call('GET', '/keys');
    await h.call('POST', '/channels', { json: channelBody({ models: [] }) });
    await h.call('PATCH', '/keys/77', { json: { enabled: false } });
    expect(h.controlPlane.configSource.current().version).toBe(1);
  });

  it('when many writes race, then versions advance by one per write and the last snapshot has every change', async () => {
    const versions: number[] = [];
    h.controlPlane.configSource.subscribe((s) => versions.push(s.version));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.call('POST', '/keys', { json: { name: `k${i}` } })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(h.controlPlane.configSource.current().keys).toHaveLength(10);
  });

  it('when a subscriber throws, then the write still succeeds, others still get the snapshot, and it is logged', async () => {
    const seen: number[] = [];
    h.controlPlane.configSource.subscribe(() => {
      throw new Error('listener bug');
    });
    h.controlPlane.configSource.subscribe((s) => seen.push(s.version));
    const res = await h.call('POST', '/keys', { json: { name: 'k' } });
    expect(res.status).toBe(201);
    expect(seen).toEqual([2]);
    expect(h.logs.some((l) => l.level === 50 && l.msg === 'config snapshot listener threw')).toBe(true);
  });

  it('when an account credential does not decrypt, then that account is left out, logged, and writes still work', async () => {
    const channel = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    await h.db
      .insertInto('accounts')
      .values({
        channel_id: Number(channel.id),
        name: 'corrupt',
        credential: 'v1.garbage',
        enabled: 1,
        created_at: 0,
      })
      .execute();
    const res = await h.call('POST', '/keys', { json: { name: 'k' } });
    expect(res.status).toBe(201);
    const accounts = h.controlPlane.configSource.current().channels[0]?.accounts ?? [];
    expect(accounts.map((a) => a.name)).toEqual(['account-1']);
    expect(h.logs.some((l) => l.level === 50 && typeof l.accountId === 'number')).toBe(true);
  });
});

describe('config snapshot with slow database reads', () => {
  it('when a key or channel is disabled, then the response is held until every subscriber has the new snapshot', async () => {
    // Why 100 ms per query: a rebuild takes several queries, far longer than a loopback HTTP round trip,
    // so a handler that answered before publishing would be caught here.
    const h = await startAdminHarness({ queryDelayMs: 100 });
    try {
      const key = obj((await h.call('POST', '/keys', { json: { name: 'k' } })).body);
      const channel = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
      const published: number[] = [];
      h.controlPlane.configSource.subscribe((s) => published.push(s.version));

      expect((await h.call('PATCH', `/keys/${String(key.id)}`, { json: { enabled: false } })).status).toBe(
        200,
      );
      expect(published).toEqual([4]);
      expect(h.controlPlane.configSource.current().keys[0]?.enabled).toBe(false);

      expect(
        (await h.call('PATCH', `/channels/${String(channel.id)}`, { json: { enabled: false } })).status,
      ).toBe(200);
      expect(published).toEqual([4, 5]);
      expect(h.controlPlane.configSource.current().channels[0]?.enabled).toBe(false);

      expect((await h.call('DELETE', `/keys/${String(key.id)}`)).status).toBe(204);
      expect(h.controlPlane.configSource.current().keys).toEqual([]);
    } finally {
      await h.close();
    }
  });
});

describe('ControlPlane lifecycle', () => {
  /** These tests make no upstream calls: a dispatcher asked for anyway is a failure. */
  const noUpstream = (): never => {
    throw new Error('this test makes no upstream calls');
  };

  async function makeControlPlane(adminTokenHash = hashKey('t')) {
    const db = new Kysely<DB>({ dialect: createNodeSqliteDialect(':memory:') });
    await migrateToLatest(db);
    const logger = pino({ level: 'silent' });
    return {
      db,
      make: () =>
        new ControlPlane({
          db,
          secretBox: new SecretBox(randomBytes(32)),
          adminTokenHash,
          logger,
          dispatcherFor: noUpstream,
        }),
    };
  }

  it('before start(), current() throws instead of returning an empty config', async () => {
    const { db, make } = await makeControlPlane();
    const cp = make();
    expect(() => cp.configSource.current()).toThrow(/start/);
    await cp.start();
    expect(cp.configSource.current().version).toBe(1);
    await cp.close();
    await db.destroy();
  });

  it('when adminTokenHash is not a hex SHA-256, then construction fails', async () => {
    const { db } = await makeControlPlane();
    expect(
      () =>
        new ControlPlane({
          db,
          secretBox: new SecretBox(randomBytes(32)),
          adminTokenHash: 'plain-token',
          logger: pino({ level: 'silent' }),
          dispatcherFor: noUpstream,
        }),
    ).toThrow(/adminTokenHash/);
    await db.destroy();
  });

  it('after close(), subscribers get nothing more and current() still answers', async () => {
    const { db, make } = await makeControlPlane();
    const cp = make();
    await cp.start();
    const seen: number[] = [];
    cp.configSource.subscribe((s) => seen.push(s.version));
    await cp.close();
    expect(seen).toEqual([]);
    expect(cp.configSource.current().version).toBe(1);
    await db.destroy();
  });
});
