import { Hono } from "hono";
import {
  CreateUserRequest,
  Invitation,
  UpdateUserRequest,
  User,
  UserIdParam,
  UserList,
} from "../../../shared/api/schemas";
import { invitationInsert } from "../db/invitations";
import { findUserByEmail, findUserById, listUsers, toUser, updateUser, userInsert } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { newId, newToken, tokenHash } from "../lib/secrets";
import { requireAdmin, requireSession } from "../lib/session";
import { validate } from "../lib/validate";

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
    describe({ summary: "List the organisation's users.", access: "admin", responses: { 200: { description: "All users.", schema: UserList } } }),
    async (c) => {
      const rows = await listUsers(c.env.DB, c.get("user").orgId);
      return c.json({ users: rows.map(publicUser) } satisfies UserList, 200);
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
        ]);
      } catch (err) {
        if (await findUserByEmail(c.env.DB, body.email)) {
          throw new ApiError(409, "email_taken", "A user with this email already exists.");
        }
        throw err;
      }
      await audit(c, { action: "user.invite", target: { type: "user", id }, details: { email: body.email, role: body.role } });
      const { orgId: _orgId, ...created } = { ...user, createdAt: now.toISOString() };
      return c.json({ user: created, token, expiresAt } satisfies Invitation, 201);
    },
  )
  .patch(
    "/:id",
    describe({
      summary: "Change a user's name or role. Nobody can change their own role.",
      access: "admin",
      responses: { 200: { description: "Changed.", schema: User }, 403: { description: "Changing your own role." }, 404: { description: "No such user." } },
    }),
    validate("param", UserIdParam),
    validate("json", UpdateUserRequest),
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
      await updateUser(c.env.DB, id, changes, new Date().toISOString());
      const updated = await findUserById(c.env.DB, id);
      if (!updated) throw new ApiError(404, "not_found", "No such user.");
      if (changes.role !== undefined && changes.role !== target.role) {
        await audit(c, { action: "user.role_change", target: { type: "user", id }, details: { from: target.role, to: changes.role } });
      }
      if (changes.name !== undefined && changes.name !== target.name) {
        await audit(c, { action: "user.update", target: { type: "user", id }, details: { fields: ["name"] } });
      }
      return c.json(publicUser(updated), 200);
    },
  );
