/**
 * Capture first, file later (docs/evidence-format.md §6.2). A capture is uploaded before it has a
 * case: its manifest is signed with `scope: "captures"` and names the uploader's personal holding
 * place (`capturesScopeId`) as its `caseId`, and its file key is wrapped to the uploader's own
 * encryption key. Filing it into a case re-wraps the file key in the browser (the ciphertext and
 * the manifest are kept as they are) and adds a filing record: a compact JWS by the same uploader
 * that binds the item, its manifest, the holding place it leaves and the case it enters.
 */
import { CompactSign, compactVerify, decodeProtectedHeader, type JWK } from "jose";
import { z } from "zod";
import { FormatError, IntegrityError } from "./errors";
import { fromUtf8, sha512Hex, toHex, utf8 } from "./encoding";
import { importSigningPublicKey, keyId, TYP, type UnlockedKey } from "./keys";

/** Filing record format version (`v`). */
export const FILING_VERSION = 1;

/**
 * The id of `userId`'s personal holding place ("My captures"): the first 32 hex digits of
 * SHA-256("custody captures " + userId). Fixed for a user, so a capture can be encrypted and
 * signed offline before the server has ever seen it.
 */
export async function capturesScopeId(userId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(`custody captures ${userId}`) as Uint8Array<ArrayBuffer>));
  return toHex(digest).slice(0, 32);
}

const Id = z.string().min(1).max(128);

/** The signed filing record's payload. */
export const Filing = z.strictObject({
  v: z.literal(FILING_VERSION),
  evidenceId: Id,
  /** The holding place the item leaves (the manifest's `caseId`). */
  fromCaseId: Id,
  /** The case it is filed into. */
  caseId: Id,
  /** SHA-512 (lowercase hex) of the manifest compact JWS as ASCII: the filing covers exactly that manifest. */
  manifestSha512: z.string().regex(/^[0-9a-f]{128}$/),
  filedBy: Id,
  filedAt: z.iso.datetime(),
});
export type Filing = z.infer<typeof Filing>;

/** SHA-512 (hex) of a manifest JWS as ASCII. */
export function manifestDigest(manifestJws: string): Promise<string> {
  return sha512Hex(utf8(manifestJws));
}

/** Sign a filing record: compact JWS, ES512, protected header `{ alg, kid, typ: custody-filing+jws }`. */
export async function signFiling(filing: Omit<Filing, "v">, signer: UnlockedKey | { kid: string; privateKey: CryptoKey }): Promise<string> {
  const payload = Filing.parse({ v: FILING_VERSION, ...filing });
  return new CompactSign(utf8(JSON.stringify(payload))).setProtectedHeader({ alg: "ES512", kid: signer.kid, typ: TYP.filing }).sign(signer.privateKey);
}

/**
 * Verify a filing record against the signer's public JWK (the manifest's signer) and the item it
 * must describe: this item, this manifest, leaving the manifest's holding place for `caseId`.
 */
export async function verifyFiling(
  jws: string,
  signerPublicJwk: JWK,
  expected: { evidenceId: string; manifestJws: string; fromCaseId: string; caseId: string },
): Promise<Filing> {
  let header;
  try {
    header = decodeProtectedHeader(jws);
  } catch (cause) {
    throw new FormatError("filing", "not a compact JWS", { cause });
  }
  if (header.typ !== TYP.filing) throw new FormatError("filing", `expected typ ${TYP.filing}`);
  if (header.kid !== (await keyId(signerPublicJwk))) throw new IntegrityError("filing signer", "signed by a different key than the manifest");
  let out;
  try {
    out = await compactVerify(jws, await importSigningPublicKey(signerPublicJwk), { algorithms: ["ES512"] });
  } catch (cause) {
    throw new IntegrityError("filing", "signature does not verify", { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(out.payload));
  } catch (cause) {
    throw new FormatError("filing", "payload is not JSON", { cause });
  }
  const parsed = Filing.safeParse(json);
  if (!parsed.success) throw new FormatError("filing", "unsupported or malformed", { cause: parsed.error });
  const filing = parsed.data;
  if (filing.evidenceId !== expected.evidenceId || filing.fromCaseId !== expected.fromCaseId || filing.caseId !== expected.caseId) {
    throw new IntegrityError("filing", "names another item, holding place or case");
  }
  if (filing.manifestSha512 !== (await manifestDigest(expected.manifestJws))) throw new IntegrityError("filing", "covers another manifest");
  return filing;
}
