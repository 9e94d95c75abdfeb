import { passkeyBundlesDeleteAll } from "../db/keys";
import { Hono, type Context } from "hono";
import { RevokedCount, UserSecurityList } from "../../../shared/api/identity";
import {
  CreateUserRequest,
  SupervisorRequest,
  Invitation,
  UpdateUserRequest,
  User,
  UserIdParam,
  UserList,
} from "../../../shared/api/schemas";
import {
  deletePasskeysStatement,
  deleteRecoveryCodesStatement,
  deleteTotpStatement,
  disableUserStatement,
  enableUserStatement,
  failuresClear,
  userSecurity,
} from "../db/identity";
import { invitationInsert } from "../db/invitations";
import { oversightCasesOf, oversightDelete, supervisorSet, wrapsDeleteForUser } from "../db/cases";
import { currentUserKeys } from "../db/keys";
import { revokeUserSessionsStatement } from "../db/sessions";
import { findUserByEmail, findUserById, listUsers, toUser, userInsert, userUpdate } from "../db/users";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementCounting, auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { decodeCursor, pageLimit, toPage } from "../lib/paging";
import { newId, newToken, tokenHash } from "../lib/secrets";
import { requireAdmin, requireRecentAuth, requireSession } from "../lib/session";
import { isLocked } from "../lib/throttle";
import { validate } from "../lib/validate";
import { sendMail } from "../lib/mail";
import { publicOrigin } from "../lib/public-url";
import { PageQuery } from "../../../shared/api/paging";

/** A user list cursor: name, email, id. */
const USER_KEY: ("s" | "n")[] = ["s", "s", "s"];

/** Emails the invitation link when mail is configured; says whether it went (a failure is recorded, and the link is shown to copy). */
async function emailInvitation(c: Context<AppEnv>, invite: { to: string; name: string; invitedBy: string; token: string; expiresAt: string }): Promise<boolean> {
  let origin: string;
  try {
    origin = publicOrigin(c.env);
  } catch {
    origin = new URL(c.req.url).origin; // no PUBLIC_URL: the address the administrator uses
  }
  const link = `${origin}/invite#token=${encodeURIComponent(invite.token)}`;
  const organisation = c.get("user").orgId;
  const outcome = await sendMail(c.env, organisation, {
    to: invite.to,
    subject: "Your invitation to Custody",
    text: [
      `Hello ${invite.name},`,
      "",
      `${invite.invitedBy} invited you to Custody, the evidence system of your organisation.`,
      "Open this link to set your password and sign in (it works once, until " + invite.expiresAt.replace("T", " ").slice(0, 16) + " UTC):",
      "",
      link,
      "",
      "If you did not expect this, ignore this message.",
      "",
    ].join("\n"),
  });
  if (outcome.sent || outcome.reason === "failed") {
    await audit(c, {
      action: "mail.send",
      target: { type: "user", id: null },
      outcome: outcome.sent ? "success" : "failed",
      details: { purpose: "invitation", to: invite.to, ...(outcome.sent ? {} : { error: outcome.error.kind }) },
    });
  }
  return outcome.sent;
}

/** How long an invitation link stays valid. */
export const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

function publicUser(row: Parameters<typeof toUser>[0]): User {
  const { orgId: _orgId, ...user } = toUser(row);
  return user;
}

