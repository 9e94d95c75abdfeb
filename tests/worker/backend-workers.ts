/** The test backend inside workerd: the worker's own module, and Cloudflare's local D1, R2 and Durable Objects. */
import { applyD1Migrations, createExecutionContext, createScheduledController, env, reset, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import worker from "../../worker/src/index";
import { flushAudit, listAuditEvents } from "../../worker/src/lib/audit";
import type { AuditEvent } from "../../shared/audit/chain";
import type { RawRequest, TestBackend, TestBucket } from "./backend";
import { testWebSocket } from "./websocket-client";

/** While set, requests go to the worker with the bindings `wrangler dev` gives it under `npm start` (TRUST_CF_CONNECTING_IP unset). */
let localDefaults = false;

async function localFetch(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const { TRUST_CF_CONNECTING_IP: _trusted, ...local } = env as unknown as Record<string, unknown>;
  const response = await worker.fetch(request, local as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export const backend: TestBackend = {
  runtime: "workers",
  fetch: (request) => (localDefaults ? localFetch(request) : exports.default.fetch(request)),
  async webSocket(request) {
    const headers = new Headers(request.headers);
    headers.set("Upgrade", "websocket");
    const response = await exports.default.fetch(new Request(request, { headers }));
    if (response.status !== 101 || !response.webSocket) throw new Error(`the server refused the WebSocket: ${response.status} ${await response.text()}`);
    const socket = testWebSocket(response.webSocket);
    response.webSocket.accept();
    return socket;
  },
  // workerd's Request takes only methods it knows (TRACE and the WebDAV ones, not TRACK, CONNECT or made-up ones).
  unsendableMethods: ["TRACK", "CONNECT", "FOO"],
  rawRequest({ method, url, headers, body, contentLength }: RawRequest) {
    const declared = contentLength ?? body?.length;
    const all = new Headers(headers);
    if (declared !== undefined) all.set("Content-Length", String(declared));
    // A stream of the bytes given, under the declared Content-Length: the worker gets fewer bytes than the header says.
    const stream = body === undefined ? undefined : new Blob([body as Uint8Array<ArrayBuffer>]).stream();
    return exports.default.fetch(new Request(url, { method, headers: all, body: stream }));
  },
  async runDurableObjectAlarm(binding, name) {
    const namespace = (env as unknown as Record<string, DurableObjectNamespace>)[binding];
    if (!namespace) throw new Error(`no Durable Object binding ${binding}`);
    return runDurableObjectAlarm(namespace.get(namespace.idFromName(name)));
  },
  async runScheduled(scheduledTime) {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime, cron: "30 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
  },
  db: env.DB,
  bucket: env.EVIDENCE as unknown as TestBucket,
  async reset() {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  },
  async auditEvents(orgId) {
    await flushAudit(env, orgId);
    return listAuditEvents(env, orgId, {}, 0, 5000);
  },
  async sealAudit(orgId, maxSteps, batchRows) {
    return env.AUDIT.get(env.AUDIT.idFromName(orgId)).sealDue(maxSteps, batchRows);
  },
  async auditExportPage(orgId, filter, after, limit, treeSize) {
    return (await env.AUDIT.get(env.AUDIT.idFromName(orgId)).exportPage(filter, after, limit, treeSize)) as unknown as { event: AuditEvent; inclusion: string[] }[];
  },
  async auditHeadSeqs(orgId) {
    return runInDurableObject(env.AUDIT.get(env.AUDIT.idFromName(orgId)), async (_instance, state) =>
      state.storage.sql.exec<{ seq: number }>("SELECT seq FROM chain ORDER BY seq").toArray().map((row) => row.seq),
    );
  },
  async caseRecords(caseId) {
    return runInDurableObject(env.CASE_STORE.get(env.CASE_STORE.idFromName(caseId)), async (_instance, state) => {
      const read = (table: string) =>
        state.storage.sql.exec<{ evidence_id: string; ref: string; body: string }>(`SELECT evidence_id, ref, body FROM ${table} ORDER BY evidence_id, ref`).toArray()
          .map((r) => ({ evidenceId: r.evidence_id, ref: r.ref, body: JSON.parse(r.body) as Record<string, unknown> }));
      return { items: read("items"), details: read("details") };
    });
  },
  async caseShareItems(caseId) {
    return runInDurableObject(env.CASE_STORE.get(env.CASE_STORE.idFromName(caseId)), async (_instance, state) =>
      state.storage.sql
        .exec<{ share_id: string; share_kid: string; evidence_id: string; file_key: string | null; label: string | null }>(
          "SELECT share_id, share_kid, evidence_id, file_key, label FROM share_items ORDER BY share_id, evidence_id",
        )
        .toArray()
        .map((r) => ({ shareId: r.share_id, shareKid: r.share_kid, evidenceId: r.evidence_id, fileKey: r.file_key, label: r.label })),
    );
  },
  async dropCaseShareItems(caseId) {
    await runInDurableObject(env.CASE_STORE.get(env.CASE_STORE.idFromName(caseId)), async (_instance, state) => {
      state.storage.sql.exec("DELETE FROM share_items");
    });
  },
  async dropCaseRecords(caseId) {
    await runInDurableObject(env.CASE_STORE.get(env.CASE_STORE.idFromName(caseId)), async (_instance, state) => {
      state.storage.sql.exec("DELETE FROM items");
      state.storage.sql.exec("DELETE FROM details");
      state.storage.sql.exec("DELETE FROM share_items");
    });
  },
  async storedBytes() {
    const stored: Uint8Array[] = [];
    // Each case's object (captures places are cases too): its records as stored.
    for (const { id } of (await env.DB.prepare("SELECT id FROM cases").all<{ id: string }>()).results) {
      stored.push(new TextEncoder().encode(JSON.stringify([await backend.caseRecords(id), await backend.caseShareItems(id)])));
    }
    const listed = await env.EVIDENCE.list();
    for (const object of listed.objects) stored.push(new Uint8Array(await (await env.EVIDENCE.get(object.key))!.arrayBuffer()));
    const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").all<{ name: string }>()).results;
    for (const { name } of tables) stored.push(new TextEncoder().encode(JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results)));
    return stored;
  },
  async withLocalDefaults(during) {
    localDefaults = true;
    try {
      return await during();
    } finally {
      localDefaults = false;
    }
  },
  async serverErrors(during) {
    // The worker runs in this isolate: its console.error is this one.
    const errors: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => errors.push(args.map(String).join(" "));
    try {
      return { result: await during(), errors };
    } finally {
      console.error = consoleError;
    }
  },
};
