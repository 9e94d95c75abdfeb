import { DurableObject } from "cloudflare:workers";
import { recordRefOf } from "../lib/record-ref";

/**
 * A stored record: its owner item, its reference (SHA-256 of `body`, base64url) and the body, a
 * JSON object (docs/storage-schema.md, "CaseStore").
 */
export interface StoredRecord {
  evidenceId: string;
  ref: string;
  body: string;
}

/** Which records to read: the item and the reference D1 holds for it. */
export interface RecordKey {
  evidenceId: string;
  ref: string;
}

type Row = Record<string, SqlStorageValue>;

/** An item of a share: for a share of chosen items, its file key and label wrapped to the share key (null once revoked; none for a whole-case share). */
export interface ShareItem {
  evidenceId: string;
  fileKey: string | null;
  label: string | null;
}

type ShareItemRow = { evidence_id: string; file_key: string | null; label: string | null } & Row;

/** The two kinds of record an object keeps: an item's own fields, and its details versions. */
export type RecordKind = "items" | "details";

/**
 * The bulky, per-item part of a case's evidence (docs/storage-schema.md, "CaseStore"): one object
 * per case (`idFromName(case id)`), holding each item's record (the signed manifest, the wrapped
 * file key, the label, the thumbnail, the filing record) and the contents of its details versions,
 * so that what grows with evidence grows across objects rather than in the one D1 database.
 *
 * Records are content-addressed: D1's row names the record it uses by its SHA-256 (`record_ref`,
 * `evidence_details.ref`), and that D1 transaction, with its audit event, is the commit. A record
 * is written here first; one whose D1 transaction then fails is never named and is harmless, and
 * writing the same record again changes nothing. The object checks every reference against its
 * body, so a record cannot be stored under another's name.
 */
