#!/usr/bin/env node
// `npm run bench`: the mock upstream direct vs through the gateway. Layout on a 2-core machine: the
// gateway pinned to core 1 (`taskset -c 1`), the mock upstream and this load generator on core 0.
// Prints a markdown table: requests/s, p50/p99 latency, added latency, streaming time to first byte
// and the gateway's peak RSS. Settings via env: BENCH_SECONDS (default 5), BENCH_WARMUP_SECONDS (1).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const ADMIN = 'bench-admin-token-0123456789';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const cores = os.cpus().length;

function pinned(core, args) {
  return hasTaskset && cores > 1 ? ['taskset', ['-c', String(core), ...args]] : [args[0], args.slice(1)];
}

// Pin this load generator to core 0 as well (the first thing it does).
if (hasTaskset && cores > 1) spawnSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });

// BENCH_GATEWAY_LOG=FILE keeps the gateway's output (with --trace-gc, say) instead of dropping it.
const logTo = process.env.BENCH_GATEWAY_LOG ? createWriteStream(process.env.BENCH_GATEWAY_LOG) : null;

function start(core, args, env, readyPattern) {
  const [cmd, argv] = pinned(core, args);
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    let ready = false;
    const onData = (d) => {
      if (logTo && args.includes('serve')) logTo.write(d);
      if (ready) return; // after start-up the output (request logs) is read and dropped, like /dev/null
      err += d.toString();
      const m = readyPattern.exec(err);
      if (m) {
        ready = true;
        resolve({ child, url: m[1] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const body = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Write one short sentence about load balancers.' },
  ],
});
const streamBody = (chunks) => JSON.stringify({ ...JSON.parse(body), stream: true, mock_chunks: chunks });
/** The same prompt in Anthropic's format (the mock instance streams 20 chunks by default). */
const anthropicStream = (model) =>
  JSON.stringify({
    model,
    max_tokens: 256,
    stream: true,
    system: 'You are a helpful assistant.',
    messages: [{ role: 'user', content: 'Write one short sentence about load balancers.' }],
  });
const openaiStream = (model) => JSON.stringify({ ...JSON.parse(body), model, stream: true });

/** Closed-loop load: `concurrency` workers issue requests back to back for `seconds`. */
async function load(url, { concurrency, seconds, payload, headers, ttfb }) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies = [];
  let errors = 0;
  const t0Run = performance.now();
  const measureFrom = t0Run + WARMUP * 1000;
  const stopAt = measureFrom + seconds * 1000;
  let lastEnd = measureFrom;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: u.pathname, method: 'POST', headers, body: payload });
        let first = 0;
        if (ttfb) {
          for await (const chunk of res.body) {
            if (first === 0 && chunk.length > 0) first = performance.now();
          }
        } else {
          await res.body.text();
        }
        const end = performance.now();
        if (res.statusCode !== 200) errors++;
        else if (t0 >= measureFrom) {
          latencies.push((ttfb ? first : end) - t0);
          lastEnd = end;
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (lastEnd - measureFrom) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    n: latencies.length,
    errors,
  };
}

/** Current resident memory split: anonymous (heaps, buffers) and file-backed (the node binary, libs). */
function rssSplitMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { anon: NaN, file: NaN };
  }
}

function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

const BIN = path.join(root, 'services/switchyard/bin/switchyard');
const LISTENING = /listening on (http:\/\/\S+?) /;

