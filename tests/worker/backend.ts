/**
 * The server under test, whichever runtime runs it. The same API test files run twice:
 * in the `worker` project, inside workerd with Cloudflare's local D1, R2 and Durable Objects
 * (backend-workers.ts), and in the `worker-deno` project, against the Deno server over HTTP
 * with its SQLite files and data folder read from here (backend-deno.ts). vitest.config.ts
 * points `#test-backend` at the one for the project.
 *
 * Tests reach the server only through this: `call` (helpers.ts) for requests, `db` for the
 * database behind the API (a D1 handle: prepare/bind/first/all/run/batch), `bucket` for the
 * evidence objects, and the few runtime-specific checks below. A test written for workerd
 * alone ports with: `env.DB` → `db`, `env.EVIDENCE` → `bucket`, `SELF.fetch` or
 * `exports.default.fetch` → `backend.fetch`, `reset()` + `applyD1Migrations` →
 * `backend.reset()`, a console.error spy → `backend.serverErrors`, a WebSocket upgrade answered by
 * `SELF.fetch` → `backend.webSocket` (a refused upgrade still comes back from `backend.fetch`),
 * `runDurableObjectAlarm(stub)` → `backend.runDurableObjectAlarm(binding, name)`. (A unit test,
 * tests/unit/api-tests-both-runtimes.test.ts, fails while a file here imports cloudflare:*.)
 */
import type { AuditEvent } from "../../shared/audit/chain";
import type { SealProgress } from "../../worker/src/durable/audit-log";
import { backend as selected } from "#test-backend";
import type { TestWebSocket } from "./websocket-client";

export type { SealProgress, TestWebSocket };

/** The database behind the API, with D1's API. */
export type TestDatabase = Pick<D1Database, "prepare" | "batch">;

/** The evidence bucket, with the part of R2's API tests use. */
export interface TestBucket {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  put(key: string, value: Uint8Array): Promise<unknown>;
  list(options?: { cursor?: string }): Promise<{ objects: { key: string }[]; truncated: boolean; cursor?: string }>;
  resumeMultipartUpload(key: string, uploadId: string): { complete(parts: R2UploadedPart[]): Promise<unknown> };
}

/** A request for `backend.rawRequest`: `body` is sent as it is, with `contentLength` (default: its length) declared. */
export interface RawRequest {
  method: string;
  /** The URL the client means, as for `Request` (on Deno it travels in X-Forwarded-*, as for `fetch`). */
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  contentLength?: number;
}

/** A record as a case's object stores it. */
export interface StoredCaseRecord {
  evidenceId: string;
  ref: string;
  body: Record<string, unknown>;
}

/** An item of a share as a case's object stores it. */
export interface StoredShareItem {
  shareId: string;
  shareKid: string;
  evidenceId: string;
  fileKey: string | null;
  label: string | null;
}

