/**
 * The audit chain (docs/audit.md): the event form, its canonical JSON, its hash, the signed
 * checkpoints, and the verifier of an export. Shared by the Durable Object that writes the
 * chain, the worker that exports it, and the offline verifier (`npm run audit:verify`).
 * WebCrypto and jose only.
 */
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";

export type AuditOutcome = "success" | "denied" | "failed";

export interface AuditActor {
  type: "user" | "agent" | "system" | "anonymous";
  id: string | null;
  /** A human-readable name at the time (email for users), for reports. */
  label?: string | null;
}

/** What a route records. */
export interface AuditEventInput {
  actor: AuditActor;
  action: string;
  target: { type: string; id: string | null };
  ip: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
}

/** An event as it stands in the chain. `hash` covers every other member. */
export interface AuditEvent extends AuditEventInput {
  version: 1;
  /** Unique id given when the action happened (also the outbox key: appending is idempotent). */
  id: string;
  /** Position in the organisation's chain: 1, 2, 3, … with no gaps. */
  seq: number;
  /** When the action happened (server time; for offline-recorded events, when the server received it). */
  at: string;
  /** For events recorded on a device while offline: the device's time of the action. */
  recordedOffline?: { at: string };
  /** SHA-512 (hex) of the previous event; 128 zeros for the first. */
  prevHash: string;
  hash: string;
}

/** A signed statement of the chain's head: `seq` and `hash` of the last event at `at`. */
export interface AuditCheckpoint {
  v: 1;
  orgId: string;
  seq: number;
  hash: string;
  at: string;
}

export const GENESIS_HASH = "0".repeat(128);
export const CHECKPOINT_TYP = "custody-audit-checkpoint+jws";
/** A checkpoint is signed every this many events, and at least hourly when there are new ones. */
export const CHECKPOINT_EVERY_EVENTS = 1000;
export const CHECKPOINT_EVERY_MS = 60 * 60 * 1000;

/** Canonical JSON: object keys sorted by UTF-16 code unit, no insignificant whitespace, `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

async function sha512Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The hash an event must carry: SHA-512 (hex) of the canonical JSON of the event without `hash`. */
export function eventHash(event: Omit<AuditEvent, "hash">): Promise<string> {
  return sha512Hex(canonicalJson(event));
}

/** Builds the stored event: numbered, linked to its predecessor, hashed. */
export async function chainEvent(
  input: AuditEventInput & { id: string; at: string; recordedOffline?: { at: string } },
  position: { seq: number; prevHash: string },
): Promise<AuditEvent> {
  const unhashed: Omit<AuditEvent, "hash"> = { version: 1, ...input, seq: position.seq, prevHash: position.prevHash };
  return { ...unhashed, hash: await eventHash(unhashed) };
}

/** Recomputes an event's hash; true when it matches what the event claims. */
export async function eventHashIsValid(event: AuditEvent): Promise<boolean> {
  const { hash, ...unhashed } = event;
  return (await eventHash(unhashed)) === hash;
}

// ---- export and verification ----------------------------------------------------------

/** First line of a JSON-lines export. */
export interface ExportHeader {
  type: "custody-audit-export";
  v: 1;
  orgId: string;
  exportedAt: string;
  /** The filter applied. Only an export without one (or with just a range) is contiguous and so provably complete. */
  filter: Record<string, string>;
  contiguous: boolean;
  /** Public keys that signed the checkpoints (ES512 JWKs with kid). */
  signingKeys: JWK[];
}

export type ExportLine =
  | ExportHeader
  | ({ type: "event" } & AuditEvent)
  | { type: "checkpoint"; jws: string };

export interface VerifyReport {
  ok: boolean;
  events: number;
  checkpoints: number;
  firstSeq: number | null;
  lastSeq: number | null;
  contiguous: boolean;
  /** The first problem found, naming the line (1-based) and the event's seq where there is one. */
  error?: { line: number; seq?: number; message: string };
}

/**
 * Verifies an export given as its lines (JSON text each): every event's hash; for a contiguous
 * export, that seq runs without gaps and each event links to the one before; every checkpoint's
 * ES512 signature, and that it names an event of the export with that very hash. Stops at the
 * first problem and says where.
 */
