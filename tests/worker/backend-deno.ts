/**
 * The test backend on Deno: the server (deno/main.ts) runs as a child process on a temporary
 * data folder (setup-deno.ts starts it for each test file); requests go to it over HTTP, as
 * a reverse proxy would send them (X-Forwarded-*, so the worker sees the URL and client address
 * the test means); and the tests read and change its storage directly on disk, through the
 * same D1 and R2 classes the server uses, from this process (SQLite allows both at once).
 * The server runs with a test hook beside it (tests/deno/fixtures/main-with-test-hooks.ts), for
 * what only the runtime can do: ring a Durable Object's alarm now.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readBindings } from "../../deno/config";
import { LocalD1Database, openSqlite } from "../../deno/d1";
import { objectFile, objectIdFromName } from "../../deno/durable-objects";
import { LocalR2Bucket } from "../../deno/r2";
import type { AuditEvent } from "../../shared/audit/chain";
import { DenoServer } from "../support/deno-server";
import type { RawRequest, SealProgress, TestBackend, TestBucket, TestDatabase } from "./backend";
import { testWebSocket } from "./websocket-client";

const root = resolve(import.meta.dirname, "../..");
const bindings = readBindings(join(root, "wrangler.toml"));
const AUDIT_CLASS = bindings.durableObjects.find((b) => b.name === "AUDIT")!.className;
const PERIOD_CLASS = bindings.durableObjects.find((b) => b.name === "AUDIT_PERIODS")!.className;
const STORE_CLASS = bindings.durableObjects.find((b) => b.name === "CASE_STORE")!.className;

/** Rows of `query` in the SQLite file of a Durable Object (none if it has no such table yet). */
function objectRows<T>(file: string, table: string, query: string): T[] {
  if (!existsSync(file)) return [];
  const db = new DatabaseSync(file);
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(table)) return [];
    return db.prepare(query).all() as T[];
  } finally {
    db.close();
  }
}
/** Deletes every row of these tables of a case's CaseStore object (the migrations' tests set up an older state so). */
function emptyCaseTables(caseId: string, tables: string[]): void {
  const file = objectFile(join(running().server.stateDir, "do"), STORE_CLASS, objectIdFromName(STORE_CLASS, caseId));
  if (!existsSync(file)) return;
  const db = openSqlite(file);
  try {
    for (const table of tables) db.exec(`DELETE FROM ${table}`);
  } finally {
    db.close();
  }
}

/** deno/main.ts, with the tests' hook beside it. */
const ENTRY = join(root, "tests/deno/fixtures/main-with-test-hooks.ts");

let server: DenoServer | null = null;
let database: LocalD1Database | null = null;
let evidence: LocalR2Bucket | null = null;

function running(): { server: DenoServer; database: LocalD1Database; evidence: LocalR2Bucket } {
  if (!server || !database || !evidence) throw new Error("the Deno server is not running (tests/worker/setup-deno.ts starts it)");
  return { server, database, evidence };
}

function openStorage(stateDir: string): void {
  database = new LocalD1Database(openSqlite(join(stateDir, "d1", `${bindings.d1[0]!.binding}.sqlite`)));
  evidence = new LocalR2Bucket(join(stateDir, "r2", "EVIDENCE"), { sweep: false });
}

function closeStorage(): void {
  database?.sqlite.close();
  evidence?.db.close();
  database = evidence = null;
}

/** Starts a Deno server on a new temporary data folder, for this test file. */
export async function startDenoBackend(): Promise<DenoServer> {
  const stateDir = mkdtempSync(join(tmpdir(), "custody-deno-test-"));
  // OIDC_ALLOW_LOOPBACK: the tests' OpenID providers run on 127.0.0.1 (the development setting, docs/security.md).
  // AUDIT_PERIOD_BITS: audit periods of 8 events, as in the `worker` project (vitest.config.ts).
  server = new DenoServer(stateDir, { CUSTODY_TRUST_PROXY: "1", OIDC_ALLOW_LOOPBACK: "1", AUDIT_PERIOD_BITS: "3" }, ENTRY);
  await server.start();
  openStorage(stateDir);
  return server;
}

/**
 * Ends the server, with SIGKILL ("kill": nothing of it runs after, as in a crash) or as Ctrl-C
 * does ("stop"), and starts it again on the same data folder (with `env` added to its environment).
 */
