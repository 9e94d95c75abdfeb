/**
 * The case package's chain-of-custody report (chain-of-custody.pdf): a readable summary for a
 * court, per item the case number, file name, SHA-512, signer, upload and capture times, trusted
 * time and its audit events. Built with pdf-lib's standard fonts in the browser, Node or Deno.
 * It is not signed: the item folders prove what it says (docs/evidence-format.md §10).
 */
import { PDFDocument } from "pdf-lib";
import type { AuditEvent } from "../audit/chain";
import { actorText, OUTCOME_LABELS, utcTime } from "../audit/format";
import { signerRecord } from "../audit/signers";
import type { PackageItemFiles } from "../crypto/package";
import { embedFonts, footers, GREY, Layout, table, WIDTH, type Column } from "../report/pdf-layout";
import { extractEvents, type CaseIndex } from "./case-index";

export interface CaseReportInput {
  index: CaseIndex;
  items: { files: PackageItemFiles; signerRegister: string; events: AuditEvent[] }[];
}

const COLUMNS: readonly Column<AuditEvent>[] = [
  { title: "Time (UTC)", width: 72, cell: (e) => utcTime(e.at).replace(" UTC", "") },
  { title: "Who", width: 130, cell: (e) => actorText(e.actor) },
  { title: "Action", width: 110, cell: (e) => e.action },
  { title: "Outcome", width: 52, cell: (e) => OUTCOME_LABELS[e.outcome], bold: (e) => e.outcome !== "success" },
  { title: "IP", width: WIDTH - 72 - 130 - 110 - 52, cell: (e) => e.ip ?? "-" },
];

/** Who holds the key, from the register export (unverified here; the verifier checks it). */
function signerText(register: string, kid: string): string {
  const record = signerRecord(extractEvents(register), kid);
  if (typeof record === "string") return `key ${kid}`;
  const holder = record.holder.type === "user" ? `${record.holder.name} <${record.holder.email}>` : record.holder.type === "submitter" ? `the submitter of submission ${record.holder.id} (${record.holder.name})` : `site ${record.holder.name}`;
  return `${holder}, key ${kid} registered ${utcTime(record.validFrom)}`;
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

  input.items.forEach(({ files, signerRegister, events }, i) => {
    const entry = index.items[i]!;
    const { manifest, metadata, extras } = files;
    const uploaded = events.find((e) => e.action === "evidence.upload_complete" && e.outcome === "success");
    layout.heading(`Item ${i + 1}: ${metadata.fileName}`, 14);
    layout.facts([
      ["Case number", index.case.number],
      ["File name", metadata.fileName],
      ["In package", entry.original],
      ["Media type", metadata.mediaType],
      ["Size", `${manifest.byteSize} bytes`],
      ["SHA-512", manifest.sha512],
      ["Evidence id", manifest.evidenceId],
      ["Signer", signerText(signerRegister, manifest.signerKid)],
      ["Signed at", `${utcTime(manifest.signedAt)} (the signer's clock)`],
      ["Trusted time", extras.timestamp ? `${utcTime(extras.timestamp.info.genTime)} by ${extras.timestamp.info.tsaName} (RFC 3161)` : "none"],
      ["Uploaded", uploaded ? `${utcTime(uploaded.at)} by ${actorText(uploaded.actor)}` : "not in the extract"],
      ["Captured", captureText(metadata)],
      ["Events", events.length ? `${events.length} (audit seq ${events[0]!.seq} to ${events.at(-1)!.seq})` : "none"],
    ]);
    if (events.length) table(layout, COLUMNS, events);
  });

  footers(doc, fonts, `Chain of custody · case ${index.case.number} · exported ${utcTime(index.exportedAt)}`);
  return doc.save({ useObjectStreams: false });
}
