/** The layout and index (case.json) of a case package (docs/evidence-format.md §10), shared by its builder, report and verifier. */
import { z } from "zod";
import type { AuditEvent } from "../audit/chain";
import { toHex } from "../crypto/encoding";
import type { Manifest } from "../crypto/manifest";

export const CASE_PACKAGE_TYP = "custody-case-package";
export const CASE_PACKAGE_VERSION = 1;

/** Entries at the top of a case package, in order; then the item folders. */
export const CASE_ENTRY = { verify: "VERIFY.txt", index: "case.json", sums: "SHA512SUMS", report: "chain-of-custody.pdf" } as const;
/** The item's audit extract inside its folder, just before the original. */
export const ITEM_AUDIT_ENTRY = "audit.jsonl";
export const ITEMS_DIR = "items/";

/** Folder of item `index` (0-based): `items/001-<first 8 hex of its id>/`. */
export function itemFolder(index: number, evidenceId: string): string {
  return `${ITEMS_DIR}${String(index + 1).padStart(3, "0")}-${evidenceId.slice(0, 8)}/`;
}

const Hex = z.string().regex(/^[0-9a-f]+$/);
/** case.json: what the package holds. Not signed: the verifier checks it against every item's signed manifest. */
export const CaseIndex = z
  .strictObject({
    typ: z.literal(CASE_PACKAGE_TYP),
    v: z.literal(CASE_PACKAGE_VERSION),
    case: z.strictObject({ id: Hex.length(32), number: z.string(), title: z.string() }),
    exportedAt: z.iso.datetime(),
    exportedBy: z.string(),
    items: z.array(
      z.strictObject({
        folder: z.string(),
        evidenceId: Hex.length(32),
        original: z.string(),
        fileName: z.string(),
        mediaType: z.string(),
        byteSize: z.number().int().nonnegative(),
        sha512: Hex.length(128),
        /** The latest edited details (details.json in the folder holds every version), when the item has any. */
        details: z.strictObject({ version: z.number().int().min(1), title: z.string(), description: z.string(), tags: z.array(z.string()) }).optional(),
      }),
    ),
  });
export type CaseIndex = z.infer<typeof CaseIndex>;

/** SHA512SUMS as `sha512sum -c` reads it: one "<hex>  <path>" line per original, LF. */
export function sha512SumsText(index: CaseIndex): string {
  return index.items.map((item) => `${item.sha512}  ${item.original}\n`).join("");
}

/** The audit events of an extract (JSON lines), in chain order, unverified: for the readable report only. */
export function extractEvents(extract: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of extract.split("\n")) {
    if (!line.trim()) continue;
    const parsed = JSON.parse(line) as { type?: string; inclusion?: unknown } & AuditEvent;
    if (parsed.type !== "event") continue;
    const { type: _type, inclusion: _inclusion, ...event } = parsed;
    events.push(event as AuditEvent);
  }
  return events;
}

/**
 * How an item signed for somewhere else came into case `caseId`, from the verified audit extract:
 * a file accepted from a submission link (`submission.accept`, the manifest signed for that link)
 * or a capture filed from its uploader's holding place (`evidence.file`, a `captures` manifest);
 * each event names the item, the case and the SHA-512 of this manifest. Null when none does.
 */
export async function movedInto(manifest: Manifest, manifestBytes: Uint8Array, events: AuditEvent[], caseId: string): Promise<string | null> {
  const manifestSha512 = toHex(new Uint8Array(await crypto.subtle.digest("SHA-512", manifestBytes as Uint8Array<ArrayBuffer>)));
  for (const e of events) {
    const d = e.details as { evidenceId?: unknown; caseId?: unknown; manifestSha512?: unknown; linkId?: unknown };
    if (e.outcome !== "success" || d.evidenceId !== manifest.evidenceId || d.caseId !== caseId || d.manifestSha512 !== manifestSha512) continue;
    if (e.action === "submission.accept" && d.linkId === manifest.caseId) return `sent through submission link ${manifest.caseId} and accepted into case ${caseId} (audit event ${e.seq})`;
    if (e.action === "evidence.file" && manifest.scope === "captures") return `captured first and filed into case ${caseId} (audit event ${e.seq})`;
  }
  return null;
}
