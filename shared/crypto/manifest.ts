/**
 * The evidence manifest (docs/evidence-format.md §4): a JSON payload signed as a compact
 * JWS (ES512, `typ: custody-manifest+jws`, `kid` = signer's RFC 7638 thumbprint), and the
 * encrypted metadata (compact JWE, `dir` + A256GCM under the file key).
 */
import { CompactEncrypt, CompactSign, compactDecrypt, compactVerify, decodeProtectedHeader, type JWK } from "jose";
import { z } from "zod";
import { FormatError, IntegrityError } from "./errors";
import { fromBase64url, fromUtf8, toBase64url, utf8 } from "./encoding";
import { importSigningPublicKey, keyId, TYP, type UnlockedKey } from "./keys";
import { NONCE_PREFIX_SIZE, PART_SIZE, SEGMENT_SIZE, partCount, type DecryptExpectations, type EncryptionSummary } from "./stream";

/** Manifest format version (`v`). */
export const MANIFEST_VERSION = 1;
/** Metadata envelope version (`v` inside the metadata JWE plaintext). */
export const METADATA_VERSION = 1;

const Hex512 = z.string().regex(/^[0-9a-f]{128}$/, "lowercase hex SHA-512");
const Id = z.string().min(1).max(128);
const MetaValue = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

/** Decrypted evidence metadata (what the server must not see). */
export const EvidenceMetadata = z.strictObject({
  v: z.literal(METADATA_VERSION),
  fileName: z.string().min(1).max(1024),
  mediaType: z.string().min(1).max(255),
  capturedAt: z.iso.datetime({ offset: true }).optional(),
  device: z.record(z.string().max(64), MetaValue).optional(),
  camera: z.record(z.string().max(64), MetaValue).optional(),
});
export type EvidenceMetadata = z.infer<typeof EvidenceMetadata>;

const Seconds = z.number().nonnegative().max(1e7);
const Unit = z.number().min(0).max(1);

/**
 * Where a redaction region is at media time `t` (seconds; 0 for a photo or a page): a box in
 * normalised frame coordinates (0–1, origin top left), `w` and `h` its width and height.
 */
export const RegionKey = z
  .strictObject({ t: Seconds, x: Unit, y: Unit, w: Unit.positive(), h: Unit.positive() })
  .refine((k) => k.x + k.w <= 1.0001 && k.y + k.h <= 1.0001, { message: "the box must lie inside the frame" });
export type RegionKey = z.infer<typeof RegionKey>;

/** At most this many region keys in one derived item, in all its operations: the manifest stays well under 1 MB. */
export const MAX_REGION_KEYS = 16_000;
/** At most this many operations in one derived item. */
export const MAX_OPERATIONS = 512;

const inOrder = (o: { from: number; to: number }) => o.to > o.from;
const afterFrom = { message: "to must be after from", path: ["to"] };

/**
 * One operation that made a derived item from its original (docs/evidence-format.md §6.1).
 * - `clip`: the original's media from `from` to `to` seconds (media time), cut on key frames
 *   without re-encoding, so the clip may start at the key frame before `from`.
 * - `redact` (§6.3): a region hidden by `effect`; in a video from `from` to `to` (media time of
 *   the original), moving along `keys` (linear between keys, held before the first and after the
 *   last); in a photo one key at `t` 0 and no range; in a document on `page` (1-based).
 * - `audio`: the sound from `from` to `to` muted or replaced by a 1 kHz tone (`bleep`).
 * - `trim`: only the original's `from` to `to` is kept, cut at exactly those times (re-encoded).
 * - `rasterize`: every page of a document was redrawn as an image at `dpi`, so nothing under a
 *   redaction (nor any text) is left to copy.
 */
export const DerivationOperation = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("clip"), from: Seconds, to: Seconds.positive() }).refine(inOrder, afterFrom),
  z
    .strictObject({
      type: z.literal("redact"),
      shape: z.enum(["rect", "ellipse"]),
      effect: z.enum(["blur", "pixelate", "fill"]),
      page: z.number().int().min(1).max(1_000_000).optional(),
      from: Seconds.optional(),
      to: Seconds.optional(),
      keys: z.array(RegionKey).min(1).max(MAX_REGION_KEYS),
    })
    .refine((o) => (o.from === undefined) === (o.to === undefined) && (o.from === undefined || o.to! >= o.from), { message: "from and to come together, to not before from", path: ["to"] })
    .refine((o) => o.keys.every((k, i) => i === 0 || k.t > o.keys[i - 1]!.t), { message: "keys must be in strictly increasing time", path: ["keys"] }),
  z.strictObject({ type: z.literal("audio"), effect: z.enum(["mute", "bleep"]), from: Seconds, to: Seconds.positive() }).refine(inOrder, afterFrom),
  z.strictObject({ type: z.literal("trim"), from: Seconds, to: Seconds.positive() }).refine(inOrder, afterFrom),
  z.strictObject({ type: z.literal("rasterize"), dpi: z.number().int().min(36).max(1200) }),
]);
export type DerivationOperation = z.infer<typeof DerivationOperation>;

