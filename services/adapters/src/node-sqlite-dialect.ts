import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

/**
 * Adapts Node's built-in `node:sqlite` to the database interface kysely's SqliteDialect expects
 * (the better-sqlite3 shape), so the embedded store needs no native addon.
 */
class NodeSqliteStatement implements SqliteStatement {
  readonly #stmt: StatementSync;
  readonly reader: boolean;
  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...toInputs(parameters));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#stmt.run(...toInputs(parameters));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#stmt.iterate(...toInputs(parameters)) as IterableIterator<unknown>;
  }
}

/** node:sqlite binds only null, numbers, bigints, strings and bytes; map the rest explicitly. */
function toInputs(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((p) => {
    if (p === undefined) return null;
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p instanceof Date) return p.getTime();
    return p as SQLInputValue;
  });
}

class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.#db = db;
  }
  close(): void {
    this.#db.close();
  }
  prepare(sql: string): SqliteStatement {
    return new NodeSqliteStatement(this.#db.prepare(sql));
  }
}

/** Opens (creating if needed) a SQLite file, or `:memory:`, with WAL and a busy timeout. */
export function createNodeSqliteDialect(path: string): SqliteDialect {
  return new SqliteDialect({
    database: async () => {
      const db = new DatabaseSync(path);
      if (path !== ':memory:') {
        db.exec('PRAGMA journal_mode = WAL');
        // Why NORMAL: in WAL mode it stays corruption-safe and durable across process crashes; only an
        // OS crash or power cut can lose the last commits. FULL costs an fsync per usage batch.
        db.exec('PRAGMA synchronous = NORMAL');
      }
      // Why 5 s: the CLI and a running server may share the file; wait for a writer instead of failing.
      db.exec('PRAGMA busy_timeout = 5000');
      db.exec('PRAGMA foreign_keys = ON');
      return new NodeSqliteDatabase(db);
    },
  });
}
