/**
 * Court export package (docs/evidence-format.md §8): a stored (uncompressed) ZIP holding the
 * original file byte for byte, the signed manifest, the signer's public key (JWK and PEM),
 * the decrypted metadata, and VERIFY.txt with the steps to check it with sha512sum and openssl.
 * Built as a stream with fflate's `Zip` + `ZipPassThrough`, so a multi-GiB original never has
 * to be whole in memory. Web-standard only (runs in the browser, Workers, Deno and Node).
 */
import { Zip, ZipPassThrough } from "fflate";
import type { JWK } from "jose";
import { FormatError, IntegrityError } from "./errors";
import { fromBase64url, streamChunks, utf8 } from "./encoding";
import { importSigningPublicKey } from "./keys";
import { EvidenceMetadata, METADATA_VERSION, verifyManifest, type Manifest } from "./manifest";
import { createSha512, type Sha512 } from "./sha512";

/** Fixed entry names inside a court package; the original is `original/<sanitised file name>`. */
export const PACKAGE_ENTRY = {
  verify: "VERIFY.txt",
  manifestJws: "manifest.jws",
  manifestJson: "manifest.json",
  signingInput: "manifest.signing-input",
  signatureDer: "manifest.sig.der",
  signerJwk: "signer.jwk.json",
  signerPem: "signer.pem",
  metadata: "metadata.json",
  signerRegister: "signer-register.jsonl",
} as const;

/** Folder of the original file inside the package. */
export const ORIGINAL_DIR = "original/";

/**
 * Largest original a package can hold: fflate writes classic ZIP (32-bit sizes and offsets,
 * no ZIP64), so the whole archive must stay below 4 GiB. 16 MiB is left for the other entries.
 */
export const MAX_PACKAGED_ORIGINAL_SIZE = 0xffff_ffff - 16 * 1024 * 1024;

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
  /** The decrypted metadata (`decryptMetadata`). */
  metadata: EvidenceMetadata | Omit<EvidenceMetadata, "v">;
  /** A faster incremental SHA-512 (e.g. wasm) to check the original with; defaults to `createSha512`. */
  createHasher?: () => Sha512;
}

