import { Hono } from "hono";
import { AcceptInvitationRequest, SessionInfo } from "../../../shared/api/schemas";
import { findInvitation, invitationUse } from "../db/invitations";
import { acceptInvitationStatement, findUserById, toUser } from "../db/users";
import type { AppEnv } from "../env";
import { auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { hashPassword } from "../lib/password";
import { tokenHash } from "../lib/secrets";
import { enforcePasswordPolicy } from "../lib/policy";
import { newSession, passwordStage } from "../lib/session";
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
    // One transaction: the password is set only while the invitation is unused; only then are the
    // event, the session and the invitation's use written (each conditional on the step before).
    c.set("user", toUser(invited));
    const accepted = auditStatementIfChanged(c, invited.org_id, { action: "user.invitation_accept", target: { type: "user", id: invited.id } });
    const session = await newSession(c, { ...invited, status: "active" }, { stage: await passwordStage(c.env.DB, invited), method: "password" }, accepted.eventId);
    const results = await c.env.DB.batch([
      acceptInvitationStatement(c.env.DB, { userId: invitation.user_id, invitationHash: hash, passwordHash: await hashPassword(password), now }),
      accepted.statement,
      session.statement,
      invitationUse(c.env.DB, hash, now, accepted.eventId),
    ]);
    if (!markAudited(c, results[1])) throw invalidInvitation();
    await flushAudit(c.env, invited.org_id);
    return c.json(await session.complete(), 200);
  },
);