export interface TestBackend {
  readonly runtime: "workers" | "deno";
  /** One request to the server, answered as a browser would get it (redirects not followed). */
  fetch(request: Request): Promise<Response>;
  /**
   * Opens a WebSocket as a client does, the request's URL and headers in the handshake;
   * rejects if the server does not accept the upgrade. (To see how it refuses one, `fetch` the
   * request with an `Upgrade: websocket` header: the refusal comes back as any answer does.)
   */
  webSocket(request: Request): Promise<TestWebSocket>;
  /**
   * A request as a client could put it on the wire, beyond what `Request` lets a test build:
   * any method (TRACE, TRACK, CONNECT, which fetch refuses to send), and a body that stops short of
   * its `Content-Length` (the client gives up mid-body). On Deno it is written to a socket as raw
   * HTTP/1.1, and a short body is followed by a half-close (so the server's read of it fails). In workerd,
   * whose `Request` cannot even be built with TRACK or CONNECT (`unsendableMethods`), the short body
   * is a stream of the bytes given under the larger Content-Length header.
   */
  rawRequest(request: RawRequest): Promise<Response>;
  /** Methods `rawRequest` cannot send on this runtime. */
  readonly unsendableMethods: readonly string[];
  /**
   * Runs the alarm of the Durable Object `idFromName(name)` of `binding` now, if one is set,
   * however far off it is (as workerd's `runDurableObjectAlarm`); answers whether one ran.
   */
  runDurableObjectAlarm(binding: string, name: string): Promise<boolean>;
  /**
   * Fires the worker's Cron Trigger (the daily retention job) as if the time were `scheduledTime`:
   * the tests' clock. The job takes its time from the trigger's scheduled time alone, so moving
   * it is all a test needs to be years later; no setting of the server's clock exists to misuse.
   * Resolves when everything the handler started has finished.
   */
  runScheduled(scheduledTime: Date): Promise<void>;
  readonly db: TestDatabase;
  readonly bucket: TestBucket;
  /** An empty installation at the current schema: every database row, object and Durable Object's storage gone. */
  reset(): Promise<void>;
  /** The organisation's audit chain as its Durable Objects hold it (the head and its sealed periods), in chain order, once the outbox is drained. */
  auditEvents(orgId: string): Promise<AuditEvent[]>;
  /**
   * Seals the organisation's complete audit periods now (`AuditLog.sealDue`, docs/audit.md "How
   * the log grows"): at most `maxSteps` steps, copying `batchRows` events per step. What the alarm
   * does a few seconds after a period completes; a test calls it to finish, or stop part way.
   */
  sealAudit(orgId: string, maxSteps?: number, batchRows?: number): Promise<SealProgress>;
  /** `AuditLog.exportPage` of the organisation: events after `after` with their inclusion proofs in the tree of `treeSize`. */
  auditExportPage(orgId: string, filter: Record<string, string>, after: number, limit: number, treeSize: number): Promise<{ event: AuditEvent; inclusion: string[] }[]>;
  /** The seqs of the chain rows the organisation's `AuditLog` head itself still holds. */
  auditHeadSeqs(orgId: string): Promise<number[]>;
  /**
   * What the case's `CaseStore` object holds (docs/storage-schema.md, "What grows with evidence"):
   * its item records and details records, each parsed from its stored body, with the reference it
   * is stored under.
   */
  caseRecords(caseId: string): Promise<{ items: StoredCaseRecord[]; details: StoredCaseRecord[] }>;
  /** The rows of the case's shares' items in its `CaseStore` object (migration 0037). */
  caseShareItems(caseId: string): Promise<StoredShareItem[]>;
  /** Deletes the case's shares' items from its `CaseStore` object, as it was before migration 0037 (the migration's tests). */
  dropCaseShareItems(caseId: string): Promise<void>;
  /** Empties the case's `CaseStore` object, as it was before migration 0036 (the migration's tests). */
  dropCaseRecords(caseId: string): Promise<void>;
  /** Everything the server keeps at rest, as bytes (objects and database contents), to scan for what must not be there. */
  storedBytes(): Promise<Uint8Array[]>;
  /** Runs `during` and returns what the server logged as errors meanwhile (kept out of the test output). */
  serverErrors<T>(during: () => Promise<T>): Promise<{ result: T; errors: string[] }>;
  /**
   * Runs `during` against the server configured as its local default runs it, with no proxy or
   * edge in front that it trusts: `npm start` (wrangler dev, TRUST_CF_CONNECTING_IP unset) or
   * `npm run start:deno` (CUSTODY_TRUST_PROXY unset). Otherwise the tests play the part of
   * Cloudflare's edge (or of the trusted reverse proxy on Deno): the `CF-Connecting-IP` a test
   * sends is the client's address.
   */
  withLocalDefaults<T>(during: () => Promise<T>): Promise<T>;
}

export const backend: TestBackend = selected;

/** The database behind the API (`env.DB` in the Workers runtime, the Deno server's SQLite file on Deno). */
export const db: TestDatabase = {
  prepare: (query) => selected.db.prepare(query),
  batch: (statements) => selected.db.batch(statements),
};

/** The evidence bucket (`env.EVIDENCE`, or the Deno server's bucket folder). */
export const bucket: TestBucket = {
  get: (key) => selected.bucket.get(key),
  put: (key, value) => selected.bucket.put(key, value),
  list: (options) => selected.bucket.list(options),
  resumeMultipartUpload: (key, uploadId) => selected.bucket.resumeMultipartUpload(key, uploadId),
};