/** The text of VERIFY.txt for a package (plain UTF-8 text, LF line ends). Every command in it is run by the unit tests. */
export function verifyInstructions(manifest: Manifest, metadata: EvidenceMetadata, entryName: string): string {
  const q = shellQuote(entryName);
  const lines = [
    "CUSTODY COURT EXPORT PACKAGE: HOW TO VERIFY IT",
    "",
    `Evidence:   ${manifest.evidenceId} (case ${manifest.caseId})`,
    `Original:   ${entryName} (${manifest.byteSize} bytes, ${metadata.mediaType})`,
    `SHA-512:    ${manifest.sha512}`,
    `Signed by:  key id ${manifest.signerKid}`,
    `Signed at:  ${manifest.signedAt}`,
    "",
    "This file is a convenience and is not signed itself. The evidence is authentic only if",
    "the three checks below give the results shown. They need only GNU coreutils and OpenSSL",
    "(any Linux; WSL on Windows). Unzip the package, then run the commands (the lines after",
    "\"$ \") in a POSIX shell in the folder that holds this file. The lines after the commands",
    "are exactly what they must print.",
    "",
    "Contents",
    "",
    `  ${entryName}`,
    "      the original file, byte for byte as it was captured and encrypted",
    `  ${PACKAGE_ENTRY.manifestJws}`,
    "      the signed manifest, a compact JWS (RFC 7515), ES512, exactly as signed",
    `  ${PACKAGE_ENTRY.manifestJson}`,
    "      the manifest's signed JSON payload, byte for byte",
    `  ${PACKAGE_ENTRY.signingInput}`,
    "      the bytes the signature covers: the first two parts of manifest.jws",
    `  ${PACKAGE_ENTRY.signatureDer}`,
    "      the manifest's signature (ECDSA P-521 with SHA-512) in the DER form OpenSSL reads",
    `  ${PACKAGE_ENTRY.signerJwk}`,
    "      the signer's public key as a JWK (RFC 7517)",
    `  ${PACKAGE_ENTRY.signerPem}`,
    "      the same public key as PEM (SubjectPublicKeyInfo)",
    `  ${PACKAGE_ENTRY.metadata}`,
    "      the file name, media type and capture details, as decrypted (see the note at the end)",
    `  ${PACKAGE_ENTRY.signerRegister}`,
    "      the signing key's entries in the organisation's key register, from its audit log, with",
    "      their Merkle inclusion proofs and a signed checkpoint (a Custody audit export)",
    `  ${PACKAGE_ENTRY.verify}`,
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
    `     $ openssl dgst -sha512 -verify ${PACKAGE_ENTRY.signerPem} -signature ${PACKAGE_ENTRY.signatureDer} ${PACKAGE_ENTRY.signingInput}`,
    "     Verified OK",
    "",
    "   manifest.json is exactly the signed payload (the signing input's middle part is its",
    "   base64url encoding):",
    "",
    `     $ test "$(openssl base64 -A -in ${PACKAGE_ENTRY.manifestJson} | tr '+/' '-_' | tr -d '=')" = "$(cut -d. -f2 ${PACKAGE_ENTRY.signingInput})" && echo 'manifest.json is the signed payload'`,
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
    `     $ x=$(openssl pkey -pubin -in ${PACKAGE_ENTRY.signerPem} -outform DER | tail -c 132 | head -c 66 | openssl base64 -A | tr '+/' '-_')`,
    `     $ y=$(openssl pkey -pubin -in ${PACKAGE_ENTRY.signerPem} -outform DER | tail -c 66 | openssl base64 -A | tr '+/' '-_')`,
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
    "Note on metadata.json: the manifest signs the metadata only in encrypted form (its",
    "\"metadata\" field, a JWE under the file's own key, which this package does not contain).",
    "metadata.json is that field decrypted by the exporting app; the checks above do not cover",
    "it. The original's name here is metadata.json's \"fileName\" made safe as a file name",
    "(its last path component, with characters unsafe in file names replaced by \"_\").",
    "",
    "The format is specified in Custody's docs/evidence-format.md, \"Court export package\".",
    "`npm run verify -- <package.zip>` in the Custody source runs all of these checks and more.",
    "",
  ];
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
  const manifest = await verifyManifest(input.manifestJws, input.signerPublicJwk);
  const parsedMetadata = EvidenceMetadata.safeParse({ ...input.metadata, v: METADATA_VERSION });
  if (!parsedMetadata.success) throw new FormatError("metadata", "malformed", { cause: parsedMetadata.error });
  const metadata = parsedMetadata.data;
  if (manifest.byteSize > MAX_PACKAGED_ORIGINAL_SIZE) {
    throw new FormatError("court package", "an original over 4 GiB − 16 MiB needs ZIP64, which this version does not write");
  }

  const [header, payload, signature] = input.manifestJws.split(".") as [string, string, string];
  const entryName = ORIGINAL_DIR + packageFileName(metadata.fileName);
  const small: [string, Uint8Array][] = [
    [PACKAGE_ENTRY.verify, utf8(verifyInstructions(manifest, metadata, entryName))],
    [PACKAGE_ENTRY.manifestJws, utf8(input.manifestJws)],
    [PACKAGE_ENTRY.manifestJson, fromBase64url(payload)],
    [PACKAGE_ENTRY.signingInput, utf8(`${header}.${payload}`)],
    [PACKAGE_ENTRY.signatureDer, es512SignatureToDer(fromBase64url(signature))],
    [PACKAGE_ENTRY.signerJwk, utf8(`${JSON.stringify(publicSigningJwk(input.signerPublicJwk), null, 2)}\n`)],
    [PACKAGE_ENTRY.signerPem, utf8(await publicJwkToPem(input.signerPublicJwk))],
    [PACKAGE_ENTRY.metadata, utf8(`${JSON.stringify(metadata, null, 2)}\n`)],
    [PACKAGE_ENTRY.signerRegister, utf8(input.signerRegister.endsWith("\n") ? input.signerRegister : `${input.signerRegister}\n`)],
  ];

  // fflate calls back synchronously from push()/end(); collect what it emits and hand it on.
  const out: Uint8Array[] = [];
  let failure: unknown;
  const zip = new Zip((err, chunk) => {
    if (err) failure ??= err;
    else out.push(chunk);
  });
  const drain = function* (): Generator<Uint8Array> {
    if (failure) throw failure;
    yield* out.splice(0, out.length);
  };
  // Entry times = the signing time, so the same inputs give the same bytes (ZIP times are not evidence).
  const mtime = new Date(manifest.signedAt);
  const entry = (name: string): ZipPassThrough => {
    const file = new ZipPassThrough(name);
    file.mtime = mtime;
    zip.add(file);
    return file;
  };

  for (const [name, bytes] of small) entry(name).push(bytes, true);
  yield* drain();

  const original = entry(entryName);
  const hasher = (input.createHasher ?? createSha512)();
  let size = 0;
  for await (const chunk of chunksOf(input.original)) {
    if (chunk.length === 0) continue;
    size += chunk.length;
    if (size > manifest.byteSize) throw new IntegrityError("file size", `the original is longer than the manifest's ${manifest.byteSize} bytes`);
    hasher.update(chunk);
    original.push(chunk as Uint8Array<ArrayBuffer>, false);
    yield* drain();
  }
  if (size !== manifest.byteSize) throw new IntegrityError("file size", `the original has ${size} bytes, the manifest says ${manifest.byteSize}`);
  if (hasher.digestHex() !== manifest.sha512) throw new IntegrityError("file sha512", "the original's SHA-512 does not match the manifest");
  original.push(new Uint8Array(0), true);
  zip.end();
  yield* drain();
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
