/**
 * The evidence thumbnail (docs/evidence-format.md §5.2): a small JPEG or WebP made on the
 * uploading device (a downscaled photo, a video's poster frame), encrypted to the CASE public key
 * exactly as the label is (compact JWE, ECDH-ES+A256KW, A256GCM, typ custody-thumbnail+jwe,
 * kid = case key id). Members see it in evidence lists with the case key they hold, without the
 * audited release of the file key; the server stores it and never sees the picture.
 */
import { CompactEncrypt, compactDecrypt, type JWK } from "jose";
import { z } from "zod";
import { FormatError, KeyUnwrapError } from "./errors";
import { fromBase64url, fromUtf8, toBase64url, utf8 } from "./encoding";
import { importEncryptionPublicKey, keyId, TYP } from "./keys";

export const THUMBNAIL_VERSION = 1;
/** Largest thumbnail image accepted, in bytes (a 240 px JPEG is a few kB): keeps evidence lists light, and its JWE within the API's 32 KiB for an envelope. */
export const THUMBNAIL_MAX_BYTES = 16 * 1024;

const ThumbnailBody = z.strictObject({
  v: z.literal(THUMBNAIL_VERSION),
  mediaType: z.enum(["image/jpeg", "image/webp", "image/png"]),
  width: z.number().int().min(1).max(1024),
  height: z.number().int().min(1).max(1024),
  /** The image bytes, base64url. */
  data: z.string().min(1),
});

export interface EvidenceThumbnail {
  mediaType: "image/jpeg" | "image/webp" | "image/png";
  width: number;
  height: number;
  bytes: Uint8Array;
}

/** Encrypt a thumbnail (image bytes) to the case public JWK: compact JWE, ECDH-ES+A256KW, A256GCM, `kid` = the case key id. */
export async function encryptThumbnail(thumbnail: EvidenceThumbnail, casePublicJwk: JWK): Promise<string> {
  if (thumbnail.bytes.byteLength > THUMBNAIL_MAX_BYTES) throw new FormatError("thumbnail", `larger than ${THUMBNAIL_MAX_BYTES} bytes`);
  const body = ThumbnailBody.parse({ v: THUMBNAIL_VERSION, mediaType: thumbnail.mediaType, width: thumbnail.width, height: thumbnail.height, data: toBase64url(thumbnail.bytes) });
  const recipient = await importEncryptionPublicKey(casePublicJwk);
  return new CompactEncrypt(utf8(JSON.stringify(body)))
    .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: TYP.thumbnail, kid: await keyId(casePublicJwk) })
    .encrypt(recipient);
}

/** Decrypt a thumbnail (compact JWE) with the case private CryptoKey: the image bytes and their type and size. */
export async function decryptThumbnail(jwe: string, casePrivateKey: CryptoKey): Promise<EvidenceThumbnail> {
  let plaintext: Uint8Array;
  let typ: unknown;
  try {
    const out = await compactDecrypt(jwe, casePrivateKey, { keyManagementAlgorithms: ["ECDH-ES+A256KW"], contentEncryptionAlgorithms: ["A256GCM"] });
    plaintext = out.plaintext;
    typ = out.protectedHeader.typ;
  } catch (cause) {
    throw new KeyUnwrapError("thumbnail", "not encrypted to this case key, or damaged", { cause });
  }
  if (typ !== TYP.thumbnail) throw new FormatError("thumbnail", `expected typ ${TYP.thumbnail}`);
  let parsed;
  try {
    parsed = ThumbnailBody.safeParse(JSON.parse(fromUtf8(plaintext)));
  } catch {
    throw new FormatError("thumbnail", "unexpected content");
  }
  if (!parsed.success) throw new FormatError("thumbnail", "unexpected content");
  const bytes = fromBase64url(parsed.data.data);
  if (bytes.byteLength > THUMBNAIL_MAX_BYTES) throw new FormatError("thumbnail", "too large");
  return { mediaType: parsed.data.mediaType, width: parsed.data.width, height: parsed.data.height, bytes };
}
