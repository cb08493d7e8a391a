import { createPool } from 'mysql2';
import { MysqlDialect } from 'kysely';

/**
 * kysely's MySQL dialect over a mysql2 connection pool, for MySQL 8 and MariaDB 10.6+.
 * Connection settings come from the URL (`mysql://user:pass@host:port/db?connectionLimit=20`).
 */
export function createMysqlDialect(url: string): MysqlDialect {
  const parsed = new URL(url);
  const limit = Number(parsed.searchParams.get('connectionLimit') ?? 10);
  const pool = createPool({
    host: parsed.hostname,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    // Why 10: the control plane and accounting issue short queries; more connections only add load.
    connectionLimit: Number.isFinite(limit) && limit > 0 ? limit : 10,
    charset: 'utf8mb4',
    timezone: 'Z',
    // BIGINT epoch-ms columns come back as numbers (exact up to 2^53), larger values as strings.
    supportBigNumbers: true,
    bigNumberStrings: false,
    // Why 10 s: a start-up against an unreachable database fails with a clear error instead of hanging.
    connectTimeout: 10_000,
  });
  return new MysqlDialect({ pool });
}

/** The URL with its password masked, for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable database URL)';
  }
}
