import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from './admin-harness.js';

/**
 * The snapshot's spend seeds the relays' balances when the coordination store lost them; accounting
 * writes the ledger behind the control plane's back, so the refresher republishes when it moved.
 */
let h: AdminHarness;

beforeEach(async () => {
  h = await startAdminHarness();
});
afterEach(async () => {
  await h.close();
});

/** What accounting does for one request: the row and the key's spend. */
async function settle(keyId: number, requestId: string, costNano: number): Promise<void> {
  await h.db
    .insertInto('usage_logs')
    .values({
      request_id: requestId,
      client_request_id: null,
      key_id: keyId,
      user_id: null,
      channel_id: null,
      account_id: null,
      model: 'gpt-4o-mini',
      upstream_model: null,
      prompt_tokens: 1,
      completion_tokens: 1,
      total_tokens: 2,
      cached_tokens: 0,
      reasoning_tokens: 0,
      cost_nano: costNano,
      status: 'ok',
      http_status: 200,
      latency_ms: 1,
      stream: 0,
      error: null,
      created_at: h.clock.now,
    })
    .execute();
  await h.db
    .updateTable('api_keys')
    .set((eb) => ({ used_nano: eb('used_nano', '+', costNano) }))
    .where('id', '=', keyId)
    .execute();
}

describe('balance refresher', () => {
  it('when the ledger gained rows, then one new snapshot carries the spend, and an unchanged ledger publishes nothing', async () => {
    const created = await h.call('POST', '/keys', { json: { name: 'metered', quota: '1' } });
    expect(created.status).toBe(201);
    const keyId = (created.body as { id: number }).id;
    const refresher = h.controlPlane.balanceRefresher;
    expect(await refresher.checkNow()).toBe(false);
    const before = h.controlPlane.configSource.current();
    expect(before.keys.find((k) => k.id === keyId)?.usedNano).toBe(0);

    await settle(keyId, 'req-1', 4_200);
    await settle(keyId, 'req-2', 800);
    expect(await refresher.checkNow()).toBe(true);
    const after = h.controlPlane.configSource.current();
    expect(after.version).toBe(before.version + 1);
    expect(after.keys.find((k) => k.id === keyId)?.usedNano).toBe(5_000);

    expect(await refresher.checkNow()).toBe(false);
    expect(h.controlPlane.configSource.current().version).toBe(after.version);
  });
});
