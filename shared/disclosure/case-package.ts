/**
 * Case package (docs/evidence-format.md §10): one stored ZIP (ZIP64 when large) with a folder per
 * item holding exactly a court package's files (§8: original, manifest, signature files, signer
 * key and register, metadata, file key, RFC 3161 timestamp, the item's own VERIFY.txt) plus the
 * item's audit extract with inclusion proofs; at the top case.json (the index), SHA512SUMS (for
 * `sha512sum -c`), a chain-of-custody report (PDF) and VERIFY.txt. Built as a stream, one
 * original after another, so a package of any size needs only the directory in memory.
 * The caller supplies the items and, one at a time, each original's plaintext (the browser
 * decrypts it; the portal does the same with a recipient's keys). Web-standard only.
 */
import { FormatError, IntegrityError } from "../crypto/errors";
import { utf8 } from "../crypto/encoding";
import { packageItemFiles, prettyJson, verifiedOriginal, type ByteChunks, type CourtPackageInput, type PackageItemFiles } from "../crypto/package";
import type { Sha512 } from "../crypto/sha512";
import { ZipWriter } from "../crypto/zip";
import { CASE_ENTRY, CASE_PACKAGE_TYP, CASE_PACKAGE_VERSION, CaseIndex, extractEvents, ITEM_AUDIT_ENTRY, itemFolder, movedInto, sha512SumsText } from "./case-index";
import { buildCaseReport } from "./custody-report";
import { DETAILS_ENTRY, detailsHistory, type DetailsHistory, type DetailsVersionInput } from "./details-history";

export * from "./case-index";
export * from "./details-history";

/** One item as the builder takes it: a court package's inputs with the file key, and the item's audit extract. */
export interface CasePackageItem extends Omit<CourtPackageInput, "original" | "zip64" | "createHasher" | "fileKey"> {
  /** The item's file key (32 raw bytes): proves metadata.json; opens only this item. */
  fileKey: Uint8Array;
  /** `GET /api/audit/evidence/<id>`: the audit export filtered to the item (JSON lines, as received). */
  auditExtract: string;
  /** Every version of the item's edited details (`GET /api/evidence/<id>/details/versions`); none: no details.json. */
  detailsVersions?: DetailsVersionInput[];
}

export interface CasePackageInput {
  case: { id: string; number: string; title: string };
  /** ISO time of the export; every entry carries it (UTC). */
  exportedAt: string;
  /** Who built it, as it reads: "Jane Doe <jane@example.org>" (a member) or a share recipient. */
  exportedBy: string;
  items: CasePackageItem[];
  /** The plaintext of item `index`'s original, asked for once, in item order. */
  original: (index: number) => ByteChunks;
  /** ZIP64 records even for a small package (tests; readers accept both forms). */
  zip64?: boolean;
  createHasher?: () => Sha512;
}

export interface CasePackagePlan {
  index: CaseIndex;
  /** Bytes of every entry's content: a progress bar's total (the headers and directory add a little). */
  contentBytes: number;
  /** The ZIP, front to back. Throws IntegrityError if an original is not what its manifest signed, before the directory. */
  chunks: () => AsyncGenerator<Uint8Array, void, undefined>;
}

/**
 * Checks every item (manifest signature, metadata against the signed JWE, timestamp, that the
 * item belongs to the case) and plans the package: its index, and the stream that writes it.
 */