async function adminCall(base, route, payload) {
  const res = await fetch(`${base}/admin/v1${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`admin ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A channel on the mock with two accounts (so routing does a round-robin step) and a key. */
async function provision(adminBase, mockUrl) {
  await adminCall(adminBase, '/channels', {
    name: 'bench-mock',
    provider: 'openai',
    base_url: `${mockUrl}/v1`,
    models: ['gpt-4o-mini'],
    accounts: [{ api_key: 'sk-bench-upstream-1' }, { api_key: 'sk-bench-upstream-2' }],
  });
  // An Anthropic channel on the same mock, for the conversion scenarios.
  await adminCall(adminBase, '/channels', {
    name: 'bench-anthropic',
    provider: 'anthropic',
    base_url: mockUrl,
    models: ['claude-bench'],
    accounts: [{ api_key: 'sk-ant-bench-1' }, { api_key: 'sk-ant-bench-2' }],
  });
  // A key with a quota and rate limits far above the load, so every request runs the whole
  // admission path (tokenizer, hold, windows, release) and none is refused.
  const limited = await adminCall(adminBase, '/keys', {
    name: 'bench-limited',
    quota: '1000000',
    rpm_limit: 100_000_000,
    tpm_limit: 2_000_000_000,
    concurrency_limit: 10_000,
  });
  // Created last: once a relay knows this key, it knows the limited one too.
  const { key } = await adminCall(adminBase, '/keys', { name: 'bench' });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  LIMITED_HEADERS.set(headers, {
    'content-type': 'application/json',
    authorization: `Bearer ${limited.key}`,
  });
  return headers;
}

/** Each gateway's plain key headers → the headers of its key with quota and limits. */
const LIMITED_HEADERS = new WeakMap();
const headersFor = (x, headers) => (x.limited ? LIMITED_HEADERS.get(headers) : headers);

async function waitForKey(relayUrl, headers) {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const res = await fetch(`${relayUrl}/v1/models`, { headers });
    await res.arrayBuffer();
    if (res.ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the relay never saw the bench key');
}

const SCENARIOS = [
  { id: 'c1', name: 'chat, non-streaming', concurrency: 1, opts: { payload: body } },
  { id: 'c16', name: 'chat, non-streaming', concurrency: 16, opts: { payload: body } },
  { id: 'c64', name: 'chat, non-streaming', concurrency: 64, opts: { payload: body } },
  {
    id: 'limited',
    name: 'chat, non-streaming, key with quota + RPM/TPM/concurrency limits',
    concurrency: 16,
    limited: true,
    opts: { payload: body },
  },
  {
    id: 'stream',
    name: 'chat, streaming (20 chunks): time to first byte',
    concurrency: 16,
    opts: { payload: streamBody(20), ttfb: true },
  },
  {
    // Anthropic client, OpenAI upstream: the direct baseline is the upstream's own stream.
    id: 'conv-a2o',
    name: 'stream converted, Anthropic client → OpenAI upstream: time to first byte',
    concurrency: 16,
    path: '/v1/messages',
    opts: { payload: anthropicStream('gpt-4o-mini'), ttfb: true },
    direct: { path: '/v1/chat/completions', payload: openaiStream('gpt-4o-mini') },
  },
  {
    id: 'conv-o2a',
    name: 'stream converted, OpenAI client → Anthropic upstream: time to first byte',
    concurrency: 16,
    opts: { payload: openaiStream('claude-bench'), ttfb: true },
    direct: { path: '/v1/messages', payload: anthropicStream('claude-bench') },
  },
];

/** The distributed topology: control plane and accounting on core 0, one relay on core 1. */
async function startDistributed(mockUrl) {
  const { createConnection } = await import('mysql2/promise');
  const run = Math.random().toString(16).slice(2, 10);
  const dbName = `switchyard_bench_${run}`;
  const mysqlUrl = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
  const admin = await createConnection(mysqlUrl);
  await admin.query(`CREATE DATABASE \`${dbName}\``);
  await admin.end();
  const common = {
    SWITCHYARD_HTTP_HOST: '127.0.0.1',
    SWITCHYARD_HTTP_PORT: '0',
    SWITCHYARD_INTERNAL_TOKEN: 'bench-internal-token-0123456789',
    // The mock upstream listens on loopback, which distributed roles refuse by default.
    SWITCHYARD_UPSTREAM_ALLOW: 'loopback',
    SWITCHYARD_DATABASE_URL: `${mysqlUrl}/${dbName}`,
    SWITCHYARD_ADMIN_TOKEN: ADMIN,
    SWITCHYARD_SECRET_KEY: 'ef'.repeat(32),
    SWITCHYARD_NATS_URL: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    SWITCHYARD_NATS_STREAM: `SY_BENCH_${run}`,
    SWITCHYARD_REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    SWITCHYARD_REDIS_PREFIX: `switchyard-bench:${run}:`,
    SWITCHYARD_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
  // A free port for the control plane's gRPC (the relay needs it before the control plane reports it).
  const grpcPort = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
  const cp = await start(
    0,
    [BIN, 'serve', '--role', 'control-plane'],
    { ...common, SWITCHYARD_GRPC_PORT: String(grpcPort) },
    LISTENING,
  );
  const accounting = await start(0, [BIN, 'serve', '--role', 'accounting'], common, LISTENING);
  const relay = await start(
    1,
    [BIN, 'serve', '--role', 'relay'],
    {
      ...common,
      SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${grpcPort}`,
      SWITCHYARD_NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_ARGS ?? '',
    },
    LISTENING,
  );
  const headers = await provision(cp.url, mockUrl);
  await waitForKey(relay.url, headers);
  return {
    relay,
    headers,
    async stop() {
      for (const p of [relay, accounting, cp]) p.child.kill('SIGTERM');
      await Promise.all(
        [relay, accounting, cp].map(
          (p) => new Promise((r) => (p.child.exitCode !== null ? r() : p.child.once('exit', r))),
        ),
      );
      const c = await createConnection(mysqlUrl);
      await c.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await c.end();
      const { connect } = await import('nats');
      const nc = await connect({ servers: common.SWITCHYARD_NATS_URL });
      await (
        await nc.jetstreamManager()
      ).streams
        .delete(common.SWITCHYARD_NATS_STREAM)
        .catch(() => undefined);
      await nc.close();
      const { Redis } = await import('ioredis');
      const redis = new Redis(common.SWITCHYARD_REDIS_URL);
      const keys = await redis.keys(`${common.SWITCHYARD_REDIS_PREFIX}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

async function main() {
  const node = process.execPath;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const only = new Set((process.env.BENCH_ONLY ?? 'c1,c16,c64,limited,stream,conv-a2o,conv-o2a').split(','));
  const scenarios = SCENARIOS.filter((x) => only.has(x.id));
  const distributed = process.env.BENCH_DISTRIBUTED !== '0';
  const mock = await start(
    0,
    [node, path.join(root, 'services/mock-upstream/dist/cli.js'), '--port', '0', '--chunks', '20'],
    {},
    /listening on (http:\/\/\S+)/,
  );
  const results = new Map(scenarios.map((x) => [x.id, {}]));
  let aioRss = NaN;
  let aioSplit = { anon: NaN, file: NaN };
  let relayRss = NaN;
  try {
    process.stderr.write(
      `bench: ${SECONDS}s per run after ${WARMUP}s warm-up; taskset ${hasTaskset ? 'on' : 'unavailable'}\n`,
    );
    for (const x of scenarios) {
      results.get(x.id).direct = await load(`${mock.url}${x.direct?.path ?? '/v1/chat/completions'}`, {
        concurrency: x.concurrency,
        seconds: SECONDS,
        headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
        ...x.opts,
        ...(x.direct === undefined ? {} : { payload: x.direct.payload }),
      });
    }

    const gw = await start(
      1,
      [BIN, 'serve', '--port', '0', '--host', '127.0.0.1'],
      {
        // Extra node flags for the gateway, e.g. BENCH_GATEWAY_NODE_ARGS=--cpu-prof to profile it.
        SWITCHYARD_NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_ARGS ?? '',
        SWITCHYARD_DATA_DIR: dataDir,
        SWITCHYARD_ADMIN_TOKEN: ADMIN,
        SWITCHYARD_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      },
      LISTENING,
    );
    try {
      const headers = await provision(gw.url, mock.url);
      for (const x of scenarios) {
        const r = await load(`${gw.url}${x.path ?? '/v1/chat/completions'}`, {
          concurrency: x.concurrency,
          seconds: SECONDS,
          headers: headersFor(x, headers),
          ...x.opts,
        });
        results.get(x.id).aio = r;
        process.stderr.write(`  all-in-one ${x.id}: ${r.rps.toFixed(0)}/s p50 ${r.p50.toFixed(2)} ms\n`);
      }
      aioRss = peakRssMb(gw.child.pid);
      aioSplit = rssSplitMb(gw.child.pid);
    } finally {
      gw.child.kill('SIGTERM');
    }

    if (distributed) {
      const d = await startDistributed(mock.url);
      try {
        for (const x of scenarios) {
          const r = await load(`${d.relay.url}${x.path ?? '/v1/chat/completions'}`, {
            concurrency: x.concurrency,
            seconds: SECONDS,
            headers: headersFor(x, d.headers),
            ...x.opts,
          });
          results.get(x.id).dist = r;
          process.stderr.write(
            `  distributed relay ${x.id}: ${r.rps.toFixed(0)}/s p50 ${r.p50.toFixed(2)} ms\n`,
          );
        }
        relayRss = peakRssMb(d.relay.child.pid);
      } finally {
        await d.stop();
      }
    }

    const f = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
    const cell = (r, k, digits) => (r === undefined ? 'n/a' : f(r[k], digits));
    const lines = [
      `| scenario | concurrency | direct req/s | all-in-one req/s | relay req/s | direct p50 ms | all-in-one p50 ms | relay p50 ms | all-in-one p99 ms | relay p99 ms | added p50 all-in-one | added p50 relay | errors |`,
      `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
      ...scenarios.map((x) => {
        const r = results.get(x.id);
        const added = (v) => (v === undefined ? 'n/a' : f(v.p50 - r.direct.p50));
        const errors = [r.direct, r.aio, r.dist].reduce((n, v) => n + (v?.errors ?? 0), 0);
        return `| ${x.name} | ${x.concurrency} | ${cell(r.direct, 'rps', 0)} | ${cell(r.aio, 'rps', 0)} | ${cell(r.dist, 'rps', 0)} | ${cell(r.direct, 'p50')} | ${cell(r.aio, 'p50')} | ${cell(r.dist, 'p50')} | ${cell(r.aio, 'p99')} | ${cell(r.dist, 'p99')} | ${added(r.aio)} | ${added(r.dist)} | ${errors} |`;
      }),
      '',
      `All-in-one gateway peak RSS: ${f(aioRss, 1)} MB (VmHWM; at the end ${f(aioSplit.anon, 1)} MB anonymous + ${f(aioSplit.file, 1)} MB file-backed). Distributed relay peak RSS: ${f(relayRss, 1)} MB.`,
      `Gateway or relay on core 1; mock upstream, load generator${distributed ? ', control plane and accounting' : ''} on core 0 (MariaDB, Redis and NATS unpinned); Node ${process.version}; ${SECONDS}s per run.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    mock.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
