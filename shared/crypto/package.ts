/**
 * Court export package (docs/evidence-format.md §8): a stored (uncompressed) ZIP holding the
 * original file byte for byte, the signed manifest, the signer's public key (JWK and PEM),
 * the decrypted metadata, and VERIFY.txt with the steps to check it with sha512sum and openssl.
 * Built as a stream (shared/crypto/zip.ts: stored entries, UTC times, ZIP64 when needed), so a
 * multi-GiB original never has to be whole in memory. Web-standard only (runs in the browser, Workers, Deno and Node).
 */
import type { JWK } from "jose";
import { FormatError, IntegrityError } from "./errors";
import { fromBase64url, streamChunks, toBase64url, utf8 } from "./encoding";
import { importFileKey, importSigningPublicKey } from "./keys";
import { decryptMetadata, EvidenceMetadata, METADATA_VERSION, verifyManifest, type Manifest } from "./manifest";
import { createSha512, type Sha512 } from "./sha512";
import { StoredZipWriter } from "./zip";
import { certificateToPem, parseCertificatesPem, tokenToResponse, verifyTimestampToken, type TimestampInfo } from "../timestamp/rfc3161";

/** Fixed entry names inside a court package; the original is `original/<sanitised file name>`. */
export const PACKAGE_ENTRY = {
  verify: "VERIFY.txt",
  manifestJws: "manifest.jws",
  manifestJson: "manifest.json",
  signingInput: "manifest.signing-input",
  signatureDer: "manifest.sig.der",
  signatureRaw: "manifest.sig",
  signerJwk: "signer.jwk.json",
  signerPem: "signer.pem",
  metadata: "metadata.json",
  signerRegister: "signer-register.jsonl",
} as const;

/** Entries a package has only with what they prove: the file key (metadata.json), the timestamp and its CA. */
export const OPTIONAL_ENTRY = {
  fileKey: "file-key.jwk.json",
  timestamp: "timestamp.tsr",
  timestampCa: "timestamp-ca.pem",
} as const;

/** What a package holds beyond the fixed entries; decides the entry list and VERIFY.txt. */
export interface PackageExtras {
  /** The file key is included, so metadata.json is checked against the signed `metadata` JWE. */
  fileKey: boolean;
  /** The RFC 3161 timestamp over the manifest signature, as verified. */
  timestamp?: { info: TimestampInfo; ca: boolean };
}

/** signer-register.jsonl as packages write it: the register export as received, ending in one LF. */
export function signerRegisterText(register: string): string {
  return register.endsWith("\n") ? register : `${register}\n`;
}

/** Every entry name of a package, in the order the format requires. */
export function packageEntryNames(entryName: string, extras: PackageExtras): string[] {
  return [
    PACKAGE_ENTRY.verify, PACKAGE_ENTRY.manifestJws, PACKAGE_ENTRY.manifestJson, PACKAGE_ENTRY.signingInput, PACKAGE_ENTRY.signatureDer, PACKAGE_ENTRY.signatureRaw,
    PACKAGE_ENTRY.signerJwk, PACKAGE_ENTRY.signerPem, PACKAGE_ENTRY.metadata, PACKAGE_ENTRY.signerRegister,
    ...(extras.fileKey ? [OPTIONAL_ENTRY.fileKey] : []),
    ...(extras.timestamp ? [OPTIONAL_ENTRY.timestamp, ...(extras.timestamp.ca ? [OPTIONAL_ENTRY.timestampCa] : [])] : []),
    entryName,
  ];
}

/** JSON as packages write it: JSON.stringify with 2-space indentation, then one LF. */
export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The file key entry: `{"kty":"oct","alg":"A256GCM","k":<base64url of the 32 bytes>}`, pretty-printed. */
export function fileKeyJwkText(raw: Uint8Array): string {
  return prettyJson({ kty: "oct", alg: "A256GCM", k: toBase64url(raw) });
}

/** PEM text of certificates as packages write them (each DER re-encoded, 64-column base64, LF). */
export function canonicalCertificatesPem(pem: string): string {
  return parseCertificatesPem(pem).map((c) => certificateToPem(new Uint8Array(c.toSchema().toBER()))).join("");
}

