import { Hono, type Context } from "hono";
import {
  CameraList,
  CameraQuery,
  CreateVideoRequest,
  DenyRequest,
  VideoRequest,
  VideoRequestIdParam,
  VideoRequestList,
  VideoRequestQuery,
} from "../../../shared/api/video";
import {
  camerasByIds,
  clipInsert,
  decideStatement,
  findRequest,
  findSite,
  listCameras,
  listRequests,
  operatorSite,
  requestInsert,
  type RequestRow,
} from "../db/video";
import type { AppEnv } from "../env";
import { decodeCursor, pageLimit, toPage } from "../lib/paging";
import { auditStatement, auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { requireCaseRole } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { newId } from "../lib/secrets";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validate";
import { notifySite, planClips, scheduleExpiry } from "../lib/video";

/** Footage cannot be asked for beyond now (with this much slack for clocks). */
const FUTURE_SLACK_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const noSuchRequest = () => new ApiError(404, "not_found", "No such video request, or it is not yours to see.");

/** Who is looking: a site operator (bound to their site, which may be none yet) or anyone else. */
async function viewerOf(c: Context<AppEnv>): Promise<{ userId: string; operatorSiteId: string | null; isOperator: boolean }> {
  const me = c.get("user");
  if (me.role !== "site_operator") return { userId: me.id, operatorSiteId: null, isOperator: false };
  // An operator not yet bound to a site sees nothing: an impossible site id matches no request.
  return { userId: me.id, operatorSiteId: (await operatorSite(c.env.DB, me.id)) ?? "-", isOperator: true };
}

async function visibleRequest(c: Context<AppEnv>, id: string): Promise<VideoRequest> {
  const [request] = await listRequests(c.env.DB, await viewerOf(c), { id });
  if (!request) throw noSuchRequest();
  return request;
}

/** The request, if the signed-in user operates its site: what an approval or denial needs. */
async function operatedRequest(c: Context<AppEnv>, id: string): Promise<RequestRow> {
  const me = c.get("user");
  const request = await findRequest(c.env.DB, id);
  if (!request || request.org_id !== me.orgId) throw noSuchRequest();
  if (me.role !== "site_operator" || (await operatorSite(c.env.DB, me.id)) !== request.site_id) {
    // Case members may see the request, but only the site's operators decide.
    if (me.role !== "site_operator" && (await listRequests(c.env.DB, { userId: me.id, operatorSiteId: null }, { id })).length > 0) {
      throw new ApiError(403, "not_site_operator", "Only an operator of the camera owner's site can approve or deny this request.");
    }
    throw noSuchRequest();
  }
  return request;
}

/** The camera registry, for investigators finding cameras. */
export const cameras = new Hono<AppEnv>().use(requireSession).get(
  "/",
  describe({
    summary: "Cameras in service: all the organisation's for investigators and administrators (by site and name, or nearest first with lat/lon), a site operator's own site's for them; a page at a time.",
    access: "session",
    responses: { 200: { description: "Cameras.", schema: CameraList } },
  }),
  validate("query", CameraQuery),
  async (c) => {
    const me = c.get("user");
    const { cursor, limit: asked, ...query } = c.req.valid("query");
    let siteId = query.siteId;
    if (me.role === "site_operator") {
      const own = await operatorSite(c.env.DB, me.id);
      if (!own || (siteId && siteId !== own)) return c.json({ cameras: [], nextCursor: null } satisfies CameraList, 200);
      siteId = own;
    }
    const near = query.lat !== undefined && query.lon !== undefined ? { lat: query.lat, lon: query.lon } : undefined;
    const limit = pageLimit(asked);
    // The cursor of a nearest-first list is (distance, id); of a list by site and name (site, name, id).
    const after = decodeCursor(cursor, near ? ["n", "s"] : ["s", "s", "s"]);
    const rows = await listCameras(c.env.DB, me.orgId, { ...(siteId ? { siteId } : {}), ...(near ? { near } : {}) }, after, limit + 1);
    const page = toPage(rows, limit, (camera) => camera.sortKey);
    return c.json({ cameras: page.items.map(({ sortKey: _key, ...camera }) => camera), nextCursor: page.nextCursor } satisfies CameraList, 200);
  },
);

/** Video requests: investigators ask, the camera owner's site operators decide. */
export const videoRequests = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/",
    describe({
      summary: "Video requests you may see: for a site operator, their site's inbox (without the case); for others, requests for cases they are a member of.",
      access: "session",
      responses: { 200: { description: "Requests, newest first, a page at a time.", schema: VideoRequestList } },
    }),
    validate("query", VideoRequestQuery),
    async (c) => {
      const { cursor, limit: asked, ...filter } = c.req.valid("query");
      const limit = pageLimit(asked);
      const rows = await listRequests(c.env.DB, await viewerOf(c), filter, decodeCursor(cursor, ["s", "s"]), limit + 1);
      const page = toPage(rows, limit, (request) => [request.createdAt, request.id]);
      return c.json({ requests: page.items, nextCursor: page.nextCursor } satisfies VideoRequestList, 200);
    },
  )
  .post(
    "/",
    describe({
      summary: "Request video: cameras of one site, a time range of at most 2 hours, a reason and the target case (you must be its contributor or lead). The site's agent exports and holds it at once.",
      access: "session",
      responses: { 201: { description: "Requested.", schema: VideoRequest }, 400: { description: "Invalid range (over 2 hours, in the future) or cameras of several sites." } },
    }),
    validate("json", CreateVideoRequest),
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      if (me.role === "site_operator") throw new ApiError(403, "forbidden", "Site operators answer video requests; they cannot make them.");
      const found = await requireCaseRole(c, body.caseId, "contributor");
      if (found.status !== "open") throw new ApiError(409, "case_closed", "This case is closed. Reopen it to request video for it.");
      if (Date.parse(body.end) > Date.now() + FUTURE_SLACK_MS) throw new ApiError(400, "range_in_future", "The time range ends in the future: there is no footage of it yet.");
      const wanted = [...new Set(body.cameraIds)];
      const rows = await camerasByIds(c.env.DB, wanted);
      if (rows.length !== wanted.length || rows.some((r) => r.org_id !== me.orgId)) throw new ApiError(400, "no_such_camera", "One of the cameras does not exist or is no longer in service.");
      const siteIds = new Set(rows.map((r) => r.site_id));
      if (siteIds.size !== 1) throw new ApiError(400, "cameras_span_sites", "A request goes to one site: choose cameras of one site, and send one request per site.");
      const siteId = rows[0]!.site_id;
      const site = (await findSite(c.env.DB, siteId))!;
      const now = new Date().toISOString();
      const expiresAt = new Date(Date.now() + site.hold_days * DAY_MS).toISOString();
      const id = newId();
      const ordered = wanted.map((cameraId) => rows.find((r) => r.id === cameraId)!);
      const clips = ordered.flatMap((camera) => planClips(body.start, body.end).map((range) => ({ cameraId: camera.id, ...range })));
      await c.env.DB.batch([
        requestInsert(c.env.DB, { id, orgId: me.orgId, siteId, caseId: body.caseId, requestedBy: me.id, reason: body.reason, start: body.start, end: body.end, expiresAt, now }),
        ...clips.map((clip, seq) => clipInsert(c.env.DB, { id: newId(), requestId: id, seq, ...clip })),
        auditStatement(c, me.orgId, {
          action: "video.request_create",
          target: { type: "video_request", id },
          details: { requestId: id, caseId: body.caseId, siteId, cameraIds: wanted, start: body.start, end: body.end, clips: clips.length },
        }),
      ]);
      await flushAudit(c.env, me.orgId);
      await scheduleExpiry(c.env, siteId, expiresAt);
      await notifySite(c.env, siteId, { type: "work", requestId: id });
      return c.json(await visibleRequest(c, id), 201);
    },
  )
  .get(
    "/:id",
    describe({ summary: "One video request with its clips and history.", access: "session", responses: { 200: { description: "The request.", schema: VideoRequest }, 404: { description: "No such request, or not yours to see." } } }),
    validate("param", VideoRequestIdParam),
    async (c) => c.json(await visibleRequest(c, c.req.valid("param").id), 200),
  )
  .post(
    "/:id/approve",
    describe({
      summary: "Approve a held request (site operators of its site): the agent re-wraps the clip's key to the case key, signs it and sends it into the case.",
      access: "session",
      responses: { 200: { description: "Approved.", schema: VideoRequest }, 409: { description: "Not held (still exporting, or already decided)." } },
    }),
    validate("param", VideoRequestIdParam),
    async (c) => decide(c, "approved", null),
  )
  .post(
    "/:id/deny",
    describe({
      summary: "Deny a request (site operators of its site): the agent deletes the held clip and its key; nothing is sent.",
      access: "session",
      responses: { 200: { description: "Denied.", schema: VideoRequest }, 409: { description: "Already decided." } },
    }),
    validate("param", VideoRequestIdParam),
    validate("json", DenyRequest),
    async (c) => decide(c, "denied", c.req.valid("json").note || null),
  );

