/**
 * The site's holding area (docs/agent.md, "Holding area"), under the data folder:
 *
 *   held/<clip id>/clip.enc       the clip's ciphertext (evidence format v1, parts end to end)
 *   held/<clip id>/clip.json      its record: the file key wrapped to the site's key, hashes, camera
 *   held/<clip id>/delivery.json  once approved: the signed delivery (so a retry resumes it)
 *   work/<clip id>.mp4            the plaintext cut, only while it is being encrypted
 *
 * A held clip appears all at once (its folder is renamed into place when complete), so a clip
 * whose export was interrupted is either wholly there or not at all. Plaintext in work/ is
 * deleted as soon as it is encrypted, and whatever an interrupted run left there is deleted at
 * start. Everything is owner-only.
 */
import type { JWK } from "jose";
import type { ClipEvidenceRequest } from "../shared/api/video.ts";
import { PART_SIZE, ciphertextSize, type Sha512 } from "../shared/crypto/index.ts";
import { heldRecord, sealClip, type HeldClip } from "./seal.ts";
import { createPrivateFile, ensurePrivateDir, exists, fileAsBlob, join, list, move, readRange, readText, remove, writePrivateFile } from "./platform.ts";

export class Holding {
  readonly heldDir: string;
  readonly workDir: string;

  constructor(dataDir: string) {
    this.heldDir = join(dataDir, "held");
    this.workDir = join(dataDir, "work");
  }

  /** Creates the folders and clears what an interrupted run left behind (plaintext cuts, half-written clips). */
  async init(): Promise<void> {
    await ensurePrivateDir(this.heldDir);
    await remove(this.workDir);
    await ensurePrivateDir(this.workDir);
    for (const name of await list(this.heldDir)) if (name.endsWith(".partial")) await remove(join(this.heldDir, name));
  }

  /** Where the plaintext cut of a clip goes while it is encrypted. */
  workPath(clipId: string): string {
    return join(this.workDir, `${clipId}.mp4`);
  }

  /**
   * Encrypts the plaintext cut at `plainPath` into held/<clip id> under a fresh file key wrapped
   * to the site's encryption key, then deletes the plaintext.
   */
  async seal(
    plainPath: string,
    siteEncryptionJwk: JWK,
    fields: Omit<Parameters<typeof heldRecord>[1], "fileKey">,
    createHasher?: () => Sha512,
  ): Promise<HeldClip> {
    const partial = join(this.heldDir, `${fields.clipId}.partial`);
    await remove(partial);
    await ensurePrivateDir(partial);
    const file = await fileAsBlob(plainPath);
    try {
      const { fileKey, encryption } = await sealClip(file.blob, siteEncryptionJwk, createHasher ? { createHasher } : {});
      const out = await createPrivateFile(join(partial, "clip.enc"));
      try {
        for await (const part of encryption) await out.write(part.bytes);
      } finally {
        await out.close();
      }
      const record = heldRecord(encryption.summary(), { ...fields, fileKey });
      await writePrivateFile(join(partial, "clip.json"), JSON.stringify(record, null, 2));
      await move(partial, join(this.heldDir, fields.clipId));
      return record;
    } finally {
      await file.close();
      await remove(plainPath);
    }
  }

  async read(clipId: string): Promise<HeldClip | null> {
    const path = join(this.heldDir, clipId, "clip.json");
    if (!(await exists(path))) return null;
    return JSON.parse(await readText(path)) as HeldClip;
  }

  /** Ciphertext part `index` of a held clip (8 MiB + 128 B, the last shorter). */
  async readPart(held: HeldClip, index: number): Promise<Uint8Array> {
    const total = ciphertextSize(held.byteSize);
    const start = index * PART_SIZE;
    return readRange(join(this.heldDir, held.clipId, "clip.enc"), start, Math.min(PART_SIZE, total - start));
  }

  async readDelivery(clipId: string): Promise<ClipEvidenceRequest | null> {
    const path = join(this.heldDir, clipId, "delivery.json");
    return (await exists(path)) ? (JSON.parse(await readText(path)) as ClipEvidenceRequest) : null;
  }

  async saveDelivery(clipId: string, body: ClipEvidenceRequest | null): Promise<void> {
    const path = join(this.heldDir, clipId, "delivery.json");
    if (body) await writePrivateFile(path, JSON.stringify(body));
    else await remove(path);
  }

  /** Deletes a clip's held ciphertext, its wrapped key and any plaintext left of it. */
  async delete(clipId: string): Promise<void> {
    await remove(join(this.heldDir, clipId));
    await remove(join(this.heldDir, `${clipId}.partial`));
    await remove(this.workPath(clipId));
  }

  /** Ids of the clips held now. */
  async heldIds(): Promise<string[]> {
    return (await list(this.heldDir)).filter((name) => !name.endsWith(".partial"));
  }
}
