/**
 * Video requests API shapes: sites and their agent, the camera registry, requests and their
 * lifecycle (docs/agent.md). Held clips and their keys never pass through here: they stay at
 * the site until an approval sends them into the case as ordinary encrypted evidence.
 */
import { z } from "zod";
import { NextCursor, PageQuery } from "./paging";
import { CompactJwe, Id, PublicJwk } from "./schemas";

/** The longest time range one request may cover. */
export const MAX_REQUEST_MS = 2 * 60 * 60 * 1000;
/** A longer range is cut into clips of this length (per camera). */
export const CLIP_MS = 60 * 60 * 1000;
/** At most this many exports run at once on a site's agent. */
export const MAX_CONCURRENT_EXPORTS = 5;
/** Default days a held clip waits for a decision before it expires. */
export const DEFAULT_HOLD_DAYS = 30;
/** Cameras one request may name. */
export const MAX_REQUEST_CAMERAS = 20;

const Kid = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "Not a valid key id.");
const CompactJws = z
  .string()
  .max(64 * 1024)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "Expected a compact JWS.");
const Instant = z.iso.datetime({ offset: true, message: "Expected a date and time (ISO 8601)." }).transform((s) => new Date(s).toISOString());
const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);

export const REQUEST_STATUSES = ["requested", "exporting", "held", "approved", "delivered", "delivered_by_upload", "denied", "unavailable", "expired"] as const;
export const RequestStatus = z.enum(REQUEST_STATUSES).meta({
  id: "VideoRequestStatus",
  description:
    "requested → exporting → held (awaiting approval) → approved → delivered; or delivered_by_upload (the site's contact sent the footage through the request's submission link, docs/submissions.md §7); or denied; or unavailable (no footage for the range); or expired (no decision in time: the held copy is deleted).",
});
export type RequestStatus = z.infer<typeof RequestStatus>;

export const CLIP_STATUSES = ["pending", "exporting", "held", "unavailable", "delivered", "purged"] as const;
export const ClipStatus = z.enum(CLIP_STATUSES).meta({ id: "VideoClipStatus" });
export type ClipStatus = z.infer<typeof ClipStatus>;

// ---- sites

export const AgentStatus = z
  .object({
    enrolled: z.boolean(),
    enrolledAt: z.string().nullable(),
    connected: z.boolean().meta({ description: "The agent's live connection (WebSocket) is open now." }),
    lastSeenAt: z.string().nullable().meta({ description: "The agent's last signed request or connection." }),
  })
  .meta({ id: "AgentStatus" });
export type AgentStatus = z.infer<typeof AgentStatus>;

export const Site = z
  .object({
    id: Id,
    name: z.string(),
    address: z.string(),
    holdDays: z.number().int(),
    cameraCount: z.number().int(),
    agent: AgentStatus,
    operators: z.array(z.object({ id: Id, name: z.string(), email: z.string() })),
    createdAt: z.string(),
  })
  .meta({ id: "Site" });
export type Site = z.infer<typeof Site>;

export const SiteList = z.object({ sites: z.array(Site), nextCursor: NextCursor }).meta({ id: "SiteList" });
export type SiteList = z.infer<typeof SiteList>;

export const CreateSiteRequest = z
  .strictObject({
    name: z.string().trim().min(1, "Enter the site's name.").max(200),
    address: z.string().trim().max(500).default(""),
    holdDays: z.number().int().min(1).max(365).default(DEFAULT_HOLD_DAYS).meta({ description: "Days a held clip waits for a decision before it expires." }),
  })
  .meta({ id: "CreateSiteRequest" });
export type CreateSiteRequest = z.input<typeof CreateSiteRequest>;

/** The configuration file an administrator downloads for a site's agent (`npm run agent -- --config site.json`). */
export const SiteConfigFile = z
  .object({
    type: z.literal("custody-site-config"),
    v: z.literal(1),
    server: z.string().meta({ description: "The Custody server's URL." }),
    siteId: Id,
    siteName: z.string(),
    enrolmentToken: z.string().meta({ description: "One-time: the agent uses it once to register its keys. Shown once; the server keeps only its SHA-256." }),
    enrolmentExpiresAt: z.string(),
    archive: z.string().meta({ description: "The recording archive folder (edit at the site)." }),
    dataDir: z.string().meta({ description: "Where the agent keeps its private keys and held clips (edit at the site)." }),
    cameras: z.array(z.object({})).meta({ description: "The site's cameras (filled in at the site, see docs/agent.md)." }),
  })
  .meta({ id: "SiteConfigFile" });
export type SiteConfigFile = z.infer<typeof SiteConfigFile>;

