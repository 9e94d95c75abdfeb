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
import { keyId } from "./keys";
import { EvidenceMetadata, manifestKid, verifyManifest, type Manifest } from "./manifest";
import { ORIGINAL_DIR, PACKAGE_ENTRY, es512SignatureToDer, packageFileName } from "./package";
import { createSha512, type Sha512 } from "./sha512";
import { verifyExport, type KeptCheckpoint } from "../audit/export";
import { signerRecord } from "../audit/signers";

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
  byteSize?: number;
  sha512?: string;
  signerKid?: string;
  signedAt?: string;
  evidenceId?: string;
  caseId?: string;
  /** From the key register: who held the key, since when, until when (null: not retired). */
  signer?: { holder: string; validFrom: string; retiredAt: string | null; auditKid: string; treeSize: number };
}

/** The verification report: checks in the order run; verification stops at the first failure, named by `failed`. */
export interface PackageReport {
  ok: boolean;
  checks: PackageCheck[];
  failed?: string;
  summary: PackageSummary;
}

/** A package to verify: the whole ZIP in memory, or a Blob read piecewise (File, `fs.openAsBlob`). */
export type PackageSource = Uint8Array | Blob;

/** Check names, in the order they run. */
export const PACKAGE_CHECKS = [
  "zip structure",
  "zip entries",
  "signer key id",
  "manifest signature",
  "signer.pem",
  "signature files",
  "manifest.json",
  "metadata.json",
  "signer register",
  "VERIFY.txt",
  "original size",
  "original sha512",
  "zip checksums",
] as const;
export type PackageCheckName = (typeof PACKAGE_CHECKS)[number];

const MAX_ENTRIES = 64;
const MAX_SMALL_ENTRY = 4 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

class CheckFailed extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

// ---- random-access reading ---------------------------------------------------------------

interface Reader {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  chunks(offset: number, length: number): AsyncGenerator<Uint8Array>;
}

