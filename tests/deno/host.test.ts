/**
 * The Deno host's bindings on their own (they are plain modules over node:sqlite and node:fs,
 * so they run here too): D1's binding semantics, R2's rules and crash clean-up, and Durable
 * Objects' one-instance-per-id, storage and alarms that outlive a restart.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalD1Database, openSqlite } from "../../deno/d1";
import { LocalDurableObjectNamespace, type DurableObjectConstructor } from "../../deno/durable-objects";
import { LocalR2Bucket } from "../../deno/r2";

const MiB = 1024 * 1024;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "custody-host-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("D1 on SQLite", () => {
  it("binds values as D1 does and returns rows as D1 does", async () => {
    const db = new LocalD1Database(openSqlite(join(dir, "db.sqlite")));
    await db.exec("CREATE TABLE t (n, s TEXT, b BLOB)");
    await db.prepare("INSERT INTO t VALUES (?, ?, ?)").bind(5, 5, new Uint8Array([1, 2])).run();
    await db.prepare("INSERT INTO t VALUES (?, ?, ?)").bind(true, 2.5, null).run();
    const rows = (await db.prepare("SELECT n, typeof(n) AS tn, s, b FROM t ORDER BY rowid").all()).results;
    expect(rows).toEqual([
      { n: 5, tn: "integer", s: "5", b: [1, 2] },
      { n: 1, tn: "integer", s: "2.5", b: null },
    ]);
    expect(() => db.prepare("SELECT ?").bind(undefined)).toThrow(/D1_TYPE_ERROR/);
    expect(await db.prepare("SELECT n FROM t WHERE n = 99").first()).toBeNull();
    expect(await db.prepare("SELECT count(*) AS c FROM t").first("c")).toBe(2);
    await expect(db.prepare("SELECT 1 AS a").first("b")).rejects.toThrow(/D1_COLUMN_NOTFOUND/);
    expect(await db.prepare("SELECT 1 AS a, 2 AS b").raw({ columnNames: true })).toEqual([["a", "b"], [1, 2]]);
    const { meta } = await db.prepare("UPDATE t SET s = 'x'").run();
    expect(meta.changes).toBe(2);
  });

  it("runs a batch as one transaction: all of it, or (when a statement fails) none of it", async () => {
    const db = new LocalD1Database(openSqlite(join(dir, "db.sqlite")));
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE log (v TEXT)");
    const results = await db.batch([
      db.prepare("INSERT INTO t (id, v) VALUES (1, 'a')"),
      db.prepare("UPDATE t SET v = 'b' WHERE id = 2"),
      // The audit pattern: written only if the statement before it changed a row.
      db.prepare("INSERT INTO log (v) SELECT 'changed' WHERE changes() > 0"),
    ]);
    expect(results.map((r) => r.meta.changes)).toEqual([1, 0, 0]);
    await expect(db.batch([db.prepare("INSERT INTO t (id, v) VALUES (3, 'c')"), db.prepare("INSERT INTO t (id, v) VALUES (1, 'dup')")])).rejects.toThrow(/UNIQUE constraint failed/);
    expect((await db.prepare("SELECT id FROM t ORDER BY id").all()).results).toEqual([{ id: 1 }]);
    expect(await db.prepare("SELECT count(*) AS n FROM log").first("n")).toBe(0);
  });
});

describe("R2 in a folder", () => {
  it("stores, reads ranges, lists by prefix and delimiter a page at a time, and deletes", async () => {
    const bucket = new LocalR2Bucket(join(dir, "r2"));
    const put = await bucket.put("a/1", new TextEncoder().encode("hello world"), { httpMetadata: { contentType: "text/plain" }, customMetadata: { k: "v" } });
    expect(put).toMatchObject({ key: "a/1", size: 11, etag: "5eb63bbbe01eeed093cb22bb8f5acdc3", httpEtag: '"5eb63bbbe01eeed093cb22bb8f5acdc3"' });
    await bucket.put("a/2", "x");
    await bucket.put("a/b/3", "y");
    await bucket.put("c", "z");
    expect(await (await bucket.get("a/1", { range: { offset: 6, length: 5 } }))!.text()).toBe("world");
    expect(await (await bucket.get("a/1", { range: { suffix: 3 } }))!.text()).toBe("rld");
    expect(await (await bucket.get("a/1", { range: new Headers({ Range: "bytes=0-4" }) }))!.text()).toBe("hello");
    expect((await bucket.head("a/1"))!.httpMetadata).toEqual({ contentType: "text/plain" });
    expect((await bucket.head("a/1"))!.customMetadata).toEqual({ k: "v" });
    const first = await bucket.list({ prefix: "a/", delimiter: "/", limit: 1 });
    expect(first.objects.map((o) => o.key)).toEqual(["a/1"]);
    expect(first.truncated).toBe(true);
    const rest = await bucket.list({ prefix: "a/", delimiter: "/", cursor: first.truncated ? first.cursor : "" });
    expect(rest.objects.map((o) => o.key)).toEqual(["a/2"]);
    expect(rest.delimitedPrefixes).toEqual(["a/b/"]);
    await bucket.delete(["a/1", "c"]);
    expect(await bucket.get("a/1")).toBeNull();
    expect((await bucket.list()).objects.map((o) => o.key)).toEqual(["a/2", "a/b/3"]);
    await expect(bucket.put("d", "data", { sha256: "00".repeat(32) })).rejects.toThrow(/SHA256 checksum/);
    expect(await bucket.head("d")).toBeNull();
  });

  it("joins multipart uploads under R2's rules on part sizes and etags, and reads across parts", async () => {
    const bucket = new LocalR2Bucket(join(dir, "r2"));
    const upload = await bucket.createMultipartUpload("big");
    const p1 = await upload.uploadPart(1, bytes(5 * MiB, 1));
    const p2 = await upload.uploadPart(2, bytes(5 * MiB, 2));
    const small = await upload.uploadPart(3, bytes(10, 3));
    const short = await upload.uploadPart(4, bytes(MiB, 4));
    await expect(upload.complete([p1, short, small])).rejects.toThrow(/smaller than the minimum/);
    await expect(upload.complete([p1, { partNumber: 2, etag: "wrong" }, small])).rejects.toThrow(/could not be found/);
    const object = await bucket.resumeMultipartUpload("big", upload.uploadId).complete([p1, p2, small]);
    expect(object.size).toBe(10 * MiB + 10);
    expect(object.etag).toMatch(/^[0-9a-f]{32}-3$/);
    const across = new Uint8Array(await (await bucket.get("big", { range: { offset: 5 * MiB - 2, length: 4 } }))!.arrayBuffer());
    expect([...across]).toEqual([1, 1, 2, 2]);
    // The part left out of the object (4) is discarded with the upload; the upload is gone.
    expect(readdirSync(join(dir, "r2", "blobs"))).toHaveLength(3);
    await expect(upload.uploadPart(5, "x")).rejects.toThrow(/does not exist/);
    const aborted = await bucket.createMultipartUpload("gone");
    await aborted.uploadPart(1, "abc");
    await aborted.abort();
    expect(readdirSync(join(dir, "r2", "blobs"))).toHaveLength(3);
  });

  it("removes at start what a crash left: half-written files and blobs nothing refers to", async () => {
    let bucket = new LocalR2Bucket(join(dir, "r2"));
    await bucket.put("kept", "kept");
    const upload = await bucket.createMultipartUpload("pending");
    const part = await upload.uploadPart(1, "part");
    writeFileSync(join(dir, "r2", "tmp", "half-written"), "x");
    writeFileSync(join(dir, "r2", "blobs", "written-not-committed"), "y");
    bucket.db.close();
    bucket = new LocalR2Bucket(join(dir, "r2"));
    expect(readdirSync(join(dir, "r2", "tmp"))).toEqual([]);
    expect(readdirSync(join(dir, "r2", "blobs"))).toHaveLength(2);
    expect(await (await bucket.get("kept"))!.text()).toBe("kept");
    // The upload in progress kept its part, and completes after the restart.
    await bucket.resumeMultipartUpload("pending", upload.uploadId).complete([part]);
    expect(await (await bucket.get("pending"))!.text()).toBe("part");
  });
});

/** A Durable Object class for the tests: a counter in SQL, a note in the key-value API, an alarm that records it fired. */
class Counter {
  private calls = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    readonly env: unknown,
  ) {
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS counts (n INTEGER NOT NULL)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS fired (at INTEGER NOT NULL)");
  }

  add(by: number): number {
    this.calls++;
    this.ctx.storage.sql.exec("INSERT INTO counts (n) VALUES (?)", by);
    return this.ctx.storage.sql.exec<{ total: number }>("SELECT sum(n) AS total FROM counts").one().total;
  }

  addTwiceThenFail(): void {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec("INSERT INTO counts (n) VALUES (1000)");
      throw new Error("no");
    });
  }

  async note(value: { at: Date; list: number[] }): Promise<{ at: Date; list: number[] } | undefined> {
    await this.ctx.storage.put("note", value);
    value.list.push(99); // a copy was stored, and the caller's object is a copy too
    return this.ctx.storage.get("note");
  }

  /** Writes across awaits in one transaction, then fails, rolls back, or keeps them. */
  async transfer(outcome: "throw" | "rollback" | "commit"): Promise<unknown> {
    try {
      await this.ctx.storage.transaction(async (txn) => {
        await txn.put("from", 1);
        await new Promise((done) => setTimeout(done, 10));
        await txn.put("to", 1);
        if (outcome === "throw") throw new Error("transfer failed");
        if (outcome === "rollback") txn.rollback();
      });
    } catch {
      // the writes are undone
    }
    return Object.fromEntries(await this.ctx.storage.list());
  }

  async wakeIn(ms: number): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + ms);
  }

  /** How many times `add` ran on this very instance (memory, not storage). */
  addCalls(): number {
    return this.calls;
  }

  fired(): number {
    return this.ctx.storage.sql.exec("SELECT * FROM fired").toArray().length;
  }

  async alarm(): Promise<void> {
    this.ctx.storage.sql.exec("INSERT INTO fired (at) VALUES (?)", Date.now());
  }
}

