/**
 * Evidence details (title, description, tags): a compact JWE under the file key, `dir` +
 * A256GCM like the metadata (docs/evidence-format.md §5), `typ: custody-details+jwe`, plaintext
 * `{"v":1,"title":…,"description":…,"tags":[…],"markers":[{"t":…,"note":…}]}` (`markers` only
 * when the player has saved some: points in the media, in seconds, with a note). Each edit is a new version on the server;
 * older versions are kept, and the original file and manifest are never touched.
 */
import { CompactEncrypt, compactDecrypt } from "jose";
import { z } from "zod";

export const DETAILS_TYP = "custody-details+jwe";

/** A marker in a video or audio item: a point in media time (seconds from the start) and a note. */
export const Marker = z.object({
  t: z.number().nonnegative().max(1e7),
  note: z.string().trim().min(1, "Write a note for the marker.").max(140, "At most 140 characters."),
});
export type Marker = z.infer<typeof Marker>;
/** Markers per item: the details JWE stays well under the server's 32 KiB. */
export const MAX_MARKERS = 100;

export const EvidenceDetails = z.object({
  title: z.string().trim().max(200, "At most 200 characters."),
  description: z.string().trim().max(4000, "At most 4000 characters."),
  tags: z.array(z.string().trim().min(1).max(40, "Each tag at most 40 characters.")).max(20, "At most 20 tags."),
  markers: z.array(Marker).max(MAX_MARKERS, `At most ${MAX_MARKERS} markers.`).optional(),
});
export type EvidenceDetails = z.infer<typeof EvidenceDetails>;

const Plaintext = EvidenceDetails.extend({ v: z.literal(1) });

/** Details to a compact JWE under the file key (random 96-bit IV from jose). */
export function encryptDetails(details: EvidenceDetails, fileKey: CryptoKey): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ v: 1, ...EvidenceDetails.parse(details) })))
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", typ: DETAILS_TYP })
    .encrypt(fileKey);
}

/** A details JWE back to its fields; throws if it does not authenticate under this key or is malformed. */
export async function decryptDetails(jwe: string, fileKey: CryptoKey): Promise<EvidenceDetails> {
  const out = await compactDecrypt(jwe, fileKey, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
  if (out.protectedHeader.typ !== DETAILS_TYP) throw new Error(`expected typ ${DETAILS_TYP}`);
  const { v: _v, ...details } = Plaintext.parse(JSON.parse(new TextDecoder().decode(out.plaintext)));
  return details;
}