function readerOf(source: PackageSource): Reader {
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

// ---- CRC-32 (ZIP's checksum, ISO 3309 polynomial; not a security check) -------------------

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(crc: number, bytes: Uint8Array): number {
  let c = crc ^ 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- ZIP directory -------------------------------------------------------------------------

interface ZipEntry {
  name: string;
  crc: number;
  size: number;
  dataOffset: number;
}

const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Read and check the ZIP's layout: one end record, no ZIP64, at most 64 entries, every entry
 * stored (not compressed, not encrypted) with a unique UTF-8 or ASCII name, local headers that
 * agree with the central directory, and entries laid end to end from byte 0 to the directory
 * (no gaps, no overlaps, nothing hidden between them).
 */
async function readZipDirectory(r: Reader): Promise<ZipEntry[]> {
  if (r.size < 22) throw new CheckFailed("too short to be a ZIP file");
  const tailStart = Math.max(0, r.size - (22 + 0xffff));
  const tail = await r.read(tailStart, r.size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) === 0x06054b50 && i + 22 + u16(tail, i + 20) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new CheckFailed("not a ZIP file (no end of central directory record)");
  const eocdAt = tailStart + eocd;
  const count = u16(tail, eocd + 10);
  const cdSize = u32(tail, eocd + 12);
  const cdOffset = u32(tail, eocd + 16);
  if (u16(tail, eocd + 4) !== 0 || u16(tail, eocd + 6) !== 0 || u16(tail, eocd + 8) !== count) throw new CheckFailed("multi-disk ZIP");
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff || (eocd >= 20 && u32(tail, eocd - 20) === 0x07064b50)) {
    throw new CheckFailed("ZIP64 archives are not produced by Custody and not read here");
  }
  if (count > MAX_ENTRIES) throw new CheckFailed(`${count} entries, more than a package can hold`);
  if (cdOffset + cdSize !== eocdAt) throw new CheckFailed("bytes between the central directory and its end record");
  const cd = await r.read(cdOffset, cdSize);

  const entries: (ZipEntry & { localAt: number; rawName: Uint8Array; descriptor: boolean })[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cd.length || u32(cd, at) !== 0x02014b50) throw new CheckFailed(`central directory entry ${n} is damaged`);
    const flags = u16(cd, at + 8);
    const method = u16(cd, at + 10);
    const crc = u32(cd, at + 16);
    const compressed = u32(cd, at + 20);
    const size = u32(cd, at + 24);
    const nameLength = u16(cd, at + 28);
    const extraLength = u16(cd, at + 30);
    const commentLength = u16(cd, at + 32);
    const localAt = u32(cd, at + 42);
    const rawName = cd.slice(at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (at > cd.length) throw new CheckFailed(`central directory entry ${n} is damaged`);
    let name: string;
    try {
      if (!(flags & 0x800) && rawName.some((b) => b >= 0x80)) throw new TypeError("not ASCII");
      name = fromUtf8(rawName);
    } catch {
      throw new CheckFailed(`entry ${n} has a name that is neither UTF-8 (flagged) nor ASCII`);
    }
    if (flags & 0x41) throw new CheckFailed(`${name} is encrypted`);
    if (method !== 0 || compressed !== size) throw new CheckFailed(`${name} is compressed; a package stores every entry as is`);
    if (compressed === 0xffffffff || localAt === 0xffffffff) throw new CheckFailed("ZIP64 entries are not produced by Custody and not read here");
    if (names.has(name)) throw new CheckFailed(`${name} appears twice`);
    names.add(name);
    entries.push({ name, crc, size, dataOffset: 0, localAt, rawName, descriptor: (flags & 0x8) !== 0 });
  }
  if (at !== cd.length) throw new CheckFailed("trailing bytes in the central directory");

  let expectedAt = 0;
  for (const entry of [...entries].sort((a, b) => a.localAt - b.localAt)) {
    if (entry.localAt !== expectedAt) throw new CheckFailed(`bytes before ${entry.name} that belong to no entry (or entries overlap)`);
    const local = await r.read(entry.localAt, 30);
    if (local.length < 30 || u32(local, 0) !== 0x04034b50) throw new CheckFailed(`${entry.name}: no local header where the directory says`);
    const nameLength = u16(local, 26);
    const extraLength = u16(local, 28);
    if (u16(local, 8) !== 0 || ((u16(local, 6) & 0x8) !== 0) !== entry.descriptor) throw new CheckFailed(`${entry.name}: local header disagrees with the directory`);
    if (!sameBytes(await r.read(entry.localAt + 30, nameLength), entry.rawName)) throw new CheckFailed(`${entry.name}: local header names a different file`);
    if (!entry.descriptor && (u32(local, 14) !== entry.crc || u32(local, 18) !== entry.size || u32(local, 22) !== entry.size)) {
      throw new CheckFailed(`${entry.name}: local header sizes or checksum disagree with the directory`);
    }
    entry.dataOffset = entry.localAt + 30 + nameLength + extraLength;
    expectedAt = entry.dataOffset + entry.size;
    if (entry.descriptor) {
      // Data descriptor: optional signature, then CRC-32, compressed size, size (4 bytes each).
      const dd = await r.read(expectedAt, 16);
      const off = dd.length >= 4 && u32(dd, 0) === 0x08074b50 ? 4 : 0;
      if (dd.length < off + 12 || u32(dd, off) !== entry.crc || u32(dd, off + 4) !== entry.size || u32(dd, off + 8) !== entry.size) {
        throw new CheckFailed(`${entry.name}: data descriptor disagrees with the directory`);
      }
      expectedAt += off + 12;
    }
    if (expectedAt > cdOffset) throw new CheckFailed(`${entry.name} runs into the central directory`);
  }
  if (expectedAt !== cdOffset) throw new CheckFailed("bytes before the central directory that belong to no entry");
  return entries.map(({ name, crc, size, dataOffset }) => ({ name, crc, size, dataOffset }));
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

function describe(error: unknown): string {
  if (error instanceof CheckFailed) return error.detail;
  if (error instanceof IntegrityError || error instanceof FormatError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// ---- the verifier -------------------------------------------------------------------------

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
    const entries = await readZipDirectory(r);
    pass(`${entries.length} stored entries, laid out end to end`, "zip entries");

    const byName = new Map(entries.map((e) => [e.name, e]));
    const fixed: string[] = Object.values(PACKAGE_ENTRY);
    const originals = entries.filter((e) => e.name.startsWith(ORIGINAL_DIR));
    const missing = fixed.filter((name) => !byName.has(name));
    const unexpected = entries
      .map((e) => e.name)
      .filter((name) => !fixed.includes(name) && !(name.startsWith(ORIGINAL_DIR) && name.length > ORIGINAL_DIR.length && !name.slice(ORIGINAL_DIR.length).includes("/")));
    if (originals.length === 0) missing.push(`${ORIGINAL_DIR}<file name>`);
    if (originals.length > 1) unexpected.push(...originals.slice(1).map((e) => e.name));
    if (missing.length || unexpected.length) {
      throw new CheckFailed([missing.length ? `missing: ${missing.join(", ")}` : "", unexpected.length ? `unexpected: ${unexpected.join(", ")}` : ""].filter(Boolean).join("; "));
    }
    const original = originals[0]!;
    pass(`the ${fixed.length} package files and ${original.name}`, "signer key id");

    const crcs = new Map<string, number>();
    const small = new Map<string, Uint8Array>();
    for (const name of fixed) {
      const entry = byName.get(name)!;
      if (entry.size > MAX_SMALL_ENTRY) throw new CheckFailed(`${name} is ${entry.size} bytes, far larger than it can legitimately be`);
      const bytes = await r.read(entry.dataOffset, entry.size);
      small.set(name, bytes);
      crcs.set(name, crc32(0, bytes));
    }
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
    const kid = await keyId(jwk);
    const claimed = manifestKid(jws);
    if (claimed !== kid) throw new CheckFailed(`manifest.jws names key ${claimed}, but signer.jwk.json is key ${kid}`);
    if (jwk.kid !== undefined && jwk.kid !== kid) throw new CheckFailed(`signer.jwk.json says kid ${jwk.kid}, its thumbprint is ${kid}`);
    summary.signerKid = kid;
    pass(kid, "manifest signature");

    // manifest signature: ES512 over the JWS signing input, with the JWK; typ, schema, signerKid.
    let manifest: Manifest;
    try {
      manifest = await verifyManifest(jws, jwk);
    } catch (error) {
      throw new CheckFailed(describe(error));
    }
    Object.assign(summary, { byteSize: manifest.byteSize, sha512: manifest.sha512, signedAt: manifest.signedAt, evidenceId: manifest.evidenceId, caseId: manifest.caseId });
    pass(`ES512 by ${kid}, signed at ${manifest.signedAt}`, "signer.pem");

    // signer.pem: the key OpenSSL uses is the key the JWS verified with.
    let pemJwk: JsonWebKey;
    try {
      const spki = pemToSpki(text(PACKAGE_ENTRY.signerPem));
      const key = await crypto.subtle.importKey("spki", spki as Uint8Array<ArrayBuffer>, { name: "ECDSA", namedCurve: "P-521" }, true, ["verify"]);
      pemJwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
    } catch (error) {
      throw new CheckFailed(error instanceof CheckFailed ? error.detail : "signer.pem is not an EC P-521 public key");
    }
    if (pemJwk.x !== jwk.x || pemJwk.y !== jwk.y) throw new CheckFailed("signer.pem is a different key from signer.jwk.json");
    pass("same P-521 key as signer.jwk.json", "signature files");

    // signature files: what `openssl dgst -verify` checks is what the JWS says.
    const [header, payload, signature] = jws.split(".") as [string, string, string];
    if (!sameBytes(small.get(PACKAGE_ENTRY.signingInput)!, utf8(`${header}.${payload}`))) {
      throw new CheckFailed("manifest.signing-input is not the first two parts of manifest.jws");
    }
    if (!sameBytes(small.get(PACKAGE_ENTRY.signatureDer)!, es512SignatureToDer(fromBase64url(signature)))) {
      throw new CheckFailed("manifest.sig.der is not the DER form of manifest.jws's signature");
    }
    pass("manifest.signing-input and manifest.sig.der match manifest.jws", "manifest.json");

    if (!sameBytes(small.get(PACKAGE_ENTRY.manifestJson)!, fromBase64url(payload))) throw new CheckFailed("manifest.json differs from the signed payload in manifest.jws");
    pass("byte for byte the signed payload", "metadata.json");

    const parsed = EvidenceMetadata.safeParse(parseJson(small.get(PACKAGE_ENTRY.metadata)!, "metadata.json"));
    if (!parsed.success) throw new CheckFailed(`metadata.json is malformed: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}`);
    const metadata = parsed.data;
    const expectedName = ORIGINAL_DIR + packageFileName(metadata.fileName);
    if (original.name !== expectedName) throw new CheckFailed(`the original is ${original.name}, but metadata.json's fileName gives ${expectedName}`);
    Object.assign(summary, { fileName: original.name, mediaType: metadata.mediaType, ...(metadata.capturedAt ? { capturedAt: metadata.capturedAt } : {}) });
    pass(`${metadata.fileName}, ${metadata.mediaType} (not covered by the signature: see VERIFY.txt)`, "signer register");

    // signer register: a verified audit export of this key's register events says whose key it is and when it was valid.
    const registerLines = text(PACKAGE_ENTRY.signerRegister).split("\n");
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
    if (manifest.signedAt < record.validFrom) throw new CheckFailed(`signed at ${manifest.signedAt}, before the key was registered (${record.validFrom})`);
    if (record.retiredAt !== null && manifest.signedAt >= record.retiredAt) throw new CheckFailed(`signed at ${manifest.signedAt}, after the key was retired (${record.retiredAt})`);
    const holder = record.holder.type === "user" ? `${record.holder.name} <${record.holder.email}> (user ${record.holder.id})` : `site ${record.holder.name} (${record.holder.id})`;
    summary.signer = { holder, validFrom: record.validFrom, retiredAt: record.retiredAt, auditKid: audit.signers[0]!, treeSize: audit.treeSize! };
    pass(
      `${holder}'s key, registered ${record.validFrom} (audit event ${record.registeredSeq}), ${record.retiredAt ? `retired ${record.retiredAt}` : "not retired"}; ` +
        `proven in the audit tree of ${audit.treeSize} events signed by audit key ${audit.signers.join(", ")}${audit.kept ? `, which extends the kept checkpoint of ${audit.kept.treeSize}` : ""}`,
      "VERIFY.txt",
    );

    // VERIFY.txt is unsigned, but must not quote a hash or key id other than the signed ones.
    const instructions = text(PACKAGE_ENTRY.verify);
    const hashes = new Set(instructions.match(/\b[0-9a-f]{128}\b/g) ?? []);
    if (![...hashes].every((h) => h === manifest.sha512) || !instructions.includes(`SHA-512:    ${manifest.sha512}\n`) || !instructions.includes(`key id ${kid}\n`)) {
      throw new CheckFailed("VERIFY.txt quotes a different SHA-512 or key id from the signed manifest");
    }
    pass("quotes the signed SHA-512 and key id", "original size");

    if (original.size !== manifest.byteSize) throw new CheckFailed(`${original.name} is ${original.size} bytes, the manifest says ${manifest.byteSize}`);
    pass(`${original.size} bytes`, "original sha512");

    const hasher = (options.createHasher ?? createSha512)();
    let crc = 0;
    let read = 0;
    for await (const chunk of r.chunks(original.dataOffset, original.size)) {
      hasher.update(chunk);
      crc = crc32(crc, chunk);
      read += chunk.length;
    }
    if (read !== original.size) throw new CheckFailed(`read ${read} of ${original.size} bytes`);
    crcs.set(original.name, crc);
    const digest = hasher.digestHex();
    if (digest !== manifest.sha512) throw new CheckFailed(`${original.name} has SHA-512 ${digest}, the manifest says ${manifest.sha512}`);
    pass(digest, "zip checksums");

    const bad = entries.filter((e) => crcs.get(e.name) !== e.crc).map((e) => e.name);
    if (bad.length) throw new CheckFailed(`CRC-32 mismatch in ${bad.join(", ")}`);
    pass(`CRC-32 of all ${entries.length} entries`);
  } catch (error) {
    checks.push({ name: current, ok: false, detail: describe(error) });
    return { ok: false, checks, failed: current, summary };
  }
  return { ok: true, checks, summary };
}