export async function planCasePackage(input: CasePackageInput): Promise<CasePackagePlan> {
  if (input.items.length === 0) throw new FormatError("case package", "no items chosen");
  const files: PackageItemFiles[] = [];
  const histories: (DetailsHistory | undefined)[] = [];
  for (const item of input.items) {
    const made = await packageItemFiles(item);
    // Signed before it had this case (accepted from a submission link, a capture filed later): its audit extract records the move.
    if (made.manifest.caseId !== input.case.id && !(await movedInto(made.manifest, utf8(item.manifestJws), extractEvents(item.auditExtract), input.case.id))) {
      throw new IntegrityError("case", `item ${made.manifest.evidenceId} belongs to another case`);
    }
    files.push(made);
    histories.push(item.detailsVersions?.length ? await detailsHistory(made.manifest.evidenceId, item.detailsVersions, item.fileKey) : undefined);
  }
  const index: CaseIndex = {
    typ: CASE_PACKAGE_TYP,
    v: CASE_PACKAGE_VERSION,
    case: { id: input.case.id, number: input.case.number, title: input.case.title },
    exportedAt: input.exportedAt,
    exportedBy: input.exportedBy,
    items: files.map((f, i) => {
      const folder = itemFolder(i, f.manifest.evidenceId);
      const last = histories[i]?.versions.at(-1);
      return {
        folder,
        evidenceId: f.manifest.evidenceId,
        original: folder + f.entryName,
        fileName: f.metadata.fileName,
        mediaType: f.metadata.mediaType,
        byteSize: f.manifest.byteSize,
        sha512: f.manifest.sha512,
        ...(last ? { details: { version: last.version, title: last.title, description: last.description, tags: last.tags } } : {}),
      };
    }),
  };
  // What the verifier reads back: never write an index it would refuse.
  const checked = CaseIndex.safeParse(index);
  if (!checked.success) throw new FormatError("case package", `the index is malformed: ${checked.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  const report = await buildCaseReport({
    index,
    items: files.map((f, i) => ({ files: f, signerRegister: input.items[i]!.signerRegister, events: extractEvents(input.items[i]!.auditExtract), details: histories[i] })),
  });
  const top: [string, Uint8Array][] = [
    [CASE_ENTRY.verify, utf8(caseVerifyInstructions(index))],
    [CASE_ENTRY.index, utf8(prettyJson(index))],
    [CASE_ENTRY.sums, utf8(sha512SumsText(index))],
    [CASE_ENTRY.report, report],
  ];
  const audits = input.items.map((item) => utf8(item.auditExtract.endsWith("\n") ? item.auditExtract : `${item.auditExtract}\n`));
  const detailsEntries = histories.map((h) => (h ? utf8(prettyJson(h)) : undefined));
  const sum = (entries: [string, Uint8Array][]) => entries.reduce((n, [, b]) => n + b.length, 0);
  const contentBytes = sum(top) + files.reduce((n, f, i) => n + sum(f.small) + audits[i]!.length + (detailsEntries[i]?.length ?? 0) + f.manifest.byteSize, 0);

  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    const zip = new ZipWriter(new Date(input.exportedAt), { zip64: input.zip64 });
    for (const [name, bytes] of top) yield* zip.add(name, bytes);
    for (const [i, f] of files.entries()) {
      const folder = index.items[i]!.folder;
      for (const [name, bytes] of f.small) yield* zip.add(folder + name, bytes);
      yield* zip.add(folder + ITEM_AUDIT_ENTRY, audits[i]!);
      if (detailsEntries[i]) yield* zip.add(folder + DETAILS_ENTRY, detailsEntries[i]!);
      yield zip.stream(folder + f.entryName, f.manifest.byteSize);
      for await (const chunk of verifiedOriginal(input.original(i), f.manifest, input.createHasher)) {
        zip.update(chunk);
        yield chunk;
      }
      yield zip.end();
    }
    yield* zip.finish();
  }
  return { index, contentBytes, chunks };
}

/**
 * VERIFY.txt at the top of a case package (plain UTF-8, LF): fully determined by case.json, so a
 * verifier rebuilds and compares it. The per-item steps are in each folder's own VERIFY.txt.
 */
export function caseVerifyInstructions(index: CaseIndex): string {
  const lines = [
    "CUSTODY CASE PACKAGE: HOW TO VERIFY IT",
    "",
    `Case:       ${index.case.number} (${index.case.title})`,
    `Case id:    ${index.case.id}`,
    `Exported:   ${index.exportedAt} by ${index.exportedBy}`,
    `Items:      ${index.items.length}`,
    "",
    "This file, case.json and chain-of-custody.pdf are conveniences and are not signed. The",
    "evidence is each item's folder under items/: it holds the original byte for byte, its",
    "signed manifest, the signer's public key and their entry in the organisation's key",
    "register, the file's own key, its RFC 3161 timestamp where it has one, and the item's audit",
    "extract. Each folder's own VERIFY.txt gives the checks for that item with GNU coreutils and",
    "OpenSSL, and what they must print.",
    "",
    "Unzip the package, then in the folder that holds this file:",
    "",
    "1. Every original has the SHA-512 its signed manifest states (step 2 below ties the two):",
    "",
    "     $ sha512sum -c SHA512SUMS",
    ...index.items.map((item) => `     ${item.original}: OK`),
    "",
    "2. For each item, go into its folder and follow its VERIFY.txt (signature, signer, key",
    "   register, timestamp). The manifest's \"sha512\" must be the one in SHA512SUMS.",
    "",
    "3. Each item's audit.jsonl is the organisation's tamper-evident audit trail filtered to that",
    "   item: every event with its Merkle inclusion proof and a signed checkpoint (docs/audit.md",
    "   §4, §6). Check it with `npm run audit:verify -- items/<folder>/audit.jsonl` from the",
    "   Custody source; the audit key that signs it must be the organisation's published one",
    "   (/.well-known/custody/audit.json).",
    "",
    // Only in packages with edited details, so a package made before them reads as it did.
    ...(index.items.some((item) => item.details)
      ? [
          `4. An item whose title, description or tags were edited has ${DETAILS_ENTRY}: every version,`,
          "   oldest first, with who made it and when, in the clear and as saved (a JWE under the item's",
          "   file key, file-key.jwk.json). `npm run verify` opens each one and finds its edit, by the",
          "   same person, in the item's audit.jsonl.",
          "",
        ]
      : []),
    "Items",
    "",
    ...index.items.flatMap((item, i) => [
      `  ${i + 1}. ${item.folder}`,
      ...(item.details ? [`     "${item.details.title || "(no title)"}" (details version ${item.details.version}; every version in ${DETAILS_ENTRY})`] : []),
      `     ${item.fileName} (${item.mediaType}, ${item.byteSize} bytes)`,
      `     evidence ${item.evidenceId}`,
      `     SHA-512 ${item.sha512}`,
    ]),
    "",
    "chain-of-custody.pdf lists, per item, the case, file, SHA-512, signer, upload and capture",
    "times and the item's audit events, for reading; the folders above are what proves them.",
    "",
    "The format is specified in Custody's docs/evidence-format.md, \"Case package\".",
    "`npm run verify -- <case-package.zip>` in the Custody source checks the whole package and",
    "every item in it.",
    "",
  ];
  return lines.join("\n");
}

/** The case package as a ReadableStream of ZIP bytes (pull-driven: it streams at the consumer's pace). */
export function casePackageStream(plan: CasePackagePlan): ReadableStream<Uint8Array> {
  const chunks = plan.chunks();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
