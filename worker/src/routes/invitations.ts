import { Hono } from "hono";
import { AcceptInvitationRequest, SessionInfo } from "../../../shared/api/schemas";
import { findInvitation, invitationUse } from "../db/invitations";
import { acceptInvitationStatement, findUserById, toUser } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { hashPassword } from "../lib/password";
import { tokenHash } from "../lib/secrets";
import { enforcePasswordPolicy } from "../lib/policy";
import { passwordStage, startSession } from "../lib/session";
import { validate } from "../lib/validate";

const invalidInvitation = () =>
  new ApiError(400, "invalid_invitation", "This invitation link is not valid or has expired. Ask your administrator for a new one.");

export const invitations = new Hono<AppEnv>().post(
  "/accept",
  describe({
    summary: "Accept an invitation: set a password with the one-time token, and sign in.",
    access: "public",
    responses: { 200: { description: "Password set; signed in.", schema: SessionInfo } },
  }),
  validate("json", AcceptInvitationRequest),
  async (c) => {
    const { token, password } = c.req.valid("json");
    const hash = await tokenHash(token);
    const invitation = await findInvitation(c.env.DB, hash);
    const now = new Date().toISOString();
    if (!invitation || invitation.used_at !== null || invitation.expires_at <= now) throw invalidInvitation();
    const invited = await findUserById(c.env.DB, invitation.user_id);
    if (!invited) throw invalidInvitation();
    await enforcePasswordPolicy(c.env.DB, { orgId: invited.org_id, password, email: invited.email, field: ["password"] });
    // One transaction: the password is set only while the invitation is unused, then it is used up.
    const [setPassword] = await c.env.DB.batch([
      acceptInvitationStatement(c.env.DB, { userId: invitation.user_id, invitationHash: hash, passwordHash: await hashPassword(password), now }),
      invitationUse(c.env.DB, hash, now),
    ]);
    if (!setPassword || setPassword.meta.changes !== 1) throw invalidInvitation();
    const user = await findUserById(c.env.DB, invitation.user_id);
    if (!user) throw invalidInvitation();
    const session = await startSession(c, user, { stage: await passwordStage(c.env.DB, user), method: "password" });
    c.set("user", toUser(user));
    await audit(c, { action: "user.invitation_accept", target: { type: "user", id: user.id } });
    return c.json(session, 200);
  },
);
