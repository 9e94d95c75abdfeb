/**
 * The split of an evidence item between D1 and its case's `CaseStore` object (docs/storage-schema.md,
 * "What grows with evidence"): D1 keeps the small row every query across cases needs (status,
 * sizes, retention clocks, the case key id) and names the item's record by its SHA-256; the
 * case's object keeps the record itself (stored object's key, signer key id, manifest, wrapped
 * file key, label, thumbnail, filing record, provenance, stamped timestamp) and the contents of its details versions. Routes see whole rows: the
 * functions here fill the record fields in.
 *
 * Rows from before migration 0036 name no record (`record_ref` null): they carry the fields in
 * their own columns until the move (`moveLegacyRecords`) takes them out.
 */
import type { RecordKey, StoredRecord } from "../durable/case-store";
import { recordRefOf } from "../lib/record-ref";

export type StoreEnv = Pick<Env, "DB" | "CASE_STORE">;

/** A manifest's RFC 3161 timestamp once stamped (docs/evidence-format.md §9): public, as the `timestamps` columns it replaces. */
export interface StampedTimestamp {
  data: string;
  token: string;
  gen_time: string;
  tsa_name: string;
  serial: string;
  tsa_url: string;
  tsa_ca_pem: string | null;
  attempts: number;
  stamped_at: string;
}

/**
 * Where an item accepted from a submission link came from (docs/submissions.md §5), as the
 * `evidence_provenance` columns it replaces (migration 0038): the submission key's wrap to the
 * case key and the submitter's details stay encrypted; the rest is plain, as there.
 */
export interface ProvenanceRecord {
  link_id: string;
  link_label: string;
  submission_id: string;
  signer_kid: string;
  submission_key_wrap: string;
  case_kid: string;
  details: string | null;
  sent_at: string;
  ip: string | null;
  user_agent: string | null;
  accepted_by: string;
  accepted_at: string;
}

/** What an item's record holds. */
export interface ItemRecord {
  /** The stored object's key in R2, and the manifest's signing key id (in the record since the row holds `''`). */
  r2_key: string;
  signer_kid: string;
  manifest: string;
  file_key: string;
  label: string | null;
  thumbnail: string | null;
  filing: string | null;
  /** For an item accepted from a submission link, where it came from (fixed at its acceptance). */
  provenance?: ProvenanceRecord | null;
  /** Its manifest's timestamp, once stamped: the stamping moves it here from D1's queue (`timestamps`). */
  timestamp?: StampedTimestamp | null;
  /**
   * Its latest details version (none: it has none, or they are still D1 `evidence_details` rows
   * from before they left D1): the version and its record's reference. The versions are the chain
   * of details records back from it (`DetailsRecord.prev`).
   */
  details?: DetailsPointer | null;
}

/** The latest details version an item's record names. */
export interface DetailsPointer {
  version: number;
  ref: string;
}

/** What a details version's record holds. */
export interface DetailsRecord {
  jwe: string;
  case_kid: string | null;
  case_jwe: string | null;
  /**
   * A version in a chain (the details no longer in D1): its number, who saved it and when, and
   * the reference of the version before it (null for the first). Absent on the record of a version
   * a D1 `evidence_details` row still names.
   */
  version?: number;
  edited_by?: string;
  edited_at?: string;
  prev?: string | null;
}

/** A details version's fields, whichever side it is kept on. */
export interface DetailsVersion {
  version: number;
  jwe: string;
  case_kid: string | null;
  case_jwe: string | null;
  edited_by: string;
  edited_at: string;
}

export const caseStore = (env: Pick<Env, "CASE_STORE">, caseId: string) => env.CASE_STORE.get(env.CASE_STORE.idFromName(caseId));

/** The record's body: its fields in a fixed order, so the same record has the same reference. */
const itemBody = (r: ItemRecord): string =>
  JSON.stringify({
    r2_key: r.r2_key, signer_kid: r.signer_kid, manifest: r.manifest, file_key: r.file_key, label: r.label, thumbnail: r.thumbnail, filing: r.filing,
    ...(r.provenance ? { provenance: r.provenance } : {}),
    ...(r.timestamp ? { timestamp: r.timestamp } : {}),
    ...(r.details ? { details: { version: r.details.version, ref: r.details.ref } } : {}),
  });
const detailsBody = (r: DetailsRecord): string =>
  JSON.stringify({
    jwe: r.jwe, case_kid: r.case_kid, case_jwe: r.case_jwe,
    ...(r.version !== undefined ? { version: r.version, edited_by: r.edited_by, edited_at: r.edited_at, prev: r.prev ?? null } : {}),
  });

