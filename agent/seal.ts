/**
 * The agent's cryptography (docs/agent.md, "Holding and delivery"), on shared/crypto only:
 * - at export, a clip is encrypted at once in the evidence format v1 under a fresh file key,
 *   and the file key is wrapped to the SITE's own encryption key: the held copy can be opened
 *   by nobody but the agent;
 * - on approval, the file key is re-wrapped to the case key, the label is encrypted to the case
 *   key, the camera metadata is encrypted under the file key, and the manifest (naming the
 *   request) is signed with the agent's signing key.
 * No file system here: the agent and the tests both use it.
 */
import type { JWK } from "jose";
import type { AgentWorkItem, ClipEvidenceRequest } from "../shared/api/video";
import {
  encryptBlob,
  encryptLabel,
  encryptMetadata,
  fromBase64url,
  generateFileKey,
  rewrapFileKey,
  signManifest,
  toBase64url,
  unwrapFileKey,
  wrapFileKey,
  type BlobEncryption,
  type EncryptionSummary,
  type Sha512,
  type UnlockedKey,
} from "../shared/crypto/index.ts";

/** What the agent keeps beside a held clip's ciphertext (clip.json): enough to deliver it later. */
export interface HeldClip {
  v: 1;
  clipId: string;
  requestId: string;
  /** The file key, wrapped to the site's encryption key (compact JWE, ECDH-ES+A256KW). */
  fileKey: string;
  byteSize: number;
  sha512: string;
  /** base64url, 7 bytes. */
  noncePrefix: string;
  partSha512: string[];
  footageStart: string;
  footageEnd: string;
  durationMs: number;
  camera: AgentWorkItem["clips"][number]["camera"];
  requestedStart: string;
  requestedEnd: string;
  exportedAt: string;
}

/** Starts sealing a clip: a fresh file key (wrapped to the site's key) and the part-by-part encryption of `clip`. */
export async function sealClip(
  clip: Blob,
  siteEncryptionJwk: JWK,
  options: { createHasher?: () => Sha512 } = {},
): Promise<{ fileKey: string; encryption: BlobEncryption }> {
  const key = await generateFileKey();
  const fileKey = await wrapFileKey(key, siteEncryptionJwk);
  return { fileKey, encryption: encryptBlob(clip, key, options.createHasher ? { createHasher: options.createHasher } : {}) };
}

/** The held clip's record, once its encryption has been read to the end. */
export function heldRecord(
  summary: EncryptionSummary,
  fields: Omit<HeldClip, "v" | "byteSize" | "sha512" | "noncePrefix" | "partSha512">,
): HeldClip {
  return { v: 1, ...fields, byteSize: summary.byteSize, sha512: summary.sha512, noncePrefix: toBase64url(summary.noncePrefix), partSha512: summary.partSha512 };
}

/** A file name for the clip in the case: camera, then the footage's start time (UTC). */
export function clipFileName(held: HeldClip): string {
  const camera = held.camera.name.replace(/[^\p{L}\p{N} ._-]+/gu, "_").trim() || held.camera.archiveId;
  return `${camera} ${held.footageStart.replace(/\.\d+Z$/, "Z").replaceAll(":", "-")}.mp4`;
}

/**
 * What the agent sends to start delivering an approved clip (POST /api/agent/clips/:id/evidence):
 * the file key re-wrapped from the site key to the case key, the label to the case key, the
 * camera metadata under the file key, and the manifest signed by the agent.
 */
export async function deliveryBody(input: {
  held: HeldClip;
  evidenceId: string;
  site: { id: string; name: string };
  delivery: NonNullable<AgentWorkItem["delivery"]>;
  keys: { signing: UnlockedKey; encryption: UnlockedKey };
}): Promise<ClipEvidenceRequest> {
  const { held, delivery, keys } = input;
  const fileName = clipFileName(held);
  const casePublicJwk = delivery.caseKey.publicJwk as JWK;
  const fileKey = await unwrapFileKey(held.fileKey, keys.encryption.privateKey);
  const metadata = await encryptMetadata(
    {
      fileName,
      mediaType: "video/mp4",
      capturedAt: held.footageStart,
      camera: {
        siteId: input.site.id,
        siteName: input.site.name,
        cameraId: held.camera.id,
        archiveId: held.camera.archiveId,
        name: held.camera.name,
        latitude: held.camera.latitude,
        longitude: held.camera.longitude,
        direction: held.camera.direction,
        recorderId: held.camera.recorderId,
        requestId: held.requestId,
        clipId: held.clipId,
        requestedStart: held.requestedStart,
        requestedEnd: held.requestedEnd,
        footageStart: held.footageStart,
        footageEnd: held.footageEnd,
        durationMs: held.durationMs,
        exportedAt: held.exportedAt,
      },
    },
    fileKey,
  );
  const manifest = await signManifest(
    {
      evidenceId: input.evidenceId,
      caseId: delivery.caseId,
      uploaderId: input.site.id,
      requestId: held.requestId,
      metadata,
      stream: { byteSize: held.byteSize, sha512: held.sha512, noncePrefix: fromBase64url(held.noncePrefix), partSha512: held.partSha512 },
    },
    keys.signing,
  );
  return {
    evidenceId: input.evidenceId,
    manifest,
    fileKey: { caseKid: delivery.caseKey.kid, jwe: await rewrapFileKey(held.fileKey, keys.encryption.privateKey, casePublicJwk) },
    label: await encryptLabel({ fileName, mediaType: "video/mp4", capturedAt: held.footageStart }, casePublicJwk),
  };
}
