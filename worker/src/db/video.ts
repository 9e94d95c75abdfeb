/**
 * Storage of sites, agent keys, site operators, the camera registry and video requests (D1).
 * Every state change of a request is a conditional UPDATE on its current status, so two
 * racing decisions (an approve and a deny) cannot both happen: the second changes no row.
 */
import type { AgentWorkItem, Camera, ClipStatus, RequestStatus, Site, VideoClip, VideoRequest } from "../../../shared/api/video";
import type { PublicJwk } from "../../../shared/api/schemas";
import type { SortKey } from "../lib/paging";

export interface SiteRow {
  id: string;
  org_id: string;
  name: string;
  address: string;
  hold_days: number;
  enrolment_token_hash: string | null;
  enrolment_expires_at: string | null;
  enrolled_at: string | null;
  created_by: string;
  created_at: string;
}

export interface AgentKeyRow {
  kid: string;
  site_id: string;
  use: "sig" | "enc";
  public_jwk: string;
  created_at: string;
  retired_at: string | null;
}

export interface RequestRow {
  id: string;
  org_id: string;
  site_id: string;
  case_id: string;
  requested_by: string;
  reason: string;
  start_at: string;
  end_at: string;
  status: RequestStatus;
  created_at: string;
  updated_at: string;
  exported_at: string | null;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
  delivered_at: string | null;
  purged_at: string | null;
  /** NULL: delivered by the agent (or not delivered); 'upload': through the request's submission link (migration 0024). */
  delivered_by: "upload" | null;
}

/** The status the API shows: a delivery through the request's submission link is 'delivered_by_upload'. */
export const apiStatus = (row: Pick<RequestRow, "status" | "delivered_by">): RequestStatus =>
  row.status === "delivered" && row.delivered_by === "upload" ? "delivered_by_upload" : row.status;

export interface ClipRow {
  id: string;
  request_id: string;
  camera_id: string;
  seq: number;
  start_at: string;
  end_at: string;
  status: ClipStatus;
  byte_size: number | null;
  footage_start: string | null;
  footage_end: string | null;
  duration_ms: number | null;
  exported_at: string | null;
  unavailable: string | null;
  evidence_id: string | null;
}

export interface CameraRow {
  id: string;
  site_id: string;
  archive_id: string;
  name: string;
  latitude: number | null;
  longitude: number | null;
  direction: number | null;
  recorder_id: string;
  updated_at: string;
  removed_at: string | null;
}

/** Statuses in which a request still waits for the site (export or decision): it can expire. */
export const OPEN_STATUSES: readonly RequestStatus[] = ["requested", "exporting", "held"];

// ---- sites

export async function findSite(db: D1Database, id: string): Promise<SiteRow | null> {
  return db.prepare("SELECT * FROM sites WHERE id = ?").bind(id).first<SiteRow>();
}

