/**
 * Durable Objects in this one process: the same classes the worker exports, one instance per
 * id, each with its own SQLite file as storage (`ctx.storage.sql`, the key-value API kept in a
 * table of that file as Cloudflare does, alarms), reached through stubs that call the
 * instance's methods (RPC) or its `fetch`.
 *
 * What makes it behave like a Durable Object: there is exactly one instance per id, all in one
 * JavaScript thread; storage calls are synchronous, and writes made without an `await` in
 * between commit together (an implicit transaction, committed before any other event is
 * handled, as Cloudflare coalesces them); `blockConcurrencyWhile` holds back every other call
 * until it ends; an alarm is kept in storage and fires after a restart too, retried with
 * back-off when it throws. RPC arguments and results are copied (structured clone), as they are
 * across Cloudflare's RPC.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { deserialize, serialize } from "node:v8";
import { openSqlite } from "./d1";
import { ensureDir } from "./files";
import type { PairedWebSocket } from "./websockets";

type Row = Record<string, SqlStorageValue>;
type DurableObjectInstance = object & {
  fetch?: (request: Request) => Promise<Response>;
  alarm?: (info: { retryCount: number; isRetry: boolean }) => Promise<void>;
  webSocketMessage?: (ws: PairedWebSocket, message: string | ArrayBuffer) => Promise<void> | void;
  webSocketClose?: (ws: PairedWebSocket, code: number, reason: string, wasClean: boolean) => Promise<void> | void;
};
export type DurableObjectConstructor = new (ctx: DurableObjectState, env: unknown) => DurableObjectInstance;

const MAX_TIMER_MS = 2 ** 31 - 1;
const ALARM_RETRIES = 6;

/** The id `idFromName(name)` gives in the namespace of `className` (64 hex digits, as on Cloudflare). */
export function objectIdFromName(className: string, name: string): string {
  return createHash("sha256").update(`${className}\0${name}`).digest("hex");
}

/** The SQLite file that holds the storage of the object `id` of `className`, under the Durable Objects folder `root`. */
export function objectFile(root: string, className: string, id: string): string {
  return join(root, className, `${id}.sqlite`);
}

class LocalDurableObjectId {
  constructor(
    private readonly hex: string,
    readonly name?: string,
  ) {}

  toString(): string {
    return this.hex;
  }

  equals(other: { toString(): string }): boolean {
    return other.toString() === this.hex;
  }
}

function bindValue(value: unknown): SQLInputValue {
  if (value === null || typeof value === "string" || typeof value === "bigint") return value;
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`SQL: a value of type ${typeof value} cannot be bound`);
}

function rowValue(value: unknown): SqlStorageValue {
  if (value instanceof Uint8Array) return value.slice().buffer;
  if (typeof value === "bigint") return Number(value);
  return value as SqlStorageValue;
}

/** The result of `sql.exec`: rows read eagerly, handed out like Cloudflare's cursor. */
class Cursor<T extends Row> implements Iterable<T> {
  private index = 0;

  constructor(
    readonly columnNames: string[],
    private readonly rows: SqlStorageValue[][],
    readonly rowsRead: number,
    readonly rowsWritten: number,
  ) {}

  private object(values: SqlStorageValue[]): T {
    const out: Row = {};
    this.columnNames.forEach((name, i) => (out[name] = values[i]!));
    return out as T;
  }

  next(): IteratorResult<T, undefined> {
    const values = this.rows[this.index++];
    return values ? { done: false, value: this.object(values) } : { done: true, value: undefined };
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let r = this.next(); !r.done; r = this.next()) out.push(r.value);
    return out;
  }

  one(): T {
    const all = this.toArray();
    if (all.length !== 1) throw new Error(all.length === 0 ? "Expected exactly one result from SQL query, but got no results." : "Expected exactly one result from SQL query, but got multiple results.");
    return all[0]!;
  }

  *raw<U extends SqlStorageValue[]>(): IterableIterator<U> {
    while (this.index < this.rows.length) yield this.rows[this.index++] as U;
  }

  [Symbol.iterator](): IterableIterator<T> {
    const self = this;
    return (function* () {
      for (let r = self.next(); !r.done; r = self.next()) yield r.value;
    })();
  }
}

