/**
 * Trusted timestamps (RFC 3161, docs/evidence-format.md §9). When an upload completes the
 * worker asks the organisation's time-stamping authority (settings `tsaUrl`) for a token over
 * the manifest's JWS signature; each audit checkpoint's signature is stamped the same way. The
 * TSA never blocks anything: a TSA that is down, slow or answers garbage leaves the timestamp
 * `pending`, retried with backoff (on a later look at the item, GET /api/evidence/:id/timestamp,
 * and by the organisation's audit Durable Object alarm, which runs on Workers and on Deno alike).
 */
import type { TimestampStatus } from "../../../shared/api/cases";
import { fromBase64url, toBase64url } from "../../../shared/crypto/encoding";
import { readTimestampReply, timestampRequest } from "../../../shared/timestamp/rfc3161";
import { dueTimestamps, findTimestamp, nextTimestampAttempt, timestampAttemptFailed, timestampInsert, timestampStamped, type TimestampRow, type TimestampSubject } from "../db/timestamps";
import { getSettings } from "../db/identity";
import { findEvidence } from "../db/evidence";
import { dropReplacedRecord, itemRecordOf, storeRecords, withItemRecords, type RecordColumns, type StampedTimestamp } from "../db/records";

/** How long one TSA request may take. */
const TSA_TIMEOUT_MS = 10_000;
/** Largest reply read from a TSA (a token with a certificate chain is a few KiB). */
const MAX_REPLY_BYTES = 64 * 1024;
/** Backoff: 30 s after the first failure, doubling, at most 6 h apart; given up after this many attempts (about ten days). */
const RETRY_FIRST_MS = 30_000;
const RETRY_MAX_MS = 6 * 60 * 60 * 1000;
const MAX_ATTEMPTS = 48;

const base64 = (bytes: Uint8Array): string => {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

async function readLimited(response: Response): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (response.body ?? new ReadableStream()) as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_REPLY_BYTES) throw new Error(`the TSA's answer is larger than ${MAX_REPLY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** One attempt at the TSA for a pending row; records the token, or the error and when to retry. */
async function attempt(env: Env, row: TimestampRow): Promise<void> {
  const settings = await getSettings(env.DB, row.org_id);
  const subject = { type: row.subject_type, id: row.subject_id };
  if (!settings.tsaUrl) {
    // The TSA was turned off since: keep it pending, look again later.
    await timestampAttemptFailed(env.DB, subject, "no time-stamping authority configured", "", new Date(Date.now() + RETRY_MAX_MS).toISOString());
    return;
  }
  const data = fromBase64url(row.data);
  try {
    const request = await timestampRequest(data);
    const response = await fetch(settings.tsaUrl, {
      method: "POST",
      headers: { "Content-Type": "application/timestamp-query", Accept: "application/timestamp-reply" },
      body: request.der as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(TSA_TIMEOUT_MS),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the TSA answered HTTP ${response.status}`);
    }
    const { token, info } = await readTimestampReply(await readLimited(response), data, request.nonce, settings.tsaCaPem);
    const stamped = { tsaUrl: settings.tsaUrl, caPem: settings.tsaCaPem, token: base64(token), genTime: info.genTime, tsaName: info.tsaName, serial: info.serial, now: new Date().toISOString() };
    if (row.subject_type !== "manifest" || !(await keepInRecord(env, row, stamped))) await timestampStamped(env.DB, subject, stamped);
  } catch (error) {
    const message = error instanceof Error ? (error.name === "TimeoutError" ? "the TSA did not answer in time" : error.message) : String(error);
    const attempts = row.attempts + 1;
    const next = attempts >= MAX_ATTEMPTS ? null : new Date(Date.now() + Math.min(RETRY_FIRST_MS * 2 ** (attempts - 1), RETRY_MAX_MS)).toISOString();
    await timestampAttemptFailed(env.DB, subject, message.slice(0, 500), settings.tsaUrl, next);
  }
}

/**
 * A manifest's timestamp, once stamped, leaves D1's queue for the item's record in its case's
 * object (docs/storage-schema.md, "What grows with evidence"): a new record with the timestamp,
 * and one D1 transaction that names it and deletes the queue row. False (the caller keeps it in
 * the queue row, as before) for an item from before migration 0036 or one that changed meanwhile.
 */
