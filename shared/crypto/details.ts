/**
 * Evidence details (docs/evidence-format.md §5.1): title, description and tags, edited after
 * upload. Each version is a compact JWE under the file key (`dir` + A256GCM, typ
 * custody-details+jwe, plaintext `{"v":1,"title","description","tags"}`, plus `"markers"` once the
 * player has saved some): what a court package
 * carries, since it holds the file key. A member's edit also sends the same plaintext to the case
 * public key (ECDH-ES+A256KW, like the label), so members list and search items by their edited
 * title and tags with the case key they hold, without releasing each file key (an audited view).
 */
import { CompactEncrypt, compactDecrypt, type JWK } from "jose";
import { z } from "zod";
import { fromUtf8, utf8 } from "./encoding";
import { FormatError, KeyUnwrapError } from "./errors";
import { importEncryptionPublicKey, keyId, TYP } from "./keys";

export const DETAILS_TYP = TYP.details;
export const DETAILS_VERSION = 1;

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
  /** Only once the player has saved some (evidence-format.md §5.1). */
  markers: z.array(Marker).max(MAX_MARKERS, `At most ${MAX_MARKERS} markers.`).optional(),
});
export type EvidenceDetails = z.infer<typeof EvidenceDetails>;

const Plaintext = EvidenceDetails.extend({ v: z.literal(DETAILS_VERSION) });

function plaintext(details: EvidenceDetails): Uint8Array {
  return utf8(JSON.stringify({ v: DETAILS_VERSION, ...EvidenceDetails.parse(details) }));
}

function parsed(bytes: Uint8Array, typ: unknown): EvidenceDetails {
  if (typ !== DETAILS_TYP) throw new FormatError("details", `expected typ ${DETAILS_TYP}`);
  const body = Plaintext.safeParse(JSON.parse(fromUtf8(bytes)));
  if (!body.success) throw new FormatError("details", "unexpected content");
  const { v: _v, ...details } = body.data;
  return details;
}

/** Details to a compact JWE under the file key (`dir`, A256GCM; random 96-bit IV from jose). */
export function encryptDetails(details: EvidenceDetails, fileKey: CryptoKey | Uint8Array): Promise<string> {
  return new CompactEncrypt(plaintext(details)).setProtectedHeader({ alg: "dir", enc: "A256GCM", typ: DETAILS_TYP }).encrypt(fileKey);
}

/** A details JWE under the file key back to its fields; throws if it does not authenticate under this key or is malformed. */
export async function decryptDetails(jwe: string, fileKey: CryptoKey | Uint8Array): Promise<EvidenceDetails> {
  let out: Awaited<ReturnType<typeof compactDecrypt>>;
  try {
    out = await compactDecrypt(jwe, fileKey, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
  } catch (cause) {
    throw new KeyUnwrapError("details", "not encrypted under this file key, or damaged", { cause });
  }
  return parsed(out.plaintext, out.protectedHeader.typ);
}

/** The members' copy: the same details to the case public JWK (ECDH-ES+A256KW, A256GCM, `kid` = the case key id). */
export async function encryptDetailsToCase(details: EvidenceDetails, casePublicJwk: JWK): Promise<{ caseKid: string; jwe: string }> {
  const caseKid = await keyId(casePublicJwk);
  const jwe = await new CompactEncrypt(plaintext(details))
    .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: DETAILS_TYP, kid: caseKid })
    .encrypt(await importEncryptionPublicKey(casePublicJwk));
  return { caseKid, jwe };
}

/** The members' copy back to its fields with the case private CryptoKey. */
export async function decryptDetailsFromCase(jwe: string, casePrivateKey: CryptoKey): Promise<EvidenceDetails> {
  let out: Awaited<ReturnType<typeof compactDecrypt>>;
  try {
    out = await compactDecrypt(jwe, casePrivateKey, { keyManagementAlgorithms: ["ECDH-ES+A256KW"], contentEncryptionAlgorithms: ["A256GCM"] });
  } catch (cause) {
    throw new KeyUnwrapError("details", "not encrypted to this case key, or damaged", { cause });
  }
  return parsed(out.plaintext, out.protectedHeader.typ);
}
