/**
 * Offline verification of a case package (docs/evidence-format.md §10): the whole (ZIP layout,
 * entries, case.json, SHA512SUMS, VERIFY.txt), then every item on its own with the court
 * package's checks (shared/crypto/verify-package.ts) plus its audit extract and its case.json
 * entry. An item that fails does not stop the others: the report names each item's first
 * failed check. Originals are streamed through SHA-512 from a Blob, never held whole.
 * Web-standard only.
 */
import type { KeptCheckpoint } from "../audit/export";
import { verifyExport } from "../audit/export";
import { fromUtf8 } from "../crypto/encoding";
import { OPTIONAL_ENTRY, ORIGINAL_DIR, PACKAGE_ENTRY, packageEntryNames, prettyJson, type PackageExtras } from "../crypto/package";
import type { Sha512 } from "../crypto/sha512";
import {
  CheckFailed, checkPackageFiles, failureText, MAX_SMALL_ENTRY, PACKAGE_CHECKS, readerOf, sameBytes, u16, u32, u64,
  type PackageCheck, type PackageCheckName, type PackageSource, type PackageSummary, type Reader,
} from "../crypto/verify-package";
import { centralHeader, crc32, dataDescriptor, END_RECORDS_SIZE, endRecords, localHeader, needsZip64End, type ZipEntryHeader } from "../crypto/zip";
import { CASE_ENTRY, CaseIndex, ITEM_AUDIT_ENTRY, ITEMS_DIR, itemFolder, movedInto, sha512SumsText } from "./case-index";
import { caseVerifyInstructions } from "./case-package";
import { checkDetailsHistory, DETAILS_ENTRY, DetailsHistory } from "./details-history";
import { fromBase64url } from "../crypto/encoding";

/** Checks of the whole package, in the order they run (verification of the whole stops at the first failure). */
export const CASE_CHECKS = ["zip structure", "package entries", "case.json", "SHA512SUMS", "VERIFY.txt", "chain-of-custody.pdf"] as const;

/** Checks of each item, in order: a court package's (but its ZIP layout and times), then its audit extract and case.json entry. */
export const ITEM_CHECKS = [
  "item entries",
  ...PACKAGE_CHECKS.filter((name) => name !== "zip structure" && name !== "zip entries" && name !== "zip times" && name !== "zip checksums"),
  "audit extract",
  "details history",
  "case.json entry",
  "zip checksums",
] as const;
type ItemCheckName = (typeof ITEM_CHECKS)[number];

export interface CaseItemReport {
  folder: string;
  ok: boolean;
  checks: PackageCheck[];
  failed?: string;
  summary: PackageSummary;
  /** The audit extract: how many events, and the audit key that signed it. */
  audit?: { events: number; treeSize: number; auditKid: string };
}

export interface CasePackageReport {
  /** Every check of the whole and of every item passed. */
  ok: boolean;
  checks: PackageCheck[];
  /** The check of the whole that failed (items are not checked then). */
  failed?: string;
  index?: CaseIndex;
  items: CaseItemReport[];
}

interface Entry {
  name: string;
  crc: number;
  size: number;
  dataOffset: number;
  streamed: boolean;
}

const MAX_ENTRIES = 100_000;

/**
 * Reads the ZIP's layout and checks every byte that is not an entry's content: each header,
 * data descriptor and end record must be exactly what ZipWriter writes for the names, sizes,
 * CRCs and offsets found (no comment, no foreign extra field, nothing between entries); every
 * entry has the same time.
 */
