#!/usr/bin/env node
// `npm run bench`: the mock upstream direct vs through the gateway. Layout on a 2-core machine: the
// gateway pinned to core 1 (`taskset -c 1`), the mock upstream and this load generator on core 0.
// Prints a markdown table: requests/s, p50/p99 latency, added latency, streaming time to first byte
// and the gateway's peak RSS. Settings via env: BENCH_SECONDS (default 5), BENCH_WARMUP_SECONDS (1).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

async function main() {
  const node = process.execPath;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const mock = await start(
    0,
    [node, path.join(root, 'services/mock-upstream/dist/cli.js'), '--port', '0', '--chunks', '20'],
    {},
    /listening on (http:\/\/\S+)/,
  );
  const gw = await start(
    1,
    [path.join(root, 'services/switchyard/bin/switchyard'), 'serve', '--port', '0', '--host', '127.0.0.1'],
    {
      // Extra node flags for the gateway, e.g. BENCH_GATEWAY_NODE_ARGS=--cpu-prof to profile it.
      SWITCHYARD_NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_ARGS ?? '',
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_ADMIN_TOKEN: ADMIN,
      SWITCHYARD_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    },
    /listening on (http:\/\/\S+?) /,
  );
  try {
    const admin = (route, payload) =>
      fetch(`${gw.url}/admin/v1${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      }).then((r) => r.json());
    await admin('/channels', {
      name: 'bench-mock',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['gpt-4o-mini'],
      accounts: [{ api_key: 'sk-bench-upstream' }],
    });
    const { key } = await admin('/keys', { name: 'bench' });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };

    const rows = [];
    const scenario = async (name, concurrency, opts) => {
      const direct = await load(`${mock.url}/v1/chat/completions`, {
        concurrency,
        seconds: SECONDS,
        headers,
        ...opts,
      });
      const via = await load(`${gw.url}/v1/chat/completions`, {
        concurrency,
        seconds: SECONDS,
        headers,
        ...opts,
      });
      rows.push({ name, concurrency, direct, via });
      process.stderr.write(
        `  ${name} c=${concurrency}: direct ${direct.rps.toFixed(0)}/s, gateway ${via.rps.toFixed(0)}/s\n`,
      );
    };
    process.stderr.write(
      `bench: ${SECONDS}s per run after ${WARMUP}s warm-up; taskset ${hasTaskset ? 'on' : 'unavailable'}\n`,
    );
    // BENCH_ONLY=c1,c16,c64,stream runs a subset (for profiling one scenario).
    const only = new Set((process.env.BENCH_ONLY ?? 'c1,c16,c64,stream').split(','));
    for (const c of [1, 16, 64])
      if (only.has(`c${c}`)) await scenario('chat, non-streaming', c, { payload: body });
    if (only.has('stream')) {
      await scenario('chat, streaming (20 chunks): time to first byte', 16, {
        payload: streamBody(20),
        ttfb: true,
      });
    }
    const rss = peakRssMb(gw.child.pid);
    const split = rssSplitMb(gw.child.pid);

    const f = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
    const lines = [
      `| scenario | concurrency | direct req/s | gateway req/s | direct p50 ms | gateway p50 ms | direct p99 ms | gateway p99 ms | added p50 ms | errors |`,
      `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.concurrency} | ${f(r.direct.rps, 0)} | ${f(r.via.rps, 0)} | ${f(r.direct.p50)} | ${f(r.via.p50)} | ${f(r.direct.p99)} | ${f(r.via.p99)} | ${f(r.via.p50 - r.direct.p50)} | ${r.direct.errors + r.via.errors} |`,
      ),
      '',
      `Gateway peak RSS: ${f(rss, 1)} MB (VmHWM; at the end ${f(split.anon, 1)} MB anonymous + ${f(split.file, 1)} MB file-backed). Gateway on core 1, mock upstream and load generator on core 0; Node ${process.version}; ${SECONDS}s per run.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    gw.child.kill('SIGTERM');
    mock.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