/**
 * Details versions as a chain of records, oldest first, each naming the one before it (`prev`
 * starts the chain after an existing version). The same versions always make the same records.
 */
export async function chainDetails(versions: DetailsVersion[], prev: string | null = null): Promise<{ record: DetailsRecord; ref: string }[]> {
  const chain: { record: DetailsRecord; ref: string }[] = [];
  for (const v of versions) {
    const record: DetailsRecord = { jwe: v.jwe, case_kid: v.case_kid, case_jwe: v.case_jwe, version: v.version, edited_by: v.edited_by, edited_at: v.edited_at, prev };
    prev = await recordRefOf(detailsBody(record));
    chain.push({ record, ref: prev });
  }
  return chain;
}

/**
 * Stores an item's record and details records in the case's object and returns their
 * references, for the D1 transaction that commits them.
 */
export async function storeRecords(
  env: Pick<Env, "CASE_STORE">,
  caseId: string,
  items: { evidenceId: string; record: ItemRecord }[],
  details: { evidenceId: string; record: DetailsRecord }[] = [],
): Promise<{ items: string[]; details: string[] }> {
  const seal = async (evidenceId: string, body: string): Promise<StoredRecord> => ({ evidenceId, ref: await recordRefOf(body), body });
  const itemRecords = await Promise.all(items.map((i) => seal(i.evidenceId, itemBody(i.record))));
  const detailsRecords = await Promise.all(details.map((d) => seal(d.evidenceId, detailsBody(d.record))));
  if (itemRecords.length + detailsRecords.length > 0) await caseStore(env, caseId).put(itemRecords, detailsRecords);
  return { items: itemRecords.map((r) => r.ref), details: detailsRecords.map((r) => r.ref) };
}

/**
 * A record a D1 row named is not in its case's object. Either a change swapped the record between
 * the D1 read and this one and deleted the one it replaced (reading again finds the new one), or
 * evidence is lost: `readSettled` tells them apart.
 */
export class RecordMissingError extends Error {}

/**
 * Runs a read of D1 rows and their records; if a record a row named was missing, runs it once
 * more, from D1 again. A second miss is an error: no change replaces a record that fast twice.
 */
export async function readSettled<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof RecordMissingError)) throw err;
    return read();
  }
}

/** Records read from one object per call at most (each up to ~50 kB: a long video's manifest and a thumbnail). */
const GET_CHUNK = 200;

/** What to fill in: rows of one or more cases, each naming its item record and/or details record. */
interface Wanted {
  caseId: string;
  evidenceId: string;
  itemRef?: string | null;
  detailsRef?: string | null;
}

/** An item's record as lists read it: without its thumbnail (fetched apart, `loadThumbnails`), and whether it has one. */
export type ListedItemRecord = Omit<ItemRecord, "thumbnail"> & { has_thumbnail: boolean };

type Found<T = string> = { items: Record<string, T>; details: Record<string, T> };

/** Groups what is wanted by case and reads it, one call per case object (of at most GET_CHUNK keys each). */
async function readByCase<T = string>(wanted: Wanted[], read: (caseId: string, items: RecordKey[], details: RecordKey[]) => Promise<Found<T>>): Promise<Found<T>> {
  const byCase = new Map<string, { items: RecordKey[]; details: RecordKey[] }>();
  for (const w of wanted) {
    if (!w.itemRef && !w.detailsRef) continue;
    const entry = byCase.get(w.caseId) ?? { items: [], details: [] };
    if (w.itemRef) entry.items.push({ evidenceId: w.evidenceId, ref: w.itemRef });
    if (w.detailsRef) entry.details.push({ evidenceId: w.evidenceId, ref: w.detailsRef });
    byCase.set(w.caseId, entry);
  }
  const found: Found<T> = { items: {}, details: {} };
  await Promise.all(
    [...byCase].map(async ([caseId, all]) => {
      // A case's records in calls of at most GET_CHUNK keys (a whole-case share reads every item's).
      for (let at = 0; at < Math.max(all.items.length, all.details.length); at += GET_CHUNK) {
        const items = all.items.slice(at, at + GET_CHUNK);
        const details = all.details.slice(at, at + GET_CHUNK);
        const chunk = await read(caseId, items, details);
        // A record D1 names but the object does not hold would be evidence lost: an error, never a silent gap.
        for (const [kind, keys] of [["", items], ["details ", details]] as const) {
          const bodies = kind ? chunk.details : chunk.items;
          for (const k of keys) {
            if (bodies[k.ref] === undefined) throw new RecordMissingError(`case store: ${kind}record ${k.ref} of item ${k.evidenceId} is missing from case ${caseId}`);
          }
        }
        Object.assign(found.items, chunk.items);
        Object.assign(found.details, chunk.details);
      }
    }),
  );
  return found;
}