async function readDirectory(r: Reader): Promise<Entry[]> {
  if (r.size < END_RECORDS_SIZE.classic) throw new CheckFailed("too short to be a ZIP file");
  const eocd = await r.read(r.size - 22, 22);
  if (u32(eocd, 0) !== 0x06054b50) throw new CheckFailed("not a package: no end of central directory record in the last 22 bytes (an archive comment, or bytes after the archive)");
  const zip64 = u16(eocd, 10) === 0xffff && u32(eocd, 12) === 0xffffffff && u32(eocd, 16) === 0xffffffff;
  let count = u16(eocd, 10);
  let cdSize = u32(eocd, 12);
  let cdOffset = u32(eocd, 16);
  const endSize = zip64 ? END_RECORDS_SIZE.zip64 : END_RECORDS_SIZE.classic;
  if (r.size < endSize) throw new CheckFailed("too short to be a ZIP64 file");
  const end = await r.read(r.size - endSize, endSize);
  if (zip64) {
    if (u32(end, 0) !== 0x06064b50) throw new CheckFailed("the ZIP64 end record is not just before its locator");
    count = u64(end, 24);
    cdSize = u64(end, 40);
    cdOffset = u64(end, 48);
  }
  if (count > MAX_ENTRIES) throw new CheckFailed(`${count} entries, more than a package can hold`);
  if (cdOffset + cdSize !== r.size - endSize) throw new CheckFailed("bytes between the central directory and its end record");
  if (!sameBytes(end, endRecords(count, cdOffset, cdSize, zip64))) throw new CheckFailed("the end records are not as a package writes them (multi-disk, comment, or changed)");
  const cd = await r.read(cdOffset, cdSize);

  const headers: (ZipEntryHeader & { text: string })[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cd.length || u32(cd, at) !== 0x02014b50) throw new CheckFailed(`central directory entry ${n} is damaged`);
    const flags = u16(cd, at + 8);
    const nameLength = u16(cd, at + 28);
    const extraLength = u16(cd, at + 30);
    const rawName = cd.slice(at + 46, at + 46 + nameLength);
    const extra = at + 46 + nameLength;
    // ZIP64 extra: the sizes when their 32-bit fields say 0xFFFFFFFF, then the offset when its field does.
    const entryZip64 = u32(cd, at + 24) === 0xffffffff;
    const farOffset = u32(cd, at + 42) === 0xffffffff;
    const size = entryZip64 && extraLength >= 20 && extra + 20 <= cd.length ? u64(cd, extra + 4) : u32(cd, at + 24);
    const offsetAt = extra + 4 + (entryZip64 ? 16 : 0);
    const offset = farOffset && offsetAt + 8 <= cd.length ? u64(cd, offsetAt) : u32(cd, at + 42);
    const e: ZipEntryHeader = { name: rawName, crc: u32(cd, at + 16), size, offset, streamed: (flags & 0x8) !== 0, zip64: entryZip64, time: u16(cd, at + 12), date: u16(cd, at + 14) };
    const expected = centralHeader(e);
    if (!sameBytes(cd.subarray(at, at + expected.length), expected)) throw new CheckFailed(`central directory entry ${n} is not as a package writes it (flags, method, versions, attributes, extra field or comment)`);
    at += expected.length;
    let text: string;
    try {
      text = fromUtf8(rawName);
    } catch {
      throw new CheckFailed(`entry ${n} has a name that is not UTF-8`);
    }
    if (names.has(text)) throw new CheckFailed(`${text} appears twice`);
    names.add(text);
    if (e.zip64 && !e.streamed) throw new CheckFailed(`${text}: only a streamed original may use ZIP64 sizes`);
    if (n > 0 && (e.time !== headers[0]!.time || e.date !== headers[0]!.date)) throw new CheckFailed(`${text} has another time than the other entries`);
    headers.push({ ...e, text });
  }
  if (at !== cd.length) throw new CheckFailed("trailing bytes in the central directory");
  if (!zip64 && needsZip64End(headers, cdOffset, cdSize, false)) throw new CheckFailed("the archive needs ZIP64 end records and has none");

  let expectedAt = 0;
  const entries: Entry[] = [];
  for (const e of headers) {
    if (e.offset !== expectedAt) throw new CheckFailed(`bytes before ${e.text} that belong to no entry (or entries out of order, or overlapping)`);
    const expected = localHeader(e);
    if (!sameBytes(await r.read(e.offset, expected.length), expected)) throw new CheckFailed(`${e.text}: local header is not as a package writes it, or disagrees with the directory`);
    const dataOffset = e.offset + expected.length;
    expectedAt = dataOffset + e.size;
    if (e.streamed) {
      const descriptor = dataDescriptor(e);
      if (!sameBytes(await r.read(expectedAt, descriptor.length), descriptor)) throw new CheckFailed(`${e.text}: data descriptor disagrees with the directory`);
      expectedAt += descriptor.length;
    }
    if (expectedAt > cdOffset) throw new CheckFailed(`${e.text} runs into the central directory`);
    entries.push({ name: e.text, crc: e.crc, size: e.size, dataOffset, streamed: e.streamed });
  }
  if (expectedAt !== cdOffset) throw new CheckFailed("bytes before the central directory that belong to no entry");
  return entries;
}

/** The item folders' entries, in order; names relative to the folder. */
interface Folder {
  folder: string;
  entries: Entry[];
}

