/**
 * Organisation settings: MFA requirement, password length, session limits, the Cameras
 * map's tile server, and the time-stamping authority (URL and the CA its tokens must chain to). Only administrators read or change them all; every signed-in user reads
 * the map's part (their browser fetches the tiles).
 */
import { Hono } from "hono";
import { OrgSettings, PasswordPolicy, UpdateOrgSettingsRequest } from "../../../shared/api/identity";
import { PASSWORD_MAX_LENGTH } from "../../../shared/api/schemas";
import { MapSettings } from "../../../shared/api/map";
import { getSettings, settingsSave } from "../db/identity";
import { getOrganisation } from "../db/organisations";
import type { AppEnv } from "../env";
import { auditStatement, flushAudit } from "../lib/audit";
import { describe } from "../lib/openapi";
import { requireAdmin, requireRecentAuth, requireSession } from "../lib/session";
import { validate } from "../lib/validate";
import { ApiError } from "../lib/errors";
import { parseCertificatesPem } from "../../../shared/timestamp/rfc3161";

export const settings = new Hono<AppEnv>()
  .get(
    "/password-policy",
    describe({ summary: "The password rules, for forms that set a password.", access: "public", responses: { 200: { description: "The policy.", schema: PasswordPolicy } } }),
    async (c) => {
      const org = await getOrganisation(c.env.DB);
      const current = await getSettings(c.env.DB, org?.id ?? null);
      return c.json({ minLength: current.passwordMinLength, maxLength: PASSWORD_MAX_LENGTH } satisfies PasswordPolicy, 200);
    },
  )
  .get(
    "/map",
    describe({ summary: "The Cameras map's tile server (null: no map) and its attribution.", access: "session", responses: { 200: { description: "The map settings.", schema: MapSettings } } }),
    requireSession,
    async (c) => {
      const current = await getSettings(c.env.DB, c.get("user").orgId);
      return c.json({ tileUrl: current.mapTileUrl, attribution: current.mapAttribution } satisfies MapSettings, 200);
    },
  )
  .get(
    "/",
    describe({ summary: "The organisation's settings.", access: "admin", responses: { 200: { description: "The settings.", schema: OrgSettings } } }),
    requireSession,
    requireAdmin,
    async (c) => c.json(await getSettings(c.env.DB, c.get("user").orgId), 200),
  )
  .put(
    "/",
    describe({ summary: "Change the organisation's settings (needs a recent authentication). New limits apply to live sessions at once; a new tile server at the next opening of Cameras.", access: "admin", responses: { 200: { description: "The settings now.", schema: OrgSettings } } }),
    validate("json", UpdateOrgSettingsRequest),
    requireSession,
    requireAdmin,
    requireRecentAuth,
    async (c) => {
      const changes = c.req.valid("json");
      const admin = c.get("user");
      if (changes.tsaCaPem) {
        try {
          parseCertificatesPem(changes.tsaCaPem);
        } catch {
          throw new ApiError(400, "validation_failed", "The TSA CA certificate is not a valid X.509 certificate in PEM form.");
        }
      }
      const before = await getSettings(c.env.DB, admin.orgId);
      const after: OrgSettings = { ...before, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) };
      const changed = Object.fromEntries(
        (Object.keys(after) as (keyof OrgSettings)[]).filter((key) => after[key] !== before[key]).map((key) => [key, { from: before[key], to: after[key] }]),
      );
      await c.env.DB.batch([
        settingsSave(c.env.DB, admin.orgId, after, admin.id, new Date().toISOString()),
        auditStatement(c, admin.orgId, { action: "settings.change", target: { type: "organisation", id: admin.orgId }, details: { changed } }),
      ]);
      await flushAudit(c.env, admin.orgId);
      return c.json(after, 200);
    },
  );
