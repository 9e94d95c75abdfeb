/**
 * `npm run bench -- --only scale`: how the storage grows (issue 24): D1, the cases' CaseStore
 * objects, and the audit log across its period objects, with both migrations of a populated
 * deployment timed (the single-object audit log into periods; the evidence records out of D1).
 *
 * 1. Starts the real server (`npm start`, as tests/e2e/harness.ts runs it) on a fresh state
 *    folder and, through the real HTTP API with the browser's own crypto (shared/crypto), sets
 *    up an organisation (administrator with TOTP and keys), opens a case and uploads a sample of
 *    items: a photo and a video with thumbnails, a document, each with a details version, each
 *    opened once (the audited key release). These rows and events are the real ones.
 * 2. Times the four queries on that nearly empty deployment (the baseline): the case list, the
 *    first page of the sample case's evidence, the audit events of one item, the audit export of
 *    one item with its proofs. Median of RUNS runs after one warm-up.
 * 3. Stops the server and bulk-inserts a synthetic agency into the same local SQLite files
 *    (wrangler's D1 file and the organisation's AuditLog Durable Object file, with `node:sqlite`):
 *    cases shaped as the sample case (members, keys, wraps), items cloned from the sample rows
 *    with manifests rebuilt at their own part count (random per-part SHA-512s, a random signature
 *    of ES512's length) and details, written as a deployment from before migration 0036 holds
 *    them (each item's record in its D1 row; no part rows, which go with a completion); and their audit events cloned from the sample
 *    item's real events, chained with the real hash chain and Merkle tree code (shared/audit),
 *    a checkpoint signed with the object's own key every 1000 events as the object does.
 *    The sample case grows to 10 000 items (the issue's large case); the rest of the items go to
 *    the other cases. Sizes scale with `--scale` (1: 300 cases, 100 000 items, ~950 000 events).
 * 4. Restarts the server on that state, with audit periods of 2^17 events (docs/audit.md §3.6;
 *    smaller at a smaller --scale, so the log makes several): the organisation's AuditLog seals
 *    its complete periods into AuditPeriod objects by itself, as an existing deployment migrates.
 *    Times that migration; then has the daily job (the local runtime's Cron Trigger) move the
 *    items' records and details out of D1 into their cases' objects, and times that; then the
 *    same four queries (ratios to step 2), and the two lists again
 *    at the empty deployment's page sizes (its first pages hold 1 case and 3 items, a populated
 *    one's 50 of each), so the data's size is told from a fuller page.
 * 5. Reports the size of each period object and of the head, extrapolated to periods of 2^20
 *    events and ten years; bytes per item in D1 after the move (evidence row, details, with their
 *    indexes, from a compacted copy) and before it, and in its case's object; the largest case
 *    object; per audit event
 *    (chain row, its tree nodes, checkpoints, indexes), per case; each object's size now and at
 *    ten years of the issue's agency against Cloudflare's 10 GB cap; writes
 *    bench-results/scale.json. Figures only: nothing passes or fails on time.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { CompactSign, importJWK, type JWK } from "jose";
import type { CaseDetail, EvidenceList } from "../../shared/api/cases";
import type { SessionInfo } from "../../shared/api/schemas";
import type { TotpSetup } from "../../shared/api/identity";
import { chainEvent, CHECKPOINT_EVERY_EVENTS, CHECKPOINT_TYP, type AuditEvent } from "../../shared/audit/chain";
import { eventLeafHash, type TreeCheckpoint } from "../../shared/audit/export";
import { nodesCompletedBy, toHex, treeRoot, type TreeNodes } from "../../shared/audit/merkle";
import {
  encryptBlob,
  encryptLabel,
  encryptMetadata,
  encryptThumbnail,
  escrowEncryptionKey,
  generateCaseKeyPair,
  deriveLinkKey,
  generateFileKey,
  generateRecoveryKeyPair,
  generateShareKeyPair,
  newLinkSecret,
  wrapShareKeyToLink,
  generateUserKeys,
  importPrivateKey,
  sealKeyBundle,
  signManifest,
  wrapCaseKey,
  wrapFileKey,
  type UnlockedKey,
} from "../../shared/crypto/index.ts";
import { encryptDetails, encryptDetailsToCase } from "../../shared/crypto/details";
import { base32Decode, hotp, timeStep } from "../../worker/src/lib/totp";
import { CustodyServer } from "../e2e/harness";

const root = resolve(import.meta.dirname, "../..");
const MiB = 1024 * 1024;
const RUNS = 7;
/** Cloudflare's cap on one D1 database and on one SQLite-backed Durable Object: 10 GB. */
const CAP_BYTES = 10 * 1000 ** 3;
/** Issue 24's agency: 500 investigators adding 10 items a day each, ~8 audit events per item, 100 000 cases in ten years. */
const AGENCY = { investigators: 500, itemsPerDay: 10, eventsPerItem: 8, casesPerYear: 10_000, years: 10 };
const LARGE_CASE_ITEMS = 10_000;
const ADMIN = { email: "ada@example.org", name: "Ada Admin", password: "correct horse battery staple" };

/** The kinds of item the synthetic agency holds: share of items, plaintext size range (MiB), thumbnail, details. */
const KINDS = [
  { name: "photo", share: 0.55, mib: [2, 6], sample: "photo" },
  { name: "document", share: 0.2, mib: [0.1, 3], sample: "document" },
  { name: "audio", share: 0.1, mib: [5, 40], sample: "document" },
  { name: "video", share: 0.15, mib: [20, 400], sample: "video" },
] as const;
const DETAILS_SHARE = 0.4;
/**
 * Disclosure: every case is shared whole once (to the prosecution: the share lists each of its
 * items) and a share of chosen items goes to a second recipient (defence) with this part of the
 * case's items, each with its file key and label wrapped to the share key.
 */
const CHOSEN_SHARE = 0.1;
/** Audited views (key releases) per item: its uploader's colleague and the case lead, say. */
const VIEWS_PER_ITEM = 2;

interface Timed {
  name: string;
  medianMs: number;
  runsMs: number[];
  bytes: number;
  /** For a list: how many cases or items its page held. */
  rows?: number;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const b64url = (bytes: number) => randomBytes(bytes).toString("base64url");
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmtBytes = (n: number) => (n >= 1000 ** 3 ? `${(n / 1000 ** 3).toFixed(2)} GB` : n >= 1000 ** 2 ? `${(n / 1000 ** 2).toFixed(1)} MB` : n >= 1000 ? `${(n / 1000).toFixed(2)} kB` : `${n.toFixed(0)} B`);

/** A browser's session against the server: same-origin requests with the session cookie. */
class Client {
  cookie = "";
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }

