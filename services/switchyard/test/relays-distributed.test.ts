import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { runAdminCli } from '../src/admin-cli.js';
import { startRelayRole } from '../src/roles/relay-role.js';
import {
  adminCall,
  distributedSuite,
  propagated,
  quietLogger,
  startDistributedStack,
  type DistributedStack,
} from './distributed-harness.js';

/**
 * Every relay as an admin sees it: relays announce their snapshot version and dependencies into
 * Redis, the control plane lists them (GET /admin/v1/relays) and `switchyard status` shows them.
 * Real roles on MariaDB, Redis and NATS.
 */
const suite = distributedSuite('relays', 'e5');
let stack: DistributedStack;

interface RelayList {
  control_plane_version: number;
  registry: string | null;
  data: Array<{ id: string; snapshot_version: number; checks: Record<string, string>; seen_at: string }>;
}

const list = async (): Promise<RelayList> => {
  const r = await adminCall<RelayList>(stack.cp, suite.adminToken, 'GET', '/relays');
  expect(r.status).toBe(200);
  return r.body;
};

/** Resolves with the list once `ok` holds for it; relays announce at each new snapshot, so this is quick. */
async function listWhen(ok: (l: RelayList) => boolean): Promise<RelayList> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const l = await list();
    if (ok(l)) return l;
    if (Date.now() > deadline) throw new Error(`relays never matched: ${JSON.stringify(l)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const versionsOf = (l: RelayList): Record<string, number> =>
  Object.fromEntries(l.data.map((r) => [r.id, r.snapshot_version]));

beforeAll(async () => {
  stack = await startDistributedStack(suite, { relayIds: ['relay-east', 'relay-west'] });
});
afterAll(async () => {
  await stack?.close();
});

describe('the relays an admin sees', () => {
  it('when two relays run, then the control plane lists both with the version it publishes and their dependencies', async () => {
    await propagated(stack.cp, stack.relays);
    const l = await listWhen((x) => x.data.length === 2);
    expect(l.registry).toBe('redis');
    expect(versionsOf(l)).toEqual({
      'relay-east': l.control_plane_version,
      'relay-west': l.control_plane_version,
    });
    for (const r of l.data)
      expect(r.checks).toMatchObject({ control_plane: 'up', redis: 'up', usage_bus: 'up' });
  });

  it('when the configuration changes, then both relays report the new version', async () => {
    const before = (await list()).control_plane_version;
    expect((await adminCall(stack.cp, suite.adminToken, 'POST', '/keys', { name: 'bump' })).status).toBe(201);
    const l = await listWhen(
      (x) =>
        x.control_plane_version > before &&
        x.data.every((r) => r.snapshot_version === x.control_plane_version),
    );
    expect(l.data.map((r) => r.id)).toEqual(['relay-east', 'relay-west']);
  });

  it('when `switchyard status` runs against the control plane, then it prints every relay with its version', async () => {
    let stdout = '';
    const code = await runAdminCli(['status'], {
      stdout: (s) => void (stdout += s),
      stderr: () => undefined,
      env: { SWITCHYARD_URL: stack.cp.url, SWITCHYARD_ADMIN_TOKEN: suite.adminToken },
    });
    expect(code).toBe(0);
    const version = (await list()).control_plane_version;
    expect(stdout).toMatch(new RegExp(`^relay-east\\s+${version}\\s`, 'm'));
    expect(stdout).toMatch(new RegExp(`^relay-west\\s+${version}\\s`, 'm'));
    expect(stdout).toMatch(/redis=up/);
  });

  it('when a relay stops, then it leaves the list at once; a new one joins with the current version', async () => {
    const extra = await startRelayRole(
      loadConfig(
        suite.env(stack.database.url, {
          SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${stack.cp.grpcPort}`,
          SWITCHYARD_RELAY_ID: 'relay-north',
        }),
      ),
      quietLogger,
    );
    const joined = await listWhen((x) => x.data.some((r) => r.id === 'relay-north'));
    expect(versionsOf(joined)['relay-north']).toBe(joined.control_plane_version);
    await extra.close();
    // Withdrawn as it stopped, not 15 s later when its entry would expire.
    expect((await list()).data.map((r) => r.id)).toEqual(['relay-east', 'relay-west']);
  });
});