export const SiteCreated = z.object({ site: Site, config: SiteConfigFile }).meta({ id: "SiteCreated" });
export type SiteCreated = z.infer<typeof SiteCreated>;

export const SiteIdParam = z.strictObject({ id: Id });
export const SiteOperatorParam = z.strictObject({ id: Id, userId: Id });

// ---- cameras

export const Camera = z
  .object({
    id: Id,
    site: z.object({ id: Id, name: z.string() }),
    archiveId: z.string(),
    name: z.string(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    direction: z.number().int().nullable().meta({ description: "Degrees clockwise from north the camera faces; null if not known." }),
    recorderId: z.string(),
    distanceMetres: z.number().nullable().meta({ description: "From the point asked for (`near`), when given and the camera has a location." }),
    updatedAt: z.string(),
  })
  .meta({ id: "Camera" });
export type Camera = z.infer<typeof Camera>;

export const CameraList = z.object({ cameras: z.array(Camera), nextCursor: NextCursor }).meta({ id: "CameraList" });
export type CameraList = z.infer<typeof CameraList>;

export const CameraQuery = z
  .strictObject({
    siteId: Id.optional(),
    lat: z.coerce.number().min(-90).max(90).optional(),
    lon: z.coerce.number().min(-180).max(180).optional(),
    ...PageQuery.shape,
  })
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), "Give both lat and lon, or neither.")
  .meta({ id: "CameraQuery" });

// ---- requests

export const CreateVideoRequest = z
  .strictObject({
    caseId: Id.meta({ description: "The case the video is for; you must be a contributor or lead." }),
    cameraIds: z.array(Id).min(1, "Choose at least one camera.").max(MAX_REQUEST_CAMERAS).meta({ description: "Cameras of one site." }),
    start: Instant,
    end: Instant,
    reason: z.string().trim().min(1, "Say why the video is needed.").max(2000),
  })
  .superRefine((r, ctx) => {
    const start = Date.parse(r.start);
    const end = Date.parse(r.end);
    if (!(end > start)) ctx.addIssue({ code: "custom", path: ["end"], message: "The end must be after the start." });
    else if (end - start > MAX_REQUEST_MS) ctx.addIssue({ code: "custom", path: ["end"], message: "A request covers at most 2 hours. Split a longer range into several requests." });
  })
  .meta({ id: "CreateVideoRequest" });
export type CreateVideoRequest = z.input<typeof CreateVideoRequest>;

export const VideoClip = z
  .object({
    id: Id,
    camera: z.object({ id: Id, name: z.string(), archiveId: z.string() }),
    start: z.string(),
    end: z.string(),
    status: ClipStatus,
    byteSize: z.number().int().nullable(),
    footageStart: z.string().nullable(),
    footageEnd: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    exportedAt: z.string().nullable(),
    unavailable: z.string().nullable().meta({ description: "Why there is no footage, when unavailable." }),
    evidenceId: Id.nullable(),
  })
  .meta({ id: "VideoClip" });
export type VideoClip = z.infer<typeof VideoClip>;

export const VideoRequest = z
  .object({
    id: Id,
    site: z.object({ id: Id, name: z.string() }),
    case: z
      .object({ id: Id, number: z.string(), title: z.string() })
      .nullable()
      .meta({ description: "The target case: shown to its members only (null for site operators)." }),
    requestedBy: z.object({ id: Id, name: z.string() }),
    reason: z.string(),
    start: z.string(),
    end: z.string(),
    status: RequestStatus,
    createdAt: z.string(),
    updatedAt: z.string(),
    exportedAt: z.string().nullable(),
    expiresAt: z.string(),
    decidedBy: z.object({ id: Id, name: z.string() }).nullable(),
    decidedAt: z.string().nullable(),
    decisionNote: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    purgedAt: z.string().nullable().meta({ description: "When the agent confirmed its held copy deleted." }),
    clips: z.array(VideoClip),
  })
  .meta({ id: "VideoRequest" });
export type VideoRequest = z.infer<typeof VideoRequest>;

export const VideoRequestList = z.object({ requests: z.array(VideoRequest), nextCursor: NextCursor }).meta({ id: "VideoRequestList" });
export type VideoRequestList = z.infer<typeof VideoRequestList>;

export const VideoRequestQuery = z
  .strictObject({ caseId: Id.optional(), status: RequestStatus.optional(), ...PageQuery.shape })
  .meta({ id: "VideoRequestQuery" });

export const DenyRequest = z
  .strictObject({ note: z.string().trim().max(2000).meta({ description: "Why, for the requester (may be empty)." }) })
  .meta({ id: "DenyVideoRequest" });
export type DenyRequest = z.input<typeof DenyRequest>;

