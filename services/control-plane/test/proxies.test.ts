import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AdminHarness,
  ADMIN_DATABASES,
  channelBody,
  dataOf,
  errorOf,
  obj,
  startAdminHarness,
} from './admin-harness.js';

const PROXY_PASSWORD = 's3cret-proxy-pw';
const PROXY_URL = `socks5://alice:${PROXY_PASSWORD}@proxy.example:1080`;

describe('admin /proxies', () => {
  let h: AdminHarness;
  let channelId: number;
  beforeEach(async () => {
    h = await startAdminHarness();
    channelId = obj((await h.call('POST', '/channels', { json: channelBody() })).body).id as number;
  });
  afterEach(async () => {
    await h.close();
  });

  async function createProxy(fields: Record<string, unknown> = {}): Promise<number> {
    const res = await h.call('POST', '/proxies', {
      json: { name: 'p', url: 'http://proxy.example:3128', ...fields },
    });
    expect(res.status).toBe(201);
    return obj(res.body).id as number;
  }

  function addAccount(proxyId: unknown) {
    return h.call('POST', `/channels/${channelId}/accounts`, {
      json: { api_key: 'sk-extra', proxy_id: proxyId },
    });
  }

  it('when a proxy with credentials is created, then 201 shows it masked, stores it encrypted, and the password appears nowhere', async () => {
    const res = await h.call('POST', '/proxies', {
      json: { name: 'residential', url: PROXY_URL, max_accounts: 3 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      name: 'residential',
      url: 'socks5://***@proxy.example:1080',
      max_accounts: 3,
      enabled: true,
      accounts: 0,
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });
    const id = obj(res.body).id as number;
    const row = await h.db.selectFrom('proxies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.url).not.toContain(PROXY_PASSWORD);
    expect(h.secretBox.decrypt(row.url)).toBe(PROXY_URL);
    expect(row.display_url).toBe('socks5://***@proxy.example:1080');
    const responses = [
      res,
      await h.call('GET', '/proxies'),
      await h.call('GET', `/proxies/${id}`),
      await h.call('PATCH', `/proxies/${id}`, { json: { name: 'renamed' } }),
    ];
    for (const r of responses) {
      expect(r.status).toBe(200 + (r === res ? 1 : 0));
      expect(r.text).not.toContain(PROXY_PASSWORD);
      expect(r.text).not.toContain('alice');
    }
    expect(h.logText()).not.toContain(PROXY_PASSWORD);
  });

  it('when a proxy without credentials is created with defaults, then its URL shows as given, uncapped and enabled', async () => {
    const id = await createProxy({ url: 'https://proxy.example:8443/' });
    expect((await h.call('GET', `/proxies/${id}`)).body).toMatchObject({
      url: 'https://proxy.example:8443',
      max_accounts: null,
      enabled: true,
    });
  });

  it.each([
    ['an ftp URL', { url: 'ftp://proxy.example:21' }, 'url'],
    ['a socks URL without a port', { url: 'socks5://proxy.example' }, 'url'],
    ['a path', { url: 'http://proxy.example:3128/path' }, 'url'],
    ['a query string', { url: 'http://proxy.example:3128/?a=1' }, 'url'],
    ['the metadata address', { url: 'http://169.254.169.254:80' }, 'url'],
    ['the metadata address in hex, over socks', { url: 'socks5h://0xa9fea9fe:1080' }, 'url'],
    ['no URL at all', { url: 'not a url' }, 'url'],
    ['a zero cap', { max_accounts: 0 }, 'max_accounts'],
    ['an unknown field', { password: 'x' }, 'password'],
    ['an empty name', { name: ' ' }, 'name'],
  ])(
    'when POST /proxies has %s, then 400 naming %s, the URL is not quoted, nothing stored',
    async (_what, fields, param) => {
      const res = await h.call('POST', '/proxies', {
        json: { name: 'p', url: `socks5://bob:${PROXY_PASSWORD}@proxy.example:1080`, ...fields },
      });
      expect(res.status).toBe(400);
      expect(errorOf(res.body).param).toBe(param);
      expect(res.text).not.toContain(PROXY_PASSWORD);
      expect(await h.db.selectFrom('proxies').selectAll().execute()).toEqual([]);
    },
  );

  it('when a PATCH changes the URL, then the new one is stored encrypted and the next snapshot carries it', async () => {
    const proxyId = await createProxy();
    const account = obj((await addAccount(proxyId)).body);
    const res = await h.call('PATCH', `/proxies/${proxyId}`, { json: { url: PROXY_URL } });
    expect(res.status).toBe(200);
    expect(obj(res.body).url).toBe('socks5://***@proxy.example:1080');
    const snapshotAccount = h.controlPlane.configSource
      .current()
      .channels[0]?.accounts.find((a) => a.id === account.id);
    expect(snapshotAccount).toMatchObject({ enabled: true, proxyUrl: PROXY_URL });
    const bad = await h.call('PATCH', `/proxies/${proxyId}`, { json: { url: 'http://169.254.169.254:80' } });
    expect(bad.status).toBe(400);
    expect(obj((await h.call('GET', `/proxies/${proxyId}`)).body).url).toBe(
      'socks5://***@proxy.example:1080',
    );
  });

  it('when an account names a proxy at its cap, then 409 proxy_full; unknown is 404, disabled is 400', async () => {
    const capped = await createProxy({ max_accounts: 1 });
    const disabled = await createProxy({ enabled: false });
    const first = await addAccount(capped);
    expect(first.status).toBe(201);
    expect(obj(first.body).proxy_id).toBe(capped);

    const full = await addAccount(capped);
    expect(full.status).toBe(409);
    expect(errorOf(full.body)).toMatchObject({ code: 'proxy_full', param: 'proxy_id' });
    const unknown = await addAccount(999);
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown.body)).toMatchObject({ code: 'proxy_not_found', param: 'proxy_id' });
    const off = await addAccount(disabled);
    expect(off.status).toBe(400);
    expect(errorOf(off.body)).toMatchObject({ code: 'proxy_disabled', param: 'proxy_id' });
    expect(await h.db.selectFrom('accounts').select('id').execute()).toHaveLength(2);
    expect(obj((await h.call('GET', `/proxies/${capped}`)).body).accounts).toBe(1);
  });

  it('when accounts ask for "auto", then they fill the enabled proxies in id order up to each cap, then 409 no_proxy_available', async () => {
    const skipped = await createProxy({ enabled: false });
    const a = await createProxy({ max_accounts: 2 });
    const b = await createProxy({ max_accounts: 1 });
    const picks: unknown[] = [];
    for (let i = 0; i < 3; i++) picks.push(obj((await addAccount('auto')).body).proxy_id);
    expect(picks).toEqual([a, a, b]);
    const none = await addAccount('auto');
    expect(none.status).toBe(409);
    expect(errorOf(none.body)).toMatchObject({ code: 'no_proxy_available', param: 'proxy_id' });
    const counts = dataOf((await h.call('GET', '/proxies')).body).map((p) => [p.id, p.accounts]);
    expect(counts).toEqual([
      [skipped, 0],
      [a, 2],
      [b, 1],
    ]);
  });

  it('when an uncapped proxy exists, then "auto" never runs out', async () => {
    await createProxy({ max_accounts: 1 });
    const open = await createProxy();
    for (let i = 0; i < 4; i++) await addAccount('auto');
    expect(obj((await h.call('GET', `/proxies/${open}`)).body).accounts).toBe(3);
  });

  it('when a PATCH moves an account, then keeping its own full proxy succeeds, moving into a full one is 409, null goes direct', async () => {
    const p = await createProxy({ max_accounts: 1 });
    const q = await createProxy({ max_accounts: 1 });
    const onP = obj((await addAccount(p)).body).id as number;
    const onQ = obj((await addAccount(q)).body).id as number;
    expect((await h.call('PATCH', `/accounts/${onP}`, { json: { proxy_id: p, name: 'kept' } })).status).toBe(
      200,
    );
    const moved = await h.call('PATCH', `/accounts/${onQ}`, { json: { proxy_id: p } });
    expect(moved.status).toBe(409);
    expect(errorOf(moved.body).code).toBe('proxy_full');
    // "auto" does not count the account's own seat: it may land where it already is.
    expect(
      obj((await h.call('PATCH', `/accounts/${onQ}`, { json: { proxy_id: 'auto' } })).body).proxy_id,
    ).toBe(q);
    const direct = await h.call('PATCH', `/accounts/${onP}`, { json: { proxy_id: null } });
    expect(obj(direct.body).proxy_id).toBeNull();
    expect(obj((await h.call('PATCH', `/accounts/${onQ}`, { json: { proxy_id: p } })).body).proxy_id).toBe(p);
  });

  it('when a proxy still has accounts, then DELETE is 409 proxy_in_use; once they move, 204 and 404 afterwards', async () => {
    const proxyId = await createProxy();
    const accountId = obj((await addAccount(proxyId)).body).id as number;
    const inUse = await h.call('DELETE', `/proxies/${proxyId}`);
    expect(inUse.status).toBe(409);
    expect(errorOf(inUse.body).code).toBe('proxy_in_use');
    await h.call('PATCH', `/accounts/${accountId}`, { json: { proxy_id: null } });
    expect((await h.call('DELETE', `/proxies/${proxyId}`)).status).toBe(204);
    expect((await h.call('GET', `/proxies/${proxyId}`)).status).toBe(404);
    expect((await h.call('DELETE', `/proxies/${proxyId}`)).status).toBe(404);
  });

  it.each([
    ['GET', '/proxies/42'],
    ['PATCH', '/proxies/42'],
    ['DELETE', '/proxies/42'],
    ['GET', '/proxies/x'],
  ])('when %s %s names no proxy, then 404 proxy_not_found', async (method, path) => {
    const res = await h.call(method, path, method === 'PATCH' ? { json: { name: 'x' } } : {});
    expect(res.status).toBe(404);
    expect(errorOf(res.body)).toMatchObject({ code: 'proxy_not_found', param: 'id' });
  });

  it('when an account is on an enabled proxy, then the snapshot carries the decrypted proxy URL; accounts without one go direct', async () => {
    const proxyId = await createProxy({ url: PROXY_URL });
    const id = obj((await addAccount(proxyId)).body).id as number;
    const accounts = h.controlPlane.configSource.current().channels[0]?.accounts ?? [];
    expect(accounts.map((a) => [a.id === id, a.enabled, a.proxyUrl])).toEqual([
      [false, true, null],
      [true, true, PROXY_URL],
    ]);
  });

  it('when its proxy is disabled, then the account is out of rotation in the snapshot (never direct), logged without the password', async () => {
    const proxyId = await createProxy({ url: PROXY_URL });
    const id = obj((await addAccount(proxyId)).body).id as number;
    await h.call('PATCH', `/proxies/${proxyId}`, { json: { enabled: false } });
    const account = h.controlPlane.configSource.current().channels[0]?.accounts.find((a) => a.id === id);
    expect(account).toMatchObject({ enabled: false, proxyUrl: null });
    const warning = h.logs.find((l) => l.accountId === id && l.level === 40);
    expect(warning).toMatchObject({ proxyId, msg: 'account left out of rotation: its proxy is disabled' });
    expect(h.logText()).not.toContain(PROXY_PASSWORD);
    // The admin view still says enabled: only the route is missing.
    expect(obj((await h.call('GET', `/accounts/${id}`)).body).enabled).toBe(true);

    await h.call('PATCH', `/proxies/${proxyId}`, { json: { enabled: true } });
    const back = h.controlPlane.configSource.current().channels[0]?.accounts.find((a) => a.id === id);
    expect(back).toMatchObject({ enabled: true, proxyUrl: PROXY_URL });
  });

  it('when a proxy URL does not decrypt, then its accounts are out of rotation and the rest of the snapshot still builds', async () => {
    const proxyId = await createProxy({ url: PROXY_URL });
    const id = obj((await addAccount(proxyId)).body).id as number;
    await h.db.updateTable('proxies').set({ url: 'v1.garbage' }).where('id', '=', proxyId).execute();
    expect((await h.call('POST', '/keys', { json: { name: 'k' } })).status).toBe(201);
    const account = h.controlPlane.configSource.current().channels[0]?.accounts.find((a) => a.id === id);
    expect(account).toMatchObject({ enabled: false, proxyUrl: null });
    expect(h.logs.some((l) => l.proxyId === proxyId && l.level === 50)).toBe(true);
  });
});