/** Folder of the original file inside the package. */
export const ORIGINAL_DIR = "original/";

/** Largest original a package can hold: ZIP64 sizes are 64-bit, and JavaScript integers are exact to 2^53 − 1. */
export const MAX_PACKAGED_ORIGINAL_SIZE = Number.MAX_SAFE_INTEGER;

const MAX_NAME_BYTES = 200;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
// Controls, characters Windows forbids in names, and bidirectional overrides (a name such as
// "photo<U+202E>gpj.exe" must not display as something it is not).
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f<>:"/\\|?*\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The name the original gets inside the package (string in, string out; deterministic, so a
 * verifier recomputes it from metadata.json): NFC, last path component only, unsafe characters
 * replaced by "_", no leading dot, no trailing dot or space, no Windows device name, at most
 * 200 UTF-8 bytes (an extension of up to 16 characters, dot included, kept), "original" if nothing is left.
 */
export function packageFileName(fileName: string): string {
  let name = fileName.normalize("NFC");
  name = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  name = name.replace(UNSAFE_CHARS, "_").trim().replace(/[. ]+$/, "");
  if (name.startsWith(".")) name = `_${name.slice(1)}`;
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  if (utf8(name).length > MAX_NAME_BYTES) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
    const stem = Array.from(name.slice(0, name.length - ext.length));
    while (stem.length > 0 && utf8(stem.join("") + ext).length > MAX_NAME_BYTES) stem.pop();
    name = (stem.join("") + ext).replace(/[. ]+$/, "");
  }
  return name === "" ? "original" : name;
}

/** An ES512 JWS signature (raw r || s, 66 bytes each, RFC 7518 §3.4) to DER `ECDSA-Sig-Value` for OpenSSL. */
export function es512SignatureToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 132) throw new FormatError("manifest signature", "an ES512 signature is 132 bytes (r || s)");
  const integer = (bytes: Uint8Array): number[] => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++; // minimal encoding: no leading zero bytes...
    const value = Array.from(bytes.subarray(i));
    if (value[0]! & 0x80) value.unshift(0); // ...except one that keeps a positive INTEGER positive
    return [0x02, value.length, ...value]; // at most 67 bytes: short-form length
  };
  const body = [...integer(raw.subarray(0, 66)), ...integer(raw.subarray(66))];
  // At most 138 bytes, so the SEQUENCE length is short form below 128 and one 0x81 byte above.
  return Uint8Array.from(body.length < 128 ? [0x30, body.length, ...body] : [0x30, 0x81, body.length, ...body]);
}

