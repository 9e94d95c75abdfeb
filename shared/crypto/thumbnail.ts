/**
 * The evidence thumbnail (docs/evidence-format.md §5.2): a small JPEG or WebP made on the
 * uploading device (a downscaled photo, a video's poster frame), encrypted to the CASE public key
 * exactly as the label is (compact JWE, ECDH-ES+A256KW, A256GCM, typ custody-thumbnail+jwe,
 * kid = case key id). Members see it in evidence lists with the case key they hold, without the
 * audited release of the file key; the server stores it and never sees the picture.
 */
import type { JWK } from "jose";
import { z } from "zod";
import { FormatError } from "./errors";
import { fromBase64url, toBase64url } from "./encoding";
import { TYP } from "./keys";
import { openJson, sealJson } from "./sealed-json";

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
  return sealJson(body, casePublicJwk, TYP.thumbnail);
}

/** Decrypt a thumbnail (compact JWE) with the case private CryptoKey: the image bytes and their type and size. */
export async function decryptThumbnail(jwe: string, casePrivateKey: CryptoKey): Promise<EvidenceThumbnail> {
  const body = await openJson(jwe, casePrivateKey, { typ: TYP.thumbnail, what: "thumbnail", wrongKey: "not encrypted to this case key, or damaged", schema: ThumbnailBody });
  const bytes = fromBase64url(body.data);
  if (bytes.byteLength > THUMBNAIL_MAX_BYTES) throw new FormatError("thumbnail", "too large");
  return { mediaType: body.mediaType, width: body.width, height: body.height, bytes };
}