export async function verifyExport(lines: Iterable<string> | AsyncIterable<string>): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, events: 0, checkpoints: 0, firstSeq: null, lastSeq: null, contiguous: false };
  const fail = (line: number, message: string, seq?: number): VerifyReport => ({ ...report, ok: false, error: { line, message, ...(seq !== undefined ? { seq } : {}) } });
  let header: ExportHeader | null = null;
  const keys = new Map<string, CryptoKey | Uint8Array>();
  const hashesBySeq = new Map<number, string>();
  const checkpoints: { line: number; jws: string }[] = [];
  let previous: AuditEvent | null = null;
  let lineNo = 0;

  for await (const raw of lines) {
    lineNo++;
    if (raw.trim() === "") continue;
    let line: ExportLine;
    try {
      line = JSON.parse(raw) as ExportLine;
    } catch {
      return fail(lineNo, "not valid JSON");
    }
    if (!header) {
      if (line.type !== "custody-audit-export" || line.v !== 1) return fail(lineNo, "the first line is not a Custody audit export header");
      header = line;
      report.contiguous = line.contiguous;
      for (const jwk of line.signingKeys) {
        if (typeof jwk.kid !== "string") return fail(lineNo, "a signing key has no kid");
        keys.set(jwk.kid, await importJWK(jwk, "ES512"));
      }
      continue;
    }
    if (line.type === "checkpoint") {
      checkpoints.push({ line: lineNo, jws: line.jws });
      continue;
    }
    if (line.type !== "event") return fail(lineNo, `unexpected line type ${JSON.stringify((line as { type?: unknown }).type)}`);
    const { type: _type, ...event } = line;
    if (!(await eventHashIsValid(event))) return fail(lineNo, "the event's hash does not match its content (edited?)", event.seq);
    if (previous) {
      if (event.seq <= previous.seq) return fail(lineNo, `out of order: seq ${event.seq} after ${previous.seq}`, event.seq);
      if (header.contiguous) {
        if (event.seq !== previous.seq + 1) return fail(lineNo, `missing events: seq ${previous.seq + 1} to ${event.seq - 1}`, event.seq);
        if (event.prevHash !== previous.hash) return fail(lineNo, "does not link to the event before it (inserted or reordered?)", event.seq);
      }
    } else {
      report.firstSeq = event.seq;
      if (header.contiguous && event.seq === 1 && event.prevHash !== GENESIS_HASH) return fail(lineNo, "the first event must link to the genesis hash", event.seq);
    }
    hashesBySeq.set(event.seq, event.hash);
    report.events++;
    report.lastSeq = event.seq;
    previous = event;
  }
  if (!header) return fail(lineNo, "empty export");

  for (const { line, jws } of checkpoints) {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(jws).kid;
    } catch {
      return fail(line, "the checkpoint is not a JWS");
    }
    const key = typeof kid === "string" ? keys.get(kid) : undefined;
    if (!key) return fail(line, "the checkpoint is signed by a key the export does not list");
    let checkpoint: AuditCheckpoint;
    try {
      const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ["ES512"] });
      if (protectedHeader.typ !== CHECKPOINT_TYP) return fail(line, "not a checkpoint JWS");
      checkpoint = JSON.parse(new TextDecoder().decode(payload)) as AuditCheckpoint;
    } catch {
      return fail(line, "the checkpoint's signature does not verify");
    }
    if (checkpoint.orgId !== header.orgId) return fail(line, "the checkpoint is for another organisation");
    if (Object.keys(header.filter).length === 0 && report.lastSeq !== null && checkpoint.seq > report.lastSeq) {
      return fail(line, `events after seq ${report.lastSeq} are missing: a signed checkpoint covers seq ${checkpoint.seq}`);
    }
    const seen = hashesBySeq.get(checkpoint.seq);
    if (seen !== undefined && seen !== checkpoint.hash) {
      return fail(line, `the signed checkpoint disagrees with event ${checkpoint.seq}: the chain was rewritten`, checkpoint.seq);
    }
    report.checkpoints++;
  }
  return { ...report, ok: true };
}
