import type { PublicJwk, PublicKeyInfo } from "../../../shared/api/schemas";

interface KeyRow {
  kid: string;
  user_id: string;
  use: "sig" | "enc";
  public_jwk: string;
  created_at: string;
  retired_at: string | null;
}

function toInfo(row: { kid: string; public_jwk: string }): PublicKeyInfo {
  return { kid: row.kid, publicJwk: JSON.parse(row.public_jwk) as PublicJwk };
}

export function recoveryKeyInsert(db: D1Database, key: { orgId: string; kid: string; publicJwk: PublicJwk; now: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO recovery_keys (org_id, kid, public_jwk, created_at) VALUES (?, ?, ?, ?)")
    .bind(key.orgId, key.kid, JSON.stringify(key.publicJwk), key.now);
}

export async function getRecoveryKey(db: D1Database, orgId: string): Promise<PublicKeyInfo | null> {
  const row = await db.prepare("SELECT kid, public_jwk FROM recovery_keys WHERE org_id = ?").bind(orgId).first<{ kid: string; public_jwk: string }>();
  return row ? toInfo(row) : null;
}

/** The user's current signing and encryption keys (null where none is registered). */
export async function currentUserKeys(db: D1Database, userId: string): Promise<{ signing: PublicKeyInfo | null; encryption: PublicKeyInfo | null }> {
  const { results } = await db
    .prepare("SELECT kid, user_id, use, public_jwk, created_at, retired_at FROM user_keys WHERE user_id = ? AND retired_at IS NULL")
    .bind(userId)
    .all<KeyRow>();
  const find = (use: KeyRow["use"]) => results.find((row) => row.use === use);
  const signing = find("sig");
  const encryption = find("enc");
  return { signing: signing ? toInfo(signing) : null, encryption: encryption ? toInfo(encryption) : null };
}

export async function getBundle(db: D1Database, userId: string): Promise<{ jwe: string; updated_at: string } | null> {
  return db.prepare("SELECT jwe, updated_at FROM key_bundles WHERE user_id = ?").bind(userId).first<{ jwe: string; updated_at: string }>();
}

/**
 * Registers a user's first keys and bundle, in one transaction. Returns false, changing
 * nothing, when the user already has keys (the unique index on current keys refuses).
 */
export async function registerKeys(
  db: D1Database,
  input: { userId: string; signing: PublicKeyInfo; encryption: PublicKeyInfo; bundle: string; escrow: string; now: string },
): Promise<boolean> {
  const insertKey = (key: PublicKeyInfo, use: KeyRow["use"]) =>
    db
      .prepare("INSERT INTO user_keys (kid, user_id, use, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(key.kid, input.userId, use, JSON.stringify(key.publicJwk), input.now);
  try {
    await db.batch([
      insertKey(input.signing, "sig"),
      insertKey(input.encryption, "enc"),
      db
        .prepare("INSERT INTO key_bundles (user_id, jwe, escrow, updated_at) VALUES (?, ?, ?, ?)")
        .bind(input.userId, input.bundle, input.escrow, input.now),
    ]);
    return true;
  } catch (err) {
    if (/UNIQUE|constraint/i.test(String(err))) return false;
    throw err;
  }
}

export async function replaceBundle(db: D1Database, userId: string, jwe: string, now: string): Promise<boolean> {
  const result = await db.prepare("UPDATE key_bundles SET jwe = ?, updated_at = ? WHERE user_id = ?").bind(jwe, now, userId).run();
  return result.meta.changes === 1;
}

/** A signing key by kid, current or retired, with its owner's name. */
export async function findSigningKey(
  db: D1Database,
  kid: string,
): Promise<(KeyRow & { owner_name: string; org_id: string }) | null> {
  return db
    .prepare(
      `SELECT k.kid, k.user_id, k.use, k.public_jwk, k.created_at, k.retired_at, u.name AS owner_name, u.org_id
         FROM user_keys k JOIN users u ON u.id = k.user_id
        WHERE k.kid = ? AND k.use = 'sig'`,
    )
    .bind(kid)
    .first<KeyRow & { owner_name: string; org_id: string }>();
}

// ---- recovery requests ----

export interface RecoveryRow {
  id: string;
  user_id: string;
  transport_jwk: string;
  status: "pending" | "released" | "completed" | "cancelled";
  transfer: string | null;
  created_at: string;
  released_by: string | null;
}

const RECOVERY_COLUMNS = "id, user_id, transport_jwk, status, transfer, created_at, released_by";

/** Opens a recovery request; false (nothing changed) if the user already has an open one. */
export async function createRecoveryRequest(
  db: D1Database,
  request: { id: string; userId: string; transportJwk: PublicJwk; now: string },
): Promise<boolean> {
  try {
    await db
      .prepare("INSERT INTO recovery_requests (id, user_id, transport_jwk, status, created_at) VALUES (?, ?, ?, 'pending', ?)")
      .bind(request.id, request.userId, JSON.stringify(request.transportJwk), request.now)
      .run();
    return true;
  } catch (err) {
    if (/UNIQUE|constraint/i.test(String(err))) return false;
    throw err;
  }
}

/** The user's open (pending or released) recovery request. */
export async function openRecoveryRequest(db: D1Database, userId: string): Promise<RecoveryRow | null> {
  return db
    .prepare(`SELECT ${RECOVERY_COLUMNS} FROM recovery_requests WHERE user_id = ? AND status IN ('pending', 'released')`)
    .bind(userId)
    .first<RecoveryRow>();
}

export async function findRecoveryRequest(db: D1Database, id: string): Promise<RecoveryRow | null> {
  return db.prepare(`SELECT ${RECOVERY_COLUMNS} FROM recovery_requests WHERE id = ?`).bind(id).first<RecoveryRow>();
}

/** Pending requests of an organisation, with the user and their escrow, oldest first. */
export async function pendingRecoveryRequests(
  db: D1Database,
  orgId: string,
): Promise<(RecoveryRow & { name: string; email: string; escrow: string | null })[]> {
  const { results } = await db
    .prepare(
      `SELECT r.id, r.user_id, r.transport_jwk, r.status, r.transfer, r.created_at, r.released_by, u.name, u.email, b.escrow
         FROM recovery_requests r JOIN users u ON u.id = r.user_id LEFT JOIN key_bundles b ON b.user_id = r.user_id
        WHERE u.org_id = ? AND r.status = 'pending' ORDER BY r.created_at`,
    )
    .bind(orgId)
    .all<RecoveryRow & { name: string; email: string; escrow: string | null }>();
  return results;
}

/** Records the released key on a pending request; false if it was no longer pending. */
export async function releaseRecoveryRequest(db: D1Database, id: string, input: { transfer: string; by: string; now: string }): Promise<boolean> {
  const result = await db
    .prepare("UPDATE recovery_requests SET status = 'released', transfer = ?, released_by = ?, released_at = ? WHERE id = ? AND status = 'pending'")
    .bind(input.transfer, input.by, input.now, id)
    .run();
  return result.meta.changes === 1;
}

export async function cancelRecoveryRequest(db: D1Database, id: string): Promise<void> {
  await db.prepare("UPDATE recovery_requests SET status = 'cancelled' WHERE id = ? AND status IN ('pending', 'released')").bind(id).run();
}

/**
 * Completes a released request in one transaction: the old signing key is retired (it stays
 * on record to verify what it signed), the new one registered, and the bundle and escrow
 * replaced. The encryption key is unchanged, so every key wrapped to it still opens.
 */
export async function completeRecovery(
  db: D1Database,
  input: { requestId: string; userId: string; signing: PublicKeyInfo; bundle: string; escrow: string; now: string },
): Promise<boolean> {
  const results = await db.batch([
    db.prepare("UPDATE recovery_requests SET status = 'completed', completed_at = ? WHERE id = ? AND status = 'released'").bind(input.now, input.requestId),
    db
      .prepare(
        `UPDATE user_keys SET retired_at = ?
          WHERE user_id = ? AND use = 'sig' AND retired_at IS NULL
            AND EXISTS (SELECT 1 FROM recovery_requests WHERE id = ? AND status = 'completed' AND completed_at = ?)`,
      )
      .bind(input.now, input.userId, input.requestId, input.now),
    db
      .prepare(
        `INSERT INTO user_keys (kid, user_id, use, public_jwk, created_at)
         SELECT ?, ?, 'sig', ?, ? WHERE EXISTS (SELECT 1 FROM recovery_requests WHERE id = ? AND status = 'completed' AND completed_at = ?)`,
      )
      .bind(input.signing.kid, input.userId, JSON.stringify(input.signing.publicJwk), input.now, input.requestId, input.now),
    db
      .prepare(
        `UPDATE key_bundles SET jwe = ?, escrow = ?, updated_at = ?
          WHERE user_id = ? AND EXISTS (SELECT 1 FROM recovery_requests WHERE id = ? AND status = 'completed' AND completed_at = ?)`,
      )
      .bind(input.bundle, input.escrow, input.now, input.userId, input.requestId, input.now),
  ]);
  return results[0]?.meta.changes === 1;
}
