import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, startAdminHarness } from './admin-harness.js';

describe('admin authentication', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('when no Authorization header is sent, then 401 invalid_admin_token in the OpenAI error shape', async () => {
    const res = await h.call('GET', '/channels', { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { message: expect.any(String), type: 'authentication_error', code: 'invalid_admin_token' },
    });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('when a wrong token is sent, then 401 and nothing is written', async () => {
    const res = await h.call('POST', '/keys', { token: `${h.adminToken}x`, json: { name: 'sneaky' } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { message: 'Invalid admin token.', type: 'authentication_error', code: 'invalid_admin_token' },
    });
    const rows = await h.db.selectFrom('api_keys').selectAll().execute();
    expect(rows).toHaveLength(0);
  });

  it('when the right token is sent with another scheme, then 401', async () => {
    const res = await fetch(`${h.baseUrl}/channels`, { headers: { authorization: `Basic ${h.adminToken}` } });
    expect(res.status).toBe(401);
  });

  it('when the right token is sent, then 200 and the response is marked no-store', async () => {
    const res = await h.call('GET', '/channels');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [] });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('the bearer scheme name is case-insensitive', async () => {
    const res = await fetch(`${h.baseUrl}/keys`, { headers: { authorization: `bearer ${h.adminToken}` } });
    expect(res.status).toBe(200);
  });

  it('when an unknown admin path is called without a token, then 401 (not 404), and with one, then 404', async () => {
    expect((await h.call('GET', '/no-such-route', { token: null })).status).toBe(401);
    const res = await h.call('GET', '/no-such-route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', code: 'route_not_found' },
    });
  });

  it('when an unauthenticated caller sends malformed JSON, then it gets 401 before the body is parsed', async () => {
    const res = await h.call('POST', '/channels', { token: null, rawBody: '{not json' });
    expect(res.status).toBe(401);
  });

  it('the admin token never reaches the logs', async () => {
    await h.call('GET', '/channels');
    await h.call('GET', '/nowhere');
    expect(h.logText()).not.toContain(h.adminToken);
  });
});