/** One object's storage: its SQLite file, with writes coalesced into implicit transactions. */
class LocalStorage {
  private readonly statements = new Map<string, StatementSync>();
  private implicit = false;
  private savepoints = 0;
  readonly sql: { exec: <T extends Row>(query: string, ...bindings: unknown[]) => Cursor<T>; readonly databaseSize: number };

  /** How many `transaction` closures are running: the implicit transaction waits for them to end. */
  private explicit = 0;

  constructor(
    readonly db: DatabaseSync,
    private readonly onAlarmSet: (at: number | null) => void,
    /** Holds back every other event until `task` ends (the object's `blockConcurrencyWhile`). */
    private readonly block: <T>(task: () => Promise<T>) => Promise<T>,
  ) {
    db.exec("CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID");
    db.exec("CREATE TABLE IF NOT EXISTS _cf_METADATA (key TEXT PRIMARY KEY, value)");
    const storage = this;
    this.sql = {
      exec: (query, ...bindings) => storage.exec(query, bindings),
      get databaseSize() {
        const page = db.prepare("PRAGMA page_size").get() as { page_size: number };
        const count = db.prepare("PRAGMA page_count").get() as { page_count: number };
        return Number(page.page_size) * Number(count.page_count);
      },
    };
  }

  /** Opens the implicit transaction of this turn, committed once the current synchronous code ends. */
  private write(): void {
    if (this.implicit || this.db.isTransaction) return;
    this.db.exec("BEGIN IMMEDIATE");
    this.implicit = true;
    queueMicrotask(() => {
      try {
        this.commit();
      } catch (err) {
        // As when Cloudflare cannot confirm a write: the turn's writes are lost, and said so.
        console.error("Durable Object storage: a commit failed; the writes of that turn are undone:", err);
        this.implicit = false;
        if (this.db.isTransaction) this.db.exec("ROLLBACK");
      }
    });
  }

  /** Commits the implicit transaction now (before an event is delivered, and at the end of the turn). */
  commit(): void {
    if (!this.implicit || this.explicit > 0) return;
    this.implicit = false;
    this.db.exec("COMMIT");
  }

  private statement(query: string): StatementSync {
    let statement = this.statements.get(query);
    if (!statement) {
      statement = this.db.prepare(query);
      this.statements.set(query, statement);
    }
    return statement;
  }

  exec<T extends Row>(query: string, bindings: unknown[]): Cursor<T> {
    if (/\b_cf_/i.test(query)) throw new Error("SQL: access to the internal _cf_ tables is not allowed");
    const statement = this.statement(query);
    this.write();
    const before = this.totalChanges();
    const columns = statement.columns().map((c) => c.name);
    statement.setReturnArrays(true);
    const rows = columns.length > 0 ? (statement.all(...bindings.map(bindValue)) as unknown as unknown[][]) : (statement.run(...bindings.map(bindValue)), []);
    statement.setReturnArrays(false);
    return new Cursor<T>(columns, rows.map((r) => r.map(rowValue)), rows.length, this.totalChanges() - before);
  }

  private totalChanges(): number {
    return Number((this.statement("SELECT total_changes() AS n").get() as { n: number }).n);
  }

