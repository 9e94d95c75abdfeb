/** What a browser does around cases and evidence, done with the same shared/crypto code. */
import { expect } from "vitest";
import type { CaseDetail, CaseList, MyCaseKeys, PartUrls, SupervisorList, UploadState } from "../../shared/api/cases";
import type { PublicKeyInfo, UserPublicKeys } from "../../shared/api/schemas";
import {
  capturesScopeId,
  decryptExpectations,
  manifestDigest,
  rewrapFileKey,
  signFiling,
  decryptParts,
  encryptBlob,
  encryptLabel,
  encryptMetadata,
  escrowEncryptionKey,
  generateCaseKeyPair,
  generateFileKey,
  generateUserKeys,
  importPrivateKey,
  rewrapCaseKey,
  signManifest,
  unwrapCaseKey,
  unwrapFileKey,
  verifyManifest,
  wrapCaseKey,
  wrapFileKey,
  type DerivedFrom,
  type UnlockedKey,
} from "../../shared/crypto";
import type { EvidenceSummary } from "../../shared/api/cases";
import { backend } from "./backend";
import { call, sealBundle } from "./helpers";

export interface Person {
  cookie: string;
  id: string;
  signing: UnlockedKey;
  encryption: UnlockedKey;
}

/** Registers keys for a signed-in user and returns them unlocked, as their browser holds them. */
export async function withKeys(session: { cookie: string; session: { user: { id: string } } }): Promise<Person> {
  const keys = await generateUserKeys();
  const recovery = (await (await call("/api/keys/recovery", { cookie: session.cookie })).json()) as PublicKeyInfo;
  const response = await call("/api/keys/me", {
    method: "PUT",
    cookie: session.cookie,
    body: {
      signing: keys.signing.publicJwk,
      encryption: keys.encryption.publicJwk,
      bundle: await sealBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "a long key passphrase"),
      escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk),
    },
  });
  expect(response.status).toBe(201);
  return {
    cookie: session.cookie,
    id: session.session.user.id,
    signing: await importPrivateKey(keys.signing.privateJwk, "sign"),
    encryption: await importPrivateKey(keys.encryption.privateJwk, "enc"),
  };
}

/** The organisation's supervisors other than `me`, with their encryption keys (every new case key is wrapped to them). */
export async function supervisorsBesides(me: Person): Promise<SupervisorList["supervisors"]> {
  const response = await call("/api/directory/supervisors", { cookie: me.cookie });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as SupervisorList).supervisors.filter((s) => s.userId !== me.id);
}

/** Opens a case as `lead`: makes the case key, wraps it to the lead, the recovery key and every supervisor. */
export async function openCase(lead: Person, number: string, extra: { title?: string; tags?: string[] } = {}): Promise<CaseDetail> {
  const caseKey = await generateCaseKeyPair();
  const recovery = (await (await call("/api/keys/recovery", { cookie: lead.cookie })).json()) as PublicKeyInfo;
  const supervisors = await supervisorsBesides(lead);
  const response = await call("/api/cases", {
    cookie: lead.cookie,
    body: {
      number,
      title: extra.title ?? `Case ${number}`,
      tags: extra.tags ?? [],
      caseKey: caseKey.publicJwk,
      wraps: [
        { recipientKid: lead.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, lead.encryption.publicJwk) },
        { recipientKid: recovery.kid, jwe: await wrapCaseKey(caseKey.privateJwk, recovery.publicJwk) },
        ...(await Promise.all(supervisors.map(async (s) => ({ recipientKid: s.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, s.encryption.publicJwk) })))),
      ],
    },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CaseDetail;
}

/** Adds `member` to the case as `lead` does in the browser: every case key re-wrapped to the member. */
export async function addMember(lead: Person, caseId: string, member: Person, role: "lead" | "contributor" | "viewer"): Promise<Response> {
  const keys = (await (await call(`/api/cases/${caseId}/keys`, { cookie: lead.cookie })).json()) as MyCaseKeys;
  const theirs = (await (await call(`/api/keys/users/${member.id}`, { cookie: lead.cookie })).json()) as UserPublicKeys;
  const wraps = [];
  for (const key of keys.keys) {
    wraps.push({ caseKid: key.kid, recipientKid: theirs.encryption!.kid, jwe: await rewrapCaseKey(key.wrap!, lead.encryption.privateKey, theirs.encryption!.publicJwk) });
  }
  return call(`/api/cases/${caseId}/members`, { cookie: lead.cookie, body: { userId: member.id, role, wraps } });
}

export interface Upload {
  evidenceId: string;
  manifest: string;
  parts: Uint8Array[];
}

