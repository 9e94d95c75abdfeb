/**
 * Organisation settings: MFA requirement, password length, session limits, the Cameras
 * map's tile server, and the time-stamping authority (URL and the CA its tokens must chain to). Only administrators read or change them all; every signed-in user reads
 * the map's part (their browser fetches the tiles).
 */
import { Hono } from "hono";
import { OrgSettings, PasswordPolicy, UpdateOrgSettingsRequest } from "../../../shared/api/identity";
import { PASSWORD_MAX_LENGTH } from "../../../shared/api/schemas";
import { GeocodeQuery, GeocodeResults, geocoderRequestUrl, MapSettings, placesFromNominatim } from "../../../shared/api/map";
import { getSettings, settingsSave } from "../db/identity";
import { getOrganisation } from "../db/organisations";
import type { AppEnv } from "../env";
import { auditStatement, flushAudit } from "../lib/audit";
import { describe } from "../lib/openapi";
import { requireAdmin, requireRecentAuth, requireSession } from "../lib/session";
import { validate } from "../lib/validate";
import { ApiError } from "../lib/errors";
import { parseCertificatesPem } from "../../../shared/timestamp/rfc3161";
import { MailSettings, MailTestRequest, MailTestResult, UpdateMailSettingsRequest } from "../../../shared/api/mail";
import { findMailSettings, mailSettingsSave, type MailSettingsRow } from "../db/mail";
import { dataKeys, seal } from "../lib/data-key";
import { audit } from "../lib/audit";
import { mailSecretPlace, MailError, sendWith } from "../lib/mail";

function mailView(row: MailSettingsRow | null): MailSettings {
  if (!row || row.transport === "none") return { transport: "none", fromAddress: row?.from_address ?? "", fromName: row?.from_name ?? "", smtp: null, http: null };
  return {
    transport: row.transport,
    fromAddress: row.from_address,
    fromName: row.from_name,
    smtp: row.transport === "smtp" ? { host: row.smtp_host ?? "", port: row.smtp_port ?? 587, security: row.smtp_security ?? "starttls", username: row.smtp_username ?? "", passwordSet: row.smtp_password !== null } : null,
    http: row.transport === "http" ? { url: row.http_url ?? "", tokenSet: row.http_token !== null } : null,
  };
}