  async call(path: string, options: { method?: string; body?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { Origin: this.base };
    if (this.cookie) headers.Cookie = this.cookie;
    let body: BodyInit | undefined;
    if (options.body instanceof Uint8Array) {
      body = options.body as Uint8Array<ArrayBuffer>;
      headers["Content-Type"] = "application/octet-stream";
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(`${this.base}${path}`, { method: options.method ?? (body ? "POST" : "GET"), headers, body, redirect: "manual" });
    const set = /custody_session=([^;]*)/.exec(response.headers.get("Set-Cookie") ?? "");
    if (set?.[1]) this.cookie = `custody_session=${set[1]}`;
    return response;
  }

  async json<T>(path: string, options: { method?: string; body?: unknown } = {}, status?: number): Promise<T> {
    const response = await this.call(path, options);
    const text = await response.text();
    if (status !== undefined ? response.status !== status : !response.ok) throw new Error(`${options.method ?? "GET"} ${path}: ${response.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

interface Person {
  client: Client;
  totpSecret: string;
  id: string;
  signing: UnlockedKey;
  encryption: UnlockedKey;
}

/** First-run setup, TOTP enrolment and keys, as the web app does them. */
async function setUp(base: string): Promise<Person> {
  const client = new Client(base);
  const recovery = await generateRecoveryKeyPair();
  await client.json<SessionInfo>("/api/setup", {
    body: { organisation: { name: "Northshire Police" }, admin: ADMIN, recoveryKey: recovery.publicJwk },
  }, 201);
  const { secret } = await client.json<TotpSetup>("/api/mfa/totp", { method: "POST" }, 201);
  const code = await hotp(base32Decode(secret), timeStep(Date.now()));
  const enrolled = await client.json<{ session: SessionInfo }>("/api/mfa/totp/confirm", { body: { code } });
  const keys = await generateUserKeys();
  const recoveryKey = await client.json<{ publicJwk: JWK }>("/api/keys/recovery");
  await client.json("/api/keys/me", {
    method: "PUT",
    body: {
      signing: keys.signing.publicJwk,
      encryption: keys.encryption.publicJwk,
      bundle: await sealKeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "a long key passphrase"),
      escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recoveryKey.publicJwk as never),
    },
  }, 201);
  return {
    client,
    totpSecret: secret,
    id: enrolled.session.user.id,
    signing: await importPrivateKey(keys.signing.privateJwk, "sign"),
    encryption: await importPrivateKey(keys.encryption.privateJwk, "enc"),
  };
}

/** Signs the administrator in again (password, then a TOTP code of a later step than any used). */
async function signIn(base: string, totpSecret: string): Promise<Client> {
  const client = new Client(base);
  const first = await client.json<{ mfaRequired?: boolean }>("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
  if (first.mfaRequired) await client.json("/api/auth/mfa", { body: { method: "totp", code: await hotp(base32Decode(totpSecret), timeStep(Date.now())) } });
  return client;
}

type OpenedCase = CaseDetail & { casePrivateJwk: JWK };

async function openCase(lead: Person, number: string, title: string): Promise<OpenedCase> {
  const caseKey = await generateCaseKeyPair();
  const recovery = await lead.client.json<{ kid: string; publicJwk: JWK }>("/api/keys/recovery");
  const opened = await lead.client.json<CaseDetail>("/api/cases", {
    body: {
      number, title, tags: ["burglary", "2026"],
      caseKey: caseKey.publicJwk,
      wraps: [
        { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, lead.encryption.publicJwk) },
        { recipientKid: recovery.kid, jwe: await wrapCaseKey(caseKey.privateJwk, recovery.publicJwk as never) },
      ],
    },
  }, 201);
  return { ...opened, casePrivateJwk: caseKey.privateJwk };
}

/**
 * A share through a link, as the sharer's browser makes it: of the whole case (its key wrapped to
 * the share key), or of chosen items (each one's file key and label wrapped to it). Returns its id.
 */
async function shareSample(lead: Person, caseDetail: OpenedCase, label: string, chosen?: { evidenceId: string; fileKey: CryptoKey; fileName: string; mediaType: string }[]): Promise<string> {
  const id = hex(16);
  const shareKey = await generateShareKeyPair();
  const items = [];
  for (const c of chosen ?? []) {
    items.push({ evidenceId: c.evidenceId, fileKey: await wrapFileKey(c.fileKey, shareKey.publicJwk), label: await encryptLabel({ fileName: c.fileName, mediaType: c.mediaType }, shareKey.publicJwk) });
  }
  await lead.client.json("/api/cases/" + caseDetail.id + "/shares", {
    body: {
      id, recipient: { type: "link", label }, scope: chosen ? "items" : "case", includeLater: false, level: "view",
      expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(), shareKey: shareKey.publicJwk,
      shareKeyWrap: await wrapShareKeyToLink(shareKey.privateJwk, await deriveLinkKey(newLinkSecret(), id)),
      items, caseKeys: chosen ? [] : [{ caseKid: caseDetail.caseKey.kid, jwe: await wrapCaseKey(caseDetail.casePrivateJwk, shareKey.publicJwk) }],
    },
  }, 201);
  return id;
}

/** One item through the real upload path (start, parts, complete), then a details version and one audited view. */
async function uploadSample(person: Person, caseDetail: CaseDetail, kind: { fileName: string; mediaType: string; bytes: number; thumbnail: boolean }): Promise<{ evidenceId: string; fileKey: CryptoKey }> {
  const evidenceId = hex(16);
  const fileKey = await generateFileKey();
  const encryption = encryptBlob(new Blob([randomBytes(kind.bytes)]), fileKey);
  const parts: Uint8Array[] = [];
  for await (const part of encryption) parts.push(part.bytes);
  const metadata = await encryptMetadata({ fileName: kind.fileName, mediaType: kind.mediaType }, fileKey);
  const manifest = await signManifest({ evidenceId, caseId: caseDetail.id, uploaderId: person.id, metadata, stream: encryption.summary() }, person.signing);
  // A thumbnail as the app makes one: a 240 px JPEG of a few kB (here 6 kB of noise, JPEG-sized).
  const thumbnail = kind.thumbnail ? await encryptThumbnail({ mediaType: "image/jpeg", width: 240, height: 180, bytes: randomBytes(6 * 1024) }, caseDetail.caseKey.publicJwk as JWK) : undefined;
  await person.client.json(`/api/cases/${caseDetail.id}/evidence`, {
    body: {
      evidenceId, manifest,
      fileKey: { caseKid: caseDetail.caseKey.kid, jwe: await wrapFileKey(fileKey, caseDetail.caseKey.publicJwk as JWK) },
      label: await encryptLabel({ fileName: kind.fileName, mediaType: kind.mediaType, capturedAt: "2026-11-03T14:22:05.000Z" } as never, caseDetail.caseKey.publicJwk as JWK),
      ...(thumbnail ? { thumbnail } : {}),
    },
  }, 201);
  const urls = await person.client.json<{ urls: { part: number; url: string }[] }>(`/api/evidence/${evidenceId}/part-urls`, { body: { parts: parts.map((_, n) => n) } });
  for (const { part, url } of urls.urls) {
    const response = await person.client.call(url, { method: "PUT", body: parts[part]! });
    if (response.status !== 204) throw new Error(`part ${part}: ${response.status} ${await response.text()}`);
  }
  await person.client.json(`/api/evidence/${evidenceId}/complete`, { method: "POST" });
  const details = { title: `${kind.fileName} from the scene`, description: "Taken at the rear entrance, facing the yard; the gate was open on arrival.", tags: ["scene", "entry"] };
  await person.client.json(`/api/evidence/${evidenceId}/details`, {
    method: "PATCH",
    body: { jwe: await encryptDetails(details, fileKey), baseVersion: 0, caseCopy: await encryptDetailsToCase(details, caseDetail.caseKey.publicJwk as JWK) },
  });
  await person.client.json(`/api/evidence/${evidenceId}/key`);
  return { evidenceId, fileKey };
}

/** The four queries, each timed RUNS times after a warm-up; the median. */
/**
 * The four queries, or with `limits` only the two lists, each asked for that many rows: a nearly
 * empty deployment's first pages hold fewer rows than a populated one's (a page is 50), so the
 * lists are also timed on the populated deployment at the empty one's page sizes, to tell the cost
 * of the data's size from that of a fuller page.
 */
async function timeQueries(admin: Client, caseId: string, evidenceId: string, limits?: { cases: number; evidence: number }): Promise<Timed[]> {
  const lists = [
    { name: "case list (first page)", path: `/api/cases${limits ? `?limit=${limits.cases}` : ""}`, rowsIn: "cases" },
    { name: "evidence list of the large case (first page)", path: `/api/cases/${caseId}/evidence${limits ? `?limit=${limits.evidence}` : ""}`, rowsIn: "evidence" },
  ];
  // Lists leave thumbnails out; the app then fetches those of the page's items: timed as a query of its own.
  const page = (await admin.json(lists[1]!.path)) as EvidenceList;
  const shown = page.evidence.filter((e) => e.hasThumbnail).map((e) => e.id);
  lists.push({ name: "thumbnails of that page", path: `/api/cases/${caseId}/thumbnails?ids=${shown.join(",")}`, rowsIn: "thumbnails" });
  const queries: { name: string; path: string; rowsIn?: string }[] = limits
    ? lists
    : [
        ...lists,
        { name: "audit events of one item", path: `/api/audit/events?evidenceId=${evidenceId}` },
        { name: "audit export of one item, with proofs", path: `/api/audit/export?evidenceId=${evidenceId}` },
      ];
  const out: Timed[] = [];
  for (const query of queries) {
    const runsMs: number[] = [];
    let bytes = 0;
    let rows: number | undefined;
    for (let run = 0; run <= RUNS; run++) {
      const started = performance.now();
      const response = await admin.call(query.path);
      const body = await response.arrayBuffer();
      const ms = performance.now() - started;
      if (!response.ok) throw new Error(`${query.path}: ${response.status} ${new TextDecoder().decode(body).slice(0, 300)}`);
      bytes = body.byteLength;
      if (query.rowsIn) rows = ((JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown[]>)[query.rowsIn] ?? []).length;
      if (run > 0) runsMs.push(ms);
    }
    out.push({ name: query.name, medianMs: median(runsMs), runsMs, bytes, ...(rows === undefined ? {} : { rows }) });
  }
  return out;
}

/** The one SQLite file (not miniflare's metadata) in a folder of the state. */
function sqliteIn(folder: string): string {
  const files = readdirSync(folder).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (files.length !== 1) throw new Error(`expected one SQLite file in ${folder}, found ${files.join(", ") || "none"}`);
  return join(folder, files[0]!);
}

/** Bytes the database uses: its pages less the free ones (which a file keeps after deletes, and reuses). */
const fileBytes = (db: DatabaseSync) => {
  const pages = db.prepare("PRAGMA page_count").get() as { page_count: number };
  const free = db.prepare("PRAGMA freelist_count").get() as { freelist_count: number };
  const size = db.prepare("PRAGMA page_size").get() as { page_size: number };
  return (pages.page_count - free.freelist_count) * size.page_size;
};

/** Waits until the organisation's AuditLog has sealed `due` periods (`periods` rows done), reading its file as the server writes it. */
async function waitForSealing(auditPath: string, due: number): Promise<void> {
  const deadline = Date.now() + 3 * 3600_000;
  let said = 0;
  while (Date.now() < deadline) {
    let done = -1;
    try {
      const db = new DatabaseSync(auditPath, { readOnly: true });
      try {
        const hasPeriods = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'periods'").get();
        done = hasPeriods ? (db.prepare("SELECT COUNT(*) AS n FROM periods WHERE state = 'done'").get() as { n: number }).n : 0;
      } finally {
        db.close();
      }
    } catch {
      // busy while the server writes: look again
    }
    if (done >= due) return;
    if (Date.now() - said > 30_000) {
      console.log(`migration: ${Math.max(0, done)} of ${due} periods sealed…`);
      said = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error("the migration did not finish in 3 hours");
}

/** Sizes once the log is across periods: each AuditPeriod object, and the head's parts. */
function periodSizes(state: string, auditPath: string, bits: number) {
  const folder = readdirSync(join(state, "v3/do")).find((f) => f.endsWith("AuditPeriod"));
  if (!folder) throw new Error("no AuditPeriod Durable Object folder in the state: nothing was sealed");
  const sizes = readdirSync(join(state, "v3/do", folder))
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .map((f) => {
      const db = new DatabaseSync(join(state, "v3/do", folder, f), { readOnly: true });
      try {
        return fileBytes(db);
      } finally {
        db.close();
      }
    });
  const head = new DatabaseSync(auditPath, { readOnly: true });
  try {
    const tables = tableBytes(head) ?? {};
    const sealedEvents = (head.prepare("SELECT COALESCE(SUM(count), 0) AS n FROM periods WHERE state = 'done'").get() as { n: number }).n;
    const largest = Math.max(...sizes);
    return {
      count: sizes.length,
      sealedEvents,
      largest,
      perEvent: largest / 2 ** bits,
      head: {
        total: fileBytes(head),
        checkpoints: tables.checkpoints ?? 0,
        keys: tables.period_keys ?? 0,
        tree: (head.prepare("SELECT COUNT(*) AS n FROM tree WHERE level >= ?").get(bits) as { n: number }).n * 48,
      },
    };
  } finally {
    head.close();
  }
}

/** Bytes per table and index (SQLite's dbstat), when the build has it. */
function tableBytes(db: DatabaseSync): Record<string, number> | null {
  try {
    const rows = db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all() as { name: string; bytes: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
  } catch {
    return null;
  }
}

/** A prepared INSERT of a row shaped as `sample`, reused. */
function inserter(db: DatabaseSync, table: string, sample: Record<string, unknown>): (row: Record<string, unknown>) => void {
  const columns = Object.keys(sample);
  const statement = db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`);
  return (row) => statement.run(...columns.map((c) => (row[c] ?? null) as SQLInputValue));
}

function pickKind(): (typeof KINDS)[number] {
  let r = Math.random();
  for (const kind of KINDS) {
    if ((r -= kind.share) < 0) return kind;
  }
  return KINDS[0];
}

const PART_PLAIN = 8 * MiB;
const PART_CIPHER = 8 * MiB + 128;

export async function runScale(options: { scale?: number; keep?: boolean } = {}): Promise<number> {
  const started = Date.now();
  const scale = options.scale ?? 1;
  const totalCases = Math.max(2, Math.round(300 * scale));
  const otherItems = Math.round(90_000 * scale);
  const state = await mkdtemp(join(tmpdir(), "custody-bench-scale-"));
  console.log(`state folder ${state}; scale ${scale}: ${totalCases} cases, ${LARGE_CASE_ITEMS + otherItems} items (${LARGE_CASE_ITEMS} in one case)`);
  let server: CustodyServer | null = await CustodyServer.start({ stateDir: state });
  // Stopped once only: the harness cannot tell a server stopped by a signal from a running one.
  const stop = async () => {
    const running = server;
    server = null;
    await running?.stop();
  };
  try {
    // ---- 1. real rows through the real API
    const admin = await setUp(server.url);
    const large = await openCase(admin, "2026-000001", "Burglary series, north district");
    const sampleKinds = {
      photo: { fileName: "IMG_20261103_142205.jpg", mediaType: "image/jpeg", bytes: 4 * MiB, thumbnail: true },
      video: { fileName: "bodycam_2026-11-03_1422.mp4", mediaType: "video/mp4", bytes: 40 * MiB, thumbnail: true },
      document: { fileName: "witness-statement-J-Smith.pdf", mediaType: "application/pdf", bytes: 300 * 1024, thumbnail: false },
    };
    const uploaded = {
      photo: await uploadSample(admin, large, sampleKinds.photo),
      video: await uploadSample(admin, large, sampleKinds.video),
      document: await uploadSample(admin, large, sampleKinds.document),
    };
    const samples = { photo: uploaded.photo.evidenceId, video: uploaded.video.evidenceId, document: uploaded.document.evidenceId };
    // Disclosure: the case shared whole (to the prosecutor), and two of its items chosen for another recipient (defence).
    const sampleShares = {
      whole: await shareSample(admin, large, "Prosecutor"),
      chosen: await shareSample(admin, large, "Defence", (["photo", "video"] as const).map((k) => ({ evidenceId: samples[k], fileKey: uploaded[k].fileKey, ...sampleKinds[k] }))),
    };
    console.log("sample organisation, case and items made through the API; timing the queries on the empty deployment…");
    const empty = await timeQueries(admin.client, large.id, samples.video);
    await stop();

    // ---- 2. the synthetic agency, written into the same files
    const d1Path = sqliteIn(join(state, "v3/d1/miniflare-D1DatabaseObject"));
    const doFolder = readdirSync(join(state, "v3/do")).find((f) => f.endsWith("AuditLog"));
    if (!doFolder) throw new Error("no AuditLog Durable Object folder in the state");
    const auditPath = sqliteIn(join(state, "v3/do", doFolder));
    const d1 = new DatabaseSync(d1Path);
    const audit = new DatabaseSync(auditPath);
    const d1Before = fileBytes(d1);
    const auditBefore = fileBytes(audit);

    // The sample items' records, in the sample case's CaseStore object (docs/storage-schema.md).
    const storeFolder = readdirSync(join(state, "v3/do")).find((f) => f.endsWith("CaseStore"));
    if (!storeFolder) throw new Error("no CaseStore Durable Object folder in the state");
    const storeFiles = readdirSync(join(state, "v3/do", storeFolder)).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite").map((f) => join(state, "v3/do", storeFolder, f));
    const recordBodies = new Map<string, Record<string, unknown>>();
    for (const file of storeFiles) {
      const store = new DatabaseSync(file);
      for (const table of ["items", "details"]) {
        for (const r of store.prepare(`SELECT ref, body FROM ${table}`).all() as { ref: string; body: string }[]) recordBodies.set(r.ref, JSON.parse(r.body) as Record<string, unknown>);
      }
      store.close();
    }
    const withRecord = (row: Record<string, unknown>, ref: string) => ({ ...row, ...recordBodies.get(row[ref] as string)!, [ref]: null });
    // Each sample row as an installation from before migration 0036 holds it (its record in its own
    // columns): the synthetic items are written so, and the running server moves them (step 4).
    const evidenceRow = (id: string) => {
      const { details: _pointer, ...row } = withRecord(d1.prepare("SELECT * FROM evidence WHERE id = ?").get(id) as Record<string, unknown>, "record_ref");
      return row;
    };
    // A sample item's details version as the D1 row it was before the details left D1 (its contents in the row).
    const detailsRow = (id: string): Record<string, unknown> => {
      const pointer = recordBodies.get((d1.prepare("SELECT record_ref FROM evidence WHERE id = ?").get(id) as { record_ref: string }).record_ref)!.details as { ref: string };
      const version = recordBodies.get(pointer.ref)!;
      return { evidence_id: id, version: 1, jwe: version.jwe, edited_by: version.edited_by, edited_at: version.edited_at, case_kid: version.case_kid, case_jwe: version.case_jwe, ref: null };
    };
    const sampleRows = Object.fromEntries(Object.entries(samples).map(([kind, id]) => [kind, {
      evidence: evidenceRow(id),
      // A finished item keeps no part rows (migration 0036); the manifest lists every part.
      parts: JSON.parse((Buffer.from((evidenceRow(id).manifest as string).split(".")[1]!, "base64url")).toString("utf8")).parts as string[],
      details: detailsRow(id),
    }])) as Record<keyof typeof samples, { evidence: Record<string, unknown>; parts: string[]; details: Record<string, unknown> }>;
    const caseRow = d1.prepare("SELECT * FROM cases WHERE id = ?").get(large.id) as Record<string, unknown>;
    const memberRows = d1.prepare("SELECT * FROM case_members WHERE case_id = ?").all(large.id) as Record<string, unknown>[];
    const keyRow = d1.prepare("SELECT * FROM case_keys WHERE case_id = ?").get(large.id) as Record<string, unknown>;
    const wrapRows = d1.prepare("SELECT * FROM case_key_wraps WHERE case_kid = ?").all(keyRow.kid as string) as Record<string, unknown>[];
    // Other tables the sample items have rows in (beyond evidence, parts, details): listed in the report.
    const touching = (d1.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      .map((t) => t.name)
      .filter((name) => !["evidence", "evidence_parts", "evidence_details"].includes(name))
      .filter((name) => (d1.prepare(`SELECT count(*) AS n FROM pragma_table_info('${name}') WHERE name = 'evidence_id'`).get() as { n: number }).n > 0)
      .filter((name) => (d1.prepare(`SELECT count(*) AS n FROM ${name} WHERE evidence_id IN (?, ?, ?)`).get(samples.photo, samples.video, samples.document) as { n: number }).n > 0);

    // Manifest anatomy: the JWS payload of each sample, rebuilt per synthetic item.
    const manifestParts = (jws: string) => {
      const [header, payload] = jws.split(".") as [string, string, string];
      return { header, payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown> & { parts: string[] } };
    };
    const sigLength = (samples.photo && (sampleRows.photo.evidence.manifest as string).split(".")[2]!.length) || 176;

    // Times: ten years back to now, items in order (the list is newest first).
    const span = 10 * 365 * 86_400_000;
    const t0 = Date.now() - span - 86_400_000;
    const totalItems = LARGE_CASE_ITEMS + otherItems;
    const itemTime = (n: number) => new Date(t0 + Math.floor((n / totalItems) * span)).toISOString();

    // Cases
    d1.exec("BEGIN");
    const caseIds = [large.id];
    const insertCase = inserter(d1, "cases", caseRow);
    const insertMember = memberRows[0] ? inserter(d1, "case_members", memberRows[0]) : () => undefined;
    const insertKey = inserter(d1, "case_keys", keyRow);
    const insertWrap = inserter(d1, "case_key_wraps", wrapRows[0]!);
    const caseKids = new Map<string, string>([[large.id, keyRow.kid as string]]);
    for (let c = 1; c < totalCases; c++) {
      const id = hex(16);
      const at = new Date(t0 + Math.floor((c / totalCases) * span)).toISOString();
      caseIds.push(id);
      insertCase({ ...caseRow, id, number: `${2016 + Math.floor((c / totalCases) * 10)}-${String(c + 1).padStart(6, "0")}`, title: `${caseRow.title as string} ${c}`, created_at: at, updated_at: at, evidence_count: 0 });
      for (const m of memberRows) insertMember({ ...m, case_id: id, added_at: at });
      const kid = b64url(32);
      caseKids.set(id, kid);
      insertKey({ ...keyRow, kid, case_id: id, created_at: at });
      for (const w of wrapRows) insertWrap({ ...w, case_kid: kid, created_at: at });
    }
    d1.exec("COMMIT");
    const d1AfterCases = fileBytes(d1);

    // Items: every synthetic item, with its manifest, parts and (for some) a details version.
    interface Item { id: string; caseId: string; at: string; kind: keyof typeof samples; details: boolean; partLengths: number[] }
    const items: Item[] = [];
    const insertEvidence = inserter(d1, "evidence", sampleRows.photo.evidence);
    const insertDetails = inserter(d1, "evidence_details", sampleRows.photo.details);
    let partsWritten = 0;
    let manifestBytes = 0;
    d1.exec("BEGIN");
    const bigSlots = new Set<number>();
    // The large case's items are spread over the ten years among the others.
    while (bigSlots.size < LARGE_CASE_ITEMS - 3) bigSlots.add(Math.floor(Math.random() * totalItems));
    for (let n = 0; n < totalItems - 3; n++) {
      const kind = pickKind();
      const sample = sampleRows[kind.sample];
      const caseId = bigSlots.has(n) ? large.id : caseIds[1 + (n % Math.max(1, caseIds.length - 1))] ?? large.id;
      const id = hex(16);
      const at = itemTime(n);
      const byteSize = Math.round((kind.mib[0] + Math.random() * (kind.mib[1] - kind.mib[0])) * MiB);
      const partCount = Math.max(1, Math.ceil(byteSize / PART_PLAIN));
      const ciphertext = byteSize + Math.ceil(byteSize / MiB) * 16 + 16; // a 16-byte tag per 1 MiB segment, approximately
      const { header, payload } = manifestParts(sample.evidence.manifest as string);
      const partHashes = Array.from({ length: partCount }, () => hex(64));
      const body = { ...payload, evidenceId: id, caseId, sha512: hex(64), byteSize, parts: partHashes, signedAt: at };
      const manifest = `${header}.${Buffer.from(JSON.stringify(body)).toString("base64url")}.${b64url(Math.ceil((sigLength * 3) / 4)).slice(0, sigLength)}`;
      manifestBytes += manifest.length;
      insertEvidence({
        ...sample.evidence, id, case_id: caseId, manifest, byte_size: byteSize, part_count: partCount, ciphertext_size: ciphertext,
        case_kid: caseKids.get(caseId), r2_key: `evidence/${caseId}/${id}`, created_at: at, completed_at: at,
        thumbnail: kind.name === "photo" || kind.name === "video" ? sample.evidence.thumbnail : null,
      });
      const partLengths = Array.from({ length: partCount }, (_, p) => (p < partCount - 1 ? PART_CIPHER : ciphertext - (partCount - 1) * PART_CIPHER));
      partsWritten += partCount;
      const details = Math.random() < DETAILS_SHARE;
      if (details) insertDetails({ ...sample.details, evidence_id: id, edited_at: at, case_kid: caseKids.get(caseId) });
      items.push({ id, caseId, at, kind: kind.sample, details, partLengths });
      if (n % 5000 === 4999) {
        d1.exec("COMMIT");
        d1.exec("BEGIN");
      }
    }
    d1.exec("COMMIT");

    // Shares, as a deployment from before migration 0037 holds them (their items in D1's
    // share_items); the running server's daily job moves them into the case objects (step 4).
    // Each is a clone of the sample case's real shares, with their real wraps' sizes.
    const shareRow = (id: string) => d1.prepare("SELECT * FROM shares WHERE id = ?").get(id) as Record<string, unknown>;
    const sampleStore = storeFiles.map((f) => new DatabaseSync(f, { readOnly: true })).map((db) => {
      const rows = db.prepare("SELECT * FROM share_items WHERE share_id = ?").all(sampleShares.chosen) as { file_key: string; label: string }[];
      db.close();
      return rows;
    }).flat();
    if (sampleStore.length !== 2) throw new Error(`the sample share of chosen items holds ${sampleStore.length} items`);
    const insertShare = inserter(d1, "shares", shareRow(sampleShares.whole));
    const wholeKey = d1.prepare("SELECT * FROM share_case_keys WHERE share_id = ?").get(sampleShares.whole) as Record<string, unknown>;
    const insertShareKey = inserter(d1, "share_case_keys", wholeKey);
    const insertShareItem = inserter(d1, "share_items", { share_id: "", evidence_id: "", file_key: null, label: null });
    const itemsOfCase = new Map<string, string[]>();
    for (const item of items) itemsOfCase.set(item.caseId, [...(itemsOfCase.get(item.caseId) ?? []), item.id]);
    const shareLoad = { shares: 0, listed: 0, wrapped: 0 };
    d1.exec("BEGIN");
    for (const [caseId, ids] of itemsOfCase) {
      for (const [sample, chosen] of [[sampleShares.whole, false], [sampleShares.chosen, true]] as const) {
        const id = hex(16);
        insertShare({ ...shareRow(sample), id, case_id: caseId, share_kid: b64url(32), items_in_store: 0 });
        shareLoad.shares++;
        if (!chosen) insertShareKey({ ...wholeKey, share_id: id, case_kid: caseKids.get(caseId) });
        const listed = chosen ? ids.filter(() => Math.random() < CHOSEN_SHARE) : ids;
        for (const evidenceId of listed) {
          const wrap = sampleStore[Math.floor(Math.random() * sampleStore.length)]!;
          insertShareItem({ share_id: id, evidence_id: evidenceId, file_key: chosen ? wrap.file_key : null, label: chosen ? wrap.label : null });
        }
        shareLoad[chosen ? "wrapped" : "listed"] += listed.length;
      }
    }
    d1.exec("COMMIT");
    // The case list reads the count the triggers keep (migration 0035): it must match the rows.
    const drifted = d1
      .prepare("SELECT count(*) AS n FROM cases c WHERE c.evidence_count != (SELECT count(*) FROM evidence e WHERE e.case_id = c.id AND e.status = 'complete' AND e.deleted_at IS NULL)")
      .get() as { n: number };
    if (drifted.n > 0) throw new Error(`${drifted.n} cases' kept item counts differ from their evidence rows`);
    const d1AfterItems = fileBytes(d1);
    const d1Tables = tableBytes(d1);
    d1.close();
    console.log(`D1: ${caseIds.length - 1} cases and ${items.length} items written (${partsWritten} parts); ${shareLoad.shares} shares listing ${shareLoad.listed} items whole-case and ${shareLoad.wrapped} chosen items with their wraps`);

    // ---- 3. their audit events, chained as the AuditLog object chains them
    const chainRows = audit.prepare("SELECT seq, event FROM chain ORDER BY seq").all() as { seq: number; event: string }[];
    const chain = chainRows.map((r) => JSON.parse(r.event) as AuditEvent);
    const itemTemplate = (id: string) =>
      chain.filter((e) => e.action.startsWith("evidence.") && ((e.details as { evidenceId?: string }).evidenceId === id || (e.target.type === "evidence" && e.target.id === id)));
    const templates = Object.fromEntries(Object.entries(samples).map(([kind, id]) => [kind, itemTemplate(id)])) as Record<keyof typeof samples, AuditEvent[]>;
    const viewTemplate = templates.video.find((e) => e.action === "evidence.view");
    const partTemplate = templates.video.find((e) => e.action === "evidence.part_upload");
    if (!partTemplate) throw new Error("no evidence.part_upload event in the sample");
    const caseTemplate = chain.find((e) => e.action === "case.create");
    if (!viewTemplate || !caseTemplate) throw new Error(`sample events missing: ${chain.map((e) => e.action).join(", ")}`);
    const signingRow = audit.prepare("SELECT kid, private_jwk FROM signing_keys ORDER BY created_at DESC LIMIT 1").get() as { kid: string; private_jwk: string };
    const signingKey = await importJWK(JSON.parse(signingRow.private_jwk) as JWK, "ES512");
    const orgId = (audit.prepare("SELECT value FROM meta WHERE key = 'orgId'").get() as { value: string }).value;
    const memo = new Map<string, Uint8Array>();
    for (const row of audit.prepare("SELECT level, idx, hash FROM tree").all() as { level: number; idx: number; hash: Uint8Array }[]) memo.set(`${row.level}/${row.idx}`, new Uint8Array(row.hash));
    const nodes: TreeNodes = {
      node: async (level, index) => {
        const found = memo.get(`${level}/${index}`);
        if (!found) throw new Error(`tree node ${level}/${index} missing`);
        return found;
      },
    };
    const head = chain.at(-1)!;
    let seq = head.seq;
    let prevHash = head.hash;
    const insertChain = audit.prepare(
      `INSERT INTO chain (seq, id, at, action, actor_id, target_type, target_id, outcome, ip, case_id, evidence_id, event, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertNode = audit.prepare("INSERT INTO tree (level, idx, hash) VALUES (?, ?, ?)");
    const insertCheckpoint = audit.prepare("INSERT OR REPLACE INTO checkpoints (seq, hash, at, jws, root) VALUES (?, ?, ?, ?, ?)");
    const swap = (event: AuditEvent, from: Record<string, string>, at: string): Omit<AuditEvent, "seq" | "prevHash" | "hash" | "version"> => {
      let json = JSON.stringify(event);
      for (const [a, b] of Object.entries(from)) json = json.replaceAll(a, b);
      const { seq: _s, prevHash: _p, hash: _h, version: _v, ...input } = JSON.parse(json) as AuditEvent;
      return { ...input, id: hex(16), at };
    };
    const append = async (input: Omit<AuditEvent, "seq" | "prevHash" | "hash" | "version">) => {
      const event = await chainEvent(input as never, { seq: seq + 1, prevHash });
      const details = event.details as { caseId?: unknown; evidenceId?: unknown };
      insertChain.run(
        event.seq, event.id, event.at, event.action, event.actor.id, event.target.type, event.target.id, event.outcome, event.ip,
        typeof details.caseId === "string" ? details.caseId : event.target.type === "case" ? event.target.id : null,
        typeof details.evidenceId === "string" ? details.evidenceId : event.target.type === "evidence" ? event.target.id : null,
        JSON.stringify(event), event.hash,
      );
      for (const n of await nodesCompletedBy(event.seq - 1, await eventLeafHash(event), (level, index) => nodes.node(level, index))) {
        memo.set(`${n.level}/${n.index}`, n.hash);
        insertNode.run(n.level, n.index, n.hash);
      }
      seq = event.seq;
      prevHash = event.hash;
      if (seq % CHECKPOINT_EVERY_EVENTS === 0) {
        const rootHash = toHex(await treeRoot(nodes, seq));
        const payload: TreeCheckpoint = { v: 2, orgId, treeSize: seq, rootHash, seq, hash: prevHash, at: event.at };
        const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: "ES512", kid: signingRow.kid, typ: CHECKPOINT_TYP }).sign(signingKey);
        insertCheckpoint.run(seq, prevHash, event.at, jws, rootHash);
      }
    };
    const eventsBefore = seq;
    audit.exec("BEGIN");
    const casesOpened = new Set<string>([large.id]);
    let eventsPerItem = 0;
    for (const [n, item] of items.entries()) {
      if (!casesOpened.has(item.caseId)) {
        casesOpened.add(item.caseId);
        await append(swap(caseTemplate, { [large.id]: item.caseId }, item.at));
      }
      const sampleId = samples[item.kind];
      // As the real upload path records them: the start, one event per part, the completion, a
      // details version for some, then the views (audited key releases) of VIEWS_PER_ITEM readers.
      const own = templates[item.kind];
      const ids = { [sampleId]: item.id, [large.id]: item.caseId };
      const sequence: Omit<AuditEvent, "seq" | "prevHash" | "hash" | "version">[] = [];
      for (const e of own.filter((e) => e.action === "evidence.upload_start")) sequence.push(swap(e, ids, item.at));
      for (const [part, byteLength] of item.partLengths.entries()) {
        const event = swap(partTemplate, { ...ids, [samples.video]: item.id }, item.at);
        sequence.push({ ...event, details: { ...event.details, part, byteLength } });
      }
      for (const e of own.filter((e) => e.action === "evidence.upload_complete" || (item.details && e.action === "evidence.details_edit"))) sequence.push(swap(e, ids, item.at));
      for (let v = 0; v < VIEWS_PER_ITEM; v++) sequence.push(swap(viewTemplate, { ...ids, [samples.video]: item.id }, item.at));
      eventsPerItem += sequence.length;
      for (const input of sequence) await append(input);
      if (n % 2000 === 1999) {
        audit.exec("COMMIT");
        audit.exec("BEGIN");
        if (n % 20_000 === 19_999) console.log(`audit: ${seq - eventsBefore} events chained`);
      }
    }
    audit.exec("COMMIT");
    const auditAfter = fileBytes(audit);
    const auditTables = tableBytes(audit);
    const events = seq - eventsBefore;
    // Periods small enough that this log makes several (2^17 at scale 1), as an organisation whose
    // log was first opened with AUDIT_PERIOD_BITS set would have them (docs/audit.md §3.6).
    const periodBits = Math.min(17, Math.max(3, Math.floor(Math.log2(seq / 6))));
    audit.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('period_bits', ?)").run(String(periodBits));
    audit.close();
    console.log(`audit object: ${events} events chained, ${Math.floor(seq / CHECKPOINT_EVERY_EVENTS)} checkpoints; periods of 2^${periodBits} events`);

    // ---- 4. the migration: the restarted server seals the complete periods by itself
    server = await CustodyServer.start({ stateDir: state });
    const migrationStarted = Date.now();
    // Signing in records an event: the organisation's AuditLog starts, finds complete periods and rings its alarm.
    const adminAgain = await signIn(server.url, admin.totpSecret);
    const dueAtStart = Math.floor(seq / 2 ** periodBits);
    await waitForSealing(auditPath, dueAtStart);
    const migrationSeconds = (Date.now() - migrationStarted) / 1000;
    console.log(`migration: ${dueAtStart} periods of 2^${periodBits} events sealed into their own objects in ${migrationSeconds.toFixed(0)} s, through the running server`);
    // The records' move (migration 0036): the daily job takes the items' records and details out of
    // D1 into their cases' objects, as on an upgraded deployment; the bench asks for the job now.
    const moveStarted = Date.now();
    const unmoved = () => {
      const db = new DatabaseSync(d1Path, { readOnly: true });
      try {
        const items = (db.prepare("SELECT count(*) AS n FROM evidence e JOIN cases c ON c.id = e.case_id WHERE e.record_ref IS NULL AND c.kind = 'case'").get() as { n: number }).n;
        const details = (db.prepare("SELECT count(*) AS n FROM evidence_details").get() as { n: number }).n;
        const shares = (db.prepare("SELECT count(*) AS n FROM shares WHERE items_in_store = 0").get() as { n: number }).n;
        return items + details + shares;
      } finally {
        db.close();
      }
    };
    for (let left = unmoved(), last = Infinity, idle = 0; left > 0; left = unmoved()) {
      if (left < last) idle = 0;
      if (idle % 30 === 0) {
        // The local runtime's own trigger of the Cron Trigger (miniflare's /cdn-cgi/local/scheduled).
        const ran = await fetch(`${server.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("30 3 * * *")}`);
        if (!ran.ok) throw new Error(`the daily job did not run: ${ran.status} ${await ran.text()}`);
      }
      if (++idle > 300) throw new Error(`the records' move stopped with ${left} rows left`);
      last = left;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const moveSeconds = (Date.now() - moveStarted) / 1000;
    console.log(`migration: ${items.length} items' records and their details moved out of D1 into ${caseIds.length} case objects in ${moveSeconds.toFixed(0)} s, through the running server`);

    // ---- 5. the same queries on the populated deployment (its log across periods)
    const populated = await timeQueries(adminAgain, large.id, samples.video);
    const sameRows = await timeQueries(adminAgain, large.id, samples.video, { cases: Math.max(1, empty[0]!.rows ?? 1), evidence: Math.max(1, empty[1]!.rows ?? 1) });
    // The synthetic chain is a real one: the item's export, with its proofs against the latest
    // checkpoint and every checkpoint's consistency proof, passes the offline verifier.
    const exported = await adminAgain.call(`/api/audit/export?evidenceId=${samples.video}`);
    const exportFile = join(state, "item-export.jsonl");
    await writeFile(exportFile, Buffer.from(await exported.arrayBuffer()));
    const verified = spawnSync(process.execPath, [join(root, "scripts/audit-verify.ts"), exportFile], { cwd: root, encoding: "utf8" });
    if (verified.status !== 0) throw new Error(`the populated deployment's export does not verify:\n${verified.stdout}\n${verified.stderr}`);
    console.log("the item's audit export from the populated deployment passes npm run audit:verify");
    await stop();
    const periods = periodSizes(state, auditPath, periodBits);
    // D1 after the move, compacted (VACUUM INTO a copy): rows that moved shrank in place, and a
    // database keeps the space for its next rows; the compact copy is what it holds per item.
    const compact = join(state, "d1-compact.sqlite");
    const live = new DatabaseSync(d1Path);
    live.prepare("VACUUM INTO ?").run(compact);
    live.close();
    const d1Compact = new DatabaseSync(compact, { readOnly: true });
    const d1MovedTables = tableBytes(d1Compact);
    const d1MovedBytes = fileBytes(d1Compact);
    d1Compact.close();
    // The case objects: each one's size, the largest (the 10 000-item case) and bytes per item held.
    const storeSizes = readdirSync(join(state, "v3/do", storeFolder))
      .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
      .map((f) => {
        const db = new DatabaseSync(join(state, "v3/do", storeFolder, f), { readOnly: true });
        try {
          return { bytes: fileBytes(db), items: (db.prepare("SELECT count(*) AS n FROM items").get() as { n: number }).n };
        } finally {
          db.close();
        }
      });
    const storeTotal = storeSizes.reduce((n, o) => n + o.bytes, 0);
    const storeItems = storeSizes.reduce((n, o) => n + o.items, 0);
    const largestStore = storeSizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));

    // ---- 5. figures
    // Per item in D1 as written (the layout before migration 0036: the record in the row) and after the move.
    const perItemBefore = (d1AfterItems - d1AfterCases) / items.length;
    const sum = (tables: Record<string, number> | null, names: string[]) => (tables ? names.reduce((n, name) => n + (tables[name] ?? 0), 0) : NaN);
    // The shares' rows D1 keeps (two per case, and the whole-case share's key) count per case.
    const sharesInD1 = sum(d1MovedTables, Object.keys(d1MovedTables ?? {}).filter((name) => name.includes("share")));
    const sharesInD1Before = sum(d1Tables, Object.keys(d1Tables ?? {}).filter((name) => name.includes("share")));
    const perItem = (d1MovedBytes - d1AfterCases - sharesInD1) / items.length;
    const perItemInStore = storeTotal / storeItems;
    const perCase = (d1AfterCases - d1Before) / (caseIds.length - 1) + sharesInD1 / itemsOfCase.size;
    const perEvent = (auditAfter - auditBefore) / events;
    const itemsPerYear = AGENCY.investigators * AGENCY.itemsPerDay * 365;
    const d1PerYear = itemsPerYear * perItem + AGENCY.casesPerYear * perCase;
    const d1PerYearBefore = itemsPerYear * perItemBefore + AGENCY.casesPerYear * perCase;
    // Events per item as the real paths record them for this mix (start, one per part, completion,
    // details, views), measured here; the issue's estimate was ~8.
    const meanEventsPerItem = eventsPerItem / items.length;
    const auditPerYear = itemsPerYear * meanEventsPerItem * perEvent + AGENCY.casesPerYear * perEvent;
    const auditPerYearAtIssueRate = itemsPerYear * AGENCY.eventsPerItem * perEvent;
    // Across periods (docs/audit.md §3.6), at B = 20 and ten years of the agency.
    const eventsPerYear = itemsPerYear * meanEventsPerItem + AGENCY.casesPerYear;
    const eventsTenYears = eventsPerYear * AGENCY.years;
    const periodAt20 = periods.perEvent * 2 ** 20;
    const headTenYears = 2 * periodAt20 + (periods.head.checkpoints / seq + (periods.head.keys + periods.head.tree) / periods.sealedEvents) * eventsTenYears;
    const across = {
      bits: periodBits, migrationSeconds, periodsSealed: periods.count, sealedEvents: periods.sealedEvents,
      largestPeriodBytes: periods.largest, perEventInPeriod: periods.perEvent, head: periods.head,
      atB20: { periodBytes: periodAt20, periodsAtTenYears: eventsTenYears / 2 ** 20, headAtTenYears: headTenYears, eventsPerYear },
    };
    const fillsIn = (perYear: number, now: number) => (CAP_BYTES - now) / perYear;
    const sampleManifest = (kind: keyof typeof samples) => ({ bytes: (sampleRows[kind].evidence.manifest as string).length, parts: sampleRows[kind].parts.length });
    const result = {
      at: new Date().toISOString(),
      node: process.versions.node,
      scale,
      load: { cases: caseIds.length, items: items.length + 3, largeCaseItems: LARGE_CASE_ITEMS, parts: partsWritten, detailsVersions: items.filter((i) => i.details).length, auditEvents: seq, checkpoints: Math.floor(seq / CHECKPOINT_EVERY_EVENTS), meanPartsPerItem: partsWritten / items.length, meanManifestBytes: manifestBytes / items.length, meanEventsPerItem },
      sampleManifests: { photo: sampleManifest("photo"), video: sampleManifest("video"), document: sampleManifest("document") },
      otherTablesWithItemRows: touching,
      bytes: { perItem, perItemBeforeMove: perItemBefore, perItemInCaseObject: perItemInStore, perCase, perAuditEvent: perEvent, d1Tables: d1MovedTables, d1TablesBeforeMove: d1Tables, auditTables },
      recordsMove: { seconds: moveSeconds, items: items.length, caseObjects: storeSizes.length },
      shares: { ...shareLoad, d1BytesBeforeMove: sharesInD1Before, d1BytesAfterMove: sharesInD1, perListedItemBeforeMove: sharesInD1Before / (shareLoad.listed + shareLoad.wrapped) },
      caseObjects: { count: storeSizes.length, totalBytes: storeTotal, items: storeItems, largest: largestStore, itemsAtCap: CAP_BYTES / perItemInStore },
      objects: { d1: { now: d1MovedBytes, perYear: d1PerYear, atTenYears: d1PerYear * AGENCY.years, fillsInYears: fillsIn(d1PerYear, 0), beforeMove: { perYear: d1PerYearBefore, fillsInYears: fillsIn(d1PerYearBefore, 0) } }, auditLog: { now: auditAfter, perYear: auditPerYear, atTenYears: auditPerYear * AGENCY.years, fillsInYears: fillsIn(auditPerYear, 0), atIssueRate: { eventsPerItem: AGENCY.eventsPerItem, perYear: auditPerYearAtIssueRate, fillsInYears: fillsIn(auditPerYearAtIssueRate, 0) } } },
      agency: { ...AGENCY, itemsPerYear, capBytes: CAP_BYTES },
      auditAcrossPeriods: across,
      latency: empty.map((e, n) => ({ query: e.name, emptyMs: e.medianMs, populatedMs: populated[n]!.medianMs, ratio: populated[n]!.medianMs / e.medianMs, emptyRunsMs: e.runsMs, populatedRunsMs: populated[n]!.runsMs, emptyBytes: e.bytes, populatedBytes: populated[n]!.bytes, emptyRows: e.rows, populatedRows: populated[n]!.rows })),
      latencySameRows: sameRows.map((p, n) => ({ query: p.name, rows: p.rows, emptyMs: empty[n]!.medianMs, populatedMs: p.medianMs, ratio: p.medianMs / empty[n]!.medianMs, populatedRunsMs: p.runsMs })),
    };
    const breakdown = {
      evidenceRow: sum(d1MovedTables, ["evidence", "sqlite_autoindex_evidence_1", "evidence_by_case", "evidence_in_bin", "evidence_unmoved"]) / (items.length + 3),
      evidenceRowBeforeMove: sum(d1Tables, ["evidence", "sqlite_autoindex_evidence_1", "evidence_by_case", "evidence_in_bin", "evidence_unmoved"]) / (items.length + 3),
      detailsVersion: sum(d1MovedTables, ["evidence_details", "sqlite_autoindex_evidence_details_1", "evidence_details_unmoved"]) / (result.load.detailsVersions + 3),
      thumbnailJwe: (sampleRows.photo.evidence.thumbnail as string).length,
      labelJwe: (sampleRows.photo.evidence.label as string).length,
      chainRow: sum(auditTables, Object.keys(auditTables ?? {}).filter((name) => name === "chain" || name.startsWith("chain_by") || name === "sqlite_autoindex_chain_1")) / seq,
      treeNodes: sum(auditTables, ["tree"]) / seq,
      checkpoints: sum(auditTables, ["checkpoints"]) / seq,
    };
    Object.assign(result.bytes, { breakdown });
    const when = (years: number) => (years * 12 < 24 ? `${(years * 12).toFixed(1)} months` : `${years.toFixed(1)} years`);
    const lines = [
      "",
      `Scale: the current storage layout (scale ${scale}: ${result.load.cases} cases, ${result.load.items} items, ${LARGE_CASE_ITEMS} in one case, ${partsWritten} parts, ${seq} audit events, ${result.load.checkpoints} checkpoints)`,
      `  the records' move (migration 0036): ${items.length} items' records and details out of D1 into ${storeSizes.length} case objects in ${moveSeconds.toFixed(0)} s, by the running server's daily job`,
      `  bytes per item in D1 (evidence row + details ${(DETAILS_SHARE * 100).toFixed(0)} %, indexes; compacted)  ${fmtBytes(perItem)}; before the move ${fmtBytes(perItemBefore)} (record in the row; manifest ${fmtBytes(result.load.meanManifestBytes)}, ${result.load.meanPartsPerItem.toFixed(1)} parts, no part rows kept)`,
      `    of which: evidence row ${fmtBytes(breakdown.evidenceRow)} (before the move ${fmtBytes(breakdown.evidenceRowBeforeMove)}: thumbnail JWE ${fmtBytes(breakdown.thumbnailJwe)} on photos and videos, label ${fmtBytes(breakdown.labelJwe)}), per details version ${fmtBytes(breakdown.detailsVersion)}`,
      `  shares (migration 0037): ${shareLoad.shares} (a whole-case one per case listing ${shareLoad.listed} items, a chosen-items one with ${shareLoad.wrapped} wrapped items); in D1 ${fmtBytes(sharesInD1Before)} before the move (${fmtBytes(result.shares.perListedItemBeforeMove)} per listed item), ${fmtBytes(sharesInD1)} after (the share rows, counted per case)`,
      `  bytes per item in its case's object (record, details, its share rows)  ${fmtBytes(perItemInStore)}; the largest case object ${fmtBytes(largestStore.bytes)} (${largestStore.items} items); a case object reaches 10 GB at ${Math.floor(CAP_BYTES / perItemInStore).toLocaleString("en")} items`,
      `  bytes per case (row, members, key, wraps)        ${fmtBytes(perCase)}`,
      `  bytes per audit event (chain row, tree, checkpoints, indexes)  ${fmtBytes(perEvent)}: chain row with its indexes ${fmtBytes(breakdown.chainRow)}, tree nodes ${fmtBytes(breakdown.treeNodes)}, checkpoints ${fmtBytes(breakdown.checkpoints)}`,
      `  sample manifests: photo ${result.sampleManifests.photo.bytes} B (${result.sampleManifests.photo.parts} part), video ${result.sampleManifests.video.bytes} B (${result.sampleManifests.video.parts} parts)`,
      `  object            now        per year (agency)   at 10 years   fills 10 GB in`,
      `  D1 database       ${fmtBytes(d1MovedBytes).padEnd(10)} ${fmtBytes(d1PerYear).padEnd(19)} ${fmtBytes(d1PerYear * 10).padEnd(13)} ${when(result.objects.d1.fillsInYears)}`,
      `   (before the move ${fmtBytes(d1AfterItems).padEnd(10)} ${fmtBytes(d1PerYearBefore).padEnd(19)} ${fmtBytes(d1PerYearBefore * 10).padEnd(13)} ${when(result.objects.d1.beforeMove.fillsInYears)})`,
      `  largest case object ${fmtBytes(largestStore.bytes).padEnd(8)} (a case of ${LARGE_CASE_ITEMS.toLocaleString("en")} items, whatever the year)`,
      `  audit DO (org)    ${fmtBytes(auditAfter).padEnd(10)} ${fmtBytes(auditPerYear).padEnd(19)} ${fmtBytes(auditPerYear * 10).padEnd(13)} ${when(result.objects.auditLog.fillsInYears)}`,
      `  the audit log across periods: ${periods.count} periods of 2^${periodBits} events sealed by the running server in ${migrationSeconds.toFixed(0)} s (the migration);`,
      `    largest period object ${fmtBytes(periods.largest)} (${fmtBytes(periods.perEvent)} per event); the head now ${fmtBytes(periods.head.total)} (checkpoints ${fmtBytes(periods.head.checkpoints)}, key index ${fmtBytes(periods.head.keys)}, current period and tree ${fmtBytes(periods.head.total - periods.head.checkpoints - periods.head.keys)})`,
      `    at B = 20: a period object ${fmtBytes(periodAt20)} for ever; after ten years ${Math.ceil(eventsTenYears / 2 ** 20)} of them and a head of about ${fmtBytes(headTenYears)} (two periods' rows at most, checkpoints, key index): every object under 10 GB`,
      `  (agency: ${AGENCY.investigators} investigators × ${AGENCY.itemsPerDay} items/day × 365 = ${itemsPerYear} items/year, ${meanEventsPerItem.toFixed(1)} events each as measured (at the issue's ${AGENCY.eventsPerItem}, the audit object fills in ${when(fillsIn(auditPerYearAtIssueRate, 0))}), ${AGENCY.casesPerYear} cases/year)`,
      `  query (median of ${RUNS}, through the HTTP API)          empty      populated   ratio`,
      ...result.latency.map((l) => `  ${l.query.padEnd(52)} ${`${l.emptyMs.toFixed(1)} ms`.padStart(9)} ${`${l.populatedMs.toFixed(1)} ms`.padStart(11)}   ×${l.ratio.toFixed(2)}${l.emptyRows === undefined ? "" : `   (${l.emptyRows} and ${l.populatedRows} rows)`}`),
      `  the lists again on the populated deployment, each page as long as the empty one's:`,
      ...result.latencySameRows.map((l) => `  ${`${l.query.replace(" (first page)", "")}, ${l.rows} rows`.padEnd(52)} ${`${l.emptyMs.toFixed(1)} ms`.padStart(9)} ${`${l.populatedMs.toFixed(1)} ms`.padStart(11)}   ×${l.ratio.toFixed(2)}`),
    ];
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(join(root, "bench-results/scale.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stop();
    if (!options.keep) await rm(state, { recursive: true, force: true });
    else console.log(`state kept in ${state}`);
  }
  return (Date.now() - started) / 1000;
}