interface CounterStub {
  add(by: number): Promise<number>;
  addTwiceThenFail(): Promise<void>;
  note(value: { at: Date; list: number[] }): Promise<{ at: Date; list: number[] } | undefined>;
  wakeIn(ms: number): Promise<void>;
  fired(): Promise<number>;
  addCalls(): Promise<number>;
  transfer(outcome: "throw" | "rollback" | "commit"): Promise<unknown>;
}

describe("Durable Objects in the process", () => {
  const namespace = () => new LocalDurableObjectNamespace("Counter", Counter as unknown as DurableObjectConstructor, join(dir, "do"), () => ({}));

  it("has one instance per id, with its own storage, reached by RPC with copied values", async () => {
    const counters = namespace();
    const a = counters.get(counters.idFromName("a")) as CounterStub;
    const again = counters.get(counters.idFromName("a")) as CounterStub;
    const b = counters.get(counters.idFromName("b")) as CounterStub;
    expect(await a.add(1)).toBe(1);
    expect(await again.add(2)).toBe(3);
    expect(await b.add(10)).toBe(10);
    expect([await a.addCalls(), await b.addCalls()]).toEqual([2, 1]);
    await expect(a.addTwiceThenFail()).rejects.toThrow("no");
    expect(await a.add(0)).toBe(3);
    const list = [1, 2];
    const stored = await a.note({ at: new Date(0), list });
    expect(stored).toEqual({ at: new Date(0), list: [1, 2] });
    expect(list).toEqual([1, 2]);
    await expect((a as unknown as { missing(): Promise<void> }).missing()).rejects.toThrow(/does not implement/);
    counters.close();
    // After a restart the storage is all still there.
    const reopened = namespace();
    expect(await (reopened.get(reopened.idFromName("a")) as CounterStub).add(0)).toBe(3);
    reopened.close();
  });

  it("keeps at most its cap of objects open, closing the least recently used idle ones, which reopen with their storage", async () => {
    const counters = new LocalDurableObjectNamespace("Counter", Counter as unknown as DurableObjectConstructor, join(dir, "do"), () => ({}), 3);
    const stub = (name: string) => counters.get(counters.idFromName(`cap-${name}`)) as CounterStub;
    // One with an alarm set is never closed: its timer lives in this process.
    await stub("alarmed").wakeIn(86_400_000);
    for (const name of ["a", "b", "c", "d", "e"]) expect(await stub(name).add(1)).toBe(1);
    expect(counters.liveCount).toBe(3);
    // "e" and "alarmed" are open (the same instance answers); "a" was closed and opens again with what it stored.
    expect(await stub("e").addCalls()).toBe(1);
    expect(await stub("a").add(1)).toBe(2);
    expect(await stub("a").addCalls()).toBe(1);
    expect(await counters.runAlarm(counters.idFromName("cap-alarmed"))).toBe(true);
    expect(counters.liveCount).toBeLessThanOrEqual(4);
    counters.close();
  });

  it("commits a storage transaction across awaits whole, or undoes it whole", async () => {
    const counters = namespace();
    const a = counters.get(counters.idFromName("t")) as CounterStub;
    expect(await a.transfer("throw")).toEqual({});
    expect(await a.transfer("rollback")).toEqual({});
    expect(await a.transfer("commit")).toEqual({ from: 1, to: 1 });
    counters.close();
    const reopened = namespace();
    expect(await (reopened.get(reopened.idFromName("t")) as CounterStub).transfer("throw")).toEqual({ from: 1, to: 1 });
    reopened.close();
  });

  it("rings an alarm now when the tests ask, however far off it is, and only one that is set", async () => {
    const counters = namespace();
    expect(await counters.runAlarm(counters.idFromName("never-used"))).toBe(false);
    const a = counters.get(counters.idFromName("a")) as CounterStub;
    await a.wakeIn(30 * 86_400_000); // beyond one timer's reach
    expect(await counters.runAlarm(counters.idFromName("a"))).toBe(true);
    expect(await a.fired()).toBe(1);
    // Rung, it is cleared as a real one is.
    expect(await counters.runAlarm(counters.idFromName("a"))).toBe(false);
    expect(await a.fired()).toBe(1);
    counters.close();
  });

  it("keeps an alarm across a restart and fires it then", async () => {
    const counters = namespace();
    const a = counters.get(counters.idFromName("a")) as CounterStub;
    await a.wakeIn(300);
    counters.close(); // the process goes away before the alarm is due
    await new Promise((done) => setTimeout(done, 400));
    const reopened = namespace();
    reopened.resumeAlarms();
    const stub = reopened.get(reopened.idFromName("a")) as CounterStub;
    for (let i = 0; i < 50 && (await stub.fired()) === 0; i++) await new Promise((done) => setTimeout(done, 20));
    expect(await stub.fired()).toBe(1);
    reopened.close();
  });
});