function missingOrUnexpected(where: string, found: string[], expected: string[]): string {
  const missing = expected.filter((n) => !found.includes(n));
  const unexpected = found.filter((n) => !expected.includes(n));
  if (!missing.length && !unexpected.length) return `${where}: entries out of order: expected ${expected.join(", ")}`;
  return [missing.length ? `${where}: missing ${missing.join(", ")}` : "", unexpected.length ? `${where}: unexpected ${unexpected.join(", ")}` : ""].filter(Boolean).join("; ");
}

/** The layout of one folder's entries: which optional entries it has, checked against the court package's order plus the audit extract. */
function folderLayout(f: Folder): PackageExtras {
  const names = f.entries.map((e) => e.name);
  const has = (name: string) => names.includes(name);
  const layout: PackageExtras = { fileKey: has(OPTIONAL_ENTRY.fileKey), ...(has(OPTIONAL_ENTRY.timestamp) ? { timestamp: { info: undefined as never, ca: has(OPTIONAL_ENTRY.timestampCa) } } : {}) };
  const original = f.entries.at(-1);
  const originalOk = !!original && original.streamed && original.name.startsWith(ORIGINAL_DIR) && original.name.length > ORIGINAL_DIR.length && !original.name.slice(ORIGINAL_DIR.length).includes("/");
  const court = packageEntryNames(originalOk ? original.name : `${ORIGINAL_DIR}<file name>`, layout);
  // details.json only where the item's details were edited: between the audit extract and the original.
  const expected = [...court.slice(0, -1), ITEM_AUDIT_ENTRY, ...(has(DETAILS_ENTRY) ? [DETAILS_ENTRY] : []), court.at(-1)!];
  if (names.join("\n") !== expected.join("\n")) throw new CheckFailed(missingOrUnexpected(f.folder, names, expected));
  const streamedEarly = f.entries.slice(0, -1).find((e) => e.streamed);
  if (streamedEarly) throw new CheckFailed(`${f.folder}${streamedEarly.name}: only the original is streamed`);
  return layout;
}

/**
 * Verify a case package offline: the whole first (stops at its first failure), then each item
 * (each stops at its own first failure; the others are still checked). `ok` only if all pass.
 */
