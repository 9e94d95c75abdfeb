/** Submission key envelope (docs/evidence-format.md §12) against the published vector. */
import { describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import {
  FormatError,
  generateCaseKeyPair,
  decryptSubmissionDetails,
  encryptLabel,
  encryptSubmissionDetails,
  generateSubmissionKeyPair,
  importPrivateKey,
  KeyUnwrapError,
  submissionKeyMatches,
  TYP,
  unwrapSubmissionKey,
  wrapCaseKey,
  wrapSubmissionKey,
} from "../../../shared/crypto";
import vector from "../../../shared/crypto/submission-key-vector.json";

describe("submission key wrapped to a case key", () => {
  it("opens the published wrap with the published case key, to the published submission key", async () => {
    const header = decodeProtectedHeader(vector.submissionKeyWrap);
    expect(header).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: "custody-submission-key+jwe", kid: vector.caseKid });
    const caseKey = await importPrivateKey(vector.casePrivateJwk, "enc");
    expect(caseKey.kid).toBe(vector.caseKid);
    const opened = await unwrapSubmissionKey(vector.submissionKeyWrap, caseKey.privateKey);
    expect(opened.kid).toBe(vector.submissionKid);
    expect(opened.publicJwk.x).toBe(vector.submissionPrivateJwk.x);
  });

  it("opens nothing with another case key, a changed byte, or an envelope of another kind", async () => {
    const other = await generateCaseKeyPair();
    await expect(unwrapSubmissionKey(vector.submissionKeyWrap, (await importPrivateKey(other.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);
    const caseKey = await importPrivateKey(vector.casePrivateJwk, "enc");
    const parts = vector.submissionKeyWrap.split(".");
    parts[3] = parts[3]!.startsWith("A") ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    await expect(unwrapSubmissionKey(parts.join("."), caseKey.privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);
    // A case key wrapped to the same key is not a submission key.
    const caseKeyWrap = await wrapCaseKey(other.privateJwk, caseKey.publicJwk);
    await expect(unwrapSubmissionKey(caseKeyWrap, caseKey.privateKey)).rejects.toBeInstanceOf(FormatError);
  });

  it("round-trips a fresh key, never carries the private half in the clear, and checks the link fragment's key id", async () => {
    const caseKey = await generateCaseKeyPair();
    const submission = await generateSubmissionKeyPair();
    const wrap = await wrapSubmissionKey(submission.privateJwk, caseKey.publicJwk);
    expect(wrap).not.toContain(submission.privateJwk.d!);
    expect(decodeProtectedHeader(wrap).typ).toBe(TYP.submissionKey);
    expect((await unwrapSubmissionKey(wrap, (await importPrivateKey(caseKey.privateJwk, "enc")).privateKey)).kid).toBe(submission.kid);
    expect(await submissionKeyMatches(submission.publicJwk, submission.kid)).toBe(true);
    expect(await submissionKeyMatches(caseKey.publicJwk, submission.kid)).toBe(false);
    await expect(wrapSubmissionKey(submission.publicJwk, caseKey.publicJwk)).rejects.toBeInstanceOf(FormatError);
  });
});

describe("submission details to a submission key", () => {
  it("opens with the submission private key only, and only as details", async () => {
    const key = await generateSubmissionKeyPair();
    const jwe = await encryptSubmissionDetails({ name: "A. Witness", statement: "I filmed it from the bus stop." }, key.publicJwk);
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", typ: TYP.submissionDetails, kid: (await importPrivateKey(key.privateJwk, "enc")).kid });
    const opened = await decryptSubmissionDetails(jwe, (await importPrivateKey(key.privateJwk, "enc")).privateKey);
    expect(opened).toEqual({ v: 1, name: "A. Witness", statement: "I filmed it from the bus stop." });
    const other = await generateSubmissionKeyPair();
    await expect(decryptSubmissionDetails(jwe, (await importPrivateKey(other.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);
    const label = await encryptLabel({ fileName: "a.jpg", mediaType: "image/jpeg" }, key.publicJwk);
    await expect(decryptSubmissionDetails(label, (await importPrivateKey(key.privateJwk, "enc")).privateKey)).rejects.toBeInstanceOf(FormatError);
  });
});