/** Approve or deny: one conditional UPDATE, so of two racing decisions exactly one happens (and is recorded). */
async function decide(c: Context<AppEnv>, decision: "approved" | "denied", note: string | null) {
  const me = c.get("user");
  const request = await operatedRequest(c, (c.req.param() as { id: string }).id);
  const now = new Date().toISOString();
  const event = auditStatementIfChanged(c, me.orgId, {
    action: decision === "approved" ? "video.request_approve" : "video.request_deny",
    target: { type: "video_request", id: request.id },
    details: { requestId: request.id, caseId: request.case_id, siteId: request.site_id, from: request.status, ...(note ? { note } : {}) },
  });
  const results = await c.env.DB.batch([decideStatement(c.env.DB, { requestId: request.id, decision, by: me.id, note, now }), event.statement]);
  if (!markAudited(c, results[1])) {
    const current = await findRequest(c.env.DB, request.id);
    if (decision === "approved" && (current?.status === "requested" || current?.status === "exporting")) {
      throw new ApiError(409, "not_held", "The video is still being exported. Approve it once it is held.");
    }
    throw new ApiError(409, "already_decided", `This request is ${current?.status ?? "gone"}; it can no longer be ${decision}.`);
  }
  await flushAudit(c.env, me.orgId);
  await notifySite(c.env, request.site_id, { type: "work", requestId: request.id });
  return c.json(await visibleRequest(c, request.id), 200);
}