  transactionSync<T>(closure: () => T): T {
    this.write();
    const name = `sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const out = closure();
      if (out instanceof Promise) throw new Error("transactionSync: the closure must not be async");
      this.db.exec(`RELEASE ${name}`);
      return out;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw err;
    } finally {
      this.savepoints--;
    }
  }

  /**
   * Runs `closure` as one transaction, across its awaits: its writes commit together when it
   * returns, and none of them if it throws or calls `txn.rollback()`. No other event reaches
   * the object meanwhile (as Cloudflare's input gate keeps them out during storage calls).
   */
  async transaction<T>(closure: (txn: unknown) => Promise<T>): Promise<T> {
    return this.block(async () => {
      this.write();
      const name = `sp${++this.savepoints}`;
      this.explicit++;
      this.db.exec(`SAVEPOINT ${name}`);
      let rolledBack = false;
      const txn = Object.assign(Object.create(this.api()) as object, {
        rollback: () => {
          rolledBack = true;
        },
      });
      try {
        const out = await closure(txn);
        if (rolledBack) this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
        return out;
      } catch (err) {
        this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
        throw err;
      } finally {
        this.explicit--;
        this.savepoints--;
        if (this.explicit === 0) this.commit();
      }
    });
  }

  // ---- key-value API, in the _cf_KV table

  get(keys: string | string[]): unknown {
    const read = (key: string) => {
      const row = this.statement("SELECT value FROM _cf_KV WHERE key = ?").get(key) as { value: Uint8Array } | undefined;
      return row ? deserialize(row.value) : undefined;
    };
    if (!Array.isArray(keys)) return read(keys);
    const out = new Map<string, unknown>();
    for (const key of keys) {
      const value = read(key);
      if (value !== undefined) out.set(key, value);
    }
    return out;
  }

  put(keyOrEntries: string | Record<string, unknown>, value?: unknown): void {
    this.write();
    const entries = typeof keyOrEntries === "string" ? [[keyOrEntries, value] as const] : Object.entries(keyOrEntries);
    for (const [key, v] of entries) {
      if (v === undefined) throw new TypeError("put: undefined cannot be stored");
      this.statement("INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?, ?)").run(key, serialize(v));
    }
  }

  delete(keys: string | string[]): boolean | number {
    this.write();
    let count = 0;
    for (const key of Array.isArray(keys) ? keys : [keys]) count += Number(this.statement("DELETE FROM _cf_KV WHERE key = ?").run(key).changes);
    return Array.isArray(keys) ? count : count > 0;
  }

  list(options: DurableObjectListOptions = {}): Map<string, unknown> {
    const conditions: string[] = [];
    const values: SQLInputValue[] = [];
    if (options.prefix) {
      conditions.push("substr(key, 1, ?) = ?");
      values.push(BigInt(options.prefix.length), options.prefix);
    }
    if (options.start !== undefined) (conditions.push("key >= ?"), values.push(options.start));
    if (options.startAfter !== undefined) (conditions.push("key > ?"), values.push(options.startAfter));
    if (options.end !== undefined) (conditions.push("key < ?"), values.push(options.end));
    const where = conditions.length ? `WHERE ${conditions.join(" AND ")}` : "";
    const limit = options.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(options.limit))}` : "";
    const rows = this.db.prepare(`SELECT key, value FROM _cf_KV ${where} ORDER BY key ${options.reverse ? "DESC" : "ASC"} ${limit}`).all(...values) as { key: string; value: Uint8Array }[];
    return new Map(rows.map((row) => [row.key, deserialize(row.value)]));
  }

  deleteAll(): void {
    this.write();
    for (const { name } of this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { name: string }[]) {
      if (name.startsWith("_cf_")) this.db.exec(`DELETE FROM "${name}"`);
      else this.db.exec(`DROP TABLE IF EXISTS "${name.replaceAll('"', '""')}"`);
    }
    this.onAlarmSet(null);
  }

  // ---- alarms, in the _cf_METADATA table

  getAlarm(): number | null {
    const row = this.statement("SELECT value FROM _cf_METADATA WHERE key = 'alarm'").get() as { value: number } | undefined;
    return row ? Number(row.value) : null;
  }

  setAlarm(time: number | Date): void {
    const at = typeof time === "number" ? time : time.getTime();
    this.write();
    this.statement("INSERT OR REPLACE INTO _cf_METADATA (key, value) VALUES ('alarm', ?)").run(BigInt(Math.round(at)));
    this.onAlarmSet(at);
  }

  deleteAlarm(): void {
    this.write();
    this.statement("DELETE FROM _cf_METADATA WHERE key = 'alarm'").run();
    this.onAlarmSet(null);
  }

  /** The `ctx.storage` object the class sees. */
  api(): DurableObjectStorage {
    const self = this;
    return {
      sql: this.sql,
      get: async (keys: string | string[]) => self.get(keys),
      put: async (key: string | Record<string, unknown>, value?: unknown) => self.put(key, value),
      delete: async (keys: string | string[]) => self.delete(keys),
      list: async (options?: DurableObjectListOptions) => self.list(options),
      deleteAll: async () => self.deleteAll(),
      getAlarm: async () => self.getAlarm(),
      setAlarm: async (time: number | Date) => self.setAlarm(time),
      deleteAlarm: async () => self.deleteAlarm(),
      transactionSync: <T>(closure: () => T) => self.transactionSync(closure),
      transaction: <T>(closure: (txn: unknown) => Promise<T>) => self.transaction(closure),
      sync: async () => self.commit(),
    } as unknown as DurableObjectStorage;
  }
}

