/**
 * A submitter with no account sending files through a submission link (docs/submissions.md §3.1),
 * as their browser does: check the key against the link's fragment, a signing key for this
 * submission, every file encrypted and its key and label wrapped to the submission key, the
 * manifests signed, then finish. Takes a `fetch`, so the worker tests (the worker in-process) and
 * the browser journeys (a running server) send the same way. Uses only shared/crypto.
 */
import type { PublicSubmissionLink, SentSubmission, StartedSubmission } from "../../shared/api/submissions";
import {
  encryptBlob,
  encryptLabel,
  encryptMetadata,
  generateFileKey,
  generateUserKeys,
  importPrivateKey,
  keyId,
  encryptSubmissionDetails,
  signManifest,
  submissionKeyMatches,
  wrapFileKey,
  type SubmissionDetails,
} from "../../shared/crypto";

export type Fetcher = (path: string, init?: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array }) => Promise<Response>;

export interface FileToSend {
  bytes: Uint8Array;
  fileName: string;
  mediaType: string;
}

const hexId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

async function ok<T>(response: Response, what: string): Promise<T> {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** Sends `files` through link `linkId` (whose URL fragment is `submissionKid`); answers the submission's id, its signer's key id, the file ids and the receipt. */
export async function sendThroughLink(fetcher: Fetcher, linkId: string, submissionKid: string, files: FileToSend[], details?: Omit<SubmissionDetails, "v">) {
  const json = { "Content-Type": "application/json" };
  const link = await ok<PublicSubmissionLink>(await fetcher(`/api/submit/${linkId}`), "open the link");
  if (!(await submissionKeyMatches(link.submissionKey, submissionKid))) throw new Error("the submission key does not match the link");
  const submissionId = hexId();
  const { signing } = await generateUserKeys();
  const signer = await importPrivateKey(signing.privateJwk, "sign");
  const start = { submissionId, signerKey: signing.publicJwk, ...(details ? { details: await encryptSubmissionDetails(details, link.submissionKey) } : {}) };
  const { token } = await ok<StartedSubmission>(await fetcher(`/api/submit/${linkId}/submissions`, { method: "POST", headers: json, body: JSON.stringify(start) }), "start");
  const auth = { Authorization: `Bearer ${token}` };
  const base = `/api/submit/${linkId}/submissions/${submissionId}`;
  const fileIds: string[] = [];
  for (const file of files) {
    const fileId = hexId();
    const fileKey = await generateFileKey();
    const encryption = encryptBlob(new Blob([file.bytes as Uint8Array<ArrayBuffer>]), fileKey);
    const parts: Uint8Array[] = [];
    for await (const part of encryption) parts.push(part.bytes);
    const label = { fileName: file.fileName, mediaType: file.mediaType };
    const metadata = await encryptMetadata(label, fileKey);
    const manifest = await signManifest({ evidenceId: fileId, caseId: linkId, uploaderId: submissionId, metadata, stream: encryption.summary() }, signer);
    const add = { fileId, byteSize: file.bytes.length, fileKey: await wrapFileKey(fileKey, link.submissionKey), label: await encryptLabel(label, link.submissionKey) };
    await ok(await fetcher(`${base}/files`, { method: "POST", headers: { ...auth, ...json }, body: JSON.stringify(add) }), "add a file");
    for (const [n, part] of parts.entries()) {
      await ok(await fetcher(`${base}/files/${fileId}/parts/${n}`, { method: "PUT", headers: { ...auth, "Content-Type": "application/octet-stream" }, body: part }), `send part ${n}`);
    }
    await ok(await fetcher(`${base}/files/${fileId}/complete`, { method: "POST", headers: { ...auth, ...json }, body: JSON.stringify({ manifest }) }), "complete a file");
    fileIds.push(fileId);
  }
  const receipt = await ok<SentSubmission>(await fetcher(`${base}/finish`, { method: "POST", headers: auth }), "finish");
  return { submissionId, signerKid: await keyId(signing.publicJwk), signerJwk: signing.publicJwk, fileIds, receipt, auth, base };
}
