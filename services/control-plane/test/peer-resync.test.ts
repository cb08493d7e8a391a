import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigSnapshot } from '@switchyard/core';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';
import { channelBody, obj, startAdminHarness, type AdminHarness } from './admin-harness.js';

/**
 * Two control planes on one MariaDB database, as a scaled-out deployment runs them: each publishes its
 * own admin writes at once, and finds the other's by rebuilding from the database (published only
 * when the content changed), so the relays watching either replica see every change.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let a: AdminHarness;
let b: AdminHarness;

beforeAll(async () => {
  database = await createTestDatabase();
  const secretKey = randomBytes(32);
  a = await startAdminHarness({ mysqlUrl: database.url, secretKey });
  b = await startAdminHarness({ mysqlUrl: database.url, secretKey });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

const names = (s: ConfigSnapshot): string[] => s.channels.map((c) => c.name);

describe('control planes sharing a database', () => {
  it('when a second control plane starts on the same database, then it serves the same version number as the first', () => {
    expect(b.controlPlane.configSource.current().version).toBe(a.controlPlane.configSource.current().version);
  });

  it('when nothing changed, then a resync publishes nothing', async () => {
    const before = b.controlPlane.configSource.current().version;
    expect(await b.controlPlane.resyncNow()).toBe(false);
    expect(await a.controlPlane.resyncNow()).toBe(false);
    expect(b.controlPlane.configSource.current().version).toBe(before);
  });

  it("when a channel is created through one, then the other's resync publishes it once, with its decrypted account", async () => {
    const created = await a.call('POST', '/channels', { json: channelBody({ name: 'via-a' }) });
    expect(created.status).toBe(201);
    expect(names(a.controlPlane.configSource.current())).toContain('via-a');
    // The writer published its own write; a resync there finds nothing new.
    expect(await a.controlPlane.resyncNow()).toBe(false);

    const before = b.controlPlane.configSource.current();
    expect(names(before)).not.toContain('via-a');
    expect(await b.controlPlane.resyncNow()).toBe(true);
    const after = b.controlPlane.configSource.current();
    // The number the writer took, not one of its own: relays of both replicas show the same version.
    expect(after.version).toBe(a.controlPlane.configSource.current().version);
    expect(after.version).toBeGreaterThan(before.version);
    const channel = after.channels.find((c) => c.name === 'via-a');
    expect(channel?.accounts[0]?.apiKey).toBe('sk-upstream-secret-AAAAAAAAAAAA');
    expect(await b.controlPlane.resyncNow()).toBe(false);
  });

  it('when a row is changed in SQL behind both, then each resync publishes the change', async () => {
    await a.db.updateTable('channels').set({ weight: 7 }).where('name', '=', 'via-a').execute();
    const before = a.controlPlane.configSource.current().version;
    for (const h of [a, b]) {
      expect(await h.controlPlane.resyncNow()).toBe(true);
      expect(h.controlPlane.configSource.current().channels.find((c) => c.name === 'via-a')?.weight).toBe(7);
    }
    // The first to notice numbered the change once; the other adopted that number.
    expect(a.controlPlane.configSource.current().version).toBe(before + 1);
    expect(b.controlPlane.configSource.current().version).toBe(before + 1);
  });

  it('when a resync is shallow, then it finds a write through the other control plane but not an edit made in SQL', async () => {
    await a.db.updateTable('channels').set({ weight: 9 }).where('name', '=', 'via-a').execute();
    expect(await b.controlPlane.resyncNow({ deep: false })).toBe(false);
    expect(b.controlPlane.configSource.current().channels.find((c) => c.name === 'via-a')?.weight).toBe(7);
    expect((await a.call('POST', '/keys', { json: { name: 'shallow' } })).status).toBe(201);
    expect(await b.controlPlane.resyncNow({ deep: false })).toBe(true);
    const snapshot = b.controlPlane.configSource.current();
    expect(snapshot.keys.some((k) => k.name === 'shallow')).toBe(true);
    // The rebuild it did read everything, the SQL edit included.
    expect(snapshot.channels.find((c) => c.name === 'via-a')?.weight).toBe(9);
    expect(snapshot.version).toBe(a.controlPlane.configSource.current().version);
  });

  it('when the resync timer is on, then a subscriber of the other control plane receives a write made through the first', async () => {
    const c = await startAdminHarness({
      mysqlUrl: database.url,
      secretKey: randomBytes(32),
      peerResyncIntervalMs: 50,
    });
    try {
      const seen = new Promise<ConfigSnapshot>((resolve) => {
        const off = c.controlPlane.configSource.subscribe((s) => {
          if (s.keys.some((k) => k.name === 'timer-key')) {
            off();
            resolve(s);
          }
        });
      });
      const key = await a.call('POST', '/keys', { json: { name: 'timer-key' } });
      expect(key.status).toBe(201);
      const snapshot = await seen;
      expect(snapshot.keys.find((k) => k.name === 'timer-key')?.id).toBe(obj(key.body).id);
    } finally {
      await c.close();
    }
  });
});
