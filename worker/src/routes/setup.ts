import { Hono } from "hono";
import { SessionInfo, SetupRequest, SetupStatus } from "../../../shared/api/schemas";
import { completeSetup, isSetUp } from "../db/organisations";
import { findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { checkPublicKey } from "../lib/keys";
import { hashPassword } from "../lib/password";
import { newId } from "../lib/secrets";
import { enforcePasswordPolicy } from "../lib/policy";
import { passwordStage, startSession } from "../lib/session";
import { validate } from "../lib/validate";

const alreadySetUp = () =>
  new ApiError(409, "already_set_up", "Custody is already set up. Sign in instead.");

export const setup = new Hono<AppEnv>()
  .get(
    "/",
    describe({ summary: "Does this installation still need first-run setup?", access: "public", responses: { 200: { description: "Setup status.", schema: SetupStatus } } }),
    async (c) => c.json({ needed: !(await isSetUp(c.env.DB)) } satisfies SetupStatus, 200),
  )
  .post(
    "/",
    describe({
      summary: "First-run setup: create the organisation and its first administrator, signed in. Closed for good afterwards.",
      access: "public",
      responses: { 201: { description: "Set up; the session cookie is set.", schema: SessionInfo }, 409: { description: "Already set up; nothing changed." } },
    }),
    validate("json", SetupRequest),
    async (c) => {
      if (await isSetUp(c.env.DB)) throw alreadySetUp();
      const body = c.req.valid("json");
      const recoveryKey = await checkPublicKey(body.recoveryKey, "enc", "recoveryKey");
      await enforcePasswordPolicy(c.env.DB, { orgId: null, password: body.admin.password, email: body.admin.email, field: ["admin", "password"] });
      const result = await completeSetup(c.env.DB, {
        organisation: { id: newId(), name: body.organisation.name },
        admin: { id: newId(), email: body.admin.email, name: body.admin.name, passwordHash: await hashPassword(body.admin.password) },
        recoveryKey,
        now: new Date().toISOString(),
      });
      if (!result) throw alreadySetUp();
      const admin = await findUserById(c.env.DB, result.admin.id);
      if (!admin) throw new Error("setup: administrator missing after insert");
      // With MFA required (the default), the new administrator enrols a second factor first.
      const session = await startSession(c, admin, { stage: await passwordStage(c.env.DB, admin), method: "password" });
      c.set("user", { ...result.admin, orgId: result.organisation.id });
      await audit(c, {
        action: "organisation.setup",
        target: { type: "organisation", id: result.organisation.id },
        details: { organisationName: result.organisation.name, adminId: result.admin.id, recoveryKid: recoveryKey.kid },
      });
      return c.json(session, 201);
    },
  );