export async function restartDenoBackend(how: "kill" | "stop", env?: Record<string, string>): Promise<void> {
  const { server } = running();
  if (how === "kill") await server.kill();
  else await server.stop();
  if (env) server.env = { ...server.env, ...env };
  closeStorage();
  await server.start();
  openStorage(server.stateDir);
}

export async function stopDenoBackend(): Promise<void> {
  closeStorage();
  await server?.stop();
  if (server) rmSync(server.stateDir, { recursive: true, force: true });
  server = null;
}

/** The running server (its data folder, its log). */
export function denoServer(): DenoServer {
  return running().server;
}

/** Deletes every row of every table of `db` but `keep`, foreign keys and all. */
function emptyTables(db: DatabaseSync, keep: string[] = []): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { name: string }[])
    .map((t) => t.name)
    .filter((name) => !keep.includes(name));
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec("BEGIN IMMEDIATE");
  try {
    for (const name of tables) db.exec(`DELETE FROM "${name.replaceAll('"', '""')}"`);
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get()) db.exec("DELETE FROM sqlite_sequence");
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

/** The URL of the running server's test hooks (announced on its stdout just after it listens). */
async function hooksUrl(server: DenoServer): Promise<string> {
  for (let i = 0; i < 100; i++) {
    // Only what the running process announced: after a restart the last start's line comes after its "Custody on Deno".
    const started = server.output.lastIndexOf("Custody on Deno:");
    const announced = [...server.output.slice(Math.max(0, started)).matchAll(/Test hooks: (http:\/\/[\d.]+:\d+)/g)].at(-1);
    if (announced) return announced[1]!;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`the Deno server announced no test hooks:\n${server.output}`);
}

/** The request as the reverse proxy in front of a real deployment passes it on: the public URL and client address in X-Forwarded-*. */
function forwarded(request: Request): { path: string; headers: Headers } {
  const original = new URL(request.url);
  const headers = new Headers(request.headers);
  headers.set("X-Forwarded-Proto", original.protocol.slice(0, -1));
  headers.set("X-Forwarded-Host", original.host);
  const client = headers.get("CF-Connecting-IP");
  if (client) headers.set("X-Forwarded-For", client);
  return { path: original.pathname + original.search, headers };
}

/**
 * An upgrade request through node:http (fetch refuses to send `Upgrade`): the server's answer
 * when it refuses the upgrade; an error when it accepts it (talk to it with `backend.webSocket`).
 */
function upgradeRequest(url: URL, method: string, headers: Headers): Promise<Response> {
  headers.set("Connection", "Upgrade");
  if (!headers.has("Sec-WebSocket-Key")) headers.set("Sec-WebSocket-Key", randomBytes(16).toString("base64"));
  if (!headers.has("Sec-WebSocket-Version")) headers.set("Sec-WebSocket-Version", "13");
  return new Promise((done, fail) => {
    const request = httpRequest(url.href, { method, headers: Object.fromEntries(headers) });
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", fail);
      response.on("end", () => {
        const answer = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) answer.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
        done(new Response(chunks.length ? Buffer.concat(chunks) : null, { status: response.statusCode!, statusText: response.statusMessage ?? "", headers: answer }));
      });
    });
    request.on("upgrade", (_response, socket) => {
      socket.destroy();
      fail(new Error(`the server accepted the WebSocket upgrade of ${url.pathname}: open it with backend.webSocket to talk over it`));
    });
    request.on("error", fail);
    request.end();
  });
}

/** Parses a whole HTTP/1.1 response (the server closed the connection after it): status, headers, body (chunked or not). */
function parseResponse(raw: Buffer, what: string): Response {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no complete HTTP response to ${what}: ${JSON.stringify(raw.toString("latin1").slice(0, 200))}`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (headers.get("Transfer-Encoding")?.toLowerCase() === "chunked") {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf("\r\n", at);
      const size = parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
      if (!size) break;
      chunks.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(chunks);
    headers.delete("Transfer-Encoding");
  }
  const empty = status === 204 || status === 304 || status < 200;
  return new Response(empty ? null : body, { status, headers });
}

/** Writes the request to a socket as raw HTTP/1.1 (`Connection: close`) and reads the answer until the server closes. */
function rawHttp(server: DenoServer, { method, url, headers = {}, body, contentLength }: RawRequest): Promise<Response> {
  const { path, headers: all } = forwarded(new Request(url, { headers }));
  all.set("Connection", "close");
  const declared = contentLength ?? body?.length;
  if (declared !== undefined) all.set("Content-Length", String(declared));
  const target = new URL(server.url);
  // CONNECT names the host to tunnel to (authority-form), not a path.
  const requestTarget = method === "CONNECT" ? new URL(url).host : path;
  const head = [`${method} ${requestTarget} HTTP/1.1`, `Host: ${target.host}`, ...[...all].map(([name, value]) => `${name}: ${value}`)].join("\r\n");
  return new Promise((done, fail) => {
    const socket = connect(Number(target.port), target.hostname);
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", fail);
    socket.on("close", () => {
      try {
        done(parseResponse(Buffer.concat(received), `${method} ${requestTarget}`));
      } catch (error) {
        fail(error);
      }
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no answer to the raw ${method} ${path}`)));
    socket.write(`${head}\r\n\r\n`);
    if (body) socket.write(body);
    // A body shorter than its Content-Length ends here: the half-close tells the server no more is coming.
    // (Otherwise the socket stays open: Deno drops a request whose client half-closed before the answer.)
    if (declared !== undefined && declared > (body?.length ?? 0)) socket.end();
  });
}