export async function verifyCasePackage(source: PackageSource, options: { createHasher?: () => Sha512; kept?: KeptCheckpoint } = {}): Promise<CasePackageReport> {
  const r = readerOf(source);
  const checks: PackageCheck[] = [];
  let current: (typeof CASE_CHECKS)[number] = CASE_CHECKS[0];
  const pass = (detail: string, next?: (typeof CASE_CHECKS)[number]): void => {
    checks.push({ name: current, ok: true, detail });
    if (next) current = next;
  };
  let index: CaseIndex;
  let folders: Folder[];
  try {
    const entries = await readDirectory(r);
    pass(`${entries.length} stored entries, laid out end to end, every header as a package writes it`, "package entries");

    const top = [CASE_ENTRY.verify, CASE_ENTRY.index, CASE_ENTRY.sums, CASE_ENTRY.report];
    const topFound = entries.filter((e) => !e.name.startsWith(ITEMS_DIR)).map((e) => e.name);
    if (entries.slice(0, top.length).map((e) => e.name).join("\n") !== top.join("\n") || topFound.length !== top.length) {
      throw new CheckFailed(missingOrUnexpected("the package's top", topFound, top));
    }
    folders = [];
    for (const entry of entries.slice(top.length)) {
      const match = /^items\/[0-9]{3,}-[0-9a-f]{8}\//.exec(entry.name);
      if (!match) throw new CheckFailed(`${entry.name} is outside any item folder`);
      const folder = match[0];
      if (folders.at(-1)?.folder !== folder) {
        if (folders.some((f) => f.folder === folder)) throw new CheckFailed(`${folder}'s entries are not together`);
        folders.push({ folder, entries: [] });
      }
      folders.at(-1)!.entries.push({ ...entry, name: entry.name.slice(folder.length) });
    }
    if (folders.length === 0) throw new CheckFailed("no item folders");
    const small = new Map<string, Uint8Array>();
    for (const entry of entries.slice(0, top.length)) {
      if (entry.size > (entry.name === CASE_ENTRY.report ? 64 * MAX_SMALL_ENTRY : MAX_SMALL_ENTRY)) throw new CheckFailed(`${entry.name} is ${entry.size} bytes, far larger than it can legitimately be`);
      const bytes = await r.read(entry.dataOffset, entry.size);
      if (crc32(0, bytes) !== entry.crc) throw new CheckFailed(`CRC-32 mismatch in ${entry.name}`);
      small.set(entry.name, bytes);
    }
    pass(`${top.join(", ")} and ${folders.length} item folder(s)`, "case.json");

    const text = (name: string): string => {
      try {
        return fromUtf8(small.get(name)!);
      } catch {
        throw new CheckFailed(`${name} is not UTF-8 text`);
      }
    };
    let json: unknown;
    try {
      json = JSON.parse(text(CASE_ENTRY.index));
    } catch {
      throw new CheckFailed("case.json is not JSON");
    }
    const parsed = CaseIndex.safeParse(json);
    if (!parsed.success) throw new CheckFailed(`case.json is malformed: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}`);
    index = parsed.data;
    if (text(CASE_ENTRY.index) !== prettyJson(index)) throw new CheckFailed("case.json is not written as a package writes it");
    if (index.items.length !== folders.length) throw new CheckFailed(`case.json lists ${index.items.length} item(s), the package has ${folders.length} folder(s)`);
    index.items.forEach((item, i) => {
      const folder = folders[i]!;
      if (item.folder !== itemFolder(i, item.evidenceId) || item.folder !== folder.folder) throw new CheckFailed(`case.json's item ${i + 1} is ${item.folder}, the package's folder ${i + 1} is ${folder.folder}`);
      if (item.original !== folder.folder + folder.entries.at(-1)!.name) throw new CheckFailed(`case.json's item ${i + 1} names ${item.original}, its folder holds ${folder.folder + folder.entries.at(-1)!.name}`);
    });
    pass(`case ${index.case.number} (${index.case.title}), ${index.items.length} item(s), exported ${index.exportedAt} by ${index.exportedBy} (not signed: each item is checked against it)`, "SHA512SUMS");

    if (text(CASE_ENTRY.sums) !== sha512SumsText(index)) throw new CheckFailed("SHA512SUMS is not the list case.json gives");
    pass(`one line per original, as case.json lists them`, "VERIFY.txt");
    if (text(CASE_ENTRY.verify) !== caseVerifyInstructions(index)) throw new CheckFailed("VERIFY.txt is not the text this package's case.json gives");
    pass("exactly the instructions for this package", "chain-of-custody.pdf");
    const pdf = small.get(CASE_ENTRY.report)!;
    const looksPdf = fromUtf8Safe(pdf.subarray(0, 5)) === "%PDF-";
    pass(looksPdf ? `${pdf.length} bytes: a readable summary, not signed, so not checked (the items prove what it says)` : `not a PDF (${pdf.length} bytes): it is only a readable summary, not signed, so its content proves nothing either way`);
  } catch (error) {
    checks.push({ name: current, ok: false, detail: failureText(error) });
    return { ok: false, checks, failed: current, items: [] };
  }

  const items: CaseItemReport[] = [];
  for (const [i, folder] of folders.entries()) items.push(await verifyItem(r, folder, index, i, options));
  checkDerivations(items, index);
  return { ok: items.every((item) => item.ok), checks, index, items };
}

/** The check a derived item (a redacted copy, a clip) gets after its own: whether the original its signed manifest names is the one in this package. */
export const DERIVED_CHECK = "derived from";

/**
 * A derived item names its original by id and SHA-512 in its signed manifest (§6.1). Where that
 * original is in the package too, and verified, its SHA-512 must be the one named: otherwise the
 * copy was made from another file than the one the package offers as its original. Where it is
 * not in the package (a redacted copy disclosed without its original), the check says so and
 * leaves the comparison to whoever holds the original.
 */
function checkDerivations(items: CaseItemReport[], index: CaseIndex): void {
  for (const item of items) {
    const named = item.summary.derivedFrom;
    if (!item.ok || !named) continue;
    const at = index.items.findIndex((entry) => entry.evidenceId === named.evidenceId);
    const fail = (detail: string) => {
      item.checks.push({ name: DERIVED_CHECK, ok: false, detail });
      item.ok = false;
      item.failed = DERIVED_CHECK;
    };
    if (at < 0) {
      item.checks.push({ name: DERIVED_CHECK, ok: true, detail: `original ${named.evidenceId} is not in this package: compare SHA-512 ${named.sha512} with the original where it is kept` });
    } else if (!items[at]!.ok) {
      fail(`its original, item ${at + 1} (${index.items[at]!.fileName}), did not verify`);
    } else if (index.items[at]!.sha512 !== named.sha512) {
      fail(`the signed manifest names original ${named.evidenceId} with SHA-512 ${named.sha512}, but item ${at + 1} (${index.items[at]!.fileName}) has SHA-512 ${index.items[at]!.sha512}: the copy was not made from the original in this package`);
    } else {
      item.checks.push({ name: DERIVED_CHECK, ok: true, detail: `item ${at + 1} (${index.items[at]!.fileName}), verified in this package, is the original its signed manifest names (same SHA-512)` });
    }
  }
}