/** The operation types that remove something from what the original shows or says. */
const REDACTING = new Set<DerivationOperation["type"]>(["redact", "audio", "rasterize"]);

/** True when a derived item is a redacted copy (it hides something of the original), not only a cut. */
export function isRedaction(derivedFrom: DerivedFrom): boolean {
  return derivedFrom.operations.some((o) => REDACTING.has(o.type));
}

/** One line a person can read for an operation: "clip 2 s to 4.5 s", "blur ellipse 1 s to 9 s (12 keys)". */
export function describeOperation(o: DerivationOperation): string {
  const range = (from: number, to: number) => `${round(from)} s to ${round(to)} s`;
  switch (o.type) {
    case "clip":
    case "trim":
      return `${o.type} ${range(o.from, o.to)}`;
    case "redact": {
      const where = o.page !== undefined ? `page ${o.page}` : o.from !== undefined ? range(o.from, o.to!) : "whole image";
      return `${o.effect} ${o.shape} ${where} (${o.keys.length} ${o.keys.length === 1 ? "key" : "keys"})`;
    }
    case "audio":
      return `${o.effect} audio ${range(o.from, o.to)}`;
    case "rasterize":
      return `pages redrawn as images at ${o.dpi} dpi`;
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/** What a derived item (a clip or a redacted copy) was made from: the original's id and SHA-512, and how. The original is never changed. */
export const DerivedFrom = z
  .strictObject({
    evidenceId: Id,
    sha512: Hex512,
    operations: z.array(DerivationOperation).min(1).max(MAX_OPERATIONS),
  })
  .refine((d) => d.operations.reduce((n, o) => n + (o.type === "redact" ? o.keys.length : 0), 0) <= MAX_REGION_KEYS, {
    message: `at most ${MAX_REGION_KEYS} region keys in all`,
    path: ["operations"],
  });
export type DerivedFrom = z.infer<typeof DerivedFrom>;

/** The signed manifest payload, format v1. */
export const Manifest = z
  .strictObject({
    v: z.literal(MANIFEST_VERSION),
    evidenceId: Id,
    caseId: Id,
    sha512: Hex512,
    byteSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    segmentSize: z.literal(SEGMENT_SIZE),
    partSize: z.literal(PART_SIZE),
    noncePrefix: z.string().regex(/^[A-Za-z0-9_-]{10}$/, "7 bytes, base64url"),
    parts: z.array(Hex512).min(1),
    metadata: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){4}$/, "compact JWE"),
    uploaderId: Id,
    requestId: Id.optional(),
    derivedFrom: DerivedFrom.optional(),
    /** "captures": uploaded before it had a case; `caseId` is the uploader's holding place and a signed filing record moves it (filing.ts). */
    scope: z.literal("captures").optional(),
    signerKid: z.string().min(1).max(128),
    signedAt: z.iso.datetime(),
  })
  .refine((m) => m.parts.length === partCount(m.byteSize), { message: "part count does not match byte size", path: ["parts"] });
export type Manifest = z.infer<typeof Manifest>;

/** Encrypt metadata under the file key: compact JWE, `dir` + A256GCM, fields as JSON in UTF-8. */
export async function encryptMetadata(metadata: Omit<EvidenceMetadata, "v">, fileKey: CryptoKey): Promise<string> {
  const body = EvidenceMetadata.parse({ v: METADATA_VERSION, ...metadata });
  // Random 96-bit IV (jose): it cannot collide in practice with the structured segment IVs under the same key.
  return new CompactEncrypt(utf8(JSON.stringify(body)))
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", typ: TYP.metadata })
    .encrypt(fileKey);
}

