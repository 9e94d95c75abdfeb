/**
 * Offline verification of a court export package (docs/evidence-format.md §8). Reads the ZIP
 * by its central directory with random access (a Uint8Array, or a Blob: a browser File, or
 * Node's `fs.openAsBlob`), so the original is streamed through SHA-512, never held whole.
 * Forward-only unzipping is not used on purpose: a stored entry with a data descriptor has no
 * length up front, and scanning for the next signature misreads an original that contains
 * ZIP signatures itself (an .docx, a ZIP, or just unlucky random bytes).
 * Web-standard only.
 */
import type { JWK } from "jose";
import { FormatError, IntegrityError } from "./errors";
import { fromBase64url, fromUtf8, streamChunks, utf8 } from "./encoding";
import { importFileKey, keyId } from "./keys";
import { decryptMetadata, EvidenceMetadata, manifestKid, verifyManifest, type DerivedFrom, type Manifest } from "./manifest";
import {
  canonicalCertificatesPem, es512SignatureToDer, fileKeyJwkText, OPTIONAL_ENTRY, ORIGINAL_DIR, PACKAGE_ENTRY, packageEntryNames, packageFileName, prettyJson,
  publicJwkToPem, publicSigningJwk, verifyInstructions, type PackageExtras,
} from "./package";
import { createSha512, type Sha512 } from "./sha512";
import { verifyExport, type KeptCheckpoint } from "../audit/export";
import { signerRecord } from "../audit/signers";
import { centralHeader, crc32, dataDescriptor, dosDateTime, END_RECORDS_SIZE, endRecords, localHeader, type ZipEntryHeader } from "./zip";
import { certificateFingerprint, parseCertificatesPem, responseToToken, verifyTimestampToken } from "../timestamp/rfc3161";

/** One named check and its outcome; `detail` says what was found (or what is wrong). */
export interface PackageCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a passing (or partly read) package says about the evidence. */
export interface PackageSummary {
  fileName?: string;
  mediaType?: string;
  capturedAt?: string;
  /** Where the capture time came from (metadata `device.captureTimeSource`, §5): exif, exif-local, mp4, file-modified, device-clock. */
  captureTimeSource?: string;
  /** The camera's local time without a zone (`device.capturedAtLocal`), when EXIF had no offset. */
  capturedAtLocal?: string;
  byteSize?: number;
  sha512?: string;
  signerKid?: string;
  signedAt?: string;
  evidenceId?: string;
  caseId?: string;
  uploaderId?: string;
  /** For a derived item (a clip): the original it names in the signed manifest, and the operations (§6.1). */
  derivedFrom?: DerivedFrom;
  /** The RFC 3161 timestamp over the manifest signature, when the package has one. */
  timestamp?: { genTime: string; tsaName: string; serial: string; caFingerprint?: string };
  /** From the key register: who held the key, since when, until when (null: not retired). */
  signer?: { holder: string; validFrom: string; retiredAt: string | null; auditKid: string; treeSize: number; backfilledAt: string | null };
}

/** The verification report: checks in the order run; verification stops at the first failure, named by `failed`. */
export interface PackageReport {
  ok: boolean;
  checks: PackageCheck[];
  failed?: string;
  summary: PackageSummary;
}

/**
 * A package to verify: the whole ZIP in memory, a Blob read piecewise (a browser File), or a
 * Reader (random access of its own: Node's `fs.openAsBlob` misreports files of 4 GiB and more).
 */
export type PackageSource = Uint8Array | Blob | Reader;

/** Check names, in the order they run. */
export const PACKAGE_CHECKS = [
  "zip structure",
  "zip entries",
  "signer key id",
  "manifest signature",
  "zip times",
  "signer.pem",
  "signature files",
  "manifest.json",
  "metadata.json",
  "timestamp",
  "signer register",
  "VERIFY.txt",
  "original size",
  "original sha512",
  "zip checksums",
] as const;
export type PackageCheckName = (typeof PACKAGE_CHECKS)[number];

const MAX_ENTRIES = 64;
export const MAX_SMALL_ENTRY = 4 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

/** A check that did not pass; its message says what is wrong. */
export class CheckFailed extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

// ---- random-access reading ---------------------------------------------------------------

/** Random access to a package's bytes. */
export interface Reader {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  chunks(offset: number, length: number): AsyncGenerator<Uint8Array>;
}