/** One live object: its instance, its storage, and what orders the events it receives. */
class LiveObject {
  readonly instance: DurableObjectInstance;
  readonly storage: LocalStorage;
  private gate: Promise<unknown> | null = null;
  private alarmTimer: ReturnType<typeof setTimeout> | undefined;
  private alarmRetries = 0;
  /** Events being delivered and `waitUntil` promises not settled: while any is, the object stays live. */
  private busy = 0;
  /** When it last received an event (for the namespace's choice of which idle object to close first). */
  lastUsed = Date.now();

  constructor(
    readonly id: LocalDurableObjectId,
    Class: DurableObjectConstructor,
    env: unknown,
    file: string,
  ) {
    this.storage = new LocalStorage(
      openSqlite(file),
      (at) => this.scheduleAlarm(at),
      (task) => this.blockConcurrencyWhile(task),
    );
    if (id.name !== undefined) this.storage.db.prepare("INSERT OR IGNORE INTO _cf_METADATA (key, value) VALUES ('name', ?)").run(id.name);
    const state = {
      id,
      storage: this.storage.api(),
      waitUntil: (promise: Promise<unknown>) => {
        this.busy++;
        void promise.catch((err: unknown) => console.error(`Durable Object ${id}: waitUntil failed:`, err)).finally(() => this.busy--);
      },
      blockConcurrencyWhile: <T>(callback: () => Promise<T>): Promise<T> => this.blockConcurrencyWhile(callback),
      abort: (reason?: string) => {
        throw new Error(`Durable Object ${id} aborted: ${reason ?? "no reason given"}`);
      },
      // Hibernatable WebSockets: the object gets each socket's messages and close as calls.
      // (An object holding sockets is never evicted here, so nothing actually hibernates.)
      acceptWebSocket: (ws: PairedWebSocket, tags: string[] = []) => this.acceptWebSocket(ws, tags),
      getWebSockets: (tag?: string) => [...this.sockets].filter((ws) => ws.readyState === 1 && (tag === undefined || ws.tags.includes(tag))),
      getTags: (ws: PairedWebSocket) => [...ws.tags],
      setWebSocketAutoResponse: (pair?: { request: string; response: string }) => {
        this.autoResponse = pair ? { request: pair.request, response: pair.response } : null;
      },
      getWebSocketAutoResponse: () => this.autoResponse,
      getWebSocketAutoResponseTimestamp: (ws: PairedWebSocket) => this.autoResponded.get(ws) ?? null,
      setHibernatableWebSocketEventTimeout: () => undefined,
      getHibernatableWebSocketEventTimeout: () => null,
      props: undefined,
    };
    this.instance = new Class(state as unknown as DurableObjectState, env);
    this.storage.commit();
    const alarm = this.storage.getAlarm();
    if (alarm !== null) this.scheduleAlarm(alarm);
  }

  private readonly sockets = new Set<PairedWebSocket>();
  private autoResponse: { request: string; response: string } | null = null;
  private readonly autoResponded = new WeakMap<PairedWebSocket, Date>();

  private acceptWebSocket(ws: PairedWebSocket, tags: string[]): void {
    if (ws.owner) throw new Error("acceptWebSocket: this WebSocket was already accepted");
    if (tags.length > 10) throw new Error("acceptWebSocket: at most 10 tags");
    ws.tags = [...tags];
    this.sockets.add(ws);
    const failed = (what: string) => (err: unknown) => console.error(`Durable Object ${this.id}: ${what} failed:`, err);
    ws.owner = {
      message: (socket, data) => {
        if (this.autoResponse && data === this.autoResponse.request) {
          socket.send(this.autoResponse.response);
          this.autoResponded.set(socket, new Date());
          return;
        }
        this.deliver(() => this.instance.webSocketMessage?.(socket, data)).catch(failed("webSocketMessage"));
      },
      close: (socket, code, reason, wasClean) => {
        this.sockets.delete(socket);
        this.deliver(() => this.instance.webSocketClose?.(socket, code, reason, wasClean)).catch(failed("webSocketClose"));
      },
    };
    ws.accept();
  }