/** Decrypt a metadata JWE (compact) with the file key; throws IntegrityError if it does not authenticate. */
export async function decryptMetadata(jwe: string, fileKey: CryptoKey): Promise<EvidenceMetadata> {
  let out;
  try {
    out = await compactDecrypt(jwe, fileKey, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
  } catch (cause) {
    throw new IntegrityError("metadata", "did not decrypt with this file key", { cause });
  }
  if (out.protectedHeader.typ !== TYP.metadata) throw new FormatError("metadata", `expected typ ${TYP.metadata}`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(out.plaintext));
  } catch (cause) {
    throw new FormatError("metadata", "plaintext is not JSON", { cause });
  }
  const parsed = EvidenceMetadata.safeParse(json);
  if (!parsed.success) throw new FormatError("metadata", "unsupported or malformed", { cause: parsed.error });
  return parsed.data;
}

/** What the uploader supplies to `signManifest`; hashes and sizes come from the encryption summary. */
export interface ManifestInput {
  evidenceId: string;
  caseId: string;
  uploaderId: string;
  requestId?: string;
  /** Set for a derived item (a clip): its original and the operations. */
  derivedFrom?: DerivedFrom;
  /** "captures" for a capture uploaded to the uploader's holding place before it has a case. */
  scope?: "captures";
  metadata: string;
  stream: EncryptionSummary;
  /** ISO 8601 UTC; defaults to now. */
  signedAt?: string;
}

/** Build and sign a manifest: compact JWS, ES512, protected header `{alg, kid, typ}`, payload JSON in UTF-8. */
export async function signManifest(input: ManifestInput, signer: UnlockedKey): Promise<string> {
  const payload = Manifest.parse({
    v: MANIFEST_VERSION,
    evidenceId: input.evidenceId,
    caseId: input.caseId,
    sha512: input.stream.sha512,
    byteSize: input.stream.byteSize,
    segmentSize: SEGMENT_SIZE,
    partSize: PART_SIZE,
    noncePrefix: toBase64url(input.stream.noncePrefix),
    parts: input.stream.partSha512,
    metadata: input.metadata,
    uploaderId: input.uploaderId,
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    ...(input.derivedFrom === undefined ? {} : { derivedFrom: input.derivedFrom }),
    ...(input.scope === undefined ? {} : { scope: input.scope }),
    signerKid: signer.kid,
    signedAt: input.signedAt ?? new Date().toISOString(),
  });
  return new CompactSign(utf8(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES512", kid: signer.kid, typ: TYP.manifest })
    .sign(signer.privateKey);
}

/** The `kid` a manifest JWS claims (unverified), so the caller can fetch that signer's public JWK. */
export function manifestKid(jws: string): string {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch (cause) {
    throw new FormatError("manifest", "not a compact JWS", { cause });
  }
  if (typeof kid !== "string") throw new FormatError("manifest", "no kid header");
  return kid;
}

/**
 * Verify a manifest JWS (compact) against the expected signer's public JWK and return the payload.
 * Only ES512 is accepted (never `none`); the `kid` header and `signerKid` must be that key's thumbprint.
 */
export async function verifyManifest(jws: string, signerPublicJwk: JWK): Promise<Manifest> {
  const kid = await keyId(signerPublicJwk);
  if (manifestKid(jws) !== kid) throw new IntegrityError("manifest signer", "signed by a different key than expected");
  const key = await importSigningPublicKey(signerPublicJwk);
  let out;
  try {
    out = await compactVerify(jws, key, { algorithms: ["ES512"] });
  } catch (cause) {
    throw new IntegrityError("manifest signature", "does not verify: the manifest was changed after signing or not signed by this key", { cause });
  }
  if (out.protectedHeader.typ !== TYP.manifest) throw new FormatError("manifest", `expected typ ${TYP.manifest}`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(out.payload));
  } catch (cause) {
    throw new FormatError("manifest", "payload is not JSON", { cause });
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) throw new FormatError("manifest", "unsupported version or malformed payload", { cause: parsed.error });
  if (parsed.data.signerKid !== kid) throw new IntegrityError("manifest signer", "signerKid does not match the signing key");
  return parsed.data;
}

/** The decryption checks a verified manifest implies (nonce prefix decoded from base64url). */
export function decryptExpectations(manifest: Manifest): DecryptExpectations {
  const noncePrefix = fromBase64url(manifest.noncePrefix);
  if (noncePrefix.length !== NONCE_PREFIX_SIZE) throw new FormatError("manifest", "bad nonce prefix");
  return { noncePrefix, partSha512: manifest.parts, byteSize: manifest.byteSize, sha512: manifest.sha512 };
}