async function keepInRecord(
  env: Env,
  row: TimestampRow,
  t: { tsaUrl: string; caPem: string | null; token: string; genTime: string; tsaName: string; serial: string; now: string },
  state: "pending" | "stamped" = "pending",
): Promise<boolean> {
  const item = await env.DB.prepare("SELECT id, case_id, record_ref, r2_key, signer_kid, manifest, file_key, label, thumbnail, filing FROM evidence WHERE id = ? AND purge_started_at IS NULL")
    .bind(row.subject_id)
    .first<RecordColumns>();
  if (!item?.record_ref) return false;
  const [current] = await withItemRecords(env, [item]);
  const timestamp = { data: row.data, token: t.token, gen_time: t.genTime, tsa_name: t.tsaName, serial: t.serial, tsa_url: t.tsaUrl, tsa_ca_pem: t.caPem, attempts: row.attempts + 1, stamped_at: t.now };
  const ref = (await storeRecords(env, item.case_id, [{ evidenceId: item.id, record: { ...itemRecordOf(current!), timestamp } }])).items[0]!;
  const [named] = await env.DB.batch([
    env.DB.prepare("UPDATE evidence SET record_ref = ? WHERE id = ? AND record_ref = ?").bind(ref, item.id, item.record_ref),
    env.DB.prepare("DELETE FROM timestamps WHERE subject_type = 'manifest' AND subject_id = ?1 AND state = ?3 AND EXISTS (SELECT 1 FROM evidence WHERE id = ?1 AND record_ref = ?2)").bind(item.id, ref, state),
  ]);
  if ((named?.meta.changes ?? 0) === 0) return false;
  await dropReplacedRecord(env, item.case_id, item.id, item.record_ref, ref);
  return true;
}

/**
 * The move of migration 0036 for timestamps: manifests' timestamps stamped before it, still in
 * D1's queue table, go into their items' records (items whose record has moved). Returns how many moved.
 */
export async function moveStampedManifests(env: Env, limit: number): Promise<number> {
  const { results } = await env.DB
    .prepare(
      `SELECT t.* FROM timestamps t JOIN evidence e ON e.id = t.subject_id
        WHERE t.subject_type = 'manifest' AND t.state = 'stamped' AND e.record_ref IS NOT NULL AND e.purge_started_at IS NULL LIMIT ?`,
    )
    .bind(limit)
    .all<TimestampRow>();
  let moved = 0;
  for (const row of results) {
    const stamped = { tsaUrl: row.tsa_url!, caPem: row.tsa_ca_pem, token: row.token!, genTime: row.gen_time!, tsaName: row.tsa_name!, serial: row.serial!, now: row.stamped_at! };
    if (await keepInRecord(env, { ...row, attempts: row.attempts - 1 }, stamped, "stamped")) moved++;
  }
  return moved;
}

/**
 * Ask for a timestamp over `data` for `subject`, now. With no TSA configured nothing is recorded
 * (the subject reads "unconfigured"). Never throws for a TSA problem: the row stays pending.
 */
export async function requestTimestamp(env: Env, orgId: string, subject: TimestampSubject, data: Uint8Array, options: { now?: boolean } = {}): Promise<boolean> {
  const settings = await getSettings(env.DB, orgId);
  if (!settings.tsaUrl) return false;
  await timestampInsert(env.DB, orgId, subject, toBase64url(data), new Date().toISOString()).run();
  if (options.now === false) return true;
  const row = await findTimestamp(env.DB, subject);
  if (row?.state === "pending") await attempt(env, row);
  return true;
}

/** The bytes a manifest's timestamp covers: the JWS Signature (RFC 7515), decoded from base64url (132 bytes, r ‖ s). */
export function jwsSignatureBytes(jws: string): Uint8Array {
  return fromBase64url(jws.split(".")[2] ?? "");
}

/** Stamp an evidence item's manifest signature (called once its upload is complete). */
export async function stampManifest(env: Env, orgId: string, evidenceId: string, manifestJws: string): Promise<void> {
  await requestTimestamp(env, orgId, { type: "manifest", id: evidenceId }, jwsSignatureBytes(manifestJws));
}