/** Random access to a package: the bytes in memory, or a Blob read piecewise. */
export function readerOf(source: PackageSource): Reader {
  if (!(source instanceof Uint8Array) && !(source instanceof Blob)) return source;
  if (source instanceof Uint8Array) {
    return {
      size: source.length,
      read: async (offset, length) => source.subarray(offset, offset + length),
      async *chunks(offset, length) {
        for (let at = offset; at < offset + length; at += READ_CHUNK) yield source.subarray(at, Math.min(at + READ_CHUNK, offset + length));
      },
    };
  }
  return {
    size: source.size,
    read: async (offset, length) => new Uint8Array(await source.slice(offset, offset + length).arrayBuffer()),
    chunks: (offset, length) => streamChunks(source.slice(offset, offset + length).stream()),
  };
}

// ---- ZIP directory -------------------------------------------------------------------------

interface ZipEntry {
  name: string;
  crc: number;
  size: number;
  dataOffset: number;
}

export const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
export const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
export const u64 = (b: Uint8Array, at: number): number => u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Read and check the ZIP's layout, every byte of it that is not an entry's content: each
 * header, data descriptor and end record must be exactly what the package writer
 * (shared/crypto/zip.ts) writes for the names, sizes, CRCs and offsets found, so there is no
 * archive comment, no extra field, no other flag or version, and nothing hidden between entries.
 * Entries lie end to end from byte 0 in directory order; only the last has a data descriptor;
 * all have the same time. ZIP64 records are read when present (the writer uses them for large
 * packages). Returns the entries in order and their DOS time.
 */
async function readZipDirectory(r: Reader): Promise<{ entries: ZipEntry[]; time: number; date: number }> {
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
    const entryZip64 = extraLength === 20;
    const size = entryZip64 && at + 46 + nameLength + 20 <= cd.length ? u64(cd, at + 46 + nameLength + 4) : u32(cd, at + 24);
    const e: ZipEntryHeader = { name: rawName, crc: u32(cd, at + 16), size, offset: u32(cd, at + 42), streamed: (flags & 0x8) !== 0, zip64: entryZip64, time: u16(cd, at + 12), date: u16(cd, at + 14) };
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
    if (e.streamed !== (n === count - 1)) throw new CheckFailed(`${text}: only the last entry (the original) has a data descriptor`);
    if (e.zip64 && !e.streamed) throw new CheckFailed(`${text}: only the last entry may use ZIP64`);
    if (n > 0 && (e.time !== headers[0]!.time || e.date !== headers[0]!.date)) throw new CheckFailed(`${text} has another time than the other entries`);
    headers.push({ ...e, text });
  }
  if (at !== cd.length) throw new CheckFailed("trailing bytes in the central directory");
  if (zip64 !== (headers.at(-1)?.zip64 ?? false)) throw new CheckFailed("ZIP64 end records without a ZIP64 entry, or the reverse");

  let expectedAt = 0;
  const entries: ZipEntry[] = [];
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
    entries.push({ name: e.text, crc: e.crc, size: e.size, dataOffset });
  }
  if (expectedAt !== cdOffset) throw new CheckFailed("bytes before the central directory that belong to no entry");
  return { entries, time: headers[0]?.time ?? 0, date: headers[0]?.date ?? 0 };
}

// ---- helpers ------------------------------------------------------------------------------

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    throw new CheckFailed(`${what} is not UTF-8 JSON`);
  }
}