/** Encrypts and signs `bytes` for the case, as the uploader's browser does. */
export async function prepareEvidence(
  uploader: Person,
  caseDetail: CaseDetail,
  bytes: Uint8Array,
  fileName = "clip.mp4",
  derivedFrom?: DerivedFrom,
): Promise<Upload & { body: Record<string, unknown> }> {
  const evidenceId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const fileKey = await generateFileKey();
  const encryption = encryptBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), fileKey);
  const parts: Uint8Array[] = [];
  for await (const part of encryption) parts.push(part.bytes);
  const metadata = await encryptMetadata({ fileName, mediaType: "video/mp4" }, fileKey);
  const manifest = await signManifest({ evidenceId, caseId: caseDetail.id, uploaderId: uploader.id, metadata, stream: encryption.summary(), ...(derivedFrom ? { derivedFrom } : {}) }, uploader.signing);
  const body = {
    evidenceId,
    manifest,
    fileKey: { caseKid: caseDetail.caseKey.kid, jwe: await wrapFileKey(fileKey, caseDetail.caseKey.publicJwk) },
    label: await encryptLabel({ fileName, mediaType: "video/mp4" }, caseDetail.caseKey.publicJwk),
  };
  return { evidenceId, manifest, parts, body };
}

/** Sends every part to its signed URL; returns the responses. */
export async function sendParts(uploader: Person, upload: Upload, only?: number[]): Promise<Response[]> {
  const wanted = only ?? upload.parts.map((_, n) => n);
  const urls = (await (await call(`/api/evidence/${upload.evidenceId}/part-urls`, { cookie: uploader.cookie, body: { parts: wanted } })).json()) as PartUrls;
  const responses = [];
  for (const { part, url } of urls.urls) {
    responses.push(await call(url, { method: "PUT", body: upload.parts[part]!, headers: { "Content-Type": "application/octet-stream" } }));
  }
  return responses;
}

/** The whole upload: start, parts, complete. */
export async function uploadEvidence(uploader: Person, caseDetail: CaseDetail, bytes: Uint8Array): Promise<Upload> {
  const prepared = await prepareEvidence(uploader, caseDetail, bytes);
  const started = await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: uploader.cookie, body: prepared.body });
  expect(started.status, await started.clone().text()).toBe(201);
  expect(((await started.json()) as UploadState).partCount).toBe(prepared.parts.length);
  for (const response of await sendParts(uploader, prepared)) expect(response.status, await response.clone().text()).toBe(204);
  const completed = await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: uploader.cookie });
  expect(completed.status, await completed.clone().text()).toBe(200);
  return prepared;
}

/** Downloads and decrypts evidence as a member's browser does; returns the plaintext. */
export async function downloadEvidence(reader: Person, evidenceId: string): Promise<Uint8Array> {
  const release = await call(`/api/evidence/${evidenceId}/key`, { cookie: reader.cookie });
  expect(release.status, await release.clone().text()).toBe(200);
  const { fileKey, caseKeyWrap } = (await release.json()) as { fileKey: string; caseKeyWrap: string };
  const item = (await (await call(`/api/evidence/${evidenceId}`, { cookie: reader.cookie })).json()) as { manifest: string; signerKid: string; partCount: number };
  const signer = (await (await call(`/api/keys/signers/${item.signerKid}`, { cookie: reader.cookie })).json()) as { publicJwk: Record<string, unknown> };
  const manifest = await verifyManifest(item.manifest, signer.publicJwk);
  const caseKey = await unwrapCaseKey(caseKeyWrap, reader.encryption.privateKey);
  const key = await unwrapFileKey(fileKey, caseKey.privateKey);
  const parts: Uint8Array[] = [];
  for (let n = 0; n < item.partCount; n++) {
    const response = await call(`/api/evidence/${evidenceId}/parts/${n}`, { cookie: reader.cookie });
    expect(response.status).toBe(200);
    parts.push(new Uint8Array(await response.arrayBuffer()));
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of decryptParts(parts, key, decryptExpectations(manifest))) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The item count the case list shows `person` for the case `caseId`. */
export async function listedItemCount(person: { cookie: string }, caseId: string): Promise<number> {
  const response = await call("/api/cases?limit=100", { cookie: person.cookie });
  expect(response.status).toBe(200);
  const found = ((await response.json()) as CaseList).cases.find((c) => c.id === caseId);
  if (!found) throw new Error(`case ${caseId} is not in the case list`);
  return found.evidenceCount;
}

/** Deterministic pseudo-random bytes (xorshift), so a failing test is reproducible. */
export function randomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Removes `member` as `lead` does in the browser: a new case key wrapped to everyone who stays and the recovery key. */
export async function removeMember(lead: Person, caseId: string, member: Person, remaining: Person[]): Promise<Response> {
  const next = await generateCaseKeyPair();
  const recovery = (await (await call("/api/keys/recovery", { cookie: lead.cookie })).json()) as PublicKeyInfo;
  const wraps = [{ recipientKid: recovery.kid, jwe: await wrapCaseKey(next.privateJwk, recovery.publicJwk) }];
  for (const person of remaining) wraps.push({ recipientKid: person.encryption.kid, jwe: await wrapCaseKey(next.privateJwk, person.encryption.publicJwk) });
  return call(`/api/cases/${caseId}/members/${member.id}/remove`, { cookie: lead.cookie, body: { caseKey: next.publicJwk, wraps } });
}

/**
 * A capture, as the capturing browser makes it (docs/evidence-format.md §4.3): uploaded to the
 * person's holding place ("My captures"), its manifest signed with the captures scope and its file
 * key and label wrapped to the person's own encryption key. Returns the upload and the holding place's id.
 */
export async function uploadCapture(person: Person, bytes: Uint8Array, fileName = "photo.jpg"): Promise<Upload & { placeId: string }> {
  const placeId = await capturesScopeId(person.id);
  const evidenceId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const fileKey = await generateFileKey();
  const encryption = encryptBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), fileKey);
  const parts: Uint8Array[] = [];
  for await (const part of encryption) parts.push(part.bytes);
  const metadata = await encryptMetadata({ fileName, mediaType: "image/jpeg" }, fileKey);
  const manifest = await signManifest({ evidenceId, caseId: placeId, uploaderId: person.id, scope: "captures", metadata, stream: encryption.summary() }, person.signing);
  const started = await call(`/api/cases/${placeId}/evidence`, {
    cookie: person.cookie,
    body: {
      evidenceId,
      manifest,
      fileKey: { caseKid: person.encryption.kid, jwe: await wrapFileKey(fileKey, person.encryption.publicJwk) },
      label: await encryptLabel({ fileName, mediaType: "image/jpeg" }, person.encryption.publicJwk),
    },
  });
  expect(started.status, await started.clone().text()).toBe(201);
  const upload = { evidenceId, manifest, parts };
  for (const response of await sendParts(person, upload)) expect(response.status, await response.clone().text()).toBe(204);
  const completed = await call(`/api/evidence/${evidenceId}/complete`, { method: "POST", cookie: person.cookie });
  expect(completed.status, await completed.clone().text()).toBe(200);
  return { ...upload, placeId };
}