/**
 * Stamp an audit checkpoint's signature (`seq` is the checkpoint's tree size / chain seq). Only
 * records the request (no network inside the audit object's serial queue); the alarm's
 * `retryDueTimestamps` asks the TSA, rung `STAMP_SOON_MS` later. Answers whether a TSA is
 * configured (so a request was recorded).
 */
export async function timestampCheckpoint(env: Env, orgId: string, seq: number, checkpointJws: string): Promise<boolean> {
  return requestTimestamp(env, orgId, { type: "checkpoint", id: String(seq) }, jwsSignatureBytes(checkpointJws), { now: false });
}

/** How soon after a checkpoint is signed the audit alarm rings to ask the TSA for its token. */
export const STAMP_SOON_MS = 5_000;

/**
 * When the audit alarm should ring (ms since the epoch), given the one set now (`current`, or
 * null) and the time `wanted`: the earlier of the two, so a sooner alarm is never pushed back.
 */
export function earlierAlarm(current: number | null, wanted: number): number {
  return current !== null && current <= wanted ? current : wanted;
}

/**
 * When the audit alarm should next ring after a run at `now`: the regular cadence
 * (`everyMs`, hourly), or sooner when a pending timestamp's backoff is due (never sooner than
 * `STAMP_SOON_MS`, so a row the run could not reach does not spin the alarm).
 */
export async function nextAuditAlarm(env: Env, orgId: string, now: number, everyMs: number): Promise<number> {
  const due = await nextTimestampAttempt(env.DB, orgId);
  const regular = now + everyMs;
  if (due === null) return regular;
  return Math.min(regular, Math.max(Date.parse(due), now + STAMP_SOON_MS));
}

/**
 * The stamped token (TimeStampToken DER, standard base64) of the checkpoint of `seq`, when it is
 * stamped and over this very JWS (a superseded checkpoint of the same seq had another signature).
 */
export async function stampedCheckpointToken(env: Env, seq: number, checkpointJws: string): Promise<string | null> {
  const row = await findTimestamp(env.DB, { type: "checkpoint", id: String(seq) });
  if (row?.state !== "stamped" || !row.token || row.data !== toBase64url(jwsSignatureBytes(checkpointJws))) return null;
  return row.token;
}

/** Retry an organisation's due timestamps (at most `limit`); returns how many were tried. */
export async function retryDueTimestamps(env: Env, orgId: string, limit = 20): Promise<number> {
  const rows = await dueTimestamps(env.DB, orgId, new Date().toISOString(), limit);
  for (const row of rows) await attempt(env, row);
  return rows.length;
}

/**
 * Where a subject's timestamp stands; a pending one that is due is retried first. A manifest's
 * stamped timestamp is in its item's record (`inRecord`, read by the caller with the item).
 */
export async function timestampStatus(env: Env, subject: TimestampSubject, inRecord: StampedTimestamp | null = null): Promise<TimestampStatus> {
  let row = await findTimestamp(env.DB, subject);
  if (row?.state === "pending" && row.next_attempt_at !== null && row.next_attempt_at <= new Date().toISOString()) {
    await attempt(env, row);
    row = await findTimestamp(env.DB, subject);
    // Stamped by that attempt: it has moved to the item's record.
    if (!row && subject.type === "manifest") inRecord = (await findEvidence(env, subject.id))?.timestamp ?? null;
  }
  if (!row && inRecord) {
    return { state: "stamped", tsaName: inRecord.tsa_name, genTime: inRecord.gen_time, serial: inRecord.serial, token: inRecord.token, caPem: inRecord.tsa_ca_pem, tsaUrl: inRecord.tsa_url };
  }
  if (!row) return { state: "unconfigured" };
  if (row.state === "stamped") {
    return { state: "stamped", tsaName: row.tsa_name!, genTime: row.gen_time!, serial: row.serial!, token: row.token!, caPem: row.tsa_ca_pem, tsaUrl: row.tsa_url! };
  }
  if (row.state === "failed") return { state: "failed", attempts: row.attempts, lastError: row.last_error };
  return { state: "pending", attempts: row.attempts, lastError: row.last_error, nextAttemptAt: row.next_attempt_at };
}
