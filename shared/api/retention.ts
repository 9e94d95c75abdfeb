/** Retention, legal hold and disposition API shapes (docs/retention.md). */
import { z } from "zod";
import { Id } from "./schemas";

const Reason = z.string().trim().min(3, "Give a reason (at least 3 characters).").max(500);

export const DISPOSITIONS = ["solved", "unsolved", "no_further_action", "decided_in_court", "transferred", "other"] as const;
export const Disposition = z
  .enum(DISPOSITIONS)
  .meta({ id: "Disposition", description: "How a closed case ended: it starts the retention clocks of categories counted from the case's close." });
export type Disposition = z.infer<typeof Disposition>;

export const RetentionBasis = z
  .enum(["case_closed", "capture", "indefinite"])
  .meta({ id: "RetentionBasis", description: "case_closed: counted from when the case closes; capture: from when the item was received; indefinite: kept until someone decides otherwise." });
export type RetentionBasis = z.infer<typeof RetentionBasis>;

export const RetentionRule = z
  .discriminatedUnion("basis", [
    z.strictObject({ basis: z.literal("indefinite") }),
    z.strictObject({
      basis: z.enum(["case_closed", "capture"]),
      count: z.number().int().min(0).max(36500),
      unit: z.enum(["days", "years"]),
    }),
  ])
  .meta({ id: "RetentionRule" });
export type RetentionRule = z.infer<typeof RetentionRule>;

export const Category = z
  .object({ id: Id, name: z.string(), rule: RetentionRule, isDefault: z.boolean(), createdAt: z.string(), updatedAt: z.string() })
  .meta({ id: "RetentionCategory" });
export type Category = z.infer<typeof Category>;

export const CategoryList = z.object({ categories: z.array(Category) }).meta({ id: "RetentionCategoryList" });
export type CategoryList = z.infer<typeof CategoryList>;

export const CreateCategoryRequest = z
  .strictObject({ name: z.string().trim().min(1, "Enter a name.").max(80), rule: RetentionRule })
  .meta({ id: "CreateCategoryRequest" });
export type CreateCategoryRequest = z.input<typeof CreateCategoryRequest>;

export const UpdateCategoryRequest = z
  .strictObject({ name: z.string().trim().min(1).max(80).optional(), rule: RetentionRule.optional(), reason: Reason })
  .refine((b) => b.name !== undefined || b.rule !== undefined, "Nothing to change.")
  .meta({ id: "UpdateCategoryRequest" });
export type UpdateCategoryRequest = z.input<typeof UpdateCategoryRequest>;

export const RetentionSettings = z
  .object({
    defaultCategoryId: Id,
    autoDeleteAfterDays: z.number().int().min(1).max(365).nullable().meta({ description: "null: every deletion needs an administrator's approval. N: items due for N days are deleted by the daily job." }),
    binDays: z.number().int().min(1).max(365).meta({ description: "Days a deleted item stays in the recycle bin before it is purged." }),
  })
  .meta({ id: "RetentionSettings" });
export type RetentionSettings = z.infer<typeof RetentionSettings>;

