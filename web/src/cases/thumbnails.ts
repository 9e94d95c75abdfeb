/**
 * Names and thumbnails of a case's items, decrypted in the browser with the case keys this member
 * holds (labels and thumbnails are encrypted to the case key, docs/evidence-format.md §5.1–5.2):
 * no file key is released, so nothing here is recorded as a view. Decrypted thumbnails live only
 * in this page's memory, as object URLs kept for the page's life (docs/offline.md §2).
 */
import { THUMBNAILS_MAX, type EvidenceSummary } from "../../../shared/api/cases";
import { decryptLabel } from "../../../shared/crypto/label";
import { decryptThumbnail } from "../../../shared/crypto/thumbnail";
import type { EvidenceLabelRow } from "../db";
import type { DeviceKeys } from "../keys/store";
import { casesApi } from "./api";
import { openCaseKey } from "./crypto";

/** Object URLs of decrypted thumbnails, by evidence id: an item's thumbnail never changes, so it is decrypted once per page life. */
const thumbnailUrls = new Map<string, string>();

/** The case private key of each kid this member holds (null for one they do not), opened at most once per call. */
export function caseKeyOpener(caseId: string, me: DeviceKeys): (kid: string) => Promise<CryptoKey | null> {
  const keys = casesApi.keys(caseId);
  const opened = new Map<string, Promise<CryptoKey | null>>();
  return (kid) => {
    let key = opened.get(kid);
    if (!key) {
      key = keys.then((all) => {
        const wrap = all.keys.find((k) => k.kid === kid)?.wrap;
        return wrap ? openCaseKey(wrap, me).then((k) => k.privateKey, () => null) : null;
      });
      opened.set(kid, key);
    }
    return key;
  };
}

/** Decrypts the labels of `items` it can (`wantLabel`: those without a name on this device); the rest are left out. */
export async function decryptLabels(
  caseId: string,
  items: EvidenceSummary[],
  me: DeviceKeys,
  wantLabel: (item: EvidenceSummary) => boolean = () => true,
): Promise<Map<string, EvidenceLabelRow>> {
  const labels = new Map<string, EvidenceLabelRow>();
  const needed = items.filter((item) => item.label && wantLabel(item));
  if (needed.length === 0) return labels;
  const caseKey = caseKeyOpener(caseId, me);
  for (const item of needed) {
    const key = await caseKey(item.caseKid);
    if (!key) continue;
    try {
      const label = await decryptLabel(item.label!, key);
      labels.set(item.id, { evidenceId: item.id, fileName: label.fileName, mediaType: label.mediaType });
    } catch {
      // Left unnamed: the list still works, and opening the item verifies everything.
    }
  }
  return labels;
}

/**
 * The thumbnails of `items` that have one, as object URLs. Lists leave them out (they are most of
 * an item's bytes), so they are fetched here, a page at a time, apart from the names: a slow
 * connection shows the names first. Those it cannot fetch or open are left out (type icons).
 */
export async function decryptThumbnails(caseId: string, items: EvidenceSummary[], me: DeviceKeys): Promise<Map<string, string>> {
  const thumbnails = new Map<string, string>();
  for (const item of items) {
    const cached = thumbnailUrls.get(item.id);
    if (cached) thumbnails.set(item.id, cached);
  }
  const unseen = items.filter((item) => item.hasThumbnail && !thumbnailUrls.has(item.id));
  if (unseen.length === 0) return thumbnails;
  const caseKey = caseKeyOpener(caseId, me);
  const fetched = await fetchThumbnails(caseId, unseen.map((item) => item.id));
  for (const item of unseen) {
    // Opened meanwhile by another reading of the list (the same answer, shared): kept once.
    const opened = thumbnailUrls.get(item.id);
    if (opened) {
      thumbnails.set(item.id, opened);
      continue;
    }
    const sealed = fetched.get(item.id);
    const key = sealed ? await caseKey(item.caseKid) : null;
    if (!sealed || !key) continue;
    try {
      const picture = await decryptThumbnail(sealed, key);
      const url = URL.createObjectURL(new Blob([picture.bytes as Uint8Array<ArrayBuffer>], { type: picture.mediaType }));
      thumbnailUrls.set(item.id, url);
      thumbnails.set(item.id, url);
    } catch {
      // Shown with its type icon instead.
    }
  }
  return thumbnails;
}

/** Sealed thumbnails being fetched, by evidence id: a list read again meanwhile waits for the same answer rather than asking twice. */
const inFlight = new Map<string, Promise<string | undefined>>();

/** The sealed thumbnails of `ids`, by id; those that cannot be fetched (offline and never saved) are left out, shown with their type icon. */
async function fetchThumbnails(caseId: string, ids: string[]): Promise<Map<string, string>> {
  const wanted = ids.filter((id) => !inFlight.has(id));
  for (let at = 0; at < wanted.length; at += THUMBNAILS_MAX) {
    const page = wanted.slice(at, at + THUMBNAILS_MAX);
    const answer = casesApi.thumbnails(caseId, page).then(
      (found) => new Map(found.thumbnails.map((t) => [t.id, t.thumbnail])),
      () => new Map<string, string>(),
    );
    for (const id of page) {
      const one = answer.then((found) => found.get(id));
      inFlight.set(id, one);
      void one.finally(() => inFlight.delete(id));
    }
  }
  const found = new Map<string, string>();
  await Promise.all(ids.map(async (id) => {
    const sealed = await inFlight.get(id);
    if (sealed) found.set(id, sealed);
  }));
  return found;
}