export const VideoRequestIdParam = z.strictObject({ id: Id });

// ---- the agent's API (signed requests, see shared/agent/signature.ts)

export const EnrolRequest = z
  .strictObject({
    siteId: Id,
    token: z.string().min(1).max(200),
    signingKey: PublicJwk.meta({ description: "The agent's new ES512 public key; the request is signed with its private half." }),
    encryptionKey: PublicJwk.meta({ description: "The agent's new ECDH P-521 public key." }),
  })
  .meta({ id: "AgentEnrolRequest" });
export type EnrolRequest = z.input<typeof EnrolRequest>;

export const AgentSite = z
  .object({ id: Id, name: z.string(), holdDays: z.number().int(), signingKid: z.string(), encryptionKid: z.string() })
  .meta({ id: "AgentSite" });
export type AgentSite = z.infer<typeof AgentSite>;

export const AgentCamera = z.strictObject({
  archiveId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "Letters, digits, dot, dash and underscore (the camera's archive folder)."),
  name: z.string().trim().min(1).max(200),
  latitude: Latitude.nullable().default(null),
  longitude: Longitude.nullable().default(null),
  direction: z.number().int().min(0).max(359).nullable().default(null),
  recorderId: z.string().trim().max(200).default(""),
});
export type AgentCamera = z.input<typeof AgentCamera>;

export const SyncCamerasRequest = z
  .strictObject({ cameras: z.array(AgentCamera).max(500) })
  .refine((b) => new Set(b.cameras.map((c) => c.archiveId)).size === b.cameras.length, "Each camera's archiveId must be unique.")
  .meta({ id: "SyncCamerasRequest" });
export type SyncCamerasRequest = z.input<typeof SyncCamerasRequest>;

export const SyncCamerasResult = z
  .object({ added: z.number().int(), updated: z.number().int(), removed: z.number().int() })
  .meta({ id: "SyncCamerasResult" });

/** A request as the site's agent sees it: what to cut, and on approval where it goes. */
export const AgentWorkItem = z
  .object({
    id: Id,
    status: RequestStatus,
    start: z.string(),
    end: z.string(),
    purged: z.boolean(),
    clips: z.array(
      z.object({
        id: Id,
        camera: z.object({ id: Id, archiveId: z.string(), name: z.string(), latitude: z.number().nullable(), longitude: z.number().nullable(), direction: z.number().int().nullable(), recorderId: z.string() }),
        start: z.string(),
        end: z.string(),
        status: ClipStatus,
        evidenceId: Id.nullable(),
      }),
    ),
    delivery: z
      .object({ caseId: Id, caseKey: z.object({ kid: Kid, publicJwk: PublicJwk }) })
      .nullable()
      .meta({ description: "Only once approved: the target case and its current public key." }),
  })
  .meta({ id: "AgentWorkItem" });
export type AgentWorkItem = z.infer<typeof AgentWorkItem>;

export const AgentWork = z.object({ requests: z.array(AgentWorkItem) }).meta({ id: "AgentWork" });
export type AgentWork = z.infer<typeof AgentWork>;

export const ClipHeldRequest = z
  .strictObject({
    byteSize: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    footageStart: Instant,
    footageEnd: Instant,
    durationMs: z.number().int().min(0),
  })
  .meta({ id: "ClipHeldRequest" });
export type ClipHeldRequest = z.input<typeof ClipHeldRequest>;

export const ClipUnavailableRequest = z
  .strictObject({ reason: z.string().trim().min(1).max(500) })
  .meta({ id: "ClipUnavailableRequest" });
export type ClipUnavailableRequest = z.input<typeof ClipUnavailableRequest>;

export const ClipEvidenceRequest = z
  .strictObject({
    evidenceId: Id,
    manifest: CompactJws.meta({ description: "Signed by the agent's key; names the request, and its metadata JWE carries the camera's details." }),
    fileKey: z.strictObject({ caseKid: Kid, jwe: CompactJwe }).meta({ description: "The file key re-wrapped from the site's key to the case key." }),
    label: CompactJwe,
  })
  .meta({ id: "ClipEvidenceRequest" });
export type ClipEvidenceRequest = z.input<typeof ClipEvidenceRequest>;

export const ClipUpload = z
  .object({ evidenceId: Id, partCount: z.number().int(), received: z.array(z.number().int()).meta({ description: "Parts the server already has (a retried delivery resumes)." }) })
  .meta({ id: "ClipUpload" });
export type ClipUpload = z.infer<typeof ClipUpload>;

export const ClipIdParam = z.strictObject({ id: Id });
export const LiveQuery = z.strictObject({ auth: z.string().min(1).max(8192) });
