import { Hono, type Context } from "hono";
import { CreateSiteRequest, Site, SiteCreated, SiteIdParam, SiteList, SiteOperatorParam, type SiteConfigFile } from "../../../shared/api/video";
import { findUserById } from "../db/users";
import { findSite, listSites, operatorBind, operatorSite, operatorUnbind, siteInsert, siteNewEnrolment, type SiteRow } from "../db/video";
import type { AppEnv } from "../env";
import { PageQuery } from "../../../shared/api/paging";
import { decodeCursor, pageLimit, toPage, type SortKey } from "../lib/paging";
import { auditStatement, flushAudit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { newId, newToken, tokenHash } from "../lib/secrets";
import { requireAdmin, requireSession } from "../lib/session";
import { validate } from "../lib/validate";
import { siteLive } from "../lib/video";

/** How long a site's one-time enrolment token stays valid. */
export const ENROLMENT_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

const noSuchSite = () => new ApiError(404, "not_found", "No such site.");

/** The sites `c`'s user may see, each with its agent's live status: administrators and investigators all; a site operator only their own. */
/** Sites the user may see (or just `onlySiteId`), by name, at most `limit` after the site `after` names. */
async function sitesFor(c: Context<AppEnv>, onlySiteId?: string, after: SortKey | null = null, limit = 1): Promise<Site[]> {
  const me = c.get("user");
  let siteId = onlySiteId;
  if (me.role === "site_operator") {
    const own = await operatorSite(c.env.DB, me.id);
    if (!own || (onlySiteId && onlySiteId !== own)) return [];
    siteId = own;
  }
  const rows = await listSites(c.env.DB, me.orgId, siteId, after, limit);
  return Promise.all(
    rows.map(async ({ enrolledAt, ...row }) => {
      const live = await siteLive(c.env, row.id).status();
      return {
        ...row,
        // Who operates a site is for administrators (and the site's own operators).
        operators: me.role === "investigator" ? [] : row.operators,
        agent: { enrolled: enrolledAt !== null, enrolledAt, connected: live.connected, lastSeenAt: live.lastSeenAt },
      };
    }),
  );
}

/** A new one-time enrolment token, and the configuration file that carries it. */
async function enrolmentFor(c: Context<AppEnv>, site: Pick<SiteRow, "id" | "name">) {
  const token = newToken();
  const expiresAt = new Date(Date.now() + ENROLMENT_LIFETIME_MS).toISOString();
  const config: SiteConfigFile = {
    type: "custody-site-config",
    v: 1,
    server: new URL(c.req.url).origin,
    siteId: site.id,
    siteName: site.name,
    enrolmentToken: token,
    enrolmentExpiresAt: expiresAt,
    archive: "./recordings",
    dataDir: "./custody-agent",
    cameras: [],
  };
  return { token, tokenHash: await tokenHash(token), expiresAt, config };
}

async function siteOf(c: Context<AppEnv>, id: string): Promise<SiteRow> {
  const site = await findSite(c.env.DB, id);
  if (!site || site.org_id !== c.get("user").orgId) throw noSuchSite();
  return site;
}

async function oneSite(c: Context<AppEnv>, id: string): Promise<Site> {
  const [site] = await sitesFor(c, id);
  if (!site) throw noSuchSite();
  return site;
}

/** Sites (camera owners) and who operates them. */
export const sites = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/",
    describe({
      summary: "Sites: all for administrators and investigators (to find cameras), a site operator's own site for them; by name, a page at a time.",
      access: "session",
      responses: { 200: { description: "A page of sites.", schema: SiteList } },
    }),
    validate("query", PageQuery),
    async (c) => {
      const { cursor, limit: asked } = c.req.valid("query");
      const limit = pageLimit(asked);
      const page = toPage(await sitesFor(c, undefined, decodeCursor(cursor, ["s", "s"]), limit + 1), limit, (site) => [site.name, site.id]);
      return c.json({ sites: page.items, nextCursor: page.nextCursor } satisfies SiteList, 200);
    },
  )
  .post(
    "/",
    describe({
      summary: "Register a site. Answers its agent's configuration file with a one-time enrolment token (shown once).",
      access: "admin",
      responses: { 201: { description: "Registered.", schema: SiteCreated }, 409: { description: "A site of this name exists." } },
    }),
    requireAdmin,
    validate("json", CreateSiteRequest),
    async (c) => {
      const body = c.req.valid("json");
      const me = c.get("user");
      const id = newId();
      const enrolment = await enrolmentFor(c, { id, name: body.name });
      const now = new Date().toISOString();
      try {
        await c.env.DB.batch([
          siteInsert(c.env.DB, { id, orgId: me.orgId, name: body.name, address: body.address, holdDays: body.holdDays, tokenHash: enrolment.tokenHash, tokenExpiresAt: enrolment.expiresAt, createdBy: me.id, now }),
          auditStatement(c, me.orgId, { action: "site.create", target: { type: "site", id }, details: { siteId: id, name: body.name, holdDays: body.holdDays } }),
        ]);
      } catch (err) {
        if (/UNIQUE constraint failed/i.test(String(err))) throw new ApiError(409, "site_exists", "A site with this name exists already.");
        throw err;
      }
      await flushAudit(c.env, me.orgId);
      return c.json({ site: await oneSite(c, id), config: enrolment.config } satisfies SiteCreated, 201);
    },
  )
  .get(
    "/:id",
    describe({ summary: "One site, with its agent's status and operators.", access: "session", responses: { 200: { description: "The site.", schema: Site }, 404: { description: "No such site (or not yours)." } } }),
    validate("param", SiteIdParam),
    async (c) => c.json(await oneSite(c, c.req.valid("param").id), 200),
  )
  .post(
    "/:id/enrolment",
    describe({
      summary: "A new configuration file with a new one-time enrolment token (for a new or reinstalled agent; its enrolment retires the old agent's keys).",
      access: "admin",
      responses: { 200: { description: "The configuration file.", schema: SiteCreated } },
    }),
    requireAdmin,
    validate("param", SiteIdParam),
    async (c) => {
      const me = c.get("user");
      const site = await siteOf(c, c.req.valid("param").id);
      const enrolment = await enrolmentFor(c, site);
      await c.env.DB.batch([
        siteNewEnrolment(c.env.DB, site.id, enrolment.tokenHash, enrolment.expiresAt),
        auditStatement(c, me.orgId, { action: "site.enrolment_issue", target: { type: "site", id: site.id }, details: { siteId: site.id, expiresAt: enrolment.expiresAt } }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json({ site: await oneSite(c, site.id), config: enrolment.config } satisfies SiteCreated, 200);
    },
  )
  .put(
    "/:id/operators/:userId",
    describe({
      summary: "Make a site operator (a user with that role) an operator of this site; an operator has exactly one site, so this moves them from any other.",
      access: "admin",
      responses: { 200: { description: "The site.", schema: Site }, 400: { description: "The user is not a site operator." } },
    }),
    requireAdmin,
    validate("param", SiteOperatorParam),
    async (c) => {
      const me = c.get("user");
      const { id, userId } = c.req.valid("param");
      const site = await siteOf(c, id);
      const user = await findUserById(c.env.DB, userId);
      if (!user || user.org_id !== me.orgId) throw new ApiError(404, "not_found", "No such user.");
      if (user.role !== "site_operator") throw new ApiError(400, "not_site_operator", "Only users with the site operator role can operate a site. Change their role first.");
      const previous = await operatorSite(c.env.DB, userId);
      await c.env.DB.batch([
        operatorBind(c.env.DB, { userId, siteId: site.id, addedBy: me.id, now: new Date().toISOString() }),
        auditStatement(c, me.orgId, { action: "site.operator_add", target: { type: "user", id: userId }, details: { siteId: site.id, previousSiteId: previous } }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json(await oneSite(c, site.id), 200);
    },
  )
  .delete(
    "/:id/operators/:userId",
    describe({ summary: "Remove an operator from this site.", access: "admin", responses: { 200: { description: "The site.", schema: Site }, 404: { description: "Not an operator of this site." } } }),
    requireAdmin,
    validate("param", SiteOperatorParam),
    async (c) => {
      const me = c.get("user");
      const { id, userId } = c.req.valid("param");
      const site = await siteOf(c, id);
      if ((await operatorSite(c.env.DB, userId)) !== site.id) throw new ApiError(404, "not_found", "This user does not operate this site.");
      await c.env.DB.batch([
        operatorUnbind(c.env.DB, userId, site.id),
        auditStatement(c, me.orgId, { action: "site.operator_remove", target: { type: "user", id: userId }, details: { siteId: site.id } }),
      ]);
      await flushAudit(c.env, me.orgId);
      return c.json(await oneSite(c, site.id), 200);
    },
  );
