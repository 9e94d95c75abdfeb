/**
 * D1 on a local SQLite file: the part of the `D1Database` binding the worker uses (prepare,
 * bind, first, all, run, raw, batch, exec), with D1's semantics where they matter:
 * values bound as D1 binds them (integers as INTEGER, booleans as 0/1, undefined refused),
 * rows as plain objects, blobs as arrays of bytes, and `batch` as one transaction that
 * commits whole or not at all.
 *
 * node:sqlite is synchronous, so each statement, and each batch, runs to its end before any
 * other request's code does: the one process is the one writer, as D1's primary is.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

type Row = Record<string, unknown>;

/** Opens (or creates) the database file with the settings a crash-safe server needs. */
export function openSqlite(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  // WAL: readers never block the writer, and a killed process leaves the last committed
  // transaction in the log. synchronous=FULL: a commit is on disk (fsync) before it returns,
  // so an acknowledged change survives a power cut too, not only a killed process.
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  // Another process (a backup, `sqlite3`, the tests) may hold the lock for a moment.
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

/** A value as D1 binds it. */
function toSqlite(value: unknown, index: number): SQLInputValue {
  if (value === null || typeof value === "string" || typeof value === "bigint") return value;
  // node:sqlite binds every JS number as REAL; D1 binds integers as INTEGER (so a TEXT column gets "5", not "5.0").
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value) && value.every((n) => typeof n === "number")) return Uint8Array.from(value as number[]);
  throw new Error(`D1_TYPE_ERROR: Type '${typeof value}' not supported for value '${String(value)}' (parameter ${index + 1})`);
}

/** A row as D1 returns it: a plain object, blobs as arrays of bytes. */
function fromSqlite(row: Row): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) out[key] = value instanceof Uint8Array ? Array.from(value) : value;
  return out;
}

function d1Error(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`D1_ERROR: ${message}`, { cause: err });
}

interface Executed {
  rows: Row[];
  changes: number;
  lastRowId: number;
  duration: number;
}

export class LocalD1Database {
  private readonly statements = new Map<string, StatementSync>();

  constructor(readonly sqlite: DatabaseSync) {}

  prepare(query: string): LocalD1PreparedStatement {
    return new LocalD1PreparedStatement(this, query, []);
  }

  /** Runs every statement in one transaction: all of them commit, or (on any error) none. */
  async batch<T = Row>(statements: LocalD1PreparedStatement[]): Promise<D1Result<T>[]> {
    if (statements.length === 0) return [];
    for (const statement of statements) {
      if (statement.database !== this) throw new Error("D1_ERROR: a batch can only hold statements of this database");
    }
    this.sqlite.exec("BEGIN IMMEDIATE");
    try {
      const results = statements.map((statement) => result<T>(this.execute(statement.query, statement.values)));
      this.sqlite.exec("COMMIT");
      return results;
    } catch (err) {
      if (this.sqlite.isTransaction) this.sqlite.exec("ROLLBACK");
      throw d1Error(err);
    }
  }

  /** Runs one or more statements with no bound values (D1's `exec`). */
  async exec(query: string): Promise<{ count: number; duration: number }> {
    const started = performance.now();
    const count = query.split(";").filter((part) => part.trim() !== "").length;
    try {
      this.sqlite.exec(query);
    } catch (err) {
      throw d1Error(err);
    }
    return { count, duration: performance.now() - started };
  }

  withSession(): this {
    return this;
  }

  /** @internal Runs one statement now (autocommit, or inside the caller's transaction). */
  execute(query: string, values: SQLInputValue[]): Executed {
    const started = performance.now();
    let statement = this.statements.get(query);
    if (!statement) {
      statement = this.sqlite.prepare(query);
      this.statements.set(query, statement);
    }
    if (statement.columns().length > 0) {
      // A reader (SELECT, or a write with RETURNING): how much it changed is read off SQLite's counter.
      const before = this.totalChanges();
      const rows = statement.all(...values) as Row[];
      return { rows: rows.map(fromSqlite), changes: this.totalChanges() - before, lastRowId: this.lastRowId(), duration: performance.now() - started };
    }
    const { changes, lastInsertRowid } = statement.run(...values);
    return { rows: [], changes: Number(changes), lastRowId: Number(lastInsertRowid), duration: performance.now() - started };
  }

  private totalChanges(): number {
    return Number((this.sqlite.prepare("SELECT total_changes() AS n").get() as { n: number }).n);
  }

  private lastRowId(): number {
    return Number((this.sqlite.prepare("SELECT last_insert_rowid() AS id").get() as { id: number }).id);
  }
}

function result<T>(executed: Executed): D1Result<T> {
  return {
    success: true,
    results: executed.rows as T[],
    meta: {
      served_by: "custody-deno-sqlite",
      duration: executed.duration,
      changes: executed.changes,
      last_row_id: executed.lastRowId,
      changed_db: executed.changes > 0,
      size_after: 0,
      rows_read: executed.rows.length,
      rows_written: executed.changes,
    },
  } as D1Result<T>;
}

export class LocalD1PreparedStatement {
  constructor(
    readonly database: LocalD1Database,
    readonly query: string,
    readonly values: SQLInputValue[],
  ) {}

  /** A new statement with these values bound (the statement itself is unchanged, as in D1). */
  bind(...values: unknown[]): LocalD1PreparedStatement {
    return new LocalD1PreparedStatement(this.database, this.query, values.map(toSqlite));
  }

  private run_(): Executed {
    try {
      return this.database.execute(this.query, this.values);
    } catch (err) {
      throw d1Error(err);
    }
  }

  async first<T = Row>(column?: string): Promise<T | null> {
    const row = this.run_().rows[0];
    if (!row) return null;
    if (column === undefined) return row as T;
    if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
    return row[column] as T;
  }

  async all<T = Row>(): Promise<D1Result<T>> {
    return result<T>(this.run_());
  }

  async run<T = Row>(): Promise<D1Result<T>> {
    return result<T>(this.run_());
  }

  async raw<T = unknown[]>(options: { columnNames?: boolean } = {}): Promise<T[]> {
    const executed = this.run_();
    const rows = executed.rows.map((row) => Object.values(row)) as T[];
    if (!options.columnNames) return rows;
    const statement = this.database.sqlite.prepare(this.query);
    return [statement.columns().map((c) => c.name) as T, ...rows];
  }
}
