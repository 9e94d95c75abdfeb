/** What a member's and a submitter's browser do for submission links (docs/submissions.md), for the worker tests. */
import { expect } from "vitest";
import type { JWK } from "jose";
import type { CaseDetail } from "../../shared/api/cases";
import type { CreatedSubmissionLink, StartedSubmission } from "../../shared/api/submissions";
import { encryptBlob, encryptLabel, encryptMetadata, generateFileKey, generateSubmissionKeyPair, generateUserKeys, importPrivateKey, signManifest, wrapFileKey, wrapSubmissionKey } from "../../shared/crypto";
import { addMember, openCase, withKeys, type Person } from "./evidence-helpers";
import { addUser, call, setUpOrganisation } from "./helpers";

export const json = async <T>(response: Response, status = 200): Promise<T> => {
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as T;
};
export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
export const hexId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/** An organisation with a case `number` led by Lee, Cora a contributor and Vic a viewer of it, and Otto outside it; all with keys. */
export async function submissionCast(number: string) {
  const adminSession = await setUpOrganisation();
  await withKeys(adminSession);
  const lead = await withKeys(await addUser(adminSession.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
  const contributor = await withKeys(await addUser(adminSession.cookie, { email: "cora@example.org", name: "Cora Contributor", role: "investigator" }));
  const viewer = await withKeys(await addUser(adminSession.cookie, { email: "vic@example.org", name: "Vic Viewer", role: "investigator" }));
  const outsider = await withKeys(await addUser(adminSession.cookie, { email: "otto@example.org", name: "Otto Outsider", role: "investigator" }));
  const caseA = await openCase(lead, number, { title: "High Street fire" });
  expect((await addMember(lead, caseA.id, contributor, "contributor")).status).toBe(201);
  expect((await addMember(lead, caseA.id, viewer, "viewer")).status).toBe(201);
  return { adminSession, lead, contributor, viewer, outsider, caseA };
}

/** The member's browser: a submission key pair, its private half wrapped to the case's current key. */
export async function linkBody(caseDetail: CaseDetail, extra: Record<string, unknown> = {}) {
  const key = await generateSubmissionKeyPair();
  return {
    key,
    body: {
      audience: "public",
      label: "Public appeal: High Street fire",
      instructions: "Photos or video of the High Street fire, 6 December, 21:00 to 23:00.",
      expiresAt: inDays(14),
      maxFiles: 5,
      maxBytes: 50_000_000,
      submissionKey: key.publicJwk,
      submissionKeyWrap: await wrapSubmissionKey(key.privateJwk, caseDetail.caseKey.publicJwk),
      caseKid: caseDetail.caseKey.kid,
      ...extra,
    },
  };
}

export async function makeLink(person: Person, caseDetail: CaseDetail, extra: Record<string, unknown> = {}) {
  const { key, body } = await linkBody(caseDetail, extra);
  const created = await json<CreatedSubmissionLink>(await call(`/api/cases/${caseDetail.id}/submission-links`, { cookie: person.cookie, body }), 201);
  return { key, link: created.link, emailed: created.emailed };
}

/** A submitter's browser: a signing key made for this submission, and a started submission. */
export async function startSubmission(linkId: string) {
  const submissionId = hexId();
  const { signing } = await generateUserKeys();
  const signer = await importPrivateKey(signing.privateJwk, "sign");
  const response = await call(`/api/submit/${linkId}/submissions`, { body: { submissionId, signerKey: signing.publicJwk } });
  const { token } = await json<StartedSubmission>(response, 201);
  return { submissionId, signer, token, auth: { Authorization: `Bearer ${token}` } };
}

export type Submitter = Awaited<ReturnType<typeof startSubmission>>;

/** Encrypts `bytes` to the link's submission key and signs the manifest, as the submit page does. */
export async function prepareFile(linkId: string, submissionId: string, submissionKey: JWK, signer: Submitter["signer"], bytes: Uint8Array, fileName = "photo.jpg") {
  const fileId = hexId();
  const fileKey = await generateFileKey();
  const encryption = encryptBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), fileKey);
  const parts: Uint8Array[] = [];
  for await (const part of encryption) parts.push(part.bytes);
  const metadata = await encryptMetadata({ fileName, mediaType: "image/jpeg" }, fileKey);
  const manifest = await signManifest({ evidenceId: fileId, caseId: linkId, uploaderId: submissionId, metadata, stream: encryption.summary() }, signer);
  return { fileId, parts, manifest, body: { fileId, byteSize: bytes.length, fileKey: await wrapFileKey(fileKey, submissionKey), label: await encryptLabel({ fileName, mediaType: "image/jpeg" }, submissionKey) } };
}

/** Sends part `n` of a prepared file through the submission's token. */
export const putPart = (linkId: string, submitter: Submitter, fileId: string, n: number, bytes: Uint8Array) =>
  call(`/api/submit/${linkId}/submissions/${submitter.submissionId}/files/${fileId}/parts/${n}`, { method: "PUT", headers: { ...submitter.auth, "Content-Type": "application/octet-stream" }, body: bytes });
