#!/usr/bin/env node
// Helper for scripts/local-stack.sh (Node instead of mysql/curl/openssl, so the script needs only bash
// and the repository's Node). Commands:
//   token <bytes>                     random hex
//   db-create <server-url> <name>     CREATE DATABASE IF NOT EXISTS (utf8mb4, utf8mb4_bin)
//   db-drop <server-url> <name>       DROP DATABASE IF EXISTS
//   wait-ready <url> <pid> <seconds> [log]
//                                     polls <url> until it answers 200; fails early when <pid> exits
//                                     or [log] has the CLI's fatal "switchyard: …" line
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [command, ...args] = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`local-stack: ${message}\n`);
  process.exit(1);
}

function checkName(name) {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name ?? '')) fail(`database name "${name}": use letters, digits and _`);
  return name;
}

/** True while the process runs (a zombie, exited but not yet reaped by its parent, counts as gone). */
function running(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill -0 succeeded
  }
}

function readLog(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function withConnection(serverUrl, fn) {
  const { createConnection } = await import('mysql2/promise');
  let c;
  try {
    c = await createConnection(serverUrl);
  } catch (err) {
    fail(`cannot connect to MySQL/MariaDB at ${new URL(serverUrl).host}: ${err.message}`);
  }
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

switch (command) {
  case 'token':
    process.stdout.write(randomBytes(Number(args[0] ?? 32)).toString('hex'));
    break;
  case 'db-create': {
    const name = checkName(args[1]);
    await withConnection(args[0], (c) =>
      c.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`),
    );
    break;
  }
  case 'db-drop': {
    const name = checkName(args[1]);
    await withConnection(args[0], (c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``));
    break;
  }
  case 'wait-ready': {
    const [url, pid, seconds, log] = args;
    const deadline = Date.now() + Number(seconds ?? 30) * 1000;
    let last = 'no answer';
    for (;;) {
      if (!running(Number(pid))) fail(`process ${pid} exited before ${url} was ready`);
      // A role that cannot start may stay up on its open connections after printing why (EADDRINUSE).
      const fatal = log === undefined ? null : /^switchyard: .*$/m.exec(readLog(log));
      if (fatal !== null) fail(`process ${pid}: ${fatal[0]}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) break;
        last = `${res.status} ${await res.text()}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      if (Date.now() > deadline) fail(`${url} not ready after ${seconds} s (${last})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    break;
  }
  case 'running':
    process.exit(running(Number(args[0])) ? 0 : 1);
    break;
  default:
    fail(`unknown command ${command}`);
}