export function siteInsert(db: D1Database, s: { id: string; orgId: string; name: string; address: string; holdDays: number; tokenHash: string; tokenExpiresAt: string; createdBy: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO sites (id, org_id, name, address, hold_days, enrolment_token_hash, enrolment_expires_at, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(s.id, s.orgId, s.name, s.address, s.holdDays, s.tokenHash, s.tokenExpiresAt, s.createdBy, s.now);
}

export function siteNewEnrolment(db: D1Database, siteId: string, tokenHash: string, expiresAt: string): D1PreparedStatement {
  return db.prepare("UPDATE sites SET enrolment_token_hash = ?, enrolment_expires_at = ? WHERE id = ?").bind(tokenHash, expiresAt, siteId);
}

interface SiteListRow extends SiteRow {
  camera_count: number;
}

/** Sites of the organisation (or the one site `onlySiteId`), with camera counts and operators; the agent's live status comes from its Durable Object. */
/** The organisation's sites (or just `onlySiteId`) by name: at most `limit`, after the site `after` names (name, id). */
export async function listSites(
  db: D1Database,
  orgId: string,
  onlySiteId: string | undefined,
  after: SortKey | null,
  limit: number,
): Promise<(Omit<Site, "agent"> & { enrolledAt: string | null })[]> {
  const { results } = await db
    .prepare(
      `SELECT s.*, (SELECT count(*) FROM cameras c WHERE c.site_id = s.id AND c.removed_at IS NULL) AS camera_count
         FROM sites s WHERE s.org_id = ?1 AND (?2 IS NULL OR s.id = ?2)
          AND (?3 IS NULL OR s.name > ?3 OR (s.name = ?3 AND s.id > ?4))
        ORDER BY s.name, s.id LIMIT ?5`,
    )
    .bind(orgId, onlySiteId ?? null, after?.[0] ?? null, after?.[1] ?? null, limit)
    .all<SiteListRow>();
  const { results: operators } = await db
    .prepare(
      `SELECT o.site_id, u.id, u.name, u.email FROM site_operators o JOIN users u ON u.id = o.user_id
        WHERE o.site_id IN (SELECT value FROM json_each(?)) ORDER BY u.name`,
    )
    .bind(JSON.stringify(results.map((row) => row.id)))
    .all<{ site_id: string; id: string; name: string; email: string }>();
  return results.map((row) => ({
    id: row.id,
    name: row.name,
    address: row.address,
    holdDays: row.hold_days,
    cameraCount: row.camera_count,
    operators: operators.filter((o) => o.site_id === row.id).map(({ id, name, email }) => ({ id, name, email })),
    createdAt: row.created_at,
    enrolledAt: row.enrolled_at,
  }));
}

/** The site a site operator is bound to, if any. */
export async function operatorSite(db: D1Database, userId: string): Promise<string | null> {
  const row = await db.prepare("SELECT site_id FROM site_operators WHERE user_id = ?").bind(userId).first<{ site_id: string }>();
  return row?.site_id ?? null;
}

export function operatorBind(db: D1Database, o: { userId: string; siteId: string; addedBy: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO site_operators (user_id, site_id, added_by, added_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET site_id = excluded.site_id, added_by = excluded.added_by, added_at = excluded.added_at`,
    )
    .bind(o.userId, o.siteId, o.addedBy, o.now);
}

export function operatorUnbind(db: D1Database, userId: string, siteId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM site_operators WHERE user_id = ? AND site_id = ?").bind(userId, siteId);
}

// ---- agent keys and enrolment

/** The site's current agent key of `use`, if enrolled. */
export async function currentAgentKey(db: D1Database, siteId: string, use: "sig" | "enc"): Promise<AgentKeyRow | null> {
  return db.prepare("SELECT * FROM agent_keys WHERE site_id = ? AND use = ? AND retired_at IS NULL").bind(siteId, use).first<AgentKeyRow>();
}

/** An agent signing key by kid (current or retired) with its site, to verify a request or a manifest. */
export async function findAgentSigningKey(db: D1Database, kid: string): Promise<(AgentKeyRow & { site_name: string; org_id: string }) | null> {
  return db
    .prepare(
      `SELECT k.*, s.name AS site_name, s.org_id FROM agent_keys k JOIN sites s ON s.id = k.site_id
        WHERE k.kid = ? AND k.use = 'sig'`,
    )
    .bind(kid)
    .first<AgentKeyRow & { site_name: string; org_id: string }>();
}

/** Uses up the one-time enrolment token, only while it is unused, unexpired and matches. */
export function enrolmentUse(db: D1Database, e: { siteId: string; tokenHash: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE sites SET enrolment_token_hash = NULL, enrolment_expires_at = NULL, enrolled_at = ?3
        WHERE id = ?1 AND enrolment_token_hash = ?2 AND enrolment_expires_at > ?3`,
    )
    .bind(e.siteId, e.tokenHash, e.now);
}

/**
 * After `enrolmentUse` and its conditional audit event `witnessId` in the same batch: retires
 * the site's earlier agent keys and registers the new ones, only if that event was written
 * (the token was used up by this request).
 */
export function agentKeysReplace(
  db: D1Database,
  e: { siteId: string; now: string; witnessId: string; signing: { kid: string; jwk: PublicJwk }; encryption: { kid: string; jwk: PublicJwk } },
): D1PreparedStatement[] {
  const witnessed = "EXISTS (SELECT 1 FROM audit_outbox WHERE id = ?3)";
  const insert = (use: "sig" | "enc", key: { kid: string; jwk: PublicJwk }) =>
    db
      .prepare(`INSERT INTO agent_keys (kid, site_id, use, public_jwk, created_at) SELECT ?4, ?1, ?5, ?6, ?2 WHERE ${witnessed}`)
      .bind(e.siteId, e.now, e.witnessId, key.kid, use, JSON.stringify(key.jwk));
  return [
    db.prepare(`UPDATE agent_keys SET retired_at = ?2 WHERE site_id = ?1 AND retired_at IS NULL AND ${witnessed}`).bind(e.siteId, e.now, e.witnessId),
    insert("sig", e.signing),
    insert("enc", e.encryption),
  ];
}

// ---- cameras

export async function siteCameras(db: D1Database, siteId: string): Promise<CameraRow[]> {
  const { results } = await db.prepare("SELECT * FROM cameras WHERE site_id = ? ORDER BY name").bind(siteId).all<CameraRow>();
  return results;
}

export function cameraUpsert(db: D1Database, c: { id: string; siteId: string; archiveId: string; name: string; latitude: number | null; longitude: number | null; direction: number | null; recorderId: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO cameras (id, site_id, archive_id, name, latitude, longitude, direction, recorder_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, archive_id) DO UPDATE SET name = excluded.name, latitude = excluded.latitude, longitude = excluded.longitude,
         direction = excluded.direction, recorder_id = excluded.recorder_id, updated_at = excluded.updated_at, removed_at = NULL`,
    )
    .bind(c.id, c.siteId, c.archiveId, c.name, c.latitude, c.longitude, c.direction, c.recorderId, c.now);
}

export function cameraRemove(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db.prepare("UPDATE cameras SET removed_at = ?, updated_at = ? WHERE id = ? AND removed_at IS NULL").bind(now, now, id);
}

/** Distance in metres between two points on the Earth (haversine, mean radius). */
export function distanceMetres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The organisation's cameras in service (or one site's), nearest first when `near` is given
 * (cameras without a location last), else by site and name.
 */
/**
 * Cameras in service: by site and name, or nearest first to `near` (cameras without a position
 * last), at most `limit`, after the camera `after` names: (site name, name, id), or with `near`
 * (squared equirectangular distance in degrees, id). The distance order is the flat-earth
 * approximation, exact enough to rank cameras within a city; `distanceMetres` is haversine.
 */
export async function listCameras(
  db: D1Database,
  orgId: string,
  filter: { siteId?: string; near?: { lat: number; lon: number } },
  after: SortKey | null,
  limit: number,
): Promise<(Camera & { sortKey: SortKey })[]> {
  const near = filter.near;
  const { results } = near
    ? await db
        .prepare(
          `SELECT * FROM (
             SELECT c.*, s.name AS site_name,
                    CASE WHEN c.latitude IS NULL OR c.longitude IS NULL THEN 1e300
                         ELSE (c.latitude - ?3) * (c.latitude - ?3) + ((c.longitude - ?4) * ?5) * ((c.longitude - ?4) * ?5) END AS d2
               FROM cameras c JOIN sites s ON s.id = c.site_id
              WHERE s.org_id = ?1 AND c.removed_at IS NULL AND (?2 IS NULL OR c.site_id = ?2))
            WHERE (?6 IS NULL OR d2 > ?6 OR (d2 = ?6 AND id > ?7))
            ORDER BY d2, id LIMIT ?8`,
        )
        .bind(orgId, filter.siteId ?? null, near.lat, near.lon, Math.cos((near.lat * Math.PI) / 180), after?.[0] ?? null, after?.[1] ?? null, limit)
        .all<CameraRow & { site_name: string; d2: number }>()
    : await db
        .prepare(
          `SELECT c.*, s.name AS site_name FROM cameras c JOIN sites s ON s.id = c.site_id
            WHERE s.org_id = ?1 AND c.removed_at IS NULL AND (?2 IS NULL OR c.site_id = ?2)
              AND (?3 IS NULL OR s.name > ?3 OR (s.name = ?3 AND (c.name > ?4 OR (c.name = ?4 AND c.id > ?5))))
            ORDER BY s.name, c.name, c.id LIMIT ?6`,
        )
        .bind(orgId, filter.siteId ?? null, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit)
        .all<CameraRow & { site_name: string; d2?: number }>();
  const cameras = results.map((row) => ({
    id: row.id,
    site: { id: row.site_id, name: row.site_name },
    archiveId: row.archive_id,
    name: row.name,
    latitude: row.latitude,
    longitude: row.longitude,
    direction: row.direction,
    recorderId: row.recorder_id,
    distanceMetres:
      near && row.latitude !== null && row.longitude !== null ? Math.round(distanceMetres(near, { lat: row.latitude, lon: row.longitude })) : null,
    updatedAt: row.updated_at,
    sortKey: near ? [row.d2!, row.id] : [row.site_name, row.name, row.id],
  }));
  return cameras;
}

/** Cameras by id, in service, with their site and organisation. */
export async function camerasByIds(db: D1Database, ids: string[]): Promise<(CameraRow & { org_id: string })[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT c.*, s.org_id FROM cameras c JOIN sites s ON s.id = c.site_id
        WHERE c.removed_at IS NULL AND c.id IN (SELECT value FROM json_each(?))`,
    )
    .bind(JSON.stringify(ids))
    .all<CameraRow & { org_id: string }>();
  return results;
}

// ---- requests

export function requestInsert(db: D1Database, r: { id: string; orgId: string; siteId: string; caseId: string; requestedBy: string; reason: string; start: string; end: string; expiresAt: string; now: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO video_requests (id, org_id, site_id, case_id, requested_by, reason, start_at, end_at, status, created_at, updated_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?)`,
    )
    .bind(r.id, r.orgId, r.siteId, r.caseId, r.requestedBy, r.reason, r.start, r.end, r.now, r.now, r.expiresAt);
}

export function clipInsert(db: D1Database, c: { id: string; requestId: string; cameraId: string; seq: number; start: string; end: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO video_clips (id, request_id, camera_id, seq, start_at, end_at, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')")
    .bind(c.id, c.requestId, c.cameraId, c.seq, c.start, c.end);
}

export async function findRequest(db: D1Database, id: string): Promise<RequestRow | null> {
  return db.prepare("SELECT * FROM video_requests WHERE id = ?").bind(id).first<RequestRow>();
}

export async function findClip(db: D1Database, id: string): Promise<(ClipRow & { site_id: string; request_status: RequestStatus; case_id: string; org_id: string }) | null> {
  return db
    .prepare(
      `SELECT k.*, r.site_id, r.status AS request_status, r.case_id, r.org_id FROM video_clips k JOIN video_requests r ON r.id = k.request_id
        WHERE k.id = ?`,
    )
    .bind(id)
    .first<ClipRow & { site_id: string; request_status: RequestStatus; case_id: string; org_id: string }>();
}

interface RequestListRow extends RequestRow {
  site_name: string;
  case_number: string;
  case_title: string;
  requester_name: string;
  decider_name: string | null;
}

const REQUEST_SQL = `
  SELECT r.*, s.name AS site_name, c.number AS case_number, c.title AS case_title, u.name AS requester_name, d.name AS decider_name
    FROM video_requests r JOIN sites s ON s.id = r.site_id JOIN cases c ON c.id = r.case_id
    JOIN users u ON u.id = r.requested_by LEFT JOIN users d ON d.id = r.decided_by`;

async function clipsOf(db: D1Database, requestIds: string[]): Promise<Map<string, VideoClip[]>> {
  const byRequest = new Map<string, VideoClip[]>();
  if (requestIds.length === 0) return byRequest;
  const { results } = await db
    .prepare(
      `SELECT k.*, m.name AS camera_name, m.archive_id FROM video_clips k JOIN cameras m ON m.id = k.camera_id
        WHERE k.request_id IN (SELECT value FROM json_each(?)) ORDER BY k.seq`,
    )
    .bind(JSON.stringify(requestIds))
    .all<ClipRow & { camera_name: string; archive_id: string }>();
  for (const row of results) {
    const list = byRequest.get(row.request_id) ?? [];
    list.push({
      id: row.id,
      camera: { id: row.camera_id, name: row.camera_name, archiveId: row.archive_id },
      start: row.start_at,
      end: row.end_at,
      status: row.status,
      byteSize: row.byte_size,
      footageStart: row.footage_start,
      footageEnd: row.footage_end,
      durationMs: row.duration_ms,
      exportedAt: row.exported_at,
      unavailable: row.unavailable,
      evidenceId: row.evidence_id,
    });
    byRequest.set(row.request_id, list);
  }
  return byRequest;
}

function toVideoRequest(row: RequestListRow, clips: VideoClip[], showCase: boolean): VideoRequest {
  return {
    id: row.id,
    site: { id: row.site_id, name: row.site_name },
    case: showCase ? { id: row.case_id, number: row.case_number, title: row.case_title } : null,
    requestedBy: { id: row.requested_by, name: row.requester_name },
    reason: row.reason,
    start: row.start_at,
    end: row.end_at,
    status: apiStatus(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    exportedAt: row.exported_at,
    expiresAt: row.expires_at,
    decidedBy: row.decided_by ? { id: row.decided_by, name: row.decider_name ?? "" } : null,
    decidedAt: row.decided_at,
    decisionNote: row.decision_note,
    deliveredAt: row.delivered_at,
    purgedAt: row.purged_at,
    clips,
  };
}

/**
 * Requests one person may see: for a site operator, their site's (without the case); for
 * anyone else, those whose target case they are a member of (with the case).
 */
export async function listRequests(
  db: D1Database,
  viewer: { userId: string; operatorSiteId: string | null },
  filter: { caseId?: string; status?: RequestStatus; id?: string },
  after: SortKey | null = null,
  limit = 1,
): Promise<VideoRequest[]> {
  const where = viewer.operatorSiteId
    ? "r.site_id = ?1"
    : "EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = r.case_id AND m.user_id = ?1)";
  const { results } = await db
    .prepare(
      `${REQUEST_SQL} WHERE ${where} AND (?2 IS NULL OR r.case_id = ?2) AND (?3 IS NULL OR (CASE WHEN r.status = 'delivered' AND r.delivered_by = 'upload' THEN 'delivered_by_upload' ELSE r.status END) = ?3) AND (?4 IS NULL OR r.id = ?4)
          AND (?5 IS NULL OR r.created_at < ?5 OR (r.created_at = ?5 AND r.id < ?6))
        ORDER BY r.created_at DESC, r.id DESC LIMIT ?7`,
    )
    .bind(viewer.operatorSiteId ?? viewer.userId, filter.caseId ?? null, filter.status ?? null, filter.id ?? null, after?.[0] ?? null, after?.[1] ?? null, limit)
    .all<RequestListRow>();
  const clips = await clipsOf(db, results.map((r) => r.id));
  return results.map((row) => toVideoRequest(row, clips.get(row.id) ?? [], viewer.operatorSiteId === null));
}

/** The site's requests its agent still has something to do for, oldest first. */
export async function agentWork(db: D1Database, siteId: string): Promise<(RequestRow & { clips: (ClipRow & CameraColumns)[] })[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM video_requests WHERE site_id = ?
          AND (status IN ('requested', 'exporting', 'held', 'approved') OR purged_at IS NULL)
        ORDER BY created_at LIMIT 200`,
    )
    .bind(siteId)
    .all<RequestRow>();
  if (results.length === 0) return [];
  const { results: clips } = await db
    .prepare(
      `SELECT k.*, m.archive_id, m.name AS camera_name, m.latitude, m.longitude, m.direction, m.recorder_id
         FROM video_clips k JOIN cameras m ON m.id = k.camera_id
        WHERE k.request_id IN (SELECT value FROM json_each(?)) ORDER BY k.seq`,
    )
    .bind(JSON.stringify(results.map((r) => r.id)))
    .all<ClipRow & CameraColumns>();
  return results.map((r) => ({ ...r, clips: clips.filter((k) => k.request_id === r.id) }));
}

export interface CameraColumns {
  archive_id: string;
  camera_name: string;
  latitude: number | null;
  longitude: number | null;
  direction: number | null;
  recorder_id: string;
}

export function toAgentClip(k: ClipRow & CameraColumns): AgentWorkItem["clips"][number] {
  return {
    id: k.id,
    camera: { id: k.camera_id, archiveId: k.archive_id, name: k.camera_name, latitude: k.latitude, longitude: k.longitude, direction: k.direction, recorderId: k.recorder_id },
    start: k.start_at,
    end: k.end_at,
    status: k.status,
    evidenceId: k.evidence_id,
  };
}

// ---- state changes (each guarded by the current status)

/** The clip starts (or restarts, after an agent restart) exporting; the request becomes exporting. */
export function clipExportingStatements(db: D1Database, clipId: string, requestId: string, now: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `UPDATE video_clips SET status = 'exporting' WHERE id = ?1 AND status IN ('pending', 'exporting')
            AND (SELECT status FROM video_requests WHERE id = ?2) IN ('requested', 'exporting')`,
      )
      .bind(clipId, requestId),
    db
      .prepare("UPDATE video_requests SET status = 'exporting', updated_at = ?2 WHERE id = ?1 AND status = 'requested'")
      .bind(requestId, now),
  ];
}

/** The clip is held at the site (or has no footage); only while its request is still open for export. */
export function clipDoneStatement(
  db: D1Database,
  clipId: string,
  requestId: string,
  outcome: { status: "held"; byteSize: number; footageStart: string; footageEnd: string; durationMs: number; now: string } | { status: "unavailable"; reason: string; now: string },
): D1PreparedStatement {
  const guard = "AND status IN ('pending', 'exporting') AND (SELECT status FROM video_requests WHERE id = ?2) IN ('requested', 'exporting')";
  if (outcome.status === "held") {
    return db
      .prepare(
        `UPDATE video_clips SET status = 'held', byte_size = ?3, footage_start = ?4, footage_end = ?5, duration_ms = ?6, exported_at = ?7
          WHERE id = ?1 ${guard}`,
      )
      .bind(clipId, requestId, outcome.byteSize, outcome.footageStart, outcome.footageEnd, outcome.durationMs, outcome.now);
  }
  return db.prepare(`UPDATE video_clips SET status = 'unavailable', unavailable = ?3 WHERE id = ?1 ${guard}`).bind(clipId, requestId, outcome.reason);
}

/**
 * Once no clip is left to export: the request becomes held (awaiting a decision, with a new
 * expiry) if any clip has footage, else unavailable. Changes nothing while clips remain.
 */
export function requestExportDoneStatement(db: D1Database, requestId: string, now: string, expiresAt: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE video_requests
          SET status = CASE WHEN EXISTS (SELECT 1 FROM video_clips WHERE request_id = ?1 AND status = 'held') THEN 'held' ELSE 'unavailable' END,
              exported_at = ?2, updated_at = ?2,
              expires_at = CASE WHEN EXISTS (SELECT 1 FROM video_clips WHERE request_id = ?1 AND status = 'held') THEN ?3 ELSE expires_at END,
              purged_at = CASE WHEN EXISTS (SELECT 1 FROM video_clips WHERE request_id = ?1 AND status = 'held') THEN NULL ELSE ?2 END
        WHERE id = ?1 AND status IN ('requested', 'exporting')
          AND NOT EXISTS (SELECT 1 FROM video_clips WHERE request_id = ?1 AND status IN ('pending', 'exporting'))`,
    )
    .bind(requestId, now, expiresAt);
}

/** A site operator's decision: approve only a held request; deny one not yet decided. Exactly one decision can win. */
export function decideStatement(db: D1Database, d: { requestId: string; decision: "approved" | "denied"; by: string; note: string | null; now: string }): D1PreparedStatement {
  const from = d.decision === "approved" ? "('held')" : "('requested', 'exporting', 'held')";
  return db
    .prepare(
      `UPDATE video_requests SET status = ?2, decided_by = ?3, decided_at = ?4, decision_note = ?5, updated_at = ?4
        WHERE id = ?1 AND status IN ${from}`,
    )
    .bind(d.requestId, d.decision, d.by, d.now, d.note);
}

/** Links evidence being delivered to its request and clip (same batch as the evidence row). */
export function evidenceLinkStatements(db: D1Database, e: { evidenceId: string; requestId: string; clipId: string }): D1PreparedStatement[] {
  return [
    db.prepare("UPDATE evidence SET request_id = ?, clip_id = ? WHERE id = ?").bind(e.requestId, e.clipId, e.evidenceId),
    db.prepare("UPDATE video_clips SET evidence_id = ? WHERE id = ? AND status = 'held' AND evidence_id IS NULL").bind(e.evidenceId, e.clipId),
  ];
}

/** The clip arrived in the case; the request is delivered once every held clip is. */
export function clipDeliveredStatements(db: D1Database, clipId: string, requestId: string, now: string): D1PreparedStatement[] {
  return [
    db.prepare("UPDATE video_clips SET status = 'delivered' WHERE id = ? AND status = 'held'").bind(clipId),
    db
      .prepare(
        `UPDATE video_requests SET status = 'delivered', delivered_at = ?2, updated_at = ?2
          WHERE id = ?1 AND status = 'approved' AND NOT EXISTS (SELECT 1 FROM video_clips WHERE request_id = ?1 AND status = 'held')`,
      )
      .bind(requestId, now),
  ];
}

/** The agent deleted its held copy of a closed request. */
export function purgedStatements(db: D1Database, requestId: string, now: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `UPDATE video_requests SET purged_at = ?2, updated_at = ?2
          WHERE id = ?1 AND purged_at IS NULL AND status IN ('delivered', 'denied', 'unavailable', 'expired')`,
      )
      .bind(requestId, now),
    db.prepare("UPDATE video_clips SET status = 'purged' WHERE request_id = ? AND status IN ('pending', 'exporting', 'held') AND changes() > 0").bind(requestId),
  ];
}

/** Open requests of the site whose time ran out, to expire. */
export async function dueForExpiry(db: D1Database, siteId: string, now: string): Promise<RequestRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM video_requests WHERE site_id = ? AND status IN ('requested', 'exporting', 'held') AND expires_at <= ? ORDER BY expires_at LIMIT 100")
    .bind(siteId, now)
    .all<RequestRow>();
  return results;
}

export function expireStatement(db: D1Database, requestId: string, now: string): D1PreparedStatement {
  return db
    .prepare("UPDATE video_requests SET status = 'expired', updated_at = ?2 WHERE id = ?1 AND status IN ('requested', 'exporting', 'held') AND expires_at <= ?2")
    .bind(requestId, now);
}

/** When the site's next open request expires (for its Durable Object's alarm). */
export async function nextExpiry(db: D1Database, siteId: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT min(expires_at) AS at FROM video_requests WHERE site_id = ? AND status IN ('requested', 'exporting', 'held')")
    .bind(siteId)
    .first<{ at: string | null }>();
  return row?.at ?? null;
}

/** The site whose agent is delivering this evidence (a requested video), if it is one. */
export async function deliveringSiteOf(db: D1Database, evidenceId: string): Promise<{ id: string; name: string } | null> {
  return db
    .prepare(
      `SELECT s.id, s.name FROM evidence e JOIN video_requests r ON r.id = e.request_id JOIN sites s ON s.id = r.site_id
        WHERE e.id = ?`,
    )
    .bind(evidenceId)
    .first<{ id: string; name: string }>();
}