  /** Runs `callback`; until it ends, every other event waits. */
  private blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T> {
    const run = callback();
    const gate = run.catch(() => undefined);
    this.gate = gate;
    void gate.then(() => {
      if (this.gate === gate) this.gate = null;
    });
    return run;
  }

  /** Delivers one event (an RPC call, a fetch, an alarm) once no `blockConcurrencyWhile` holds the object. */
  async deliver<T>(event: () => Promise<T> | T): Promise<T> {
    this.busy++;
    this.lastUsed = Date.now();
    try {
      while (this.gate) await this.gate;
      this.storage.commit();
      return await event();
    } finally {
      this.busy--;
      this.lastUsed = Date.now();
    }
  }

  /**
   * Whether closing the object now loses nothing: no event running or waiting, no `waitUntil`
   * pending, no WebSocket, no alarm set (an alarm's timer lives in the process; after a restart
   * `resumeAlarms` wakes the object for it, but an evicted object would miss it until then).
   */
  idle(): boolean {
    return this.busy === 0 && this.gate === null && this.sockets.size === 0 && this.storage.getAlarm() === null;
  }

  /** Stops the alarm timer and closes the storage (the process is going away). */
  close(): void {
    for (const ws of this.sockets) ws.close(1001, "The server is shutting down.");
    clearTimeout(this.alarmTimer);
    this.storage.commit();
    this.storage.db.close();
  }

  private scheduleAlarm(at: number | null): void {
    clearTimeout(this.alarmTimer);
    this.alarmTimer = undefined;
    if (at === null) return;
    const delay = Math.max(0, at - Date.now());
    this.alarmTimer = setTimeout(() => void this.fireAlarm(at), Math.min(delay, MAX_TIMER_MS));
    // A pending alarm does not keep the process alive by itself (it fires after a restart).
    (this.alarmTimer as unknown as { unref?: () => void }).unref?.();
    if (typeof Deno !== "undefined") Deno.unrefTimer(this.alarmTimer as unknown as number);
  }

  /** Runs the alarm now if one is set, however far off it is; answers whether one was set. */
  async runAlarmNow(): Promise<boolean> {
    const at = this.storage.getAlarm();
    if (at === null) return false;
    await this.fireAlarm(at, true);
    return true;
  }

  private async fireAlarm(at: number, early = false): Promise<void> {
    if (this.storage.getAlarm() !== at) return; // changed meanwhile: its own timer is set
    if (!early && Date.now() < at) return this.scheduleAlarm(at); // a long delay, split into timer-sized steps
    const isRetry = this.alarmRetries > 0;
    try {
      // As on Cloudflare, the alarm is cleared as it runs; the handler may set the next one.
      this.storage.deleteAlarm();
      await this.deliver(() => this.instance.alarm?.({ retryCount: this.alarmRetries, isRetry }));
      this.alarmRetries = 0;
    } catch (err) {
      console.error(`Durable Object ${this.id}: alarm failed (try ${this.alarmRetries + 1}):`, err);
      if (this.alarmRetries++ < ALARM_RETRIES && this.storage.getAlarm() === null) this.storage.setAlarm(Date.now() + 2 ** this.alarmRetries * 1000);
      else this.alarmRetries = 0;
    }
  }
}

/**
 * How many objects of one namespace stay open at most: past it, the least recently used idle
 * ones are closed (their storage stays on disk; the next call opens them again), as Cloudflare
 * evicts idle objects. Each open object holds its SQLite file and its write-ahead log open, and
 * a deployment has one object per case (CaseStore), so an unbounded set would run the process
 * out of file descriptors.
 */
const MAX_LIVE_OBJECTS = 256;

/** A Durable Object namespace (one binding): ids, stubs, and the live objects of this process. */
export class LocalDurableObjectNamespace {
  private readonly live = new Map<string, LiveObject>();
  private readonly dir: string;

