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
 * The statements that register a user's first keys and bundle, for one batch. A user who already
 * has keys makes the batch fail as a whole (the unique index on current keys refuses).
 */
export function keysRegister(
  db: D1Database,
  input: { userId: string; signing: PublicKeyInfo; encryption: PublicKeyInfo; bundle: string; escrow: string; now: string },
): D1PreparedStatement[] {
  const insertKey = (key: PublicKeyInfo, use: KeyRow["use"]) =>
    db
      .prepare("INSERT INTO user_keys (kid, user_id, use, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(key.kid, input.userId, use, JSON.stringify(key.publicJwk), input.now);
  return [
    insertKey(input.signing, "sig"),
    insertKey(input.encryption, "enc"),
    db.prepare("INSERT INTO key_bundles (user_id, jwe, escrow, updated_at) VALUES (?, ?, ?, ?)").bind(input.userId, input.bundle, input.escrow, input.now),
  ];
}

export function bundleReplace(db: D1Database, userId: string, jwe: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE key_bundles SET jwe = ?, updated_at = ? WHERE user_id = ?").bind(jwe, now, userId);
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

/** Opens a recovery request; a user with an open one already makes the batch fail (unique index). */
export function recoveryRequestInsert(db: D1Database, request: { id: string; userId: string; transportJwk: PublicJwk; now: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO recovery_requests (id, user_id, transport_jwk, status, created_at) VALUES (?, ?, ?, 'pending', ?)")
    .bind(request.id, request.userId, JSON.stringify(request.transportJwk), request.now);
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

/** Records the released key on a pending request; changes nothing if it was no longer pending. */
export function recoveryRequestRelease(db: D1Database, id: string, input: { transfer: string; by: string; now: string }): D1PreparedStatement {
  return db
    .prepare("UPDATE recovery_requests SET status = 'released', transfer = ?, released_by = ?, released_at = ? WHERE id = ? AND status = 'pending'")
    .bind(input.transfer, input.by, input.now, id);
}

/** Cancels an open request; changes nothing if it was not open any more. */
export function recoveryRequestCancel(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare("UPDATE recovery_requests SET status = 'cancelled' WHERE id = ? AND status IN ('pending', 'released')").bind(id);
}

/**
 * Completing a released request, for one batch: the old signing key is retired (it stays on
 * record to verify what it signed), the new one registered, and the bundle and escrow replaced.
 * The encryption key is unchanged, so every key wrapped to it still opens. `guard` changes a row
 * only while the request is released; put the completion's event right after it (written if
 * changed), then `rest(eventId)`, which happens only if that event was written.
 */
export function recoveryComplete(
  db: D1Database,
  input: { requestId: string; userId: string; signing: PublicKeyInfo; bundle: string; escrow: string; now: string },
): { guard: D1PreparedStatement; rest: (eventId: string) => D1PreparedStatement[] } {
  return {
    guard: db.prepare("UPDATE recovery_requests SET status = 'completed', completed_at = ? WHERE id = ? AND status = 'released'").bind(input.now, input.requestId),
    rest: (eventId) => [
      db
        .prepare(
          `UPDATE user_keys SET retired_at = ?1
            WHERE user_id = ?2 AND use = 'sig' AND retired_at IS NULL AND EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?3)`,
        )
        .bind(input.now, input.userId, eventId),
      db
        .prepare(
          `INSERT INTO user_keys (kid, user_id, use, public_jwk, created_at)
           SELECT ?1, ?2, 'sig', ?3, ?4 WHERE EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?5)`,
        )
        .bind(input.signing.kid, input.userId, JSON.stringify(input.signing.publicJwk), input.now, eventId),
      db
        .prepare(
          `UPDATE key_bundles SET jwe = ?1, escrow = ?2, updated_at = ?3
            WHERE user_id = ?4 AND EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?5)`,
        )
        .bind(input.bundle, input.escrow, input.now, input.userId, eventId),
    ],
  };
}

// ---- passkey envelopes of the key bundle (WebAuthn PRF)

export interface PasskeyBundleRow {
  passkey_id: string;
  jwe: string;
  updated_at: string;
}

/** The user's passkey envelopes, oldest first. */
export async function listPasskeyBundles(db: D1Database, userId: string): Promise<PasskeyBundleRow[]> {
  const { results } = await db
    .prepare("SELECT passkey_id, jwe, updated_at FROM passkey_key_bundles WHERE user_id = ? ORDER BY created_at, passkey_id")
    .bind(userId)
    .all<PasskeyBundleRow>();
  return results;
}

/** Stores (or replaces) the envelope of the user's passkey `passkeyId`: writes only when that passkey is theirs. */
export function passkeyBundlePut(db: D1Database, input: { userId: string; passkeyId: string; jwe: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO passkey_key_bundles (passkey_id, user_id, jwe, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?4 WHERE EXISTS (SELECT 1 FROM passkeys WHERE id = ?1 AND user_id = ?2)
       ON CONFLICT (passkey_id) DO UPDATE SET jwe = excluded.jwe, updated_at = excluded.updated_at
        WHERE passkey_key_bundles.user_id = excluded.user_id`,
    )
    .bind(input.passkeyId, input.userId, input.jwe, input.now);
}

/** Removes the envelope of the user's passkey `passkeyId` (none of anyone else's). */
export function passkeyBundleDelete(db: D1Database, userId: string, passkeyId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM passkey_key_bundles WHERE user_id = ? AND passkey_id = ?").bind(userId, passkeyId);
}

/**
 * Removes every passkey envelope of the user (their passkeys reset, or their keys recovered);
 * with `witnessId`, only if that event was written earlier in the same batch.
 */
export function passkeyBundlesDeleteAll(db: D1Database, userId: string, witnessId?: string): D1PreparedStatement {
  if (witnessId === undefined) return db.prepare("DELETE FROM passkey_key_bundles WHERE user_id = ?").bind(userId);
  return db.prepare("DELETE FROM passkey_key_bundles WHERE user_id = ? AND EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?)").bind(userId, witnessId);
}