/** A method of the organisation's AuditLog called in the server, through its test hook. */
async function auditCall(orgId: string, method: "sealDue" | "exportPage", args: unknown[]): Promise<unknown> {
  const hooks = await hooksUrl(running().server);
  const response = await fetch(new URL("/audit-call", hooks), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ orgId, method, args }) });
  if (!response.ok) throw new Error(`the test hook could not call AuditLog.${method}: ${response.status} ${await response.text()}`);
  return response.json();
}

export const backend: TestBackend = {
  runtime: "deno",

  unsendableMethods: [],

  rawRequest(request) {
    return rawHttp(running().server, request);
  },

  async fetch(request) {
    const { server } = running();
    const { path, headers } = forwarded(request);
    if (headers.get("Upgrade")) return upgradeRequest(new URL(path, server.url), request.method, headers);
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : new Uint8Array(await request.arrayBuffer());
    return fetch(new URL(path, server.url), { method: request.method, headers, body, redirect: "manual" });
  },

  async webSocket(request) {
    const { server } = running();
    const { path, headers } = forwarded(request);
    const url = new URL(path, server.url.replace(/^http/, "ws"));
    // Node's WebSocket (undici) sends the headers it is given with the handshake.
    const Client = WebSocket as unknown as new (url: URL, init: { headers: Record<string, string> }) => WebSocket;
    const socket = new Client(url, { headers: Object.fromEntries(headers) });
    const client = testWebSocket(socket);
    await new Promise<void>((done, fail) => {
      socket.addEventListener("open", () => done());
      socket.addEventListener("error", () => fail(new Error(`the server refused the WebSocket to ${url.pathname}`)));
    });
    return client;
  },

  async runDurableObjectAlarm(binding, name) {
    const hooks = await hooksUrl(running().server);
    const response = await fetch(new URL("/alarm", hooks), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ binding, name }) });
    if (!response.ok) throw new Error(`the test hook could not run the alarm: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { ran: boolean }).ran;
  },

  async runScheduled(scheduledTime) {
    const hooks = await hooksUrl(running().server);
    const response = await fetch(new URL("/scheduled", hooks), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ cron: "30 3 * * *", scheduledTime: scheduledTime.getTime() }),
    });
    if (!response.ok) throw new Error(`the test hook could not run the scheduled handler: ${response.status} ${await response.text()}`);
  },

  get db(): TestDatabase {
    return running().database as unknown as TestDatabase;
  },

  get bucket(): TestBucket {
    return running().evidence as unknown as TestBucket;
  },

  async reset() {
    const { server, database, evidence } = running();
    emptyTables(database.sqlite, ["d1_migrations"]);
    emptyTables(evidence.db);
    for (const blob of filesUnder(join(evidence.dir, "blobs"))) rmSync(blob, { force: true });
    for (const file of filesUnder(join(server.stateDir, "do")).filter((f) => f.endsWith(".sqlite"))) {
      const db = openSqlite(file);
      try {
        emptyTables(db);
      } finally {
        db.close();
      }
    }
  },

  async auditEvents(orgId) {
    const { server, database } = running();
    // Every route drains the outbox before it answers; events still there mean a drain failed.
    const pending = await database.prepare("SELECT count(*) AS n FROM audit_outbox WHERE org_id = ?").bind(orgId).first<number>("n");
    if (pending) throw new Error(`${pending} audit events are still in the outbox: the server did not chain them`);
    const dir = join(server.stateDir, "do");
    const file = objectFile(dir, AUDIT_CLASS, objectIdFromName(AUDIT_CLASS, orgId));
    // The sealed periods' events from their own objects, then the head's later ones (docs/audit.md, "How the log grows").
    const sealed = objectRows<{ p: number; last_seq: number }>(file, "periods", "SELECT p, last_seq FROM periods WHERE state IN ('sealed', 'done') ORDER BY p");
    const events: string[] = [];
    for (const { p } of sealed) {
      const periodFile = objectFile(dir, PERIOD_CLASS, objectIdFromName(PERIOD_CLASS, `${orgId}/${p}`));
      events.push(...objectRows<{ event: string }>(periodFile, "chain", "SELECT event FROM chain ORDER BY seq").map((row) => row.event));
    }
    const after = sealed.at(-1)?.last_seq ?? 0;
    events.push(...objectRows<{ event: string }>(file, "chain", `SELECT event FROM chain WHERE seq > ${after} ORDER BY seq`).map((row) => row.event));
    return events.map((event) => JSON.parse(event) as AuditEvent);
  },

  async sealAudit(orgId, maxSteps, batchRows) {
    return (await auditCall(orgId, "sealDue", [maxSteps, batchRows])) as SealProgress;
  },

  async auditExportPage(orgId, filter, after, limit, treeSize) {
    return (await auditCall(orgId, "exportPage", [filter, after, limit, treeSize])) as { event: AuditEvent; inclusion: string[] }[];
  },

  async auditHeadSeqs(orgId) {
    const file = objectFile(join(running().server.stateDir, "do"), AUDIT_CLASS, objectIdFromName(AUDIT_CLASS, orgId));
    return objectRows<{ seq: number }>(file, "chain", "SELECT seq FROM chain ORDER BY seq").map((row) => Number(row.seq));
  },

  async caseRecords(caseId) {
    const file = objectFile(join(running().server.stateDir, "do"), STORE_CLASS, objectIdFromName(STORE_CLASS, caseId));
    const read = (table: string) =>
      objectRows<{ evidence_id: string; ref: string; body: string }>(file, table, `SELECT evidence_id, ref, body FROM ${table} ORDER BY evidence_id, ref`)
        .map((r) => ({ evidenceId: r.evidence_id, ref: r.ref, body: JSON.parse(r.body) as Record<string, unknown> }));
    return { items: read("items"), details: read("details") };
  },

  async caseShareItems(caseId) {
    const file = objectFile(join(running().server.stateDir, "do"), STORE_CLASS, objectIdFromName(STORE_CLASS, caseId));
    return objectRows<{ share_id: string; share_kid: string; evidence_id: string; file_key: string | null; label: string | null }>(
      file,
      "share_items",
      "SELECT share_id, share_kid, evidence_id, file_key, label FROM share_items ORDER BY share_id, evidence_id",
    ).map((r) => ({ shareId: r.share_id, shareKid: r.share_kid, evidenceId: r.evidence_id, fileKey: r.file_key, label: r.label }));
  },

  async dropCaseShareItems(caseId) {
    emptyCaseTables(caseId, ["share_items"]);
  },

  async dropCaseRecords(caseId) {
    emptyCaseTables(caseId, ["items", "details", "share_items"]);
  },

  async storedBytes() {
    // Every file of the data folder, raw: databases, their write-ahead logs, object blobs.
    return filesUnder(running().server.stateDir).map((path) => new Uint8Array(readFileSync(path)));
  },

  async withLocalDefaults(during) {
    // The server as `npm run start:deno` runs it: no proxy trusted, the client's address is the TCP
    // peer's. (The public URL names the origin the tests use, which the proxy headers gave before.)
    await restartDenoBackend("stop", { CUSTODY_TRUST_PROXY: "", CUSTODY_PUBLIC_URL: "http://localhost:8787" });
    try {
      return await during();
    } finally {
      await restartDenoBackend("stop", { CUSTODY_TRUST_PROXY: "1", CUSTODY_PUBLIC_URL: "" });
    }
  },

  async serverErrors(during) {
    const { server } = running();
    const mark = server.errors.length;
    const result = await during();
    // The server wrote its log before it answered; give the pipe a moment to deliver it here.
    await new Promise((done) => setTimeout(done, 100));
    const errors = server.errors.slice(mark).split("\n").filter((line) => line.trim() !== "");
    return { result, errors };
  },
};