/** Public JWK (EC P-521) to SPKI PEM text ("-----BEGIN PUBLIC KEY-----", 64-column base64), via WebCrypto export. */
export async function publicJwkToPem(jwk: JWK): Promise<string> {
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", await importSigningPublicKey(jwk))) as ArrayBuffer);
  let binary = "";
  for (const byte of spki) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

/** Only the public members of a signing JWK, in a fixed order (a private `d` is never written). */
export function publicSigningJwk(jwk: JWK): JWK {
  const { kty, crv, x, y, kid, alg, use } = jwk;
  return { kty, crv, x, y, ...(kid === undefined ? {} : { kid }), ...(alg === undefined ? {} : { alg }), ...(use === undefined ? {} : { use }) };
}

/** Quote a string for a POSIX shell: single quotes, each ' written as '\''. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** A source of bytes: an (async) iterable of chunks, or a ReadableStream of them. */
export type ByteChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;

async function* chunksOf(source: ByteChunks): AsyncGenerator<Uint8Array> {
  if (!("getReader" in source)) {
    yield* source;
    return;
  }
  yield* streamChunks(source);
}

/** What goes into a court package. */
export interface CourtPackageInput {
  /** The decrypted original, as chunks in order (e.g. from `decryptParts`). Chunks are passed on uncopied: do not reuse their buffers. */
  original: ByteChunks;
  /** The manifest compact JWS, exactly as signed. */
  manifestJws: string;
  /** The signer's public JWK (EC P-521), as registered. */
  signerPublicJwk: JWK;
  /**
   * The signer's entries in the organisation's key register: the audit export of
   * `GET /api/audit/signers/<kid>` (docs/audit.md §9), JSON lines, as received.
   */
  signerRegister: string;
  /** The decrypted metadata (`decryptMetadata`); with `fileKey`, it must be what the manifest's metadata JWE decrypts to. */
  metadata?: EvidenceMetadata | Omit<EvidenceMetadata, "v">;
  /** The file key (32 raw bytes): included, so a verifier checks metadata.json against the signed JWE. It opens only this item. */
  fileKey?: Uint8Array;
  /** The RFC 3161 token (TimeStampToken DER) over the manifest signature, and the CA PEM it chains to (null: unknown). */
  timestamp?: { token: Uint8Array; caPem: string | null };
  /** Write ZIP64 records even for a small package (tests; readers accept both forms). */
  zip64?: boolean;
  /** A faster incremental SHA-512 (e.g. wasm) to check the original with; defaults to `createSha512`. */
  createHasher?: () => Sha512;
}

/**
 * The text of VERIFY.txt for a package (plain UTF-8 text, LF line ends): fully determined by the
 * manifest, the metadata, the original's entry name and `extras`, so a verifier rebuilds it and
 * compares byte for byte. Every command in it is run by the unit tests.
 */
export function verifyInstructions(manifest: Manifest, metadata: EvidenceMetadata, entryName: string, extras: PackageExtras = { fileKey: false }): string {
  const q = shellQuote(entryName);
  const E = { ...PACKAGE_ENTRY, ...OPTIONAL_ENTRY };
  const stamp = extras.timestamp;
  const lines = [
    "CUSTODY COURT EXPORT PACKAGE: HOW TO VERIFY IT",
    "",
    `Evidence:   ${manifest.evidenceId} (case ${manifest.caseId})`,
    `Original:   ${entryName} (${manifest.byteSize} bytes, ${metadata.mediaType})`,
    `SHA-512:    ${manifest.sha512}`,
    `Signed by:  key id ${manifest.signerKid}`,
    `Signed at:  ${manifest.signedAt} (the signer's clock)`,
    stamp ? `Timestamp:  ${stamp.info.genTime} by ${stamp.info.tsaName} (RFC 3161, serial ${stamp.info.serial})` : "Timestamp:  none in this package",
    "",
    "This file is a convenience and is not signed itself. The evidence is authentic only if",
    `the ${stamp ? "five" : "four"} checks below give the results shown. They need only GNU coreutils and OpenSSL`,
    "(any Linux; WSL on Windows). Unzip the package, then run the commands (the lines after",
    "\"$ \") in a POSIX shell in the folder that holds this file. The lines after the commands",
    "are exactly what they must print.",
    "",
    "Contents",
    "",
    `  ${entryName}`,
    "      the original file, byte for byte as it was captured and encrypted",
    `  ${E.manifestJws}`,
    "      the signed manifest, a compact JWS (RFC 7515), ES512, exactly as signed",
    `  ${E.manifestJson}`,
    "      the manifest's signed JSON payload, byte for byte",
    `  ${E.signingInput}`,
    "      the bytes the signature covers: the first two parts of manifest.jws",
    `  ${E.signatureDer}`,
    "      the manifest's signature (ECDSA P-521 with SHA-512) in the DER form OpenSSL reads",
    `  ${E.signatureRaw}`,
    "      the same signature as in manifest.jws (r || s, 132 bytes): what the timestamp covers",
    `  ${E.signerJwk}`,
    "      the signer's public key as a JWK (RFC 7517)",
    `  ${E.signerPem}`,
    "      the same public key as PEM (SubjectPublicKeyInfo)",
    `  ${E.metadata}`,
    "      the file name, media type and capture details (see the note at the end)",
    `  ${E.signerRegister}`,
    "      the signing key's entries in the organisation's key register, from its audit log, with",
    "      their Merkle inclusion proofs and a signed checkpoint (a Custody audit export)",
    ...(extras.fileKey ? [`  ${E.fileKey}`, "      this file's own key, which opens the manifest's encrypted metadata (and only this item)"] : []),
    ...(stamp ? [`  ${E.timestamp}`, "      the RFC 3161 timestamp over manifest.sig, as a TimeStampResp"] : []),
    ...(stamp?.ca ? [`  ${E.timestampCa}`, "      the certificate of the CA that issued the time-stamping authority's certificate"] : []),
    `  ${E.verify}`,
    "      this file",
    "",
    "1. The original is the file the manifest describes.",
    "",
    `     $ sha512sum ${q}`,
    `     ${manifest.sha512}  ${entryName}`,
    "",
    `   The hash must equal "sha512" in manifest.json, and the file must be ${manifest.byteSize} bytes`,
    `   ("byteSize" in manifest.json):`,
    "",
    `     $ wc -c < ${q} | tr -d ' '`,
    `     ${manifest.byteSize}`,
    "",
    "2. The manifest was signed with the key in signer.pem and has not changed since.",
    "",
    `     $ openssl dgst -sha512 -verify ${E.signerPem} -signature ${E.signatureDer} ${E.signingInput}`,
    "     Verified OK",
    "",
    "   manifest.json is exactly the signed payload (the signing input's middle part is its",
    "   base64url encoding):",
    "",
    `     $ test "$(openssl base64 -A -in ${E.manifestJson} | tr '+/' '-_' | tr -d '=')" = "$(cut -d. -f2 ${E.signingInput})" && echo 'manifest.json is the signed payload'`,
    "     manifest.json is the signed payload",
    "",
    "   Any other output (\"Verification failure\", or nothing) means the package was altered:",
    "   do not rely on it.",
    "",
    "3. The signing key is one the organisation registered.",
    "",
    "   The key id is the RFC 7638 thumbprint of the public key (SHA-256, base64url). Computed",
    "   from signer.pem, the key that step 2 verified with:",
    "",
    `     $ x=$(openssl pkey -pubin -in ${E.signerPem} -outform DER | tail -c 132 | head -c 66 | openssl base64 -A | tr '+/' '-_')`,
    `     $ y=$(openssl pkey -pubin -in ${E.signerPem} -outform DER | tail -c 66 | openssl base64 -A | tr '+/' '-_')`,
    `     $ printf '{"crv":"P-521","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='; echo`,
    `     ${manifest.signerKid}`,
    "",
    `   It must equal "signerKid" in manifest.json.`,
    "",
    "4. The organisation's key register says whose key it is, since when, and that it was not",
    "   retired when the manifest was signed.",
    "",
    `   ${PACKAGE_ENTRY.signerRegister} is an audit export filtered to this key. Check it with`,
    "   `npm run audit:verify -- signer-register.jsonl` from the Custody source, or with any JOSE",
    "   library following docs/audit.md §6 and §9: its \"keys.signer_register\" event for this key",
    "   must carry the public key of signer.jwk.json and name its holder; its validFrom must not",
    "   be after the manifest's signedAt, and a \"keys.signer_retire\" event, if any, must be",
    "   later than signedAt. The audit key that signs the export must be the organisation's",
    "   published one (/.well-known/custody/audit.json; `npm run verify -- --checkpoint` pins it).",
    "   A package signed by any other key proves nothing, however well the other checks pass.",
    "",
  ];
  if (stamp) {
    lines.push(
      "5. The signature existed at the time the time-stamping authority vouches for.",
      "",
      "   manifest.sig is the signature of manifest.jws (its third part, decoded from base64url):",
      "",
      `     $ test "$(openssl base64 -A -in ${E.signatureRaw} | tr '+/' '-_' | tr -d '=')" = "$(cut -d. -f3 ${E.manifestJws})" && echo 'manifest.sig is the signature'`,
      "     manifest.sig is the signature",
      "",
      ...(stamp.ca
        ? [
            `     $ openssl ts -verify -data ${E.signatureRaw} -in ${E.timestamp} -CAfile ${E.timestampCa}`,
            "     Verification: OK",
            "",
            `   Then \`openssl ts -reply -in ${E.timestamp} -text\` shows the time (${stamp.info.genTime}) and the`,
            `   authority. ${E.timestampCa} comes with the package: check that it is the certificate your`,
            "   time-stamping authority publishes (compare fingerprints:",
            `   \`openssl x509 -in ${E.timestampCa} -noout -fingerprint -sha256\`).`,
          ]
        : [
            `     $ openssl ts -verify -data ${E.signatureRaw} -in ${E.timestamp} -CAfile <your TSA's CA certificate>`,
            "     Verification: OK",
            "",
            "   The organisation had no CA certificate configured for its time-stamping authority, so",
            "   this package holds none: get it from the authority itself.",
          ]),
      "",
    );
  }
  lines.push(
    ...(extras.fileKey
      ? [
          "Note on metadata.json: the manifest signs the metadata in encrypted form (its \"metadata\"",
          `field, a JWE under this file's own key). ${E.fileKey} is that key, so \`npm run verify\``,
          "decrypts the signed field and checks that metadata.json is exactly what it says. The key",
          "opens nothing but this item, whose original is in this package anyway.",
        ]
      : [
          "Note on metadata.json: the manifest signs the metadata only in encrypted form (its",
          "\"metadata\" field, a JWE under the file's own key, which this package does not contain).",
          "metadata.json is that field decrypted by the exporting app; the checks above do not cover",
          "it.",
        ]),
    "The original's name here is metadata.json's \"fileName\" made safe as a file name",
    "(its last path component, with characters unsafe in file names replaced by \"_\").",
    "",
    "The format is specified in Custody's docs/evidence-format.md, \"Court export package\".",
    "`npm run verify -- <package.zip>` in the Custody source runs all of these checks and more.",
    "",
  );
  return lines.join("\n");
}

/**
 * Build a court package as ZIP chunks (stored, no compression). Verifies the manifest against
 * the signer's key first (IntegrityError/FormatError), and checks the original's size and
 * SHA-512 against the manifest while streaming it: on a mismatch it throws IntegrityError
 * ("file size" / "file sha512") before the ZIP's central directory is written, so an
 * unverified original never ends up in a complete package.
 */
export async function* courtPackageChunks(input: CourtPackageInput): AsyncGenerator<Uint8Array, void, undefined> {
  const item = await packageItemFiles(input);
  // Entry times = the signing time in UTC, so the same inputs give the same bytes in any time zone (ZIP times are not evidence).
  const zip = new StoredZipWriter(new Date(item.manifest.signedAt), { zip64: input.zip64 });
  for (const [name, bytes] of item.small) yield* zip.add(name, bytes);
  yield zip.stream(item.entryName, item.manifest.byteSize);
  for await (const chunk of verifiedOriginal(input.original, item.manifest, input.createHasher)) {
    zip.update(chunk);
    yield chunk;
  }
  yield* zip.finish();
}

/** A package's files but the original, checked and in the format's order: what a court package holds, and each item folder of a case package. */
export interface PackageItemFiles {
  manifest: Manifest;
  metadata: EvidenceMetadata;
  extras: PackageExtras;
  /** The original's entry name (`original/<safe name>`). */
  entryName: string;
  /** Every entry before the original, name and bytes, in order. */
  small: [string, Uint8Array][];
}

/**
 * The small files of a court package for one item (everything but the original), after checking
 * the manifest's signature (IntegrityError/FormatError), the metadata against the signed JWE
 * (with the file key) and the timestamp over the signature (TimestampError).
 */
export async function packageItemFiles(input: Omit<CourtPackageInput, "original" | "zip64" | "createHasher">): Promise<PackageItemFiles> {
  const manifest = await verifyManifest(input.manifestJws, input.signerPublicJwk);
  let metadata: EvidenceMetadata;
  if (input.fileKey) {
    // The signed metadata, decrypted here: what the package shows is what was signed.
    metadata = await decryptMetadata(manifest.metadata, await importFileKey(input.fileKey));
    if (input.metadata && prettyJson({ ...input.metadata, v: METADATA_VERSION }) !== prettyJson({ ...metadata })) {
      const given = EvidenceMetadata.safeParse({ ...input.metadata, v: METADATA_VERSION });
      if (!given.success || prettyJson(given.data) !== prettyJson(metadata)) throw new IntegrityError("metadata", "the metadata given is not what the manifest signed");
    }
  } else {
    const parsedMetadata = EvidenceMetadata.safeParse({ ...input.metadata, v: METADATA_VERSION });
    if (!parsedMetadata.success) throw new FormatError("metadata", "malformed", { cause: parsedMetadata.error });
    metadata = parsedMetadata.data;
  }
  if (manifest.byteSize > MAX_PACKAGED_ORIGINAL_SIZE) throw new FormatError("court package", "the original is larger than 2^53 − 1 bytes");

  const [header, payload, signature] = input.manifestJws.split(".") as [string, string, string];
  const signatureBytes = fromBase64url(signature);
  let stamp: PackageExtras["timestamp"];
  if (input.timestamp) {
    const info = await verifyTimestampToken(input.timestamp.token, signatureBytes, { trustedPem: input.timestamp.caPem });
    stamp = { info, ca: input.timestamp.caPem !== null };
  }
  const extras: PackageExtras = { fileKey: input.fileKey !== undefined, ...(stamp ? { timestamp: stamp } : {}) };
  const entryName = ORIGINAL_DIR + packageFileName(metadata.fileName);
  const small: [string, Uint8Array][] = [
    [PACKAGE_ENTRY.verify, utf8(verifyInstructions(manifest, metadata, entryName, extras))],
    [PACKAGE_ENTRY.manifestJws, utf8(input.manifestJws)],
    [PACKAGE_ENTRY.manifestJson, fromBase64url(payload)],
    [PACKAGE_ENTRY.signingInput, utf8(`${header}.${payload}`)],
    [PACKAGE_ENTRY.signatureDer, es512SignatureToDer(signatureBytes)],
    [PACKAGE_ENTRY.signatureRaw, signatureBytes],
    [PACKAGE_ENTRY.signerJwk, utf8(prettyJson(publicSigningJwk(input.signerPublicJwk)))],
    [PACKAGE_ENTRY.signerPem, utf8(await publicJwkToPem(input.signerPublicJwk))],
    [PACKAGE_ENTRY.metadata, utf8(prettyJson(metadata))],
    [PACKAGE_ENTRY.signerRegister, utf8(signerRegisterText(input.signerRegister))],
    ...(input.fileKey ? [[OPTIONAL_ENTRY.fileKey, utf8(fileKeyJwkText(input.fileKey))] as [string, Uint8Array]] : []),
    ...(input.timestamp ? [[OPTIONAL_ENTRY.timestamp, tokenToResponse(input.timestamp.token)] as [string, Uint8Array]] : []),
    ...(input.timestamp?.caPem ? [[OPTIONAL_ENTRY.timestampCa, utf8(canonicalCertificatesPem(input.timestamp.caPem))] as [string, Uint8Array]] : []),
  ];
  return { manifest, metadata, extras, entryName, small };
}

/**
 * The original's chunks passed through (uncopied) while checking them against the manifest: on a
 * size or SHA-512 mismatch it throws IntegrityError ("file size" / "file sha512") after the last
 * chunk, before the caller writes anything that would complete the archive.
 */
export async function* verifiedOriginal(original: ByteChunks, manifest: Manifest, createHasher: () => Sha512 = createSha512): AsyncGenerator<Uint8Array, void, undefined> {
  const hasher = createHasher();
  let size = 0;
  for await (const chunk of chunksOf(original)) {
    if (chunk.length === 0) continue;
    size += chunk.length;
    if (size > manifest.byteSize) throw new IntegrityError("file size", `the original is longer than the manifest's ${manifest.byteSize} bytes`);
    hasher.update(chunk);
    yield chunk;
  }
  if (size !== manifest.byteSize) throw new IntegrityError("file size", `the original has ${size} bytes, the manifest says ${manifest.byteSize}`);
  if (hasher.digestHex() !== manifest.sha512) throw new IntegrityError("file sha512", "the original's SHA-512 does not match the manifest");
}

/** The court package as a ReadableStream of ZIP bytes (pull-driven, so it streams at the consumer's pace). */
export function courtPackageStream(input: CourtPackageInput): ReadableStream<Uint8Array> {
  const chunks = courtPackageChunks(input);
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
    async cancel(reason) {
      await chunks.return(undefined);
      void reason;
    },
  });
}
