import { Hono } from "hono";
import { SessionInfo, SignInRequest } from "../../../shared/api/schemas";
import { findUserByEmail, toUser } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { verifyPassword } from "../lib/password";
import { endSession, requireSession, sessionEnd, sessionInfo, startSession } from "../lib/session";
import { findSession } from "../db/sessions";
import { validate } from "../lib/validate";

export const auth = new Hono<AppEnv>()
  .post(
    "/sign-in",
    describe({
      summary: "Sign in with email and password.",
      access: "public",
      responses: { 200: { description: "Signed in; the session cookie is set.", schema: SessionInfo }, 401: { description: "Email or password is incorrect (the same answer whether or not the account exists)." } },
    }),
    validate("json", SignInRequest),
    async (c) => {
      const { email, password } = c.req.valid("json");
      const user = await findUserByEmail(c.env.DB, email);
      // Always run the KDF, against a decoy when there is no usable account: equal timing.
      const usable = user !== null && user.status === "active";
      const valid = await verifyPassword(password, usable ? user.password_hash : null);
      if (!valid || !user) {
        await audit(c, {
          action: "auth.sign_in",
          target: { type: "user", id: user?.id ?? null },
          outcome: "failed",
          actor: { type: "anonymous", id: null, label: email },
          details: { method: "password" },
        });
        throw new ApiError(401, "invalid_credentials", "Email or password is incorrect.");
      }
      const session = await startSession(c, user);
      c.set("user", { ...session.user, orgId: session.organisation.id });
      await audit(c, { action: "auth.sign_in", target: { type: "user", id: user.id }, details: { method: "password" } });
      return c.json(session, 200);
    },
  )
  .post(
    "/sign-out",
    describe({ summary: "Sign out: revoke this session and clear its cookie.", access: "public", responses: { 204: { description: "Signed out (also when no session was live)." } } }),
    async (c) => {
      const user = await endSession(c);
      if (user) {
        c.set("user", toUser(user));
        await audit(c, { action: "auth.sign_out", target: { type: "user", id: user.id } });
      }
      return c.body(null, 204);
    },
  )
  .get(
    "/session",
    describe({ summary: "The signed-in user, their organisation and when the session ends.", access: "session", responses: { 200: { description: "Signed in.", schema: SessionInfo } } }),
    requireSession,
    async (c) => {
      const found = await findSession(c.env.DB, c.get("sessionHash"));
      if (!found) throw new ApiError(401, "session_ended", "Your session has ended. Sign in again.");
      const info = await sessionInfo(c.env.DB, found.user, new Date(sessionEnd(found.session)).toISOString());
      return c.json(info, 200);
    },
  );