function pemToSpki(pem: string): Uint8Array {
  const match = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\r?\n?$/.exec(pem);
  if (!match) throw new CheckFailed("signer.pem is not one PEM public key (SubjectPublicKeyInfo)");
  try {
    return Uint8Array.from(atob(match[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new CheckFailed("signer.pem holds invalid base64");
  }
}

/** What a failed check says: its own message, or the error's. */
export function failureText(error: unknown): string {
  if (error instanceof CheckFailed) return error.detail;
  if (error instanceof Error && error.name === "TimestampError") return `timestamp: ${error.message}`;
  if (error instanceof IntegrityError || error instanceof FormatError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// ---- the verifier -------------------------------------------------------------------------

/** The files of one item (a court package, or an item folder of a case package), names relative to it. */
export interface PackageFiles {
  /** Every entry but the original, by name. */
  small: Map<string, Uint8Array>;
  /** Which optional entries are present. */
  layout: PackageExtras;
  original: { name: string; size: number; chunks: () => AsyncIterable<Uint8Array> };
  /** The entries' DOS time and date, which a court package sets to the signing time; none in a case package (its own time). */
  times?: { time: number; date: number };
  /** Told the original's CRC-32, computed on the way. */
  onOriginalCrc?: (crc: number) => void;
}

/** Where the checks of `checkPackageFiles` report: `pass` records the current check and names the next. */
export interface PackageCheckContext {
  pass: (detail: string, next?: PackageCheckName) => void;
  summary: PackageSummary;
  options: { createHasher?: () => Sha512; kept?: KeptCheckpoint };
}

/**
 * The checks of an item's files, "signer key id" to "original sha512" in PACKAGE_CHECKS order;
 * throws at the first that fails (its message says what is wrong), after `pass`ing the others.
 * Returns what the files proved.
 */
export async function checkPackageFiles(files: PackageFiles, ctx: PackageCheckContext): Promise<{ manifest: Manifest; metadata: EvidenceMetadata; extras: PackageExtras }> {
  const { small, layout, original, options, summary, pass } = { ...files, ...ctx };
  const text = (name: string): string => {
    try {
      return fromUtf8(small.get(name)!);
    } catch {
      throw new CheckFailed(`${name} is not UTF-8 text`);
    }
  };
  // signer key id: the JWS names the key in signer.jwk.json (RFC 7638 thumbprint).
  const jws = text(PACKAGE_ENTRY.manifestJws);
  const jwk = parseJson(small.get(PACKAGE_ENTRY.signerJwk)!, "signer.jwk.json") as JWK;
  if (typeof jwk !== "object" || jwk === null || jwk.kty !== "EC" || jwk.crv !== "P-521" || typeof jwk.x !== "string" || typeof jwk.y !== "string" || "d" in jwk) {
    throw new CheckFailed("signer.jwk.json is not an EC P-521 public JWK");
  }
  if (text(PACKAGE_ENTRY.signerJwk) !== prettyJson(publicSigningJwk(jwk))) throw new CheckFailed("signer.jwk.json is not written as a package writes it (members, order, indentation)");
  let kid: string;
  let claimed: string;
  try {
    kid = await keyId(jwk);
    claimed = manifestKid(jws);
  } catch (error) {
    throw new CheckFailed(failureText(error));
  }
  if (claimed !== kid) throw new CheckFailed(`manifest.jws names key ${claimed}, but signer.jwk.json is key ${kid}`);
  if (jwk.kid !== undefined && jwk.kid !== kid) throw new CheckFailed(`signer.jwk.json says kid ${jwk.kid}, its thumbprint is ${kid}`);
  summary.signerKid = kid;
  pass(kid, "manifest signature");

  // manifest signature: ES512 over the JWS signing input, with the JWK; typ, schema, signerKid.
  let manifest: Manifest;
  try {
    manifest = await verifyManifest(jws, jwk);
  } catch (error) {
    throw new CheckFailed(failureText(error));
  }
  Object.assign(summary, { byteSize: manifest.byteSize, sha512: manifest.sha512, signedAt: manifest.signedAt, evidenceId: manifest.evidenceId, caseId: manifest.caseId, uploaderId: manifest.uploaderId, ...(manifest.derivedFrom ? { derivedFrom: manifest.derivedFrom } : {}) });
  pass(`ES512 by ${kid}, signed at ${manifest.signedAt}`, "zip times");

  if (files.times) {
    const signed = dosDateTime(new Date(manifest.signedAt));
    if (signed.time !== files.times.time || signed.date !== files.times.date) throw new CheckFailed("the entries' times are not the signing time in UTC");
    pass(`every entry at ${manifest.signedAt.slice(0, 19)} UTC (2-second resolution)`, "signer.pem");
  } else {
    pass("not checked here: the entries carry the case package's time", "signer.pem");
  }

  // signer.pem: the key OpenSSL uses is the key the JWS verified with, written as a package writes it.
  if (text(PACKAGE_ENTRY.signerPem) !== (await publicJwkToPem(jwk))) throw new CheckFailed("signer.pem is not the same key as signer.jwk.json, written as a package writes it");
  pass("same P-521 key as signer.jwk.json", "signature files");

  // signature files: what `openssl dgst -verify` and `openssl ts -verify` check is what the JWS says.
  const [header, payload, signature] = jws.split(".") as [string, string, string];
  const signatureBytes = fromBase64url(signature);
  if (!sameBytes(small.get(PACKAGE_ENTRY.signingInput)!, utf8(`${header}.${payload}`))) {
    throw new CheckFailed("manifest.signing-input is not the first two parts of manifest.jws");
  }
  if (!sameBytes(small.get(PACKAGE_ENTRY.signatureDer)!, es512SignatureToDer(signatureBytes))) {
    throw new CheckFailed("manifest.sig.der is not the DER form of manifest.jws's signature");
  }
  if (!sameBytes(small.get(PACKAGE_ENTRY.signatureRaw)!, signatureBytes)) throw new CheckFailed("manifest.sig is not manifest.jws's signature");
  pass("manifest.signing-input, manifest.sig.der and manifest.sig match manifest.jws", "manifest.json");

  if (!sameBytes(small.get(PACKAGE_ENTRY.manifestJson)!, fromBase64url(payload))) throw new CheckFailed("manifest.json differs from the signed payload in manifest.jws");
  pass("byte for byte the signed payload", "metadata.json");

  let metadata: EvidenceMetadata;
  if (layout.fileKey) {
    const keyJwk = parseJson(small.get(OPTIONAL_ENTRY.fileKey)!, OPTIONAL_ENTRY.fileKey) as { k?: unknown };
    let raw: Uint8Array;
    try {
      raw = fromBase64url(typeof keyJwk?.k === "string" ? keyJwk.k : "");
    } catch {
      throw new CheckFailed(`${OPTIONAL_ENTRY.fileKey} is not a file key`);
    }
    if (raw.length !== 32 || text(OPTIONAL_ENTRY.fileKey) !== fileKeyJwkText(raw)) throw new CheckFailed(`${OPTIONAL_ENTRY.fileKey} is not a 256-bit key written as a package writes it`);
    try {
      metadata = await decryptMetadata(manifest.metadata, await importFileKey(raw));
    } catch {
      throw new CheckFailed("the signed metadata does not decrypt with the package's file key");
    }
    if (text(PACKAGE_ENTRY.metadata) !== prettyJson(metadata)) throw new CheckFailed("metadata.json is not the signed metadata");
  } else {
    const parsed = EvidenceMetadata.safeParse(parseJson(small.get(PACKAGE_ENTRY.metadata)!, "metadata.json"));
    if (!parsed.success) throw new CheckFailed(`metadata.json is malformed: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}`);
    metadata = parsed.data;
    if (text(PACKAGE_ENTRY.metadata) !== prettyJson(metadata)) throw new CheckFailed("metadata.json is not written as a package writes it");
  }
  const expectedName = ORIGINAL_DIR + packageFileName(metadata.fileName);
  if (original.name !== expectedName) throw new CheckFailed(`the original is ${original.name}, but metadata.json's fileName gives ${expectedName}`);
  Object.assign(summary, { fileName: original.name, mediaType: metadata.mediaType, ...(metadata.capturedAt ? { capturedAt: metadata.capturedAt } : {}),
    ...(typeof metadata.device?.captureTimeSource === "string" ? { captureTimeSource: metadata.device.captureTimeSource } : {}),
    ...(typeof metadata.device?.capturedAtLocal === "string" ? { capturedAtLocal: metadata.device.capturedAtLocal } : {}) });
  pass(`${metadata.fileName}, ${metadata.mediaType} ${layout.fileKey ? "(the signed metadata, decrypted with the package's file key)" : "(not covered by the signature: the package has no file key)"}`, "timestamp");

  const extras: PackageExtras = { fileKey: layout.fileKey };
  if (layout.timestamp) {
    try {
      const token = responseToToken(small.get(OPTIONAL_ENTRY.timestamp)!);
      let caPem: string | null = null;
      if (layout.timestamp.ca) {
        caPem = text(OPTIONAL_ENTRY.timestampCa);
        if (canonicalCertificatesPem(caPem) !== caPem) throw new CheckFailed(`${OPTIONAL_ENTRY.timestampCa} is not written as a package writes it`);
      }
      const info = await verifyTimestampToken(token, signatureBytes, { trustedPem: caPem });
      extras.timestamp = { info, ca: caPem !== null };
      summary.timestamp = { genTime: info.genTime, tsaName: info.tsaName, serial: info.serial, ...(caPem ? { caFingerprint: await certificateFingerprint(parseCertificatesPem(caPem)[0]!) } : {}) };
      pass(`${info.genTime} by ${info.tsaName}, over manifest.sig${caPem ? ", chained to timestamp-ca.pem" : " (signature only: no CA in the package)"}`, "signer register");
    } catch (error) {
      throw new CheckFailed(failureText(error));
    }
  } else {
    pass("none in this package", "signer register");
  }

  // signer register: a verified audit export of this key's register events says whose key it is and when it was valid.
  const registerText = text(PACKAGE_ENTRY.signerRegister);
  if (!registerText.endsWith("\n")) throw new CheckFailed("signer-register.jsonl does not end with a line feed");
  const registerLines = registerText.split("\n");
  if (registerLines.at(-1) === "") registerLines.pop();
  const audit = await verifyExport(registerLines, { keepEvents: true, ...(options.kept ? { kept: options.kept } : {}) });
  if (!audit.ok) throw new CheckFailed(`signer-register.jsonl, line ${audit.error!.line}: ${audit.error!.message}`);
  if (audit.kind !== "filtered" || audit.filter.targetType !== "signing_key" || audit.filter.targetId !== kid || Object.keys(audit.filter).length !== 2) {
    throw new CheckFailed(`signer-register.jsonl is not the register export of key ${kid}`);
  }
  const record = signerRecord(audit.verifiedEvents ?? [], kid);
  if (typeof record === "string") throw new CheckFailed(record);
  if (record.publicJwk.x !== jwk.x || record.publicJwk.y !== jwk.y || record.publicJwk.crv !== "P-521") throw new CheckFailed("the registered key is not signer.jwk.json");
  if (record.holder.type === "user" && record.holder.id !== manifest.uploaderId) throw new CheckFailed(`the key is registered to user ${record.holder.id}, the manifest names uploader ${manifest.uploaderId}`);
  // A submitter's key signs for one submission through one link (docs/submissions.md §5): the manifest names both.
  if (record.holder.type === "submitter" && (record.holder.id !== manifest.uploaderId || record.holder.linkId !== manifest.caseId)) {
    throw new CheckFailed(`the key is registered to submission ${record.holder.id} through link ${record.holder.linkId}, the manifest names ${manifest.uploaderId} through ${manifest.caseId}`);
  }
  if (manifest.signedAt < record.validFrom) throw new CheckFailed(`signed at ${manifest.signedAt}, before the key was registered (${record.validFrom})`);
  if (record.retiredAt !== null && manifest.signedAt >= record.retiredAt) throw new CheckFailed(`signed at ${manifest.signedAt}, after the key was retired (${record.retiredAt})`);
  const holder = record.holder.type === "user"
    ? `${record.holder.name} <${record.holder.email}> (user ${record.holder.id})`
    : record.holder.type === "submitter"
      ? `the submitter (no account) of submission ${record.holder.id}, ${record.holder.name}`
      : `site ${record.holder.name} (${record.holder.id})`;
  summary.signer = { holder, validFrom: record.validFrom, retiredAt: record.retiredAt, auditKid: audit.signers[0]!, treeSize: audit.treeSize!, backfilledAt: record.backfilledAt };
  pass(
    `${holder}'s key, registered ${record.validFrom} (audit event ${record.registeredSeq}${record.backfilledAt ? `, recorded ${record.backfilledAt} for a key older than the register` : ""}), ${record.retiredAt ? `retired ${record.retiredAt}` : "not retired"}; ` +
      `proven in the audit tree of ${audit.treeSize} events signed by audit key ${audit.signers.join(", ")}${audit.kept ? `, which extends the kept checkpoint of ${audit.kept.treeSize}` : ""}`,
    "VERIFY.txt",
  );

  // VERIFY.txt is unsigned, but fully determined by what is checked above: it must be exactly that text.
  if (text(PACKAGE_ENTRY.verify) !== verifyInstructions(manifest, metadata, original.name, extras)) throw new CheckFailed("VERIFY.txt is not the text this package's checked contents give");
  pass("exactly the instructions for this package", "original size");

  if (original.size !== manifest.byteSize) throw new CheckFailed(`${original.name} is ${original.size} bytes, the manifest says ${manifest.byteSize}`);
  pass(`${original.size} bytes`, "original sha512");

  const hasher = (options.createHasher ?? createSha512)();
  let crc = 0;
  let read = 0;
  for await (const chunk of original.chunks()) {
    hasher.update(chunk);
    crc = crc32(crc, chunk);
    read += chunk.length;
  }
  if (read !== original.size) throw new CheckFailed(`read ${read} of ${original.size} bytes`);
  files.onOriginalCrc?.(crc);
  const digest = hasher.digestHex();
  if (digest !== manifest.sha512) throw new CheckFailed(`${original.name} has SHA-512 ${digest}, the manifest says ${manifest.sha512}`);
  pass(digest, "zip checksums");
  return { manifest, metadata, extras };
}

/**
 * Verify a court package offline. Runs PACKAGE_CHECKS in order and stops at the first that
 * fails; a package is good only if `ok`. The signer's key is taken from the package itself, so
 * `summary.signerKid` must still be checked against the organisation's register of keys.
 * `createHasher` swaps in a faster incremental SHA-512 (e.g. wasm) for the original.
 */
export async function verifyCourtPackage(source: PackageSource, options: { createHasher?: () => Sha512; kept?: KeptCheckpoint } = {}): Promise<PackageReport> {
  const r = readerOf(source);
  const checks: PackageCheck[] = [];
  const summary: PackageSummary = {};
  let current: PackageCheckName = PACKAGE_CHECKS[0];
  const pass = (detail: string, next?: PackageCheckName): void => {
    checks.push({ name: current, ok: true, detail });
    if (next) current = next;
  };

  try {
    const { entries, time, date } = await readZipDirectory(r);
    pass(`${entries.length} stored entries, laid out end to end, every header as a package writes it`, "zip entries");

    // zip entries: exactly the package's entries, in the format's order.
    const names = entries.map((e) => e.name);
    const original = entries.at(-1)!;
    const has = (name: string) => names.includes(name);
    const layout: PackageExtras = { fileKey: has(OPTIONAL_ENTRY.fileKey), ...(has(OPTIONAL_ENTRY.timestamp) ? { timestamp: { info: undefined as never, ca: has(OPTIONAL_ENTRY.timestampCa) } } : {}) };
    const originalOk = original.name.startsWith(ORIGINAL_DIR) && original.name.length > ORIGINAL_DIR.length && !original.name.slice(ORIGINAL_DIR.length).includes("/");
    const expectedNames = packageEntryNames(originalOk ? original.name : `${ORIGINAL_DIR}<file name>`, layout);
    if (names.join("\n") !== expectedNames.join("\n")) {
      const missing = expectedNames.filter((n) => !names.includes(n));
      const unexpected = names.filter((n) => !expectedNames.includes(n));
      throw new CheckFailed(
        missing.length || unexpected.length
          ? [missing.length ? `missing: ${missing.join(", ")}` : "", unexpected.length ? `unexpected: ${unexpected.join(", ")}` : ""].filter(Boolean).join("; ")
          : `entries out of order: expected ${expectedNames.join(", ")}`,
      );
    }
    pass(`the ${entries.length - 1} package files and ${original.name}, in order`, "signer key id");

    const crcs = new Map<string, number>();
    const small = new Map<string, Uint8Array>();
    for (const entry of entries.slice(0, -1)) {
      if (entry.size > MAX_SMALL_ENTRY) throw new CheckFailed(`${entry.name} is ${entry.size} bytes, far larger than it can legitimately be`);
      const bytes = await r.read(entry.dataOffset, entry.size);
      small.set(entry.name, bytes);
      crcs.set(entry.name, crc32(0, bytes));
    }
    await checkPackageFiles(
      { small, layout, original: { name: original.name, size: original.size, chunks: () => r.chunks(original.dataOffset, original.size) }, times: { time, date }, onOriginalCrc: (crc) => crcs.set(original.name, crc) },
      { pass, summary, options },
    );

    const bad = entries.filter((e) => crcs.get(e.name) !== e.crc).map((e) => e.name);
    if (bad.length) throw new CheckFailed(`CRC-32 mismatch in ${bad.join(", ")}`);
    pass(`CRC-32 of all ${entries.length} entries`);
  } catch (error) {
    checks.push({ name: current, ok: false, detail: failureText(error) });
    return { ok: false, checks, failed: current, summary };
  }
  return { ok: true, checks, summary };
}
