import { retentionDefaults } from "../db/retention";
import { Hono } from "hono";
import { SessionInfo, SetupRequest, SetupStatus } from "../../../shared/api/schemas";
import { isSetUp, setupStatements } from "../db/organisations";
import type { UserRow } from "../db/users";
import type { AppEnv } from "../env";
import { auditStatement, flushAudit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { checkPublicKey } from "../lib/keys";
import { hashPassword } from "../lib/password";
import { newId } from "../lib/secrets";
import { enforcePasswordPolicy } from "../lib/policy";
import { newSession, passwordStage } from "../lib/session";
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
      const now = new Date().toISOString();
      const result = setupStatements(c.env.DB, {
        organisation: { id: newId(), name: body.organisation.name },
        admin: { id: newId(), email: body.admin.email, name: body.admin.name, passwordHash: await hashPassword(body.admin.password) },
        recoveryKey,
        now,
      });
      const orgId = result.organisation.id;
      const admin: UserRow = { ...result.admin, org_id: orgId, password_hash: null, created_at: now, supervisor: 0 };
      c.set("user", { ...result.admin, orgId });
      // With MFA required (the default), the new administrator enrols a second factor first.
      const session = await newSession(c, admin, { stage: await passwordStage(c.env.DB, admin), method: "password" });
      // One transaction: the organisation, its administrator, the recovery key, the session and the event.
      try {
        await c.env.DB.batch([
          ...result.statements,
          ...retentionDefaults(c.env.DB, orgId, now),
          session.statement,
          auditStatement(c, orgId, {
            action: "organisation.setup",
            target: { type: "organisation", id: orgId },
            details: { organisationName: result.organisation.name, adminId: result.admin.id, recoveryKid: recoveryKey.kid },
          }),
        ]);
      } catch (err) {
        // A second attempt (even two racing) fails as a whole on the `setup` row's primary key.
        if (await isSetUp(c.env.DB)) {
          // Nothing of this attempt was written: the refusal is recorded as any other (app.onError).
          c.set("audited", false);
          c.set("user", undefined as never);
          throw alreadySetUp();
        }
        throw err;
      }
      await flushAudit(c.env, orgId);
      return c.json(await session.complete(), 201);
    },
  );
