/**
 * The case package's chain-of-custody report (chain-of-custody.pdf): a readable summary for a
 * court, per item the case number, its title (when its details were edited) and file name,
 * SHA-512, signer, upload and capture times, trusted time, the details' versions and its audit
 * events in plain words; ids only in the details column and the item's "Ids" line. Built with pdf-lib's standard fonts in the browser, Node or Deno.
 * It is not signed: the item folders prove what it says (docs/evidence-format.md §10).
 */
import { PDFDocument } from "pdf-lib";
import type { AuditEvent } from "../audit/chain";
import { actorText, describeAction, OUTCOME_LABELS, utcTime } from "../audit/format";
import { signerRecord } from "../audit/signers";
import type { PackageItemFiles } from "../crypto/package";
import { embedFonts, footers, GREY, Layout, table, WIDTH, type Column } from "../report/pdf-layout";
import { extractEvents, type CaseIndex } from "./case-index";
import type { DetailsHistory } from "./details-history";

export interface CaseReportInput {
  index: CaseIndex;
  items: { files: PackageItemFiles; signerRegister: string; events: AuditEvent[]; details?: DetailsHistory | undefined }[];
}

/** The events table: who and what in words; the recorded ids, IP and sequence number only in the last column. */
function columns(item: string, names: Map<string, string>): readonly Column<AuditEvent>[] {
  const who = (e: AuditEvent) => {
    const name = e.actor.type === "user" && e.actor.id ? names.get(e.actor.id) : undefined;
    return name ? `${name} (${actorText(e.actor)})` : actorText(e.actor);
  };
  const what = (e: AuditEvent) => {
    const words = describeAction(e, { item: () => item }, { inCase: true });
    return e.action === "evidence.details_edit" && typeof e.details["version"] === "number" ? `${words} (version ${e.details["version"]})` : words;
  };
  const ids = (e: AuditEvent) => [`seq ${e.seq}`, e.ip ? `IP ${e.ip}` : "", e.target.type !== "evidence" && e.target.id ? `${e.target.type} ${e.target.id}` : ""].filter(Boolean).join(", ");
  return [
    { title: "Time (UTC)", width: 72, cell: (e) => utcTime(e.at).replace(" UTC", "") },
    { title: "Who", width: 120, cell: who },
    { title: "What", width: 150, cell: what },
    { title: "Outcome", width: 48, cell: (e) => OUTCOME_LABELS[e.outcome], bold: (e) => e.outcome !== "success" },
    { title: "Details", width: WIDTH - 72 - 120 - 150 - 48, cell: ids },
  ];
}

/** Who holds the key, from the register export (unverified here; the verifier checks it). */
function signerText(register: string, kid: string): string {
  const record = signerRecord(extractEvents(register), kid);
  if (typeof record === "string") return "not in the key register extract";
  const holder = record.holder.type === "user" ? `${record.holder.name} <${record.holder.email}>` : record.holder.type === "submitter" ? `the submitter of submission ${record.holder.id} (${record.holder.name})` : `site ${record.holder.name}`;
  return `${holder}, key registered ${utcTime(record.validFrom)}`;
}

/** People the package names: the signer (from the register) and each details editor, by user id. */
function knownNames(register: string, kid: string, details: DetailsHistory | undefined): Map<string, string> {
  const names = new Map<string, string>();
  const record = signerRecord(extractEvents(register), kid);
  if (typeof record !== "string" && record.holder.type === "user") names.set(record.holder.id, record.holder.name);
  for (const v of details?.versions ?? []) names.set(v.editedBy.id, v.editedBy.name);
  return names;
}

function captureText(metadata: PackageItemFiles["metadata"]): string {
  const source = typeof metadata.device?.captureTimeSource === "string" ? ` (from ${metadata.device.captureTimeSource})` : "";
  if (metadata.capturedAt) return `${utcTime(metadata.capturedAt)}${source}`;
  if (typeof metadata.device?.capturedAtLocal === "string") return `${metadata.device.capturedAtLocal}, camera's local time, zone unknown${source}`;
  return "not recorded";
}

