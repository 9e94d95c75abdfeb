import type { RoleMapping } from "../../../shared/api/oidc";
import type { Role } from "../../../shared/api/schemas";

// ---- the organisation's identity provider ----

export interface OidcProviderRow {
  org_id: string;
  issuer: string;
  client_id: string;
  client_secret: string | null;
  display_name: string;
  scopes: string;
  email_claim: string;
  groups_claim: string;
  role_mappings: string;
  provision_users: number;
  default_role: Role;
  updated_at: string;
  updated_by: string;
}

/** The provider's settings in their usable form. `clientSecret` never leaves the worker. */
export interface OidcProvider {
  orgId: string;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  displayName: string;
  scopes: string;
  emailClaim: string;
  groupsClaim: string;
  roleMappings: RoleMapping[];
  provisionUsers: boolean;
  defaultRole: Role;
  updatedAt: string;
}

function toProvider(row: OidcProviderRow): OidcProvider {
  return {
    orgId: row.org_id,
    issuer: row.issuer,
    clientId: row.client_id,
    clientSecret: row.client_secret,
    displayName: row.display_name,
    scopes: row.scopes,
    emailClaim: row.email_claim,
    groupsClaim: row.groups_claim,
    roleMappings: JSON.parse(row.role_mappings) as RoleMapping[],
    provisionUsers: row.provision_users === 1,
    defaultRole: row.default_role,
    updatedAt: row.updated_at,
  };
}

export async function getOidcProvider(db: D1Database, orgId: string): Promise<OidcProvider | null> {
  const row = await db.prepare("SELECT * FROM oidc_providers WHERE org_id = ?").bind(orgId).first<OidcProviderRow>();
  return row ? toProvider(row) : null;
}

export function oidcProviderSave(db: D1Database, provider: Omit<OidcProvider, "updatedAt">, by: string, now: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO oidc_providers (org_id, issuer, client_id, client_secret, display_name, scopes, email_claim, groups_claim,
                                   role_mappings, provision_users, default_role, updated_at, updated_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id) DO UPDATE SET
         issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
         display_name = excluded.display_name, scopes = excluded.scopes, email_claim = excluded.email_claim,
         groups_claim = excluded.groups_claim, role_mappings = excluded.role_mappings,
         provision_users = excluded.provision_users, default_role = excluded.default_role,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    )
    .bind(
      provider.orgId,
      provider.issuer,
      provider.clientId,
      provider.clientSecret,
      provider.displayName,
      provider.scopes,
      provider.emailClaim,
      provider.groupsClaim,
      JSON.stringify(provider.roleMappings),
      provider.provisionUsers ? 1 : 0,
      provider.defaultRole,
      now,
      by,
    );
}

/** Removes the provider (changes a row only if there was one). */
export function oidcProviderDelete(db: D1Database, orgId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM oidc_providers WHERE org_id = ?").bind(orgId);
}

// ---- sign-ins in progress ----

export interface OidcStateRow {
  state_hash: string;
  browser_hash: string;
  code_verifier: string;
  nonce: string;
  created_at: string;
  expires_at: string;
}

/** Records a sign-in in progress, and drops any that have expired. */
export async function saveOidcState(db: D1Database, state: OidcStateRow): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM oidc_states WHERE expires_at <= ?").bind(state.created_at),
    db
      .prepare("INSERT INTO oidc_states (state_hash, browser_hash, code_verifier, nonce, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(state.state_hash, state.browser_hash, state.code_verifier, state.nonce, state.created_at, state.expires_at),
  ]);
}

/**
 * A sign-in in progress, by its state's hash. Reading does not use it up: the callback uses it up
 * with `oidcStateDelete` in the batch that records the outcome, and only the request whose
 * delete changes the row signs in (a replayed callback finds it gone, or loses that race).
 */
export async function findOidcState(db: D1Database, stateHash: string): Promise<OidcStateRow | null> {
  return db.prepare("SELECT * FROM oidc_states WHERE state_hash = ?").bind(stateHash).first<OidcStateRow>();
}

/** Uses a sign-in in progress up (single use). */
export function oidcStateDelete(db: D1Database, stateHash: string): D1PreparedStatement {
  return db.prepare("DELETE FROM oidc_states WHERE state_hash = ?").bind(stateHash);
}

// ---- provider identities linked to users ----

export async function findLinkedUserId(db: D1Database, issuer: string, subject: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT user_id FROM oidc_identities WHERE issuer = ? AND subject = ?")
    .bind(issuer, subject)
    .first<{ user_id: string }>();
  return row?.user_id ?? null;
}

export async function linkedSubject(db: D1Database, userId: string, issuer: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT subject FROM oidc_identities WHERE user_id = ? AND issuer = ?")
    .bind(userId, issuer)
    .first<{ subject: string }>();
  return row?.subject ?? null;
}

/** Links a provider identity to a user; with `onlyIfEvent`, only if that audit event was written earlier in the batch. */
export function identityInsert(db: D1Database, link: { issuer: string; subject: string; userId: string; now: string }, onlyIfEvent: string | null = null): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO oidc_identities (issuer, subject, user_id, created_at, last_used_at)
       SELECT ?1, ?2, ?3, ?4, ?4 WHERE ?5 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?5)`,
    )
    .bind(link.issuer, link.subject, link.userId, link.now, onlyIfEvent);
}

/** Notes the identity's use; with `onlyIfEvent`, only if that audit event was written earlier in the batch. */
export function identityTouch(db: D1Database, issuer: string, subject: string, now: string, onlyIfEvent: string | null = null): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE oidc_identities SET last_used_at = ?1 WHERE issuer = ?2 AND subject = ?3
          AND (?4 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?4))`,
    )
    .bind(now, issuer, subject, onlyIfEvent);
}

/**
 * An invited user who signs in through the provider becomes active (they never need a local
 * password); with `onlyIfEvent`, only if that audit event was written earlier in the batch.
 */
export function invitedUserActivate(db: D1Database, userId: string, now: string, onlyIfEvent: string | null = null): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE users SET status = 'active', updated_at = ?1 WHERE id = ?2 AND status = 'invited'
          AND (?3 IS NULL OR EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?3))`,
    )
    .bind(now, userId, onlyIfEvent);
}

export async function activeAdminCount(db: D1Database, orgId: string): Promise<number> {
  const row = await db
    .prepare("SELECT count(*) AS n FROM users WHERE org_id = ? AND role = 'admin' AND status = 'active'")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
