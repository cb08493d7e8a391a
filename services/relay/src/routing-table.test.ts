import { describe, expect, it } from 'vitest';
import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import type { Channel, ConfigSnapshot } from '@switchyard/core';
import { RoutingTable } from './routing-table.js';

function channel(id: number, over: Partial<Channel> = {}): Channel {
  return {
    id,
    name: `ch${id}`,
    provider: 'openai',
    baseUrl: 'http://127.0.0.1:1/v1',
    options: {},
    models: ['gpt-4o'],
    modelMapping: {},
    priority: 0,
    weight: 1,
    groups: ['default'],
    ...defaultChannelRouting(),
    enabled: true,
    accounts: [{ id: id * 10, channelId: id, name: 'a', enabled: true, apiKey: 'k', ...API_KEY_ACCOUNT }],
    ...over,
  };
}

function table(channels: Channel[]): RoutingTable {
  const t = new RoutingTable();
  const snap: ConfigSnapshot = {
    version: 1,
    channels,
    keys: [],
    modelAliases: {},
    users: [],
    groups: [],
    prices: [],
  };
  t.update(snap);
  return t;
}

const zero = { accountOffset: async () => 0 };
const DEFAULT_KEY = { group: 'default', pinnedChannelId: null, excludedChannelIds: [] as number[] };

describe('channel selection', () => {
  it('when channels have different priorities, then the higher priority comes first', async () => {
    const t = table([channel(1, { priority: 0 }), channel(2, { priority: 10 }), channel(3, { priority: 5 })]);
    const c = await t.candidates('gpt-4o', DEFAULT_KEY, zero);
    expect(c.map((x) => x.channel.id)).toEqual([2, 3, 1]);
  });

  it('when channels share a priority, then they are picked in proportion to their weights', async () => {
    const t = table([channel(1, { weight: 1 }), channel(2, { weight: 3 })]);
    let firstIs2 = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const c = await t.candidates('gpt-4o', DEFAULT_KEY, zero);
      if (c[0]!.channel.id === 2) firstIs2++;
      expect(c).toHaveLength(2);
    }
    // Expected share 3/4; 4000 draws keep the observed share within ±4 points with overwhelming probability.
    expect(firstIs2 / n).toBeGreaterThan(0.71);
    expect(firstIs2 / n).toBeLessThan(0.79);
  });

  it('when a channel has several accounts, then the round-robin offset rotates the starting account', async () => {
    const accounts = [1, 2, 3].map((i) => ({
      id: i,
      channelId: 1,
      name: `a${i}`,
      enabled: true,
      apiKey: `k${i}`,
      ...API_KEY_ACCOUNT,
    }));
    const t = table([channel(1, { accounts })]);
    let counter = 0;
    const rr = async () => counter++;
    const starts: number[] = [];
    for (let i = 0; i < 4; i++)
      starts.push((await t.candidates('gpt-4o', DEFAULT_KEY, { accountOffset: rr }))[0]!.account.id);
    expect(starts).toEqual([1, 2, 3, 1]);
    expect(
      (await t.candidates('gpt-4o', DEFAULT_KEY, { accountOffset: async () => 1 })).map((c) => c.account.id),
    ).toEqual([2, 3, 1]);
  });

  it('when channels or accounts are disabled, then they are never candidates', async () => {
    const t = table([
      channel(1, { enabled: false }),
      channel(2, {
        accounts: [{ id: 5, channelId: 2, name: 'x', enabled: false, apiKey: 'k', ...API_KEY_ACCOUNT }],
      }),
      channel(3),
    ]);
    expect((await t.candidates('gpt-4o', DEFAULT_KEY, zero)).map((c) => c.channel.id)).toEqual([3]);
    expect(t.serves('gpt-4o', DEFAULT_KEY)).toBe(true);
  });

  it('when the model matches a glob or a mapping, then the upstream model is the mapped one', async () => {
    const t = table([
      channel(1, { models: ['gpt-4o*'] }),
      channel(2, { models: ['other'], modelMapping: { 'my-alias': 'upstream-real' }, priority: 1 }),
    ]);
    expect(
      (await t.candidates('gpt-4o-mini', DEFAULT_KEY, zero)).map((c) => [c.channel.id, c.upstreamModel]),
    ).toEqual([[1, 'gpt-4o-mini']]);
    expect(
      (await t.candidates('my-alias', DEFAULT_KEY, zero)).map((c) => [c.channel.id, c.upstreamModel]),
    ).toEqual([[2, 'upstream-real']]);
    expect(t.serves('nope', DEFAULT_KEY)).toBe(false);
  });

  it('when a channel belongs to another group, then keys of the default group do not reach it', async () => {
    const t = table([channel(1, { groups: ['vip'] })]);
    expect(t.serves('gpt-4o', DEFAULT_KEY)).toBe(false);
    expect(t.serves('gpt-4o', { ...DEFAULT_KEY, group: 'vip' })).toBe(true);
  });

  it('when models are listed, then exact names and aliases appear and globs do not', () => {
    const t = table([channel(1, { models: ['gpt-4o', 'gpt-5*'], modelMapping: { alias: 'gpt-4o' } })]);
    expect(t.listModels('default')).toEqual(['alias', 'gpt-4o']);
  });

  it('when a new snapshot arrives, then cached routes are rebuilt', async () => {
    const t = table([channel(1)]);
    expect(t.serves('gpt-4o', DEFAULT_KEY)).toBe(true);
    t.update({
      version: 2,
      channels: [channel(1, { models: ['x'] })],
      keys: [],
      modelAliases: {},
      users: [],
      groups: [],
      prices: [],
    });
    expect(t.serves('gpt-4o', DEFAULT_KEY)).toBe(false);
  });
});

