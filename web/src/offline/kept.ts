/**
 * Evidence kept offline ("Keep offline" on an item's page): its ciphertext downloaded into OPFS
 * (`offline/<evidenceId>.bin`, each part checked against the signed manifest's SHA-512 as it
 * arrives), and in IndexedDB (db.keptOffline) what opening it needs besides this device's own
 * private key: the item, the key release it was opened with, the signer's public key. Opened
 * offline, it is decrypted and verified exactly as online (evidence/open.ts `openKept`), and the
 * view is recorded on the device for the audit trail (offline/events.ts). Nothing plaintext is kept.
 */
import type { EvidenceSummary, FileKeyRelease } from "../../../shared/api/cases";
import type { SignerKey } from "../../../shared/api/schemas";
import { ciphertextSize } from "../../../shared/crypto/index";
import { db, type KeptOfflineRow } from "../db";
import { fetchPart, type OpenedEvidence } from "../evidence/open";
import { fileHandle, readFile, removeFile } from "../upload/opfs";

const fileOf = (evidenceId: string) => `${evidenceId}.bin`;

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface KeptItem {
  row: KeptOfflineRow;
  item: EvidenceSummary;
  release: FileKeyRelease;
  signer: SignerKey;
  ciphertext: File;
}

/** The offline copy of `evidenceId` for `userId`, if it is complete on this device. */
export async function keptCopy(userId: string, evidenceId: string): Promise<KeptItem | undefined> {
  const row = await db.keptOffline.get(evidenceId).catch(() => undefined);
  if (!row || row.userId !== userId) return undefined;
  const ciphertext = await readFile("offline", fileOf(evidenceId));
  if (!ciphertext || ciphertext.size !== row.bytes) return undefined;
  return { row, item: row.item as EvidenceSummary, release: row.release as FileKeyRelease, signer: row.signer as SignerKey, ciphertext };
}

/**
 * Keeps `item` (just opened and verified as `opened`) on this device: downloads its ciphertext
 * part by part into OPFS, checking each part's SHA-512, then saves what opening it needs.
 */
export async function keepOffline(userId: string, item: EvidenceSummary, opened: OpenedEvidence, onProgress: (bytes: number, total: number) => void): Promise<void> {
  const total = ciphertextSize(opened.manifest.byteSize);
  void navigator.storage.persist?.().catch(() => false);
  const estimate = await navigator.storage.estimate?.().catch(() => undefined);
  if (estimate?.quota !== undefined && estimate.usage !== undefined && estimate.quota - estimate.usage < total + 16 * 1024 * 1024) {
    throw new Error("Not enough free storage on this device to keep this item offline. Free some space, or remove other items kept offline.");
  }
  const out = await (await fileHandle("offline", fileOf(item.id), true)).createWritable();
  let written = 0;
  try {
    for (let n = 0; n < opened.manifest.parts.length; n++) {
      const part = await fetchPart(item.id, n);
      if (hex(await crypto.subtle.digest("SHA-512", part)) !== opened.manifest.parts[n]) {
        throw new Error(`Part ${n} downloaded does not match the signed manifest. Try again; if it keeps happening, tell the case lead.`);
      }
      await out.write(part);
      written += part.length;
      onProgress(written, total);
    }
    await out.close();
  } catch (error) {
    await out.abort().catch(() => undefined);
    await removeFile("offline", fileOf(item.id));
    throw error;
  }
  await db.keptOffline.put({
    evidenceId: item.id,
    userId,
    caseId: item.caseId,
    item,
    release: opened.release,
    signer: opened.signer,
    fileName: opened.metadata.fileName,
    bytes: written,
    savedAt: new Date().toISOString(),
  });
}

/** Removes the offline copy of `evidenceId` from this device. */
export async function forgetOffline(evidenceId: string): Promise<void> {
  await db.keptOffline.delete(evidenceId);
  await removeFile("offline", fileOf(evidenceId));
}

/** The items `userId` keeps offline on this device, newest first. */
export async function keptItems(userId: string): Promise<KeptOfflineRow[]> {
  return (await db.keptOffline.where("userId").equals(userId).toArray()).sort((a, b) => b.savedAt.localeCompare(a.savedAt));
}