const parsed = <T>(bodies: Record<string, string>): Map<string, T> => new Map(Object.entries(bodies).map(([ref, body]) => [ref, JSON.parse(body) as T]));

/** Reads the named records, one call per case object, and returns them by reference. */
export async function loadRecords(env: Pick<Env, "CASE_STORE">, wanted: Wanted[]): Promise<{ items: Map<string, ItemRecord>; details: Map<string, DetailsRecord> }> {
  const found = await readByCase(wanted, (caseId, items, details) => caseStore(env, caseId).get(items, details));
  return { items: parsed<ItemRecord>(found.items), details: parsed<DetailsRecord>(found.details) };
}

/** As `loadRecords`, for lists: item records without their thumbnails. */
export async function loadListedRecords(
  env: Pick<Env, "CASE_STORE">,
  wanted: Wanted[],
): Promise<{ items: Map<string, ListedItemRecord>; details: Map<string, DetailsRecord> }> {
  const found = await readByCase(wanted, (caseId, items, details) => caseStore(env, caseId).listed(items, details));
  return { items: parsed<ListedItemRecord>(found.items), details: parsed<DetailsRecord>(found.details) };
}

/** The thumbnails of the named item records, by reference (null: none). */
export async function loadThumbnails(env: Pick<Env, "CASE_STORE">, wanted: Wanted[]): Promise<Map<string, string | null>> {
  const found = await readByCase<string | null>(
    wanted.map((w) => ({ ...w, detailsRef: null })),
    async (caseId, items) => ({ items: await caseStore(env, caseId).thumbnails(items), details: {} }),
  );
  return new Map(Object.entries(found.items));
}

/** The columns a D1 evidence row has for its record: the reference, and (rows from before 0036) the fields themselves. */
export type RecordColumns = { id: string; case_id: string; record_ref: string | null } & ItemRecord;

/** Fills each row's record fields from its record (rows that name none keep their own columns). */
export async function withItemRecords<T extends RecordColumns>(env: Pick<Env, "CASE_STORE">, rows: T[]): Promise<T[]> {
  const { items } = await loadRecords(env, rows.map((r) => ({ caseId: r.case_id, evidenceId: r.id, itemRef: r.record_ref })));
  return rows.map((r) => (r.record_ref ? { ...r, ...items.get(r.record_ref)! } : r));
}

/** The record an item row holds now, whichever side it is on. */
export const itemRecordOf = (row: ItemRecord): ItemRecord => ({
  r2_key: row.r2_key, signer_kid: row.signer_kid, manifest: row.manifest, file_key: row.file_key, label: row.label, thumbnail: row.thumbnail, filing: row.filing,
  ...(row.provenance ? { provenance: row.provenance } : {}),
  ...(row.timestamp ? { timestamp: row.timestamp } : {}),
  ...(row.details ? { details: row.details } : {}),
});

/** The versions of the chain that ends at `ref`, oldest first (one call to the case's object). */
export async function loadDetailsChain(env: Pick<Env, "CASE_STORE">, caseId: string, evidenceId: string, ref: string): Promise<DetailsVersion[]> {
  const bodies = await caseStore(env, caseId).detailsChain(evidenceId, ref);
  return bodies.map((body) => {
    const r = JSON.parse(body) as DetailsRecord;
    return { version: r.version!, jwe: r.jwe, case_kid: r.case_kid, case_jwe: r.case_jwe, edited_by: r.edited_by!, edited_at: r.edited_at! };
  });
}

/**
 * After a D1 change named a new record for the item, the record it replaced is deleted (only
 * that one: a record another request stored meanwhile for its own change is left for it). Best
 * effort: one left behind, or one a failed transaction stored, is named by nothing and goes with
 * the item's purge.
 */
export async function dropReplacedRecord(env: Pick<Env, "CASE_STORE">, caseId: string, evidenceId: string, replaced: string | null, ref: string): Promise<void> {
  if (replaced === null || replaced === ref) return;
  try {
    await caseStore(env, caseId).drop(evidenceId, [replaced], []);
  } catch (err) {
    console.error(`case store: the replaced record of item ${evidenceId} was not deleted`, err);
  }
}