for (const database of ADMIN_DATABASES) {
  describe(`concurrent proxy assignment on ${database.name}`, () => {
    let h: AdminHarness;
    beforeAll(async () => {
      h = await database.start();
    });
    afterAll(async () => {
      await h.close();
    });

    it('when 10 accounts on 10 channels ask for "auto" at once over three proxies capped at 3, then exactly 9 land 3-3-3 and 1 gets 409', async () => {
      const proxies: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await h.call('POST', '/proxies', {
          json: { name: `p${i}`, url: `http://proxy-${i}.example:3128`, max_accounts: 3 },
        });
        proxies.push(obj(res.body).id as number);
      }
      // One channel per account, so the only thing serialising the assignments is the proxy lock.
      const channels: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await h.call('POST', '/channels', { json: channelBody({ name: `c${i}` }) });
        channels.push(obj(res.body).id as number);
      }
      const results = await Promise.all(
        channels.map((id) =>
          h.call('POST', `/channels/${id}/accounts`, {
            json: { api_key: 'sk-concurrent', proxy_id: 'auto' },
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([...Array(9).fill(201), 409]);
      const refused = results.find((r) => r.status === 409);
      expect(errorOf(refused?.body).code).toBe('no_proxy_available');
      const counts = dataOf((await h.call('GET', '/proxies')).body).map((p) => p.accounts);
      expect(counts).toEqual([3, 3, 3]);
      const rows = await h.db
        .selectFrom('accounts')
        .select('proxy_id')
        .where('proxy_id', 'in', proxies)
        .execute();
      expect(rows).toHaveLength(9);
    });
  });
}
