/**
 * Copies of evidence that no longer exists, dropped at the next sync (docs/retention.md, "On
 * devices"): once the server can be reached, the device asks which of the items it holds
 * anything of (kept offline, their names, saved answers) the user can no longer open (deleted
 * to the recycle bin, purged, or no longer theirs to see), and removes every copy of those:
 * the ciphertext kept in OPFS with its key release, the saved name, and every saved answer that
 * names them (so a saved case list is read fresh).
 */
import { db } from "../db";
import { retentionApi } from "../retention/api";
import { forgetOffline } from "./kept";

const ID = /[0-9a-f]{32}/g;

/** Asks the server about every evidence id this device holds copies of for `userId`, and drops those gone. Returns how many were dropped. */
export async function dropGoneCopies(userId: string): Promise<number> {
  const kept = await db.keptOffline.where("userId").equals(userId).toArray();
  const labels = await db.evidenceLabels.toArray();
  const saved = await db.apiCache.where("userId").equals(userId).toArray();
  // Saved reads of one item: keyed "<user id> /api/evidence/<evidence id>…".
  const savedItems = saved.flatMap((row) => /\/api\/evidence\/([0-9a-f]{32})/.exec(row.key)?.[1] ?? []);
  const ids = new Set<string>([...kept.map((k) => k.evidenceId), ...labels.map((l) => l.evidenceId), ...savedItems]);
  // An upload still queued on this device may not be on the server yet: not gone, just not there.
  for (const upload of await db.uploads.toArray()) ids.delete(upload.evidenceId);
  if (ids.size === 0) return 0;
  const gone = new Set<string>();
  const all = [...ids];
  for (let i = 0; i < all.length; i += 1000) for (const id of (await retentionApi.gone(all.slice(i, i + 1000))).gone) gone.add(id);
  if (gone.size === 0) return 0;
  for (const id of gone) {
    if (kept.some((k) => k.evidenceId === id)) await forgetOffline(id);
    await db.evidenceLabels.delete(id);
  }
  // Saved answers naming a gone item (its own reads, and lists it appears in) are dropped whole;
  // never the saved session (it names no item, and the app opens offline from it).
  const stale = saved.filter((row) => row.key !== "session" && [...(row.key + JSON.stringify(row.body)).matchAll(ID)].some((m) => gone.has(m[0])));
  await db.apiCache.bulkDelete(stale.map((row) => row.key));
  return gone.size;
}