/** A mail failure as the API says it: 502 with a code naming the kind (mail_dns, mail_refused, mail_tls, mail_auth, mail_http, mail_rejected, mail_timeout). */
function mailFailure(error: unknown): ApiError {
  const failure = error instanceof MailError ? error : new MailError("refused", error instanceof Error ? error.message : String(error));
  if (failure.kind === "config") return new ApiError(409, "mail_not_configured", failure.message);
  return new ApiError(502, `mail_${failure.kind}`, failure.message);
}

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
      return c.json({ tileUrl: current.mapTileUrl, attribution: current.mapAttribution, addressSearch: current.geocoderUrl !== null } satisfies MapSettings, 200);
    },
  )
  .get(
    "/map/geocode",
    describe({
      summary:
        "Find places by address for the Cameras screen, through the organisation's geocoder (a Nominatim-compatible service, off by default). The address is sent to that geocoder (the privacy cost the setting states); it is not stored or audited here.",
      access: "session",
      responses: {
        200: { description: "Places found.", schema: GeocodeResults },
        404: { description: "Address search is off (`address_search_off`)." },
        502: { description: "The geocoder could not be reached, or answered with an error or not in Nominatim's JSON (`geocoder_failed`)." },
      },
    }),
    requireSession,
    validate("query", GeocodeQuery),
    async (c) => {
      const { geocoderUrl } = await getSettings(c.env.DB, c.get("user").orgId);
      if (!geocoderUrl) throw new ApiError(404, "address_search_off", "Address search is off. An administrator can turn it on in Admin → Settings.");
      let response: Response;
      try {
        // Nominatim's usage policy asks every client to name itself.
        response = await fetch(geocoderRequestUrl(geocoderUrl, c.req.valid("query").q), { headers: { Accept: "application/json", "User-Agent": "Custody evidence system (address search)" }, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        const reason = err instanceof Error && err.name === "TimeoutError" ? "it did not answer within 10 seconds" : "it could not be reached";
        throw new ApiError(502, "geocoder_failed", `The address search service failed: ${reason}. Enter the latitude and longitude instead, or try again later.`);
      }
      if (!response.ok) throw new ApiError(502, "geocoder_failed", `The address search service answered HTTP ${response.status}. Enter the latitude and longitude instead, or try again later.`);
      const places = placesFromNominatim(await response.json().catch(() => undefined));
      if (!places) throw new ApiError(502, "geocoder_failed", "The address search service did not answer in Nominatim's JSON. An administrator should check its URL in Admin → Settings.");
      return c.json({ places } satisfies GeocodeResults, 200);
    },
  )
  .get(
    "/",
    describe({ summary: "The organisation's settings.", access: "admin", responses: { 200: { description: "The settings.", schema: OrgSettings } } }),
    requireSession,
    requireAdmin,
    async (c) => c.json(await getSettings(c.env.DB, c.get("user").orgId), 200),
  )
  .get(
    "/mail",
    describe({ summary: "How the organisation sends email (secrets only as set flags).", access: "admin", responses: { 200: { description: "The mail settings.", schema: MailSettings } } }),
    requireSession,
    requireAdmin,
    async (c) => c.json(mailView(await findMailSettings(c.env.DB, c.get("user").orgId)), 200),
  )
  .put(
    "/mail",
    describe({
      summary: "Set how the organisation sends email (needs a recent authentication): none, SMTP, or an HTTP mail API. The SMTP password and API token are sealed with the data key and never returned; left out, the saved one is kept.",
      access: "admin",
      responses: { 200: { description: "The mail settings now.", schema: MailSettings } },
    }),
    validate("json", UpdateMailSettingsRequest),
    requireSession,
    requireAdmin,
    requireRecentAuth,
    async (c) => {
      const body = c.req.valid("json");
      const admin = c.get("user");
      const before = await findMailSettings(c.env.DB, admin.orgId);
      const now = new Date().toISOString();
      const needsKey = (body.transport === "smtp" && !!body.smtp.password) || (body.transport === "http" && !!body.http.token);
      const keys = needsKey ? await dataKeys(c.env) : null;
      /** A secret left out keeps the saved one (same transport), an empty one clears it, a new one is sealed. */
      const secret = async (column: "smtp_password" | "http_token", given: string | undefined, sameTransport: boolean): Promise<string | null> =>
        given === undefined ? (sameTransport ? (before?.[column] ?? null) : null) : given === "" ? null : seal(keys!, mailSecretPlace(column, admin.orgId), given);
      const row: MailSettingsRow = {
        org_id: admin.orgId, transport: body.transport, from_address: body.transport === "none" ? (before?.from_address ?? "") : body.fromAddress,
        from_name: body.transport === "none" ? (before?.from_name ?? "") : body.fromName,
        smtp_host: null, smtp_port: null, smtp_security: null, smtp_username: null, smtp_password: null, http_url: null, http_token: null, updated_by: admin.id, updated_at: now,
      };
      if (body.transport === "smtp") {
        if (body.smtp.security === "none" && body.smtp.username && body.smtp.host !== "localhost" && body.smtp.host !== "127.0.0.1") {
          throw new ApiError(400, "validation_failed", "A password is not sent over an unencrypted connection: choose TLS or STARTTLS, or leave the username empty for a relay that needs none.");
        }
        Object.assign(row, { smtp_host: body.smtp.host, smtp_port: body.smtp.port, smtp_security: body.smtp.security, smtp_username: body.smtp.username || null, smtp_password: await secret("smtp_password", body.smtp.password, before?.transport === "smtp") });
      } else if (body.transport === "http") {
        const url = new URL(body.http.url);
        if (url.protocol !== "https:" && url.hostname !== "localhost" && url.hostname !== "127.0.0.1") throw new ApiError(400, "validation_failed", "The mail API URL must start with https:// (http:// only for localhost).");
        Object.assign(row, { http_url: body.http.url, http_token: await secret("http_token", body.http.token, before?.transport === "http") });
      }
      const changed = { transport: { from: before?.transport ?? "none", to: row.transport }, host: row.smtp_host, url: row.http_url, secretChanged: (body.transport === "smtp" && body.smtp.password !== undefined) || (body.transport === "http" && body.http.token !== undefined) };
      await c.env.DB.batch([mailSettingsSave(c.env.DB, row), auditStatement(c, admin.orgId, { action: "settings.mail_change", target: { type: "organisation", id: admin.orgId }, details: changed })]);
      await flushAudit(c.env, admin.orgId);
      return c.json(mailView(row), 200);
    },
  )
  .post(
    "/mail/test",
    describe({
      summary: "Send a test message with the saved mail settings. A failure says what went wrong: 502 mail_dns, mail_refused, mail_tls, mail_auth, mail_http, mail_rejected or mail_timeout; 409 mail_not_configured.",
      access: "admin",
      responses: { 200: { description: "Sent.", schema: MailTestResult }, 409: { description: "No mail configured." }, 502: { description: "The mail server or API refused or failed; the code names how." } },
    }),
    validate("json", MailTestRequest),
    requireSession,
    requireAdmin,
    async (c) => {
      const { to } = c.req.valid("json");
      const admin = c.get("user");
      const row = await findMailSettings(c.env.DB, admin.orgId);
      if (!row || row.transport === "none") throw new ApiError(409, "mail_not_configured", "No mail is configured: choose SMTP or a mail API and save first.");
      try {
        await sendWith(c.env, row, {
          to,
          subject: "Custody test message",
          text: `This is a test message from Custody, sent by ${admin.name} (${admin.email}) to check the organisation's mail settings.\n\nIf you received it, invitations and notices will arrive too.\n`,
        });
      } catch (error) {
        const failure = mailFailure(error);
        await audit(c, { action: "settings.mail_test", target: { type: "organisation", id: admin.orgId }, outcome: "failed", details: { to, transport: row.transport, error: failure.code } });
        throw failure;
      }
      await audit(c, { action: "settings.mail_test", target: { type: "organisation", id: admin.orgId }, details: { to, transport: row.transport } });
      return c.json({ sent: true, to } satisfies MailTestResult, 200);
    },
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
