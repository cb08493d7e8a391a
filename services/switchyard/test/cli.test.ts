import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The real executable, as a user runs it (`npx switchyard …` resolves to this script). */
const BIN = fileURLToPath(new URL('../bin/switchyard', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function env(dataDir: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_LOG_LEVEL: 'warn' };
  delete e.SWITCHYARD_ADMIN_TOKEN;
  return e;
}

/** Starts `switchyard serve` and resolves with what it printed up to the listening line. */
function serve(dataDir: string): Promise<{ child: ChildProcess; url: string; banner: string }> {
  const child = spawn(BIN, ['serve', '--port', '0', '--host', '127.0.0.1'], { env: env(dataDir) });
  return new Promise((resolve, reject) => {
    let banner = '';
    child.stderr!.on('data', (d: Buffer) => {
      banner += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner);
      // Wait for the whole banner: the token lines follow the listening line in the same write.
      if (m) resolve({ child, url: m[1]!, banner });
    });
    child.once('exit', (code) => reject(new Error(`switchyard exited with ${code}: ${banner}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

let dataDir: string;
beforeAll(async () => {
  if (!existsSync(DIST))
    throw new Error('services/switchyard/dist is missing: run `npm test` (it builds first)');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-cli-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('the switchyard executable', () => {
  it('when asked for help, then it lists its commands', () => {
    const r = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const cmd of ['serve', 'migrate', 'mock-upstream', 'config'])
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });

  it('when the configuration is invalid, then it exits with a message naming the variable', () => {
    const r = spawnSync(BIN, ['serve'], {
      encoding: 'utf8',
      env: { ...env(dataDir), SWITCHYARD_HTTP_PORT: 'x' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SWITCHYARD_HTTP_PORT');
  });

  it('when a distributed role lacks its settings, then it exits naming every missing variable', () => {
    const r = spawnSync(BIN, ['serve', '--role', 'relay'], { encoding: 'utf8', env: env(dataDir) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('role relay needs: SWITCHYARD_INTERNAL_TOKEN, SWITCHYARD_CONTROL_PLANE_URL');
    const bad = spawnSync(BIN, ['serve', '--role', 'router'], { encoding: 'utf8', env: env(dataDir) });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--role router: must be one of all, relay, control-plane, accounting');
  });

  it('when started for the first time, then it prints the admin token once, serves it, and stops cleanly on SIGTERM', async () => {
    const first = await serve(dataDir);
    const token = /^\s+(sy-admin-\S+)$/m.exec(first.banner)?.[1];
    expect(token).toBeDefined();
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(
      (await fetch(`${first.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${first.url}/admin/v1/keys`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect(await stop(first.child)).toBe(0);

    const second = await serve(dataDir);
    expect(second.banner).not.toContain('sy-admin-');
    // The token generated on the first start still works after a restart.
    expect(
      (await fetch(`${second.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    expect(await stop(second.child)).toBe(0);
  });
});
