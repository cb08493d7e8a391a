import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import type {
  AccountFailureOutcome,
  AccountFailureReport,
  ConfigSnapshot,
  ConfigSource,
} from '@switchyard/core';
import { GrpcConfigServer, GrpcConfigSource } from '@switchyard/adapters';
import { snapshotToMessage } from '../src/grpc-config-proto.js';
import { SnapshotFile } from '../src/snapshot-file.js';

/** A control plane stand-in: a snapshot that tests replace by hand. */
class FakeSource implements ConfigSource {
  readonly #listeners = new Set<(s: ConfigSnapshot) => void>();
  constructor(private snapshot: ConfigSnapshot) {}
  current(): ConfigSnapshot {
    return this.snapshot;
  }
  subscribe(l: (s: ConfigSnapshot) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  publish(s: ConfigSnapshot): void {
    this.snapshot = s;
    for (const l of this.#listeners) l(s);
  }
}

const TOKEN = 'internal-token-for-tests-0123456789';

function snapshot(version: number, name = 'ch'): ConfigSnapshot {
  return {
    version,
    channels: [
      {
        id: 1,
        name,
        provider: 'openai',
        baseUrl: 'http://127.0.0.1:9/v1',
        options: {},
        models: ['gpt-4o', 'gpt-5*'],
        modelMapping: { alias: 'gpt-4o-mini' },
        priority: 10,
        weight: 3,
        groups: ['default'],
        ...defaultChannelRouting(),
        enabled: true,
        accounts: [
          {
            id: 11,
            channelId: 1,
            name: 'a',
            enabled: false,
            apiKey: 'sk-upstream-secret',
            ...API_KEY_ACCOUNT,
          },
        ],
      },
      {
        id: 2,
        name: 'vertex',
        provider: 'vertex',
        baseUrl: 'https://europe-west4-aiplatform.googleapis.com',
        options: {
          project_id: 'switchyard-test',
          location: 'europe-west4',
          token_url: 'https://oauth2.googleapis.com/token',
        },
        models: ['gemini-2.5-pro'],
        modelMapping: {},
        priority: 0,
        weight: 1,
        groups: ['vip'],
        ...defaultChannelRouting(),
        enabled: true,
        accounts: [
          {
            id: 21,
            channelId: 2,
            name: 'sa',
            enabled: true,
            apiKey:
              '{"type":"service_account","client_email":"relay@switchyard-test.iam.gserviceaccount.com"}',
            kind: 'oauth',
            authScheme: 'bearer',
            extraHeaders: { 'x-extra': '1' },
            systemPromptPrefix: 'You are a test.',
            proxyUrl: 'socks5://127.0.0.1:1080',
          },
        ],
      },
      {
        id: 3,
        name: 'bedrock',
        provider: 'bedrock',
        baseUrl: 'https://bedrock-runtime.eu-west-1.amazonaws.com',
        options: { region: 'eu-west-1' },
        models: ['anthropic.claude-3-5-sonnet-20240620-v1:0'],
        modelMapping: {},
        priority: 0,
        weight: 1,
        groups: ['default'],
        ...defaultChannelRouting(),
        enabled: true,
        accounts: [
          {
            id: 31,
            channelId: 3,
            name: 'aws',
            enabled: true,
            apiKey: 'AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG',
            ...API_KEY_ACCOUNT,
          },
        ],
      },
    ],
    keys: [
      {
        id: 5,
        name: 'all',
        keyHash: 'a'.repeat(64),
        models: null,
        expiresAt: null,
        enabled: true,
        group: 'default',
        pinnedChannelId: 3,
        excludedChannelIds: [],
        userId: 9,
        // The largest quota the admin API accepts: int64 must carry it exactly.
        quotaNano: Number.MAX_SAFE_INTEGER,
        usedNano: 1_234_567_890,
        ipAllowlist: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'],
        rpmLimit: 60,
        tpmLimit: 100_000,
        concurrencyLimit: 4,
        createdAt: 1_767_323_045_000,
      },
      {
        id: 6,
        name: 'some',
        keyHash: 'b'.repeat(64),
        models: ['gpt-4o'],
        expiresAt: 1_800_000_000_000,
        enabled: false,
        group: 'vip',
        pinnedChannelId: null,
        excludedChannelIds: [7, 8],
        userId: null,
        // A zero quota is a limit (nothing may be spent), not "unlimited".
        quotaNano: 0,
        usedNano: 0,
        ipAllowlist: null,
        rpmLimit: null,
        tpmLimit: null,
        concurrencyLimit: null,
        createdAt: 1_767_323_046_000,
      },
    ],
    modelAliases: { 'gpt-4': 'gpt-4o' },
    users: [
      {
        id: 9,
        name: 'reseller',
        enabled: true,
        group: 'vip',
        quotaNano: 25_000_000_000,
        usedNano: 3_000_000_001,
        rpmLimit: 600,
        tpmLimit: 2_000_000,
        concurrencyLimit: 16,
        createdAt: 1_767_323_000_000,
      },
      {
        id: 10,
        name: 'unlimited',
        enabled: false,
        group: 'default',
        quotaNano: null,
        usedNano: 0,
        rpmLimit: null,
        tpmLimit: null,
        concurrencyLimit: null,
        createdAt: 1_767_323_001_000,
      },
    ],
    groups: [
      { name: 'default', ratioPpm: 1_000_000 },
      { name: 'free', ratioPpm: 0 },
      { name: 'vip', ratioPpm: 1_250_000 },
    ],
    prices: [
      {
        model: 'claude-sonnet-4*',
        inputNano: 3_000_000_000,
        outputNano: 15_000_000_000,
        cachedInputNano: 300_000_000,
        reasoningNano: 20_000_000_000,
        perRequestNano: 1_000,
        perImageNano: 2_000_000,
      },
      {
        model: 'gpt-4o',
        inputNano: 2_500_000_000,
        outputNano: 10_000_000_000,
        cachedInputNano: null,
        reasoningNano: null,
        perRequestNano: 0,
        perImageNano: 0,
      },
      {
        // A free model: a zero cached price is a price, not "the input price".
        model: 'house-free',
        inputNano: 0,
        outputNano: 0,
        cachedInputNano: 0,
        reasoningNano: 0,
        perRequestNano: 0,
        perImageNano: 0,
      },
    ],
  };
}

function nextSnapshot(source: GrpcConfigSource): Promise<ConfigSnapshot> {
  return new Promise((resolve) => {
    const off = source.subscribe((s) => {
      off();
      resolve(s);
    });
  });
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function serve(
  source: ConfigSource,
  address = '127.0.0.1:0',
): Promise<{ server: GrpcConfigServer; port: number }> {
  const server = new GrpcConfigServer({ source, internalToken: TOKEN });
  const port = await server.listen(address);
  cleanup.push(() => server.close(100));
  return { server, port };
}

describe('config over gRPC', () => {
  it('when a relay connects, then it gets the control plane snapshot field for field, secrets and nulls included', async () => {
    const { port } = await serve(new FakeSource(snapshot(3)));
    const client = await GrpcConfigSource.connect({ address: `127.0.0.1:${port}`, internalToken: TOKEN });
    cleanup.push(() => client.close());
    expect(client.current()).toEqual(snapshot(3));
  });

  it('when the control plane publishes a change, then the relay applies it within a second', async () => {
    const source = new FakeSource(snapshot(1));
    const { port } = await serve(source);
    const client = await GrpcConfigSource.connect({ address: `127.0.0.1:${port}`, internalToken: TOKEN });
    cleanup.push(() => client.close());
    const t0 = performance.now();
    const next = nextSnapshot(client);
    source.publish(snapshot(2, 'renamed'));
    const got = await next;
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(got.version).toBe(2);
    expect(got.channels[0]?.name).toBe('renamed');
    expect(client.current().version).toBe(2);
  });

  it('when the token is wrong, then connecting fails at once with UNAUTHENTICATED', async () => {
    const { port } = await serve(new FakeSource(snapshot(1)));
    const t0 = performance.now();
    await expect(
      GrpcConfigSource.connect({
        address: `127.0.0.1:${port}`,
        internalToken: 'wrong',
        startTimeoutMs: 10_000,
      }),
    ).rejects.toThrow(/UNAUTHENTICATED|internal token/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('when no control plane answers, then connecting fails naming the address', async () => {
    await expect(
      GrpcConfigSource.connect({
        address: '127.0.0.1:1',
        internalToken: TOKEN,
        startTimeoutMs: 300,
        deadlineMs: 100,
      }),
    ).rejects.toThrow(/127\.0\.0\.1:1/);
  });

  it('when a snapshot file is configured and the control plane is down at start, then the relay starts from the sealed file and takes the live snapshot once it is up', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-snapshot-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const snapshotFile = path.join(dir, 'snapshot.sealed');
    const first = await serve(new FakeSource(snapshot(3)));
    const c1 = await GrpcConfigSource.connect({
      address: `127.0.0.1:${first.port}`,
      internalToken: TOKEN,
      snapshotFile,
    });
    c1.close();
    await first.server.close(100);
    const sealed = await readFile(snapshotFile, 'utf8');
    expect(sealed).not.toContain('sk-upstream-secret');
    expect(sealed).not.toContain('gpt-4o');

    const c2 = await GrpcConfigSource.connect({
      address: `127.0.0.1:${first.port}`,
      internalToken: TOKEN,
      snapshotFile,
      startTimeoutMs: 300,
      deadlineMs: 100,
    });
    cleanup.push(() => c2.close());
    expect(c2.current()).toEqual(snapshot(3));
    expect(c2.connected).toBe(false);
    // Another token cannot open the file: without a control plane that relay must not start.
    await expect(
      GrpcConfigSource.connect({
        address: `127.0.0.1:${first.port}`,
        internalToken: 'other-token-0123456789',
        snapshotFile,
        startTimeoutMs: 200,
        deadlineMs: 100,
      }),
    ).rejects.toThrow(/cannot get a config snapshot/);

    const live = nextSnapshot(c2);
    await serve(new FakeSource(snapshot(1, 'live')), `127.0.0.1:${first.port}`);
    expect((await live).channels[0]?.name).toBe('live');
  });

  it('when the snapshot file was saved before channels had options, then the relay starts from it with options {}', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-snapshot-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const snapshotFile = path.join(dir, 'snapshot.sealed');
    const message = snapshotToMessage(snapshot(4), 'old-epoch');
    for (const channel of message.channels) delete channel.options;
    new SnapshotFile(snapshotFile, TOKEN).save(message);

    const client = await GrpcConfigSource.connect({
      address: '127.0.0.1:1',
      internalToken: TOKEN,
      snapshotFile,
      startTimeoutMs: 200,
      deadlineMs: 100,
    });
    cleanup.push(() => client.close());
    const channels = client.current().channels;
    expect(channels.map((c) => c.options)).toEqual([{}, {}, {}]);
    expect(channels.map((c) => c.provider)).toEqual(['openai', 'vertex', 'bedrock']);
  });

  it('when a snapshot file holds keys, users, groups and prices, then a relay started from it has every field', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-snapshot-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const snapshotFile = path.join(dir, 'snapshot.sealed');
    new SnapshotFile(snapshotFile, TOKEN).save(snapshotToMessage(snapshot(5), 'saved-epoch'));

    const client = await GrpcConfigSource.connect({
      address: '127.0.0.1:1',
      internalToken: TOKEN,
      snapshotFile,
      startTimeoutMs: 200,
      deadlineMs: 100,
    });
    cleanup.push(() => client.close());
    expect(client.current()).toEqual(snapshot(5));
  });

  it('when a snapshot message predates users, groups, prices and the key limits, then it decodes to no users, groups or prices and unlimited keys', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-snapshot-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const snapshotFile = path.join(dir, 'snapshot.sealed');
    const message = snapshotToMessage(snapshot(6), 'old-epoch');
    delete message.users;
    delete message.groups;
    delete message.prices;
    for (const key of message.keys) {
      for (const field of [
        'user_id',
        'quota_nano',
        'has_quota',
        'used_nano',
        'ip_allowlist',
        'restricted_ips',
        'rpm_limit',
        'tpm_limit',
        'concurrency_limit',
        'created_at',
      ] as const) {
        delete key[field];
      }
    }
    new SnapshotFile(snapshotFile, TOKEN).save(message);

    const client = await GrpcConfigSource.connect({
      address: '127.0.0.1:1',
      internalToken: TOKEN,
      snapshotFile,
      startTimeoutMs: 200,
      deadlineMs: 100,
    });
    cleanup.push(() => client.close());
    const s = client.current();
    expect(s.users).toEqual([]);
    expect(s.groups).toEqual([]);
    expect(s.prices).toEqual([]);
    const unlimited = {
      userId: null,
      quotaNano: null,
      usedNano: 0,
      ipAllowlist: null,
      rpmLimit: null,
      tpmLimit: null,
      concurrencyLimit: null,
      createdAt: 0,
    };
    expect(s.keys).toEqual(snapshot(6).keys.map((k) => ({ ...k, ...unlimited })));
  });

  it('when the control plane goes away, then the relay keeps its snapshot, and takes the restarted one (versions restart) when it is back', async () => {
    const first = await serve(new FakeSource(snapshot(7)));
    const states: boolean[] = [];
    let down!: () => void;
    let up!: () => void;
    const wentDown = new Promise<void>((r) => (down = r));
    const watching = new Promise<void>((r) => (up = r));
    const client = await GrpcConfigSource.connect({
      address: `127.0.0.1:${first.port}`,
      internalToken: TOKEN,
      onStateChange: (s) => {
        states.push(s.connected);
        if (s.connected) up();
        else down();
      },
    });
    cleanup.push(() => client.close());
    await watching;
    await first.server.close(100);
    await wentDown;
    expect(client.current().version).toBe(7);
    expect(client.connected).toBe(false);

    // A restarted control plane starts again at version 1, in a new epoch: the relay must take it.
    const back = nextSnapshot(client);
    await serve(new FakeSource(snapshot(1, 'after-restart')), `127.0.0.1:${first.port}`);
    const got = await back;
    expect(got.version).toBe(1);
    expect(got.channels[0]?.name).toBe('after-restart');
    expect(client.connected).toBe(true);
    expect(states).toEqual([true, false, true]);
  });
});

describe('ReportAccountFailure over gRPC', () => {
  /** A control plane whose reporter records each report and answers with `outcome`. */
  async function reportingServer(outcome: AccountFailureOutcome) {
    const reports: AccountFailureReport[] = [];
    const server = new GrpcConfigServer({
      source: new FakeSource(snapshot(1)),
      internalToken: TOKEN,
      accountReporter: {
        reportAuthFailure: async (r) => {
          reports.push(r);
          return outcome;
        },
      },
    });
    const port = await server.listen('127.0.0.1:0');
    cleanup.push(() => server.close(100));
    const client = await GrpcConfigSource.connect({ address: `127.0.0.1:${port}`, internalToken: TOKEN });
    cleanup.push(() => client.close());
    return { reports, client };
  }
  const report = { accountId: 11, channelId: 1, upstreamStatus: 401, reason: 'HTTP 401' };

  it('when a relay reports with request ids, then the control plane gets them from the call metadata and the relay gets the outcome', async () => {
    const { reports, client } = await reportingServer('disabled');
    await expect(
      client.reportAuthFailure({ ...report, requestId: 'req-1f2e', clientRequestId: 'caller:42' }),
    ).resolves.toBe('disabled');
    expect(reports).toEqual([{ ...report, requestId: 'req-1f2e', clientRequestId: 'caller:42' }]);
  });

  it('when the account was already disabled, then the relay is told nothing changed; a report without ids carries none', async () => {
    const { reports, client } = await reportingServer('unchanged');
    await expect(client.reportAuthFailure(report)).resolves.toBe('unchanged');
    expect(reports).toEqual([report]);
  });

  it('when a request id in the metadata is not a plain short id, then the control plane drops it', async () => {
    const { reports, client } = await reportingServer('disabled');
    await client.reportAuthFailure({ ...report, requestId: 'r'.repeat(129), clientRequestId: 'a b' });
    expect(reports).toEqual([report]);
  });
});
