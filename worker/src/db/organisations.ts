import type { Organisation, PublicKeyInfo, Role, User } from "../../../shared/api/schemas";
import { recoveryKeyInsert } from "./keys";
import { userInsert } from "./users";

interface OrganisationRow {
  id: string;
  name: string;
  created_at: string;
}

function toOrganisation(row: OrganisationRow): Organisation {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

/** Has first-run setup completed? */
export async function isSetUp(db: D1Database): Promise<boolean> {
  const row = await db.prepare("SELECT 1 AS done FROM setup WHERE id = 1").first<{ done: number }>();
  return row !== null;
}

/** The deployment's organisation, or null before setup. */
export async function getOrganisation(db: D1Database): Promise<Organisation | null> {
  const row = await db
    .prepare("SELECT o.id, o.name, o.created_at FROM setup s JOIN organisations o ON o.id = s.org_id WHERE s.id = 1")
    .first<OrganisationRow>();
  return row ? toOrganisation(row) : null;
}

export async function getOrganisationById(db: D1Database, id: string): Promise<Organisation | null> {
  const row = await db
    .prepare("SELECT id, name, created_at FROM organisations WHERE id = ?")
    .bind(id)
    .first<OrganisationRow>();
  return row ? toOrganisation(row) : null;
}

/**
 * The statements that create the organisation and its first administrator and close setup, for
 * one batch (with the setup's audit event). A second attempt fails as a whole, even when two
 * race: the `setup` row's primary key refuses it (check `isSetUp` when the batch fails).
 */
export function setupStatements(
  db: D1Database,
  input: {
    organisation: { id: string; name: string };
    admin: { id: string; email: string; name: string; passwordHash: string };
    recoveryKey: PublicKeyInfo;
    now: string;
  },
): { statements: D1PreparedStatement[]; organisation: Organisation; admin: User } {
  const { organisation, admin, recoveryKey, now } = input;
  const role: Role = "admin";
  return {
    statements: [
      db.prepare("INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)").bind(organisation.id, organisation.name, now),
      db.prepare("INSERT INTO setup (id, org_id, completed_at) VALUES (1, ?, ?)").bind(organisation.id, now),
      userInsert(db, {
        id: admin.id,
        orgId: organisation.id,
        email: admin.email,
        name: admin.name,
        role,
        status: "active",
        passwordHash: admin.passwordHash,
        now,
      }),
      recoveryKeyInsert(db, { orgId: organisation.id, kid: recoveryKey.kid, publicJwk: recoveryKey.publicJwk, now }),
    ],
    organisation: { id: organisation.id, name: organisation.name, createdAt: now },
    admin: { id: admin.id, email: admin.email, name: admin.name, role, status: "active", supervisor: false, createdAt: now },
  };
}