/**
 * The body that files `person`'s capture into the case, as their browser makes it: the file key
 * re-wrapped from the person's key to the case key, a label to the case key, the signed filing record.
 */
export async function filingBody(person: Person, capture: Upload & { placeId: string }, caseDetail: CaseDetail, fileName = "photo.jpg"): Promise<Record<string, unknown>> {
  const item = (await (await call(`/api/evidence/${capture.evidenceId}`, { cookie: person.cookie })).json()) as EvidenceSummary;
  const release = (await (await call(`/api/evidence/${capture.evidenceId}/key`, { cookie: person.cookie })).json()) as { fileKey: string };
  return {
    caseId: caseDetail.id,
    fileKey: { caseKid: caseDetail.caseKey.kid, jwe: await rewrapFileKey(release.fileKey, person.encryption.privateKey, caseDetail.caseKey.publicJwk) },
    label: await encryptLabel({ fileName, mediaType: "image/jpeg" }, caseDetail.caseKey.publicJwk),
    filing: await signFiling(
      { evidenceId: capture.evidenceId, fromCaseId: capture.placeId, caseId: caseDetail.id, manifestSha512: await manifestDigest(item.manifest), filedBy: person.id, filedAt: new Date().toISOString() },
      person.signing,
    ),
  };
}

/** An item's fields as the server stores them. */
export interface StoredItem {
  status: string;
  case_id: string;
  signer_kid: string;
  r2_key: string;
  upload_id: string | null;
  record_ref: string | null;
  manifest: string;
  file_key: string;
  label: string | null;
  thumbnail: string | null;
  filing: string | null;
  /** Its manifest's stamped timestamp, once the stamping moved it into the record. */
  timestamp?: Record<string, unknown> | null;
}

/**
 * The item as the server stores it: its D1 row with the record that row names, read from its
 * case's object (docs/storage-schema.md, "What grows with evidence"); a row from before
 * migration 0036 holds the fields itself. Null if there is no row.
 */
export async function storedItem(evidenceId: string): Promise<StoredItem | null> {
  const row = await backend.db
    .prepare("SELECT status, case_id, signer_kid, r2_key, upload_id, record_ref, manifest, file_key, label, thumbnail, filing FROM evidence WHERE id = ?")
    .bind(evidenceId)
    .first<StoredItem>();
  if (!row || row.record_ref === null) return row;
  const record = (await backend.caseRecords(row.case_id)).items.find((r) => r.evidenceId === evidenceId && r.ref === row.record_ref);
  if (!record) throw new Error(`item ${evidenceId}: its record ${row.record_ref} is not in case ${row.case_id}'s object`);
  return { ...row, ...(record.body as Pick<StoredItem, "r2_key" | "signer_kid" | "manifest" | "file_key" | "label" | "thumbnail" | "filing" | "timestamp">) };
}
