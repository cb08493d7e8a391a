import { describe, expect, it } from 'vitest';
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
    group: 'default',
    enabled: true,
    accounts: [{ id: id * 10, channelId: id, name: 'a', enabled: true, apiKey: 'k' }],
    ...over,
  };
}

function table(channels: Channel[]): RoutingTable {
  const t = new RoutingTable();
  const snap: ConfigSnapshot = { version: 1, channels, keys: [] };
  t.update(snap);
  return t;
}

const zero = async () => 0;

describe('channel selection', () => {
  it('when channels have different priorities, then the higher priority comes first', async () => {
    const t = table([channel(1, { priority: 0 }), channel(2, { priority: 10 }), channel(3, { priority: 5 })]);
    const c = await t.candidates('gpt-4o', 'default', zero);
    expect(c.map((x) => x.channel.id)).toEqual([2, 3, 1]);
  });

  it('when channels share a priority, then they are picked in proportion to their weights', async () => {
    const t = table([channel(1, { weight: 1 }), channel(2, { weight: 3 })]);
    let firstIs2 = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const c = await t.candidates('gpt-4o', 'default', zero);
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
    }));
    const t = table([channel(1, { accounts })]);
    let counter = 0;
    const rr = async () => counter++;
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) starts.push((await t.candidates('gpt-4o', 'default', rr))[0]!.account.id);
    expect(starts).toEqual([1, 2, 3, 1]);
    expect((await t.candidates('gpt-4o', 'default', async () => 1)).map((c) => c.account.id)).toEqual([
      2, 3, 1,
    ]);
  });

  it('when channels or accounts are disabled, then they are never candidates', async () => {
    const t = table([
      channel(1, { enabled: false }),
      channel(2, { accounts: [{ id: 5, channelId: 2, name: 'x', enabled: false, apiKey: 'k' }] }),
      channel(3),
    ]);
    expect((await t.candidates('gpt-4o', 'default', zero)).map((c) => c.channel.id)).toEqual([3]);
    expect(t.serves('gpt-4o', 'default')).toBe(true);
  });

  it('when the model matches a glob or a mapping, then the upstream model is the mapped one', async () => {
    const t = table([
      channel(1, { models: ['gpt-4o*'] }),
      channel(2, { models: ['other'], modelMapping: { 'my-alias': 'upstream-real' }, priority: 1 }),
    ]);
    expect(
      (await t.candidates('gpt-4o-mini', 'default', zero)).map((c) => [c.channel.id, c.upstreamModel]),
    ).toEqual([[1, 'gpt-4o-mini']]);
    expect(
      (await t.candidates('my-alias', 'default', zero)).map((c) => [c.channel.id, c.upstreamModel]),
    ).toEqual([[2, 'upstream-real']]);
    expect(t.serves('nope', 'default')).toBe(false);
  });

  it('when a channel belongs to another group, then keys of the default group do not reach it', async () => {
    const t = table([channel(1, { group: 'vip' })]);
    expect(t.serves('gpt-4o', 'default')).toBe(false);
    expect(t.serves('gpt-4o', 'vip')).toBe(true);
  });

  it('when models are listed, then exact names and aliases appear and globs do not', () => {
    const t = table([channel(1, { models: ['gpt-4o', 'gpt-5*'], modelMapping: { alias: 'gpt-4o' } })]);
    expect(t.listModels('default')).toEqual(['alias', 'gpt-4o']);
  });

  it('when a new snapshot arrives, then cached routes are rebuilt', async () => {
    const t = table([channel(1)]);
    expect(t.serves('gpt-4o', 'default')).toBe(true);
    t.update({ version: 2, channels: [channel(1, { models: ['x'] })], keys: [] });
    expect(t.serves('gpt-4o', 'default')).toBe(false);
  });
});