export const users = new Hono<AppEnv>()
  .use(requireSession, requireAdmin)
  .get(
    "/",
    describe({ summary: "The organisation's users, by name, a page at a time.", access: "admin", responses: { 200: { description: "A page of users.", schema: UserList } } }),
    validate("query", PageQuery),
    async (c) => {
      const { cursor, limit: asked } = c.req.valid("query");
      const limit = pageLimit(asked);
      const rows = await listUsers(c.env.DB, c.get("user").orgId, decodeCursor(cursor, USER_KEY), limit + 1);
      const page = toPage(rows, limit, (row) => [row.name, row.email, row.id]);
      return c.json({ users: page.items.map(publicUser), nextCursor: page.nextCursor } satisfies UserList, 200);
    },
  )
  .post(
    "/",
    describe({
      summary: "Invite a user: creates the account and a one-time invitation token (shown once) to set a password.",
      access: "admin",
      responses: { 201: { description: "Invited.", schema: Invitation }, 409: { description: "A user with this email exists; nothing changed." } },
    }),
    validate("json", CreateUserRequest),
    async (c) => {
      const body = c.req.valid("json");
      const admin = c.get("user");
      if (await findUserByEmail(c.env.DB, body.email)) {
        throw new ApiError(409, "email_taken", "A user with this email already exists.");
      }
      const now = new Date();
      const id = newId();
      const token = newToken();
      const expiresAt = new Date(now.getTime() + INVITATION_LIFETIME_MS).toISOString();
      const user = { id, orgId: admin.orgId, email: body.email, name: body.name, role: body.role, status: "invited" as const };
      try {
        await c.env.DB.batch([
          userInsert(c.env.DB, { ...user, passwordHash: null, now: now.toISOString() }),
          invitationInsert(c.env.DB, { tokenHash: await tokenHash(token), userId: id, createdBy: admin.id, now: now.toISOString(), expiresAt }),
          auditStatement(c, admin.orgId, { action: "user.invite", target: { type: "user", id }, details: { email: body.email, role: body.role } }),
        ]);
      } catch (err) {
        if (await findUserByEmail(c.env.DB, body.email)) {
          c.set("audited", false); // nothing was written: the refusal is recorded as any other
          throw new ApiError(409, "email_taken", "A user with this email already exists.");
        }
        throw err;
      }
      await flushAudit(c.env, admin.orgId);
      const { orgId: _orgId, ...created } = { ...user, supervisor: false, createdAt: now.toISOString() };
      const emailed = await emailInvitation(c, { to: body.email, name: body.name, invitedBy: admin.name, token, expiresAt });
      return c.json({ user: created, token, expiresAt, emailed } satisfies Invitation, 201);
    },
  )
  .patch(
    "/:id",
    describe({
      summary: "Change a user's name or role (needs a recent authentication). Nobody can change their own role.",
      access: "admin",
      responses: { 200: { description: "Changed.", schema: User }, 403: { description: "Changing your own role." }, 404: { description: "No such user." } },
    }),
    validate("param", UserIdParam),
    validate("json", UpdateUserRequest),
    requireRecentAuth,
    async (c) => {
      const { id } = c.req.valid("param");
      const changes = c.req.valid("json");
      const admin = c.get("user");
      const target = await findUserById(c.env.DB, id);
      if (!target || target.org_id !== admin.orgId) throw new ApiError(404, "not_found", "No such user.");
      if (changes.role !== undefined && id === admin.id && changes.role !== target.role) {
        await audit(c, { action: "user.role_change", target: { type: "user", id }, outcome: "denied", details: { from: target.role, to: changes.role, reason: "own role" } });
        throw new ApiError(403, "own_role", "Nobody can change their own role. Ask another administrator.");
      }
      if (changes.role !== undefined && target.role === "guest") {
        throw new ApiError(409, "guest_role", "A guest is an outside recipient of shares; their role cannot be changed. Invite the person as a user instead.");
      }
      const roleChanged = changes.role !== undefined && changes.role !== target.role;
      const nameChanged = changes.name !== undefined && changes.name !== target.name;
      if (roleChanged || nameChanged) {
        // One transaction: the change and its events.
        await c.env.DB.batch([
          userUpdate(c.env.DB, id, changes, new Date().toISOString()),
          ...(roleChanged ? [auditStatement(c, admin.orgId, { action: "user.role_change", target: { type: "user", id }, details: { from: target.role, to: changes.role } })] : []),
          ...(nameChanged ? [auditStatement(c, admin.orgId, { action: "user.update", target: { type: "user", id }, details: { fields: ["name"] } })] : []),
        ]);
        await flushAudit(c.env, admin.orgId);
      }
      const updated = await findUserById(c.env.DB, id);
      if (!updated) throw new ApiError(404, "not_found", "No such user.");
      return c.json(publicUser(updated), 200);
    },
  )
  .put(
    "/:id/supervisor",
    describe({
      summary:
        "Make a user a supervisor of the organisation, or take the role away (needs a recent authentication). Every case opened from then on is wrapped to a supervisor's key too; leads give them older cases. Taking the role away removes their wraps of every case they oversee at once (the case keys are not rotated: docs/security.md).",
      access: "admin",
      responses: { 200: { description: "The user now.", schema: User }, 403: { description: "Your own supervisor role." }, 404: { description: "No such user." }, 409: { description: "Not an active investigator or administrator, or without keys yet." } },
    }),
    validate("param", UserIdParam),
    validate("json", SupervisorRequest),
    requireRecentAuth,
    async (c) => {
      const { id } = c.req.valid("param");
      const { supervisor } = c.req.valid("json");
      const admin = c.get("user");
      const target = await targetUser(c, id);
      if (id === admin.id && supervisor !== (target.supervisor === 1)) {
        await audit(c, { action: supervisor ? "user.supervisor_add" : "user.supervisor_remove", target: { type: "user", id }, outcome: "denied", details: { reason: "own account" } });
        throw new ApiError(403, "own_role", "Nobody can change their own supervisor role. Ask another administrator.");
      }
      const now = new Date().toISOString();
      if (supervisor && target.supervisor !== 1) {
        if (target.status !== "active" || (target.role !== "investigator" && target.role !== "admin")) {
          throw new ApiError(409, "not_supervisor_material", "Only an active investigator or administrator can be a supervisor.");
        }
        if (!(await currentUserKeys(c.env.DB, id)).encryption) {
          throw new ApiError(409, "member_without_keys", `${target.name} has no keys yet: they must sign in and create their key passphrase first.`);
        }
        await c.env.DB.batch([supervisorSet(c.env.DB, id, true, now), auditStatement(c, admin.orgId, { action: "user.supervisor_add", target: { type: "user", id } })]);
        await flushAudit(c.env, admin.orgId);
      } else if (!supervisor && target.supervisor === 1) {
        // One transaction: the role, every wrap of the cases they oversee, and an event per case.
        const overseen = await oversightCasesOf(c.env.DB, id);
        await c.env.DB.batch([
          supervisorSet(c.env.DB, id, false, now),
          ...overseen.flatMap((caseId) => [
            wrapsDeleteForUser(c.env.DB, caseId, id),
            oversightDelete(c.env.DB, caseId, id),
            auditStatement(c, admin.orgId, { action: "case.oversight_remove", target: { type: "user", id }, details: { caseId } }),
          ]),
          auditStatement(c, admin.orgId, { action: "user.supervisor_remove", target: { type: "user", id }, details: { cases: overseen.length } }),
        ]);
        await flushAudit(c.env, admin.orgId);
      }
      return c.json(publicUser((await findUserById(c.env.DB, id))!), 200);
    },
  )
  .get(
    "/security",
    describe({
      summary: "Each user's second factors, lock and live sessions; in the order and with the cursors of the user list, so a page of each goes together.",
      access: "admin",
      responses: { 200: { description: "Security facts per user, a page at a time.", schema: UserSecurityList } },
    }),
    validate("query", PageQuery),
    async (c) => {
      const { cursor, limit: asked } = c.req.valid("query");
      const limit = pageLimit(asked);
      const found = await userSecurity(c.env.DB, c.get("user").orgId, new Date().toISOString(), decodeCursor(cursor, USER_KEY), limit + 1);
      const { items: rows, nextCursor } = toPage(found, limit, (row) => [row.name, row.email, row.id]);
      return c.json(
        {
          users: rows.map((row) => ({
            id: row.id,
            mfa: { totp: row.totp > 0, passkeys: row.passkeys, recoveryCodesLeft: row.codes },
            lockedUntil: row.locked_until,
            activeSessions: row.sessions,
          })),
          nextCursor,
        } satisfies UserSecurityList,
        200,
      );
    },
  )
  .post(
    "/:id/disable",
    describe({
      summary: "Disable a user (needs a recent authentication): they cannot sign in, and every session of theirs ends at once.",
      access: "admin",
      responses: { 200: { description: "Disabled.", schema: User }, 403: { description: "Disabling yourself." }, 404: { description: "No such user." } },
    }),
    validate("param", UserIdParam),
    requireRecentAuth,
    async (c) => {
      const { id } = c.req.valid("param");
      const target = await targetUser(c, id);
      if (id === c.get("user").id) {
        await audit(c, { action: "user.disable", target: { type: "user", id }, outcome: "denied", details: { reason: "own account" } });
        throw new ApiError(403, "own_account", "You cannot disable your own account. Ask another administrator.");
      }
      const now = new Date().toISOString();
      // One transaction: disabled (recorded only if it was not already), and every session ended.
      const results = await c.env.DB.batch([
        disableUserStatement(c.env.DB, id, now),
        auditStatementIfChanged(c, c.get("user").orgId, { action: "user.disable", target: { type: "user", id }, details: { from: target.status } }).statement,
        revokeUserSessionsStatement(c.env.DB, id, now),
      ]);
      if (markAudited(c, results[1])) await flushAudit(c.env, c.get("user").orgId);
      return c.json(publicUser((await findUserById(c.env.DB, id))!), 200);
    },
  )
  .post(
    "/:id/enable",
    describe({ summary: "Enable a disabled user again.", access: "admin", responses: { 200: { description: "Enabled.", schema: User }, 404: { description: "No such user." } } }),
    validate("param", UserIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await targetUser(c, id);
      const results = await c.env.DB.batch([
        enableUserStatement(c.env.DB, id, new Date().toISOString()),
        auditStatementIfChanged(c, c.get("user").orgId, { action: "user.enable", target: { type: "user", id } }).statement,
      ]);
      if (markAudited(c, results[1])) await flushAudit(c.env, c.get("user").orgId);
      return c.json(publicUser((await findUserById(c.env.DB, id))!), 200);
    },
  )
  .post(
    "/:id/unlock",
    describe({ summary: "Lift a sign-in lock (after five failures) before its 10 minutes are up.", access: "admin", responses: { 204: { description: "Unlocked (also when it was not locked)." }, 404: { description: "No such user." } } }),
    validate("param", UserIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const target = await targetUser(c, id);
      const wasLocked = await isLocked(c.env.DB, target.email);
      await c.env.DB.batch([failuresClear(c.env.DB, target.email), auditStatement(c, c.get("user").orgId, { action: "user.unlock", target: { type: "user", id }, details: { wasLocked } })]);
      await flushAudit(c.env, c.get("user").orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/:id/mfa/reset",
    describe({
      summary: "Reset a user's MFA (needs a recent authentication): removes their authenticator app, passkeys and recovery codes and ends their sessions; they enrol again at next sign-in.",
      access: "admin",
      responses: { 204: { description: "Reset." }, 403: { description: "Your own MFA: change it in your security settings." }, 404: { description: "No such user." } },
    }),
    validate("param", UserIdParam),
    requireRecentAuth,
    async (c) => {
      const { id } = c.req.valid("param");
      await targetUser(c, id);
      if (id === c.get("user").id) {
        await audit(c, { action: "mfa.reset", target: { type: "user", id }, outcome: "denied", details: { reason: "own account" } });
        throw new ApiError(403, "own_account", "Manage your own two-step verification in your security settings.");
      }
      const now = new Date().toISOString();
      await c.env.DB.batch([
        deleteTotpStatement(c.env.DB, id),
        passkeyBundlesDeleteAll(c.env.DB, id),
        deletePasskeysStatement(c.env.DB, id),
        deleteRecoveryCodesStatement(c.env.DB, id),
        revokeUserSessionsStatement(c.env.DB, id, now),
        auditStatement(c, c.get("user").orgId, { action: "mfa.reset", target: { type: "user", id } }),
      ]);
      await flushAudit(c.env, c.get("user").orgId);
      return c.body(null, 204);
    },
  )
  .delete(
    "/:id/sessions",
    describe({ summary: "Sign a user out everywhere (your own current session excepted).", access: "admin", responses: { 200: { description: "How many sessions ended.", schema: RevokedCount }, 404: { description: "No such user." } } }),
    validate("param", UserIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await targetUser(c, id);
      // One transaction: the sessions ended and the event, which states how many (SQLite changes()).
      const [result] = await c.env.DB.batch([
        revokeUserSessionsStatement(c.env.DB, id, new Date().toISOString(), c.get("sessionHash")),
        auditStatementCounting(c, c.get("user").orgId, { action: "session.revoke_all", target: { type: "user", id } }, "revoked"),
      ]);
      await flushAudit(c.env, c.get("user").orgId);
      const revoked = result?.meta.changes ?? 0;
      return c.json({ revoked } satisfies RevokedCount, 200);
    },
  );

/** The user `id` of the admin's organisation, or 404. */
async function targetUser(c: Context<AppEnv>, id: string) {
  const target = await findUserById(c.env.DB, id);
  if (!target || target.org_id !== c.get("user").orgId) throw new ApiError(404, "not_found", "No such user.");
  return target;
}