function fromUtf8Safe(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes);
  } catch {
    return "";
  }
}

async function verifyItem(r: Reader, f: Folder, index: CaseIndex, i: number, options: { createHasher?: () => Sha512; kept?: KeptCheckpoint }): Promise<CaseItemReport> {
  const checks: PackageCheck[] = [];
  const summary: PackageSummary = {};
  let current: ItemCheckName = ITEM_CHECKS[0];
  const pass = (detail: string, next?: ItemCheckName | PackageCheckName): void => {
    if ((current as string) !== "zip times") checks.push({ name: current, ok: true, detail }); // the entries carry the package's time, not the signing time
    if (next === "zip checksums" && current === "original sha512") next = "audit extract"; // the item's own checks come before the CRCs
    if (next) current = next as ItemCheckName;
  };
  const report: CaseItemReport = { folder: f.folder, ok: false, checks, summary };
  try {
    const layout = folderLayout(f);
    const hasDetails = f.entries.some((e) => e.name === DETAILS_ENTRY);
    pass(`the ${f.entries.length - (hasDetails ? 3 : 2)} package files, ${ITEM_AUDIT_ENTRY}${hasDetails ? `, ${DETAILS_ENTRY}` : ""} and ${f.entries.at(-1)!.name}, in order`, "signer key id");
    const crcs = new Map<string, number>();
    const small = new Map<string, Uint8Array>();
    for (const entry of f.entries.slice(0, -1)) {
      if (entry.size > MAX_SMALL_ENTRY * (entry.name === ITEM_AUDIT_ENTRY ? 16 : 1)) throw new CheckFailed(`${f.folder}${entry.name} is ${entry.size} bytes, far larger than it can legitimately be`);
      const bytes = await r.read(entry.dataOffset, entry.size);
      small.set(entry.name, bytes);
      crcs.set(entry.name, crc32(0, bytes));
    }
    const original = f.entries.at(-1)!;
    const { manifest, metadata } = await checkPackageFiles(
      { small, layout, original: { name: original.name, size: original.size, chunks: () => r.chunks(original.dataOffset, original.size) }, onOriginalCrc: (crc) => crcs.set(original.name, crc) },
      { pass, summary, options },
    );

    // audit extract: a verified audit export filtered to this item, every event about it.
    let extract: string;
    try {
      extract = fromUtf8(small.get(ITEM_AUDIT_ENTRY)!);
    } catch {
      throw new CheckFailed(`${ITEM_AUDIT_ENTRY} is not UTF-8 text`);
    }
    if (!extract.endsWith("\n")) throw new CheckFailed(`${ITEM_AUDIT_ENTRY} does not end with a line feed`);
    const lines = extract.split("\n");
    lines.pop();
    const audit = await verifyExport(lines, { keepEvents: true, ...(options.kept ? { kept: options.kept } : {}) });
    if (!audit.ok) throw new CheckFailed(`${ITEM_AUDIT_ENTRY}, line ${audit.error!.line}: ${audit.error!.message}`);
    if (audit.kind !== "filtered" || audit.filter.evidenceId !== manifest.evidenceId || Object.keys(audit.filter).length !== 1) {
      throw new CheckFailed(`${ITEM_AUDIT_ENTRY} is not the audit extract of evidence ${manifest.evidenceId}`);
    }
    const stranger = (audit.verifiedEvents ?? []).find((e) => (e.details as { evidenceId?: unknown }).evidenceId !== manifest.evidenceId && !(e.target.type === "evidence" && e.target.id === manifest.evidenceId));
    if (stranger) throw new CheckFailed(`${ITEM_AUDIT_ENTRY}: event ${stranger.seq} is not about this item`);
    report.audit = { events: audit.events, treeSize: audit.treeSize!, auditKid: audit.signers[0]! };
    pass(`${audit.events} event(s) of this item, each proven in the audit tree of ${audit.treeSize} events signed by audit key ${audit.signers.join(", ")}${audit.kept ? `, which extends the kept checkpoint of ${audit.kept.treeSize}` : ""}`, "details history");

    // details history: every version opens with the item's file key and its edit is in the (verified) audit extract.
    const entry = index.items[i]!;
    let history: DetailsHistory | undefined;
    if (hasDetails) {
      const fileKeyText = small.get(OPTIONAL_ENTRY.fileKey);
      if (!fileKeyText) throw new CheckFailed(`${DETAILS_ENTRY} without ${OPTIONAL_ENTRY.fileKey}: its versions cannot be opened`);
      let parsedHistory: ReturnType<typeof DetailsHistory.safeParse>;
      try {
        parsedHistory = DetailsHistory.safeParse(JSON.parse(fromUtf8(small.get(DETAILS_ENTRY)!)));
      } catch {
        throw new CheckFailed(`${DETAILS_ENTRY} is not JSON`);
      }
      if (!parsedHistory.success) throw new CheckFailed(`${DETAILS_ENTRY} is malformed: ${parsedHistory.error.issues.map((x) => `${x.path.join(".") || "(root)"} ${x.message}`).join("; ")}`);
      history = parsedHistory.data;
      if (fromUtf8(small.get(DETAILS_ENTRY)!) !== prettyJson(history)) throw new CheckFailed(`${DETAILS_ENTRY} is not written as a package writes it`);
      const fileKey = fromBase64url((JSON.parse(fromUtf8(fileKeyText)) as { k: string }).k);
      try {
        pass(await checkDetailsHistory(history, manifest.evidenceId, fileKey, audit.verifiedEvents ?? []), "case.json entry");
      } catch (error) {
        throw new CheckFailed(error instanceof Error ? error.message : String(error));
      }
    } else {
      pass("none: the item's details were never edited", "case.json entry");
    }

    const last = history?.versions.at(-1);
    const differs = [
      entry.evidenceId !== manifest.evidenceId && "evidenceId",
      entry.sha512 !== manifest.sha512 && "sha512",
      entry.byteSize !== manifest.byteSize && "byteSize",
      entry.fileName !== metadata.fileName && "fileName",
      entry.mediaType !== metadata.mediaType && "mediaType",
      JSON.stringify(entry.details ?? null) !== JSON.stringify(last ? { version: last.version, title: last.title, description: last.description, tags: last.tags } : null) && "details",
    ].filter(Boolean);
    if (differs.length) throw new CheckFailed(`case.json's item ${i + 1} differs from what its folder proves in ${differs.join(", ")}`);
    if (manifest.caseId !== index.case.id) {
      // Signed before it had this case (a submission through a link, a capture filed later): the
      // move into the case must be an event of the verified audit extract, about this very manifest.
      const move = await movedInto(manifest, small.get(PACKAGE_ENTRY.manifestJws)!, audit.verifiedEvents ?? [], index.case.id);
      if (!move) throw new CheckFailed(`the manifest names case ${manifest.caseId}, the package is of case ${index.case.id}, and the audit extract records no move of it into this case`);
      pass(`as the signed manifest and metadata say; ${move}`, "zip checksums");
    } else {
      pass(`as the signed manifest and metadata say, in case ${index.case.id}`, "zip checksums");
    }

    const bad = f.entries.filter((e) => crcs.get(e.name) !== e.crc).map((e) => e.name);
    if (bad.length) throw new CheckFailed(`CRC-32 mismatch in ${bad.map((name) => f.folder + name).join(", ")}`);
    pass(`CRC-32 of all ${f.entries.length} entries`);
    report.ok = true;
  } catch (error) {
    checks.push({ name: current, ok: false, detail: failureText(error) });
    report.failed = current;
  }
  return report;
}

/** Whether a ZIP looks like a case package (its second entry is case.json), to choose the verifier; a court package's is manifest.jws. */
export async function looksLikeCasePackage(source: PackageSource): Promise<boolean> {
  const r = readerOf(source);
  if (r.size < 60) return false;
  const first = await r.read(0, 30);
  if (u32(first, 0) !== 0x04034b50 || (u16(first, 6) & 0x8) !== 0) return false;
  const next = 30 + u16(first, 26) + u16(first, 28) + u32(first, 18);
  if (next + 30 > r.size) return false;
  const second = await r.read(next, 30 + CASE_ENTRY.index.length);
  return u32(second, 0) === 0x04034b50 && u16(second, 26) === CASE_ENTRY.index.length && fromUtf8Safe(second.subarray(30)) === CASE_ENTRY.index;
}