export const UpdateRetentionSettingsRequest = z
  .strictObject({
    defaultCategoryId: Id.optional(),
    autoDeleteAfterDays: z.number().int().min(1).max(365).nullable().optional(),
    binDays: z.number().int().min(1, "At least 1 day.").max(365, "At most 365 days.").optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "Nothing to change.")
  .meta({ id: "UpdateRetentionSettingsRequest" });
export type UpdateRetentionSettingsRequest = z.input<typeof UpdateRetentionSettingsRequest>;

export const ChangeCategoryRequest = z.strictObject({ categoryId: Id, reason: Reason }).meta({ id: "ChangeCategoryRequest" });
export type ChangeCategoryRequest = z.input<typeof ChangeCategoryRequest>;

export const Hold = z
  .object({
    id: Id,
    caseId: Id,
    caseNumber: z.string(),
    evidenceId: Id.nullable(),
    reason: z.string(),
    setBy: z.object({ id: Id, name: z.string() }),
    setAt: z.string(),
    liftedBy: z.object({ id: Id, name: z.string() }).nullable(),
    liftedAt: z.string().nullable(),
    liftReason: z.string().nullable(),
  })
  .meta({ id: "LegalHold" });
export type Hold = z.infer<typeof Hold>;

export const HoldList = z.object({ holds: z.array(Hold) }).meta({ id: "LegalHoldList" });
export type HoldList = z.infer<typeof HoldList>;

export const PlaceHoldRequest = z
  .strictObject({ caseId: Id, evidenceId: Id.optional().meta({ description: "Hold one item; without it, the whole case." }), reason: Reason })
  .meta({ id: "PlaceHoldRequest" });
export type PlaceHoldRequest = z.input<typeof PlaceHoldRequest>;

export const LiftHoldRequest = z.strictObject({ reason: Reason }).meta({ id: "LiftHoldRequest" });
export type LiftHoldRequest = z.input<typeof LiftHoldRequest>;

export const DeletionRequest = z.strictObject({ reason: Reason }).meta({ id: "DeletionRequest" });
export type DeletionRequest = z.input<typeof DeletionRequest>;

/** An item on the "Due for deletion" report, in the recycle bin, or both sides of a decision. */
export const DisposalItem = z
  .object({
    evidenceId: Id,
    caseId: Id,
    caseNumber: z.string(),
    caseTitle: z.string(),
    caseStatus: z.enum(["open", "closed"]),
    disposition: z.string().nullable(),
    uploader: z.object({ id: Id, name: z.string() }),
    byteSize: z.number().int(),
    receivedAt: z.string(),
    category: z.object({ id: Id, name: z.string(), rule: RetentionRule }),
    dueAt: z.string().nullable().meta({ description: "When its retention ends or ended (null: kept indefinitely, or its clock has not started)." }),
    listedAt: z.string().nullable().meta({ description: "When the daily job found it past retention and listed it as due (null: not listed)." }),
    request: z.object({ by: z.object({ id: Id, name: z.string() }), at: z.string(), reason: z.string() }).nullable(),
    held: z.boolean().meta({ description: "Under a legal hold (of the item or its case): it cannot be deleted or purged." }),
    deletedAt: z.string().nullable(),
    deletedBy: z.object({ id: Id, name: z.string() }).nullable().meta({ description: "Who approved the deletion (null with deletedAt: the organisation's automatic deletion)." }),
    purgeAfter: z.string().nullable(),
    purging: z.boolean().meta({ description: "Its file key is deleted (crypto-shredded): the purge is under way and it can no longer be restored." }),
  })
  .meta({ id: "DisposalItem" });
export type DisposalItem = z.infer<typeof DisposalItem>;

export const DisposalList = z.object({ items: z.array(DisposalItem) }).meta({ id: "DisposalList" });
export type DisposalList = z.infer<typeof DisposalList>;

export const ApproveDeletionRequest = z
  .strictObject({ evidenceIds: z.array(Id).min(1).max(200) })
  .meta({ id: "ApproveDeletionRequest" });
export type ApproveDeletionRequest = z.input<typeof ApproveDeletionRequest>;

export const ApproveDeletionResult = z
  .object({
    deleted: z.array(Id).meta({ description: "Moved to the recycle bin." }),
    refused: z.array(z.object({ evidenceId: Id, code: z.string(), message: z.string() })),
  })
  .meta({ id: "ApproveDeletionResult" });
export type ApproveDeletionResult = z.infer<typeof ApproveDeletionResult>;

export const Tombstone = z
  .object({
    evidenceId: Id,
    caseId: Id,
    caseNumber: z.string(),
    manifestSha512: z.string().meta({ description: "SHA-512 (hex) of the item's signed manifest (compact JWS, ASCII), as its upload events record it." }),
    byteSize: z.number().int(),
    uploaderId: Id,
    receivedAt: z.string(),
    category: z.object({ id: Id.nullable(), name: z.string(), rule: z.string() }),
    reason: z.enum(["retention", "request"]),
    requestedBy: Id.nullable(),
    requestReason: z.string().nullable(),
    approvedBy: z.object({ id: Id, name: z.string() }).nullable().meta({ description: "null: deleted by the organisation's automatic deletion." }),
    deletedAt: z.string(),
    shreddedAt: z.string(),
    purgedAt: z.string().nullable(),
  })
  .meta({ id: "Tombstone" });
export type Tombstone = z.infer<typeof Tombstone>;

export const TombstoneList = z.object({ tombstones: z.array(Tombstone) }).meta({ id: "TombstoneList" });
export type TombstoneList = z.infer<typeof TombstoneList>;

/** Why an item still exists, or the proof that it was destroyed. */
export const RetentionStatus = z
  .object({
    evidenceId: Id,
    state: z.enum(["kept", "due", "requested", "in_bin", "purging", "purged"]),
    explanation: z.string().meta({ description: "In words: why it is kept, or what happened to it." }),
    category: z.object({ id: Id, name: z.string(), rule: RetentionRule }).nullable(),
    clockStartsAt: z.string().nullable(),
    dueAt: z.string().nullable().meta({ description: "When its retention ends (null: not yet known, or never)." }),
    holds: z.array(Hold),
    item: DisposalItem.nullable(),
    tombstone: Tombstone.nullable(),
  })
  .meta({ id: "RetentionStatus" });
export type RetentionStatus = z.infer<typeof RetentionStatus>;

export const GoneRequest = z.strictObject({ evidenceIds: z.array(Id).max(1000) }).meta({ id: "GoneRequest" });
export type GoneRequest = z.input<typeof GoneRequest>;
export const GoneList = z
  .object({ gone: z.array(Id).meta({ description: "Of the ids asked about, those this user can no longer open (deleted, purged, or no longer theirs to see): drop any copy." }) })
  .meta({ id: "GoneList" });
export type GoneList = z.infer<typeof GoneList>;

export const RunResult = z
  .object({ due: z.number().int(), cleared: z.number().int(), autoDeleted: z.number().int(), purged: z.number().int() })
  .meta({ id: "RetentionRunResult" });
export type RunResult = z.infer<typeof RunResult>;

export const RestoreRequest = z.strictObject({ reason: Reason }).meta({ id: "RestoreRequest" });
/** No query parameters: an unknown one is refused (400), not ignored. */
export const NoQuery = z.strictObject({});
export type RestoreRequest = z.input<typeof RestoreRequest>;

export const HoldIdParam = z.strictObject({ id: Id });
export const CategoryIdParam = z.strictObject({ id: Id });
export const ItemIdParam = z.strictObject({ id: Id });

export const DISPOSITION_LABELS: Record<Disposition, string> = {
  solved: "Solved",
  unsolved: "Unsolved",
  no_further_action: "No further action",
  decided_in_court: "Decided in court",
  transferred: "Transferred to another agency",
  other: "Other",
};

/** A case's disposition in words (`not_recorded`: closed before dispositions were recorded, migration 0018). */
export function dispositionLabel(value: string): string {
  return (DISPOSITION_LABELS as Record<string, string>)[value] ?? (value === "not_recorded" ? "Not recorded (closed before dispositions)" : value);
}

/** A rule in words: "Kept 3 years after the case closes". */
export function describeRule(rule: RetentionRule): string {
  if (rule.basis === "indefinite") return "Kept indefinitely";
  const unit = rule.count === 1 ? rule.unit.slice(0, -1) : rule.unit;
  return `Kept ${rule.count} ${unit} after ${rule.basis === "case_closed" ? "the case closes" : "capture"}`;
}

/** `start` plus the rule's period, ISO 8601 (a year from 29 February ends on 1 March). */
export function addPeriod(start: string, rule: Exclude<RetentionRule, { basis: "indefinite" }>): string {
  const at = new Date(start);
  if (rule.unit === "days") at.setUTCDate(at.getUTCDate() + rule.count);
  else at.setUTCFullYear(at.getUTCFullYear() + rule.count);
  return at.toISOString();
}
