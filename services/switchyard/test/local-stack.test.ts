import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { connect as natsConnect } from 'nats';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';

/**
 * scripts/local-stack.sh, the distributed topology as local processes: run with free ports, a unique
 * database, NATS stream and Redis prefix, then used the way the README tells a person to use it.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts/local-stack.sh');
const MYSQL_URL = (process.env.SWITCHYARD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const NATS_URL = process.env.SWITCHYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROLES = ['control-plane', 'accounting', 'relay-1', 'relay-2'] as const;

const run = randomBytes(4).toString('hex');
const database = `switchyard_ls_${run}`;
const stream = `SY_LS_${run}`;
const prefix = `switchyard-ls:${run}:`;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-local-stack-'));

interface Ports {
  relay1: number;
  relay2: number;
  controlPlane: number;
  accounting: number;
  grpc: number;
  mock: number;
}

/** `count` distinct free ports: all held open at once, then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Runs the script to completion; resolves with its exit code and output. */
function script(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  // Nothing from the caller's environment may pick the tokens, ports or services.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('SWITCHYARD_') && !k.startsWith('LOCAL_STACK_'),
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** Whether the process runs (an exited child not yet reaped by its parent, a zombie, does not). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function poll<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const readyz = async (
  port: number,
): Promise<{ status: number; body: { checks: Record<string, unknown> } }> => {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, unknown> } };
};

let ports: Ports;
let env: Record<string, string>;
let started: { code: number | null; out: string; err: string };
let mock: MockUpstream;
const pids = new Map<string, number>();
let stopped = false;

beforeAll(async () => {
  const [relay1, relay2, controlPlane, accounting, grpc, mockPort] = await freePorts(6);
  ports = {
    relay1: relay1!,
    relay2: relay2!,
    controlPlane: controlPlane!,
    accounting: accounting!,
    grpc: grpc!,
    mock: mockPort!,
  };
  mock = await startMockUpstream({ name: 'local-stack' });
  env = {
    LOCAL_STACK_DIR: stateDir,
    LOCAL_STACK_RELAY1_PORT: String(ports.relay1),
    LOCAL_STACK_RELAY2_PORT: String(ports.relay2),
    LOCAL_STACK_CONTROL_PLANE_PORT: String(ports.controlPlane),
    LOCAL_STACK_ACCOUNTING_PORT: String(ports.accounting),
    LOCAL_STACK_GRPC_PORT: String(ports.grpc),
    LOCAL_STACK_MOCK_PORT: String(ports.mock),
    LOCAL_STACK_MYSQL_URL: MYSQL_URL,
    LOCAL_STACK_DATABASE: database,
    SWITCHYARD_NATS_URL: NATS_URL,
    SWITCHYARD_NATS_STREAM: stream,
    SWITCHYARD_REDIS_URL: REDIS_URL,
    SWITCHYARD_REDIS_PREFIX: prefix,
  };
  started = await script(['start'], env);
  for (const role of ROLES) {
    const file = path.join(stateDir, `${role}.pid`);
    if (existsSync(file)) pids.set(role, Number(readFileSync(file, 'utf8').trim()));
  }
}, 60_000);

afterAll(async () => {
  if (!stopped && pids.size > 0) await script(['stop'], env);
  await mock?.close();
  const c = await createConnection(MYSQL_URL);
  await c.query(`DROP DATABASE IF EXISTS \`${database}\``).finally(() => c.end());
  const nc = await natsConnect({ servers: NATS_URL });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  await nc.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('scripts/local-stack.sh', () => {
  let adminToken: string;

  it('when started, then it creates the database, every role is ready on the port asked for, and it prints the URLs and the admin token', async () => {
    expect(started.code, `${started.out}\n${started.err}`).toBe(0);
    const c = await createConnection(MYSQL_URL);
    const [rows] = await c.query('SHOW DATABASES LIKE ?', [database]).finally(() => c.end());
    expect(rows).toHaveLength(1);
    expect([...pids.keys()]).toEqual([...ROLES]);
    for (const pid of pids.values()) expect(running(pid)).toBe(true);
    for (const port of [ports.controlPlane, ports.accounting, ports.relay1, ports.relay2])
      expect((await readyz(port)).status, `port ${port}`).toBe(200);
    // The relays follow the control plane on the gRPC port the script was given.
    for (const port of [ports.relay1, ports.relay2])
      expect((await readyz(port)).body.checks.control_plane).toBe('up');
    for (const port of [ports.relay1, ports.relay2, ports.controlPlane])
      expect(started.out).toContain(`http://127.0.0.1:${port}/`);
    adminToken = /Admin token: (\S+)/.exec(started.out)?.[1] ?? '';
    expect(adminToken.length).toBeGreaterThanOrEqual(16);
    // --with-mock was not given: nothing listens on the mock's port.
    await expect(fetch(`http://127.0.0.1:${ports.mock}/_mock/faults`)).rejects.toThrow();
  });

  it('when a channel and a key are created on the control plane, then a chat through each relay is answered and accounting writes both usage rows', async () => {
    expect(adminToken).toBeTruthy();
    const cp = `http://127.0.0.1:${ports.controlPlane}/admin/v1`;
    const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${cp}${route}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status, `${method} ${route}`).toBeLessThan(300);
      return (await res.json()) as T;
    };
    await admin('POST', '/channels', {
      name: 'mock',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['gpt-4o'],
      accounts: [{ api_key: 'sk-local-stack' }],
    });
    const key = await admin<{ id: number; key: string }>('POST', '/keys', { name: 'local-stack' });
    const version = Number((await readyz(ports.controlPlane)).body.checks.config_version);
    for (const port of [ports.relay1, ports.relay2])
      await poll(`relay on ${port} at config version ${version}`, 5_000, async () =>
        Number((await readyz(port)).body.checks.config_version) >= version ? true : undefined,
      );

    const requestIds: string[] = [];
    for (const port of [ports.relay1, ports.relay2]) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: `hello relay ${port}` }],
        }),
      });
      expect(res.status, `relay on ${port}`).toBe(200);
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
      requestIds.push(res.headers.get('x-request-id') ?? '');
    }
    expect(new Set(requestIds).size).toBe(2);

    const rows = await poll('2 usage rows', 10_000, async () => {
      const page = await admin<{ data: Array<{ request_id: string; key_id: number; total_tokens: number }> }>(
        'GET',
        `/usage?key_id=${key.id}`,
      );
      return page.data.length >= 2 ? page.data : undefined;
    });
    expect(rows.map((r) => r.request_id).sort()).toEqual([...requestIds].sort());
    for (const r of rows) {
      expect(r.key_id).toBe(key.id);
      expect(r.total_tokens).toBeGreaterThan(0);
    }
  });

  it('when stopped, then every process it started is gone and their ports refuse connections', async () => {
    expect(pids.size).toBe(ROLES.length);
    const res = await script(['stop'], env);
    stopped = true;
    expect(res.code, res.err).toBe(0);
    for (const [role, pid] of pids) expect(running(pid), `${role} (pid ${pid})`).toBe(false);
    for (const role of ROLES) expect(existsSync(path.join(stateDir, `${role}.pid`))).toBe(false);
    for (const port of [ports.controlPlane, ports.accounting, ports.relay1, ports.relay2])
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
