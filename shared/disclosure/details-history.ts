/**
 * An item's details history in a case package (docs/evidence-format.md §10.3): `details.json`
 * in the item's folder, every version of its title, description and tags, oldest first, each
 * with who made it and when, in the clear and as the JWE under the file key it was saved as.
 * The folder's file key opens each JWE, and the item's audit extract records each edit
 * (`evidence.details_edit` with the version, or `evidence.file` with `detailsVersion` for details
 * given as a capture was filed, by the same person), so the verifier proves both
 * what each version said and who made it.
 */
import { z } from "zod";
import type { AuditEvent } from "../audit/chain";
import { decryptDetails, EvidenceDetails } from "../crypto/details";
import { IntegrityError } from "../crypto/errors";

export const DETAILS_ENTRY = "details.json";
export const DETAILS_HISTORY_TYP = "custody-details-history";
export const DETAILS_HISTORY_VERSION = 1;

const Hex32 = z.string().regex(/^[0-9a-f]{32}$/);

export const DetailsHistory = z.strictObject({
  typ: z.literal(DETAILS_HISTORY_TYP),
  v: z.literal(DETAILS_HISTORY_VERSION),
  evidenceId: Hex32,
  versions: z
    .array(
      z.strictObject({
        version: z.number().int().min(1),
        editedAt: z.string(),
        editedBy: z.strictObject({ id: z.string(), name: z.string() }),
        title: z.string(),
        description: z.string(),
        tags: z.array(z.string()),
        /** The player's markers, where the version has any (evidence-format.md §5.1). */
        markers: z.array(z.strictObject({ t: z.number(), note: z.string() })).optional(),
        jwe: z.string(),
      }),
    )
    .min(1),
});
export type DetailsHistory = z.infer<typeof DetailsHistory>;

/** One version as the server lists it (`GET /api/evidence/<id>/details/versions`). */
export interface DetailsVersionInput {
  version: number;
  jwe: string;
  editedBy: { id: string; name: string };
  editedAt: string;
}

/** The history to write: each version decrypted with the item's file key (throws IntegrityError if one does not open). */
export async function detailsHistory(evidenceId: string, versions: DetailsVersionInput[], fileKey: Uint8Array): Promise<DetailsHistory> {
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  const out: DetailsHistory["versions"] = [];
  for (const v of sorted) {
    const details = await decryptDetails(v.jwe, fileKey).catch((cause: unknown) => {
      throw new IntegrityError("details", `version ${v.version} does not open with this item's file key`, { cause });
    });
    out.push({ version: v.version, editedAt: v.editedAt, editedBy: { id: v.editedBy.id, name: v.editedBy.name }, ...details, jwe: v.jwe });
  }
  return { typ: DETAILS_HISTORY_TYP, v: DETAILS_HISTORY_VERSION, evidenceId, versions: out };
}

/** The latest version's fields (what case.json and the report show), or undefined for no history. */
export function latestDetails(history: DetailsHistory | undefined): EvidenceDetails | undefined {
  const last = history?.versions.at(-1);
  return last ? { title: last.title, description: last.description, tags: last.tags } : undefined;
}

/**
 * Checks a history against the item: numbered 1, 2, … in order; each JWE opens with the file key
 * to exactly the fields stated beside it; each version's edit is in the verified audit events, by
 * the person it names (version 1 may instead come with the upload, by its uploader). Returns a
 * line for the report; throws Error naming the first problem.
 */
export async function checkDetailsHistory(history: DetailsHistory, evidenceId: string, fileKey: Uint8Array, events: AuditEvent[]): Promise<string> {
  if (history.evidenceId !== evidenceId) throw new Error(`${DETAILS_ENTRY} is of evidence ${history.evidenceId}, not ${evidenceId}`);
  for (const [i, v] of history.versions.entries()) {
    if (v.version !== i + 1) throw new Error(`${DETAILS_ENTRY}: version ${v.version} where ${i + 1} was expected`);
    let opened: EvidenceDetails;
    try {
      opened = await decryptDetails(v.jwe, fileKey);
    } catch {
      throw new Error(`${DETAILS_ENTRY}: version ${v.version} does not open with this item's file key (changed, or not this item's)`);
    }
    if (JSON.stringify(opened) !== JSON.stringify({ title: v.title, description: v.description, tags: v.tags, ...(v.markers ? { markers: v.markers } : {}) })) {
      throw new Error(`${DETAILS_ENTRY}: version ${v.version} states other details than its encrypted copy holds`);
    }
    const recorded = events.some(
      (e) =>
        e.outcome === "success" &&
        e.actor.id === v.editedBy.id &&
        ((e.action === "evidence.details_edit" && (e.details as { version?: unknown }).version === v.version) ||
          // A capture's title and tags, given as it was filed into the case (evidence-format.md §6.2).
          (e.action === "evidence.file" && (e.details as { detailsVersion?: unknown }).detailsVersion === v.version) ||
          (v.version === 1 && e.action === "evidence.upload_start")),
    );
    if (!recorded) throw new Error(`${DETAILS_ENTRY}: version ${v.version} by ${v.editedBy.name} has no matching edit in the audit extract`);
  }
  return `${history.versions.length} version(s), each opened with the item's file key and matched to its edit in the audit extract`;
}
