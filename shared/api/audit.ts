/** Audit trail API shapes (docs/audit.md). */
import { z } from "zod";
import { Id } from "./schemas";

const IsoTime = z.iso.datetime({ offset: true, message: "Use an ISO 8601 date and time." });

export const AuditEventSchema = z
  .object({
    version: z.literal(1),
    id: z.string(),
    seq: z.number().int(),
    at: z.string(),
    recordedOffline: z.object({ at: z.string() }).optional(),
    actor: z.object({ type: z.enum(["user", "agent", "system", "anonymous"]), id: z.string().nullable(), label: z.string().nullable().optional() }),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string().nullable() }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    outcome: z.enum(["success", "denied", "failed"]),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: "AuditEvent", description: "One event of the organisation's hash chain." });

export const AuditQuery = z
  .strictObject({
    actorId: Id.optional(),
    action: z.string().max(64).regex(/^[a-z_.]+$/, "Not a valid action.").optional(),
    targetType: z.string().max(32).regex(/^[a-z_]+$/, "Not a valid target type.").optional(),
    targetId: z.string().max(64).optional(),
    caseId: Id.optional(),
    evidenceId: Id.optional(),
    outcome: z.enum(["success", "denied", "failed"]).optional(),
    ip: z.string().max(64).optional(),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    order: z.enum(["asc", "desc"]).optional().meta({ description: "asc (default): chain order from `after`; desc: newest first, from before `after`." }),
    after: z.coerce.number().int().min(0).optional().meta({ description: "The `next` of the previous page." }),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .meta({ id: "AuditQuery" });
export type AuditQuery = z.input<typeof AuditQuery>;

export const CaseHistoryQuery = AuditQuery.pick({ after: true, limit: true, order: true }).meta({ id: "CaseHistoryQuery" });

/** A kept checkpoint's tree size: a filtered export then also carries that checkpoint (docs/audit.md §4, §6 rule 6). */
const KeptCheckpointSize = z.coerce
  .number()
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .optional()
  .meta({ description: "The tree size of a checkpoint you kept (a copy of /.well-known/custody/audit.json): a filtered export then also carries the log's checkpoint of that size, so `npm run audit:verify -- --checkpoint` can check it. Full exports carry every checkpoint." });

export const AuditExportQuery = AuditQuery.omit({ after: true, limit: true, order: true })
  .extend({ format: z.enum(["jsonl", "csv"]).default("jsonl"), checkpoint: KeptCheckpointSize })
  .meta({ id: "AuditExportQuery" });

/** The query of an item's audit extract: only the kept checkpoint to include. */
export const AuditExtractQuery = z.object({ checkpoint: KeptCheckpointSize }).meta({ id: "AuditExtractQuery" });

export const AuditPage = z
  .object({
    events: z.array(AuditEventSchema),
    next: z.number().int().nullable().meta({ description: "Pass as `after` for the next page; null at the end." }),
  })
  .meta({ id: "AuditPage" });
export type AuditPage = z.infer<typeof AuditPage>;

export const AuditSigningKeys = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())) })
  .meta({ id: "AuditSigningKeys", description: "Public ES512 JWKs that sign the chain's checkpoints." });

export const PublicAuditDocumentSchema = z
  .object({
    type: z.literal("custody-audit-public"),
    v: z.literal(1),
    orgId: z.string(),
    checkpoint: z.string().meta({ description: "The latest checkpoint: compact JWS, ES512, typ custody-audit-checkpoint+jws." }),
    treeSize: z.number().int(),
    rootHash: z.string().meta({ description: "RFC 9162 root (SHA-256, lowercase hex) the checkpoint signs." }),
    at: z.string(),
    signingKeys: z.array(z.record(z.string(), z.unknown())),
  })
  .meta({ id: "PublicAuditDocument", description: "GET /.well-known/custody/audit.json (docs/audit.md §3.3)." });

/** Actions a device may record while offline and send later. */
export const OFFLINE_ACTIONS = ["evidence.view", "evidence.download", "evidence.export"] as const;

export const OfflineEventsRequest = z
  .strictObject({
    events: z
      .array(
        z.strictObject({
          id: Id.optional().meta({ description: "The device's id for the event (32 hex). An event sent again with the same id is recorded once." }),
          action: z.enum(OFFLINE_ACTIONS),
          target: z.strictObject({ type: z.literal("evidence"), id: Id }),
          at: IsoTime.meta({ description: "The device's time of the action." }),
          details: z.record(z.string(), z.union([z.string().max(200), z.number(), z.boolean()])).default({}),
        }),
      )
      .min(1)
      .max(100),
  })
  .meta({ id: "OfflineEventsRequest" });
export type OfflineEventsRequest = z.input<typeof OfflineEventsRequest>;

export const OfflineEventsAccepted = z
  .object({
    accepted: z.number().int().meta({ description: "Events recorded by this request." }),
    duplicates: z.number().int().meta({ description: "Events whose id had been received before: not recorded again." }),
  })
  .meta({ id: "OfflineEventsAccepted" });