/** Builds the report (saved without object streams, so its structure reads plainly in any PDF tool). */
export async function buildCaseReport(input: CaseReportInput): Promise<Uint8Array> {
  const { index } = input;
  const doc = await PDFDocument.create();
  doc.setTitle(`Chain of custody: case ${index.case.number}`);
  doc.setSubject(`Case package of ${index.items.length} item(s)`);
  doc.setAuthor(index.exportedBy);
  doc.setCreator("Custody");
  const at = new Date(index.exportedAt);
  doc.setCreationDate(at);
  doc.setModificationDate(at);
  const fonts = await embedFonts(doc);
  const layout = new Layout(doc, fonts);

  layout.paragraph("Chain of custody", { font: fonts.bold, size: 22, after: 10 });
  layout.facts([
    ["Case", `${index.case.number}: ${index.case.title}`],
    ["Case id", index.case.id],
    ["Exported at", utcTime(index.exportedAt)],
    ["Exported by", index.exportedBy],
    ["Items", String(index.items.length)],
  ]);
  layout.paragraph(
    "A readable summary of this case package. It is not signed: each item's folder proves what it says (the original, its signed manifest, the signer's registered key, the RFC 3161 timestamp and the audit extract with inclusion proofs). See VERIFY.txt, or run `npm run verify -- <package.zip>`. Times are UTC.",
    { color: GREY, size: 9, after: 8 },
  );

  input.items.forEach(({ files, signerRegister, events, details }, i) => {
    const entry = index.items[i]!;
    const { manifest, metadata, extras } = files;
    const uploaded = events.find((e) => e.action === "evidence.upload_complete" && e.outcome === "success");
    const latest = details?.versions.at(-1);
    const name = latest?.title || metadata.fileName;
    const names = knownNames(signerRegister, manifest.signerKid, details);
    layout.heading(`Item ${i + 1}: ${name}`, 14);
    layout.facts([
      ["Case number", index.case.number],
      ...(latest?.title ? [["Title", latest.title] as [string, string]] : []),
      ["File name", metadata.fileName],
      ...(latest?.description ? [["Description", latest.description] as [string, string]] : []),
      ...(latest?.tags.length ? [["Tags", latest.tags.join(", ")] as [string, string]] : []),
      ...(details
        ? [["Details versions", details.versions.map((v) => `${v.version}: "${v.title || "(no title)"}" by ${v.editedBy.name}, ${utcTime(v.editedAt)}`).join("; ")] as [string, string]]
        : []),
      ["In package", entry.original],
      ["Media type", metadata.mediaType],
      ["Size", `${manifest.byteSize} bytes`],
      ["SHA-512", manifest.sha512],
      ["Signer", signerText(signerRegister, manifest.signerKid)],
      ["Signed at", `${utcTime(manifest.signedAt)} (the signer's clock)`],
      ["Trusted time", extras.timestamp ? `${utcTime(extras.timestamp.info.genTime)} by ${extras.timestamp.info.tsaName} (RFC 3161)` : "none"],
      ["Uploaded", uploaded ? `${utcTime(uploaded.at)} by ${actorText(uploaded.actor)}` : "not in the extract"],
      ["Captured", captureText(metadata)],
      ["Events", events.length ? `${events.length} (audit seq ${events[0]!.seq} to ${events.at(-1)!.seq})` : "none"],
      ["Ids", `evidence ${manifest.evidenceId}; signing key ${manifest.signerKid}`],
    ]);
    if (events.length) table(layout, columns(name, names), events);
  });

  footers(doc, fonts, `Chain of custody · case ${index.case.number} · exported ${utcTime(index.exportedAt)}`);
  return doc.save({ useObjectStreams: false });
}