  constructor(
    readonly className: string,
    private readonly Class: DurableObjectConstructor,
    private readonly root: string,
    private readonly env: () => unknown,
    private readonly maxLive = MAX_LIVE_OBJECTS,
  ) {
    this.dir = ensureDir(join(root, className));
  }

  /** How many objects of this namespace are open now. */
  get liveCount(): number {
    return this.live.size;
  }

  /** Closes the least recently used idle objects (never `keep`) until at most `maxLive` are open. */
  private evict(keep: string): void {
    if (this.live.size <= this.maxLive) return;
    const candidates = [...this.live].filter(([key, live]) => key !== keep && live.idle()).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, live] of candidates) {
      if (this.live.size <= this.maxLive) break;
      this.live.delete(key);
      live.close();
    }
  }

  /** Wakes every object of this namespace that has an alarm set, so alarms fire after a restart. */
  resumeAlarms(): void {
    for (const file of readdirSync(this.dir)) {
      const match = /^([0-9a-f]{64})\.sqlite$/.exec(file);
      if (!match) continue;
      const db = openSqlite(join(this.dir, file));
      let alarm: unknown;
      let name: string | undefined;
      try {
        alarm = db.prepare("SELECT value FROM _cf_METADATA WHERE key = 'alarm'").get();
        name = (db.prepare("SELECT value FROM _cf_METADATA WHERE key = 'name'").get() as { value: string } | undefined)?.value;
      } catch {
        alarm = undefined; // an object that never stored anything has no metadata table
      } finally {
        db.close();
      }
      if (alarm) this.object(new LocalDurableObjectId(match[1]!, name));
    }
  }

  /** Closes every live object of this namespace (their alarms stay stored, to fire after the next start). */
  close(): void {
    for (const live of this.live.values()) live.close();
    this.live.clear();
  }

  /**
   * Runs the alarm of the object `id` now, if it has one set, as the Workers test runtime's
   * `runDurableObjectAlarm` does; answers whether one ran. For tests in this process only
   * (tests/deno/fixtures/main-with-test-hooks.ts): no route of the server reaches it.
   */
  async runAlarm(id: LocalDurableObjectId): Promise<boolean> {
    if (!this.live.has(id.toString()) && !existsSync(objectFile(this.root, this.className, id.toString()))) return false;
    return this.object(id).runAlarmNow();
  }

  idFromName(name: string): LocalDurableObjectId {
    return new LocalDurableObjectId(objectIdFromName(this.className, name), name);
  }

  newUniqueId(): LocalDurableObjectId {
    return new LocalDurableObjectId(randomBytes(32).toString("hex"));
  }

  idFromString(hex: string): LocalDurableObjectId {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError("Invalid Durable Object ID: must be 64 hex digits");
    return new LocalDurableObjectId(hex);
  }

  getByName(name: string): unknown {
    return this.get(this.idFromName(name));
  }

  jurisdiction(): this {
    return this;
  }

  private object(id: LocalDurableObjectId): LiveObject {
    const key = id.toString();
    let live = this.live.get(key);
    if (!live) {
      const file = objectFile(this.root, this.className, key);
      live = new LiveObject(id, this.Class, this.env(), file);
      this.live.set(key, live);
      this.evict(key);
    }
    return live;
  }

  /** A stub: `fetch` and every method of the class, each call delivered to the one live instance. */
  get(id: LocalDurableObjectId): unknown {
    const namespace = this;
    return new Proxy(
      { id, name: id.name },
      {
        get(target, property) {
          if (property in target) return target[property as keyof typeof target];
          if (typeof property !== "string" || property === "then") return undefined;
          return async (...args: unknown[]) => {
            const live = namespace.object(id);
            if (property === "fetch") {
              const request = args[0] instanceof Request ? args[0] : new Request(args[0] as string, args[1] as RequestInit);
              return live.deliver(() => live.instance.fetch!(request));
            }
            const method = (live.instance as Record<string, unknown>)[property];
            if (typeof method !== "function" || property === "constructor" || property.startsWith("_")) {
              throw new TypeError(`The RPC receiver does not implement the method "${property}".`);
            }
            const copied = structuredClone(args);
            const result = await live.deliver(() => (method as (...a: unknown[]) => unknown).apply(live.instance, copied));
            return structuredClone(result);
          };
        },
      },
    );
  }
}
