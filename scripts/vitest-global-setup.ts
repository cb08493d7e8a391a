import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

/**
 * Runs once before the test suite: the MySQL-dialect tests need the MariaDB server on this machine.
 * If it does not answer, try to start it (the machine notes' command); if it still does not, fail
 * with a message naming it. Tests are never skipped for a missing service.
 */
const url = new URL(process.env.SWITCHYARD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
const host = url.hostname;
const port = url.port === '' ? 3306 : Number(url.port);

function answers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await answers()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

export default async function setup(): Promise<void> {
  if (await answers()) return;
  const isLocal = host === '127.0.0.1' || host === 'localhost';
  if (isLocal) {
    spawnSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], {
      stdio: 'ignore',
    });
    // Why 30 s: a cold MariaDB start with crash recovery can take this long on a loaded machine.
    if (await waitFor(30_000)) return;
  }
  throw new Error(
    `MariaDB/MySQL is not reachable at ${host}:${port}${isLocal ? ' and could not be started with start-stop-daemon --exec /usr/sbin/mariadbd' : ''}; the MySQL-dialect tests need it (set SWITCHYARD_TEST_MYSQL_URL to use another server)`,
  );
}
