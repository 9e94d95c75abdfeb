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
  input: { userId: string; signing: PublicKeyInfo; encryption: PublicKeyInfo; bundle: string; now: string },
): Promise<boolean> {
  const insertKey = (key: PublicKeyInfo, use: KeyRow["use"]) =>
    db
      .prepare("INSERT INTO user_keys (kid, user_id, use, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(key.kid, input.userId, use, JSON.stringify(key.publicJwk), input.now);
  try {
    await db.batch([
      insertKey(input.signing, "sig"),
      insertKey(input.encryption, "enc"),
      db.prepare("INSERT INTO key_bundles (user_id, jwe, updated_at) VALUES (?, ?, ?)").bind(input.userId, input.bundle, input.now),
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