export class CaseStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    for (const table of ["items", "details"] as const) {
      this.sql.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (evidence_id TEXT NOT NULL, ref TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (evidence_id, ref)) WITHOUT ROWID`,
      );
    }
    // The items of the case's shares (disclosure.md), each under the share key it was made for.
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS share_items (share_id TEXT NOT NULL, share_kid TEXT NOT NULL, evidence_id TEXT NOT NULL, file_key TEXT, label TEXT,
         PRIMARY KEY (share_id, share_kid, evidence_id)) WITHOUT ROWID`,
    );
    this.sql.exec("CREATE INDEX IF NOT EXISTS share_items_by_item ON share_items (evidence_id)");
  }

  /**
   * Records the items of a share about to be made (the D1 transaction that inserts the share row
   * commits them), replacing what an earlier attempt under the same id and share key left. Rows are
   * keyed by the share key too: a share is read under the key its D1 row names, so another attempt
   * with the same id and another key can never lend it its wraps.
   */
  async putShareItems(shareId: string, shareKid: string, items: ShareItem[]): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM share_items WHERE share_id = ? AND share_kid = ?", shareId, shareKid);
      for (const i of items) {
        this.sql.exec("INSERT INTO share_items (share_id, share_kid, evidence_id, file_key, label) VALUES (?, ?, ?, ?, ?)", shareId, shareKid, i.evidenceId, i.fileKey, i.label);
      }
    });
  }

  /** The items of a share, with its wraps of them (none for a whole-case share's, or once revoked). */
  async shareItems(shareId: string, shareKid: string, evidenceId?: string): Promise<ShareItem[]> {
    const rows = evidenceId
      ? this.sql.exec<ShareItemRow>("SELECT evidence_id, file_key, label FROM share_items WHERE share_id = ? AND share_kid = ? AND evidence_id = ?", shareId, shareKid, evidenceId)
      : this.sql.exec<ShareItemRow>("SELECT evidence_id, file_key, label FROM share_items WHERE share_id = ? AND share_kid = ?", shareId, shareKid);
    return rows.toArray().map((r) => ({ evidenceId: r.evidence_id, fileKey: r.file_key, label: r.label }));
  }

  /** How many items each share holds, by share id. */
  async shareItemCounts(shares: { shareId: string; shareKid: string }[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const s of shares) {
      counts[s.shareId] = Number(this.sql.exec<{ n: number } & Row>("SELECT count(*) AS n FROM share_items WHERE share_id = ? AND share_kid = ?", s.shareId, s.shareKid).one().n);
    }
    return counts;
  }

  /** A revoked share's wraps deleted (its items stay listed, as the record of what it held). */
  async revokeShare(shareId: string): Promise<void> {
    this.sql.exec("UPDATE share_items SET file_key = NULL, label = NULL WHERE share_id = ?", shareId);
  }

  /** Stores records (idempotent). Refuses the whole call, storing nothing, if a reference is not its body's SHA-256. */
  async put(items: StoredRecord[], details: StoredRecord[]): Promise<void> {
    for (const r of [...items, ...details]) {
      if ((await recordRefOf(r.body)) !== r.ref) throw new Error(`case store: record ${r.ref} of item ${r.evidenceId} does not match its body`);
    }
    this.ctx.storage.transactionSync(() => {
      for (const [table, records] of [["items", items], ["details", details]] as const) {
        for (const r of records) this.sql.exec(`INSERT OR IGNORE INTO ${table} (evidence_id, ref, body) VALUES (?, ?, ?)`, r.evidenceId, r.ref, r.body);
      }
    });
  }

  /** The bodies of the records asked for, by reference (a record not here is left out). */
  async get(items: RecordKey[], details: RecordKey[]): Promise<{ items: Record<string, string>; details: Record<string, string> }> {
    const read = (table: RecordKind, keys: RecordKey[]): Record<string, string> => {
      const found: Record<string, string> = {};
      for (const k of keys) {
        const row = this.sql.exec<{ body: string } & Row>(`SELECT body FROM ${table} WHERE evidence_id = ? AND ref = ?`, k.evidenceId, k.ref).toArray()[0];
        if (row) found[k.ref] = row.body;
      }
      return found;
    };
    return { items: read("items", items), details: read("details", details) };
  }

  /**
   * The item records asked for without their thumbnails, for lists (a thumbnail is most of a
   * record's bytes and lists fetch them apart, `thumbnails`): each body has `thumbnail` removed
   * and `has_thumbnail` set instead (details records as `get` reads them). Never stored back: such a body no longer matches its reference.
   */
  async listed(items: RecordKey[], details: RecordKey[]): Promise<{ items: Record<string, string>; details: Record<string, string> }> {
    const found: Record<string, string> = {};
    const latest: RecordKey[] = [];
    for (const k of items) {
      const row = this.sql
        .exec<{ body: string; details_ref: string | null } & Row>(
          `SELECT json_set(json_remove(body, '$.thumbnail'), '$.has_thumbnail', json(CASE WHEN json_type(body, '$.thumbnail') = 'text' THEN 'true' ELSE 'false' END)) AS body,
                  json_extract(body, '$.details.ref') AS details_ref
             FROM items WHERE evidence_id = ? AND ref = ?`,
          k.evidenceId,
          k.ref,
        )
        .toArray()[0];
      if (!row) continue;
      found[k.ref] = row.body;
      // The latest details version the record names comes with it (lists show it).
      if (row.details_ref !== null) latest.push({ evidenceId: k.evidenceId, ref: row.details_ref });
    }
    return { items: found, details: (await this.get([], [...details, ...latest])).details };
  }

  /**
   * The details versions of an item, oldest first: the chain of records back from `ref` (each
   * names the one before it, `prev`). A link missing is an error: a version would be lost.
   */
  async detailsChain(evidenceId: string, ref: string): Promise<string[]> {
    const bodies: string[] = [];
    for (let at: string | null = ref; at !== null; ) {
      const row: ({ body: string; prev: string | null } & Row) | undefined = this.sql.exec<{ body: string; prev: string | null } & Row>("SELECT body, json_extract(body, '$.prev') AS prev FROM details WHERE evidence_id = ? AND ref = ?", evidenceId, at).toArray()[0];
      if (!row) throw new Error(`case store: details record ${at} of item ${evidenceId} is missing`);
      bodies.push(row.body);
      at = row.prev;
    }
    return bodies.reverse();
  }

  /** The thumbnails of the item records asked for, by reference (null: the record has none; a record not here is left out). */
  async thumbnails(items: RecordKey[]): Promise<Record<string, string | null>> {
    const found: Record<string, string | null> = {};
    for (const k of items) {
      const row = this.sql
        .exec<{ thumbnail: string | null } & Row>("SELECT json_extract(body, '$.thumbnail') AS thumbnail FROM items WHERE evidence_id = ? AND ref = ?", k.evidenceId, k.ref)
        .toArray()[0];
      if (row) found[k.ref] = row.thumbnail;
    }
    return found;
  }

  /**
   * Deletes the named records of an item: ones D1 named until a change that committed named
   * others. Exactly those: a record another request has just stored, and will commit next, is
   * never touched.
   */
  async drop(evidenceId: string, items: string[], details: string[]): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      for (const ref of items) this.sql.exec("DELETE FROM items WHERE evidence_id = ? AND ref = ?", evidenceId, ref);
      for (const ref of details) this.sql.exec("DELETE FROM details WHERE evidence_id = ? AND ref = ?", evidenceId, ref);
    });
  }

  /** Deletes every record of an item, and its place in the case's shares (its purge; a cancelled upload; a capture filed into another case). */
  async forget(evidenceId: string): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM items WHERE evidence_id = ?", evidenceId);
      this.sql.exec("DELETE FROM details WHERE evidence_id = ?", evidenceId);
      this.sql.exec("DELETE FROM share_items WHERE evidence_id = ?", evidenceId);
    });
  }

  /** How many records and bytes the object holds (the scale bench and the tests read it). */
  async usage(): Promise<{ items: number; details: number; bytes: number }> {
    const count = (table: RecordKind) => Number(this.sql.exec<{ n: number } & Row>(`SELECT count(*) AS n FROM ${table}`).one().n);
    return { items: count("items"), details: count("details"), bytes: this.ctx.storage.sql.databaseSize };
  }
}