function accounts(channelId: number, ids: number[]) {
  return ids.map((id) => ({
    id,
    channelId,
    name: `a${id}`,
    enabled: true,
    apiKey: `k${id}`,
    ...API_KEY_ACCOUNT,
  }));
}

describe('groups, aliases and key overrides', () => {
  it('when a channel serves several groups, then keys of each of them reach it and others do not', async () => {
    const t = table([channel(1, { groups: ['team-a', 'team-b'] })]);
    expect(t.serves('gpt-4o', { ...DEFAULT_KEY, group: 'team-a' })).toBe(true);
    expect(t.serves('gpt-4o', { ...DEFAULT_KEY, group: 'team-b' })).toBe(true);
    expect(t.serves('gpt-4o', DEFAULT_KEY)).toBe(false);
    expect(t.listModels('team-b')).toEqual(['gpt-4o']);
  });

  it('when a model alias exists, then the alias routes as its target and is listed', async () => {
    const t = new RoutingTable();
    t.update({
      version: 1,
      channels: [channel(1)],
      keys: [],
      modelAliases: { 'gpt-4': 'gpt-4o', ghost: 'none' },
      users: [],
      groups: [],
      prices: [],
    });
    expect(t.resolve('gpt-4')).toBe('gpt-4o');
    expect((await t.candidates('gpt-4', DEFAULT_KEY, zero)).map((c) => c.upstreamModel)).toEqual(['gpt-4o']);
    expect(t.listModels('default')).toEqual(['gpt-4', 'gpt-4o']);
  });

  it('when a key is pinned to a channel, then only that channel is a candidate', async () => {
    const t = table([channel(1, { priority: 10 }), channel(2), channel(3)]);
    const pinned = { ...DEFAULT_KEY, pinnedChannelId: 3 };
    expect((await t.candidates('gpt-4o', pinned, zero)).map((c) => c.channel.id)).toEqual([3]);
    expect(t.serves('gpt-4o', { ...DEFAULT_KEY, pinnedChannelId: 99 })).toBe(false);
  });

  it('when a key excludes channels, then they are never candidates', async () => {
    const t = table([channel(1, { priority: 10 }), channel(2), channel(3)]);
    const key = { ...DEFAULT_KEY, excludedChannelIds: [1, 3] };
    expect((await t.candidates('gpt-4o', key, zero)).map((c) => c.channel.id)).toEqual([2]);
  });
});

describe('account strategies and sticky sessions', () => {
  it('when a channel is fill-first, then its accounts come in their order whatever the counter says', async () => {
    const t = table([channel(1, { accountStrategy: 'fill-first', accounts: accounts(1, [4, 5, 6]) })]);
    const c = await t.candidates('gpt-4o', DEFAULT_KEY, { accountOffset: async () => 2 });
    expect(c.map((x) => x.account.id)).toEqual([4, 5, 6]);
  });

  it('when sessions are sticky, then one session always gets the same order and sessions spread over accounts', async () => {
    const t = table([channel(1, { stickySessions: true, accounts: accounts(1, [1, 2, 3, 4]) })]);
    const offset = { accountOffset: async () => Math.floor(Math.random() * 4) };
    const first = new Map<number, number>();
    for (let s = 0; s < 400; s++) {
      const session = `conversation-${s}`;
      const a = (await t.candidates('gpt-4o', DEFAULT_KEY, { ...offset, sessionKey: session })).map(
        (c) => c.account.id,
      );
      const b = (await t.candidates('gpt-4o', DEFAULT_KEY, { ...offset, sessionKey: session })).map(
        (c) => c.account.id,
      );
      expect(b).toEqual(a);
      expect([...a].sort()).toEqual([1, 2, 3, 4]);
      first.set(a[0]!, (first.get(a[0]!) ?? 0) + 1);
    }
    // 400 sessions over 4 accounts: each gets ~100; 50 is far outside chance for a uniform hash.
    for (const id of [1, 2, 3, 4]) expect(first.get(id) ?? 0).toBeGreaterThan(50);
  });

  it('when the sticky account leaves the pool, then only its sessions move and the others stay', async () => {
    const all = table([channel(1, { stickySessions: true, accounts: accounts(1, [1, 2, 3]) })]);
    const without3 = table([channel(1, { stickySessions: true, accounts: accounts(1, [1, 2]) })]);
    for (let s = 0; s < 100; s++) {
      const opts = { ...zero, sessionKey: `s${s}` };
      const before = (await all.candidates('gpt-4o', DEFAULT_KEY, opts)).map((c) => c.account.id);
      const after = (await without3.candidates('gpt-4o', DEFAULT_KEY, opts)).map((c) => c.account.id);
      expect(after).toEqual(before.filter((id) => id !== 3));
    }
  });

  it('when a channel is not sticky, then a session key changes nothing about round-robin', async () => {
    const t = table([channel(1, { accounts: accounts(1, [1, 2, 3]) })]);
    const c = await t.candidates('gpt-4o', DEFAULT_KEY, { accountOffset: async () => 1, sessionKey: 'x' });
    expect(c.map((x) => x.account.id)).toEqual([2, 3, 1]);
  });
});
