import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

/**
 * Runs once before the test suite: the store, coordination and bus tests need the MariaDB, Redis
 * and NATS (JetStream) servers on this machine. A service that does not answer is started with the
 * machine notes' command; one that still does not answer fails the run with a message naming it.
 * Tests are never skipped for a missing service.
 */
interface Service {
  name: string;
  url: URL;
  defaultPort: number;
  /** How to start it on this machine when it runs on localhost. */
  start: [string, string[]];
  env: string;
}

const SERVICES: Service[] = [
  {
    name: 'MariaDB/MySQL',
    url: new URL(process.env.SWITCHYARD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'),
    defaultPort: 3306,
    start: ['start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd']],
    env: 'SWITCHYARD_TEST_MYSQL_URL',
  },
  {
    name: 'Redis',
    url: new URL(process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'),
    defaultPort: 6379,
    start: [
      'redis-server',
      [
        '--daemonize',
        'yes',
        '--bind',
        '127.0.0.1',
        '-::1',
        '--port',
        '6379',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
    ],
    env: 'SWITCHYARD_TEST_REDIS_URL',
  },
  {
    name: 'NATS (JetStream)',
    url: new URL(process.env.SWITCHYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'),
    defaultPort: 4222,
    start: [
      'start-stop-daemon',
      [
        '--start',
        '--oknodo',
        '--background',
        '--exec',
        '/usr/sbin/nats-server',
        '--',
        '-a',
        '127.0.0.1',
        '-p',
        '4222',
        '-js',
        '-sd',
        '/var/lib/nats-server',
      ],
    ],
    env: 'SWITCHYARD_TEST_NATS_URL',
  },
];

function answers(host: string, port: number): Promise<boolean> {
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

async function waitFor(host: string, port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await answers(host, port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function ensure(s: Service): Promise<string | null> {
  const host = s.url.hostname;
  const port = s.url.port === '' ? s.defaultPort : Number(s.url.port);
  if (await answers(host, port)) return null;
  const local = host === '127.0.0.1' || host === 'localhost';
  if (local) {
    spawnSync(s.start[0], s.start[1], { stdio: 'ignore' });
    // Why 30 s: a cold start with crash recovery can take this long on a loaded machine.
    if (await waitFor(host, port, 30_000)) return null;
  }
  return `${s.name} is not reachable at ${host}:${port}${local ? ` and could not be started (${s.start[0]} ${s.start[1].join(' ')})` : ''}; set ${s.env} to use another server`;
}

export default async function setup(): Promise<void> {
  const problems = (await Promise.all(SERVICES.map(ensure))).filter((p): p is string => p !== null);
  if (problems.length > 0) throw new Error(`test services unavailable:\n  ${problems.join('\n  ')}`);
}
