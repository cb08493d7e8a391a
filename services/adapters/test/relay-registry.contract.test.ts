import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { RelayPresence, RelayRegistry } from '@switchyard/core';
import { MemoryRelayRegistry, RedisRelayRegistry } from '../src/relay-registry.js';

/** The relay registry's contract, on Redis (the machine's, under a private prefix) and in memory. */
const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `switchyard-registry-test:${randomBytes(4).toString('hex')}:`;
const opened: RelayRegistry[] = [];

afterAll(async () => {
  for (const r of opened) await r.close();
  const redis = new Redis(REDIS_URL);
  await redis.del(`${prefix}relay-presence`);
  redis.disconnect();
});

const presence = (id: string, version: number): RelayPresence => ({
  id,
  startedAt: '2026-12-01T00:00:00.000Z',
  seenAt: new Date().toISOString(),
  snapshotVersion: version,
  checks: { control_plane: 'up', redis: 'up' },
});

const backends: Array<[string, () => RelayRegistry]> = [
  ['memory', () => new MemoryRelayRegistry()],
  [
    'Redis',
    () =>
      new RedisRelayRegistry({ url: REDIS_URL, keyPrefix: `${prefix}${randomBytes(2).toString('hex')}:` }),
  ],
];

describe.each(backends)('relay registry (%s)', (_name, open) => {
  const registry = (): RelayRegistry => {
    const r = open();
    opened.push(r);
    return r;
  };

  it('when relays announce, then the list has each once, by id, with its latest announcement', async () => {
    const r = registry();
    await r.announce(presence('relay-b', 3), 60_000);
    await r.announce(presence('relay-a', 3), 60_000);
    await r.announce(presence('relay-b', 4), 60_000);
    const list = await r.list();
    expect(list.map((p) => [p.id, p.snapshotVersion])).toEqual([
      ['relay-a', 3],
      ['relay-b', 4],
    ]);
    expect(list[0]?.checks).toEqual({ control_plane: 'up', redis: 'up' });
  });

  it('when a relay withdraws, then it leaves the list at once; when its TTL passes, it leaves too', async () => {
    const r = registry();
    await r.announce(presence('stays', 1), 60_000);
    await r.announce(presence('leaves', 1), 60_000);
    await r.announce(presence('dies', 1), 1);
    await new Promise((resolve) => setTimeout(resolve, 5)); // past the 1 ms TTL: time itself is the event here
    await r.withdraw('leaves');
    expect((await r.list()).map((p) => p.id)).toEqual(['stays']);
  });
});

describe('relay registry (Redis, shared)', () => {
  it('when two processes use one prefix, then each sees the other, and a garbled field is dropped', async () => {
    const p = `${prefix}shared:`;
    const a = new RedisRelayRegistry({ url: REDIS_URL, keyPrefix: p });
    const b = new RedisRelayRegistry({ url: REDIS_URL, keyPrefix: p });
    opened.push(a, b);
    await a.announce(presence('relay-1', 7), 60_000);
    await b.announce(presence('relay-2', 7), 60_000);
    const redis = new Redis(REDIS_URL);
    await redis.hset(`${p}relay-presence`, 'garbled', '{not json');
    expect((await a.list()).map((x) => x.id)).toEqual(['relay-1', 'relay-2']);
    expect(await redis.hexists(`${p}relay-presence`, 'garbled')).toBe(0);
    await redis.del(`${p}relay-presence`);
    redis.disconnect();
  });
});
