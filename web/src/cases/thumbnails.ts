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

/** Decrypts the labels and thumbnails of `items` it can (`wantLabels`: those without a name on this device); the rest are left out. */
export async function decryptListing(
  caseId: string,
  items: EvidenceSummary[],
  me: DeviceKeys,
  wantLabel: (item: EvidenceSummary) => boolean = () => true,
  withThumbnails = true,
): Promise<{ labels: Map<string, EvidenceLabelRow>; thumbnails: Map<string, string> }> {
  const labels = new Map<string, EvidenceLabelRow>();
  const thumbnails = new Map<string, string>();
  const unseen = withThumbnails ? items.filter((item) => item.hasThumbnail && !thumbnailUrls.has(item.id)) : [];
  const needed = items.filter((item) => (item.label && wantLabel(item)) || unseen.includes(item));
  const caseKey = needed.length > 0 ? caseKeyOpener(caseId, me) : undefined;
  // Lists leave thumbnails out (most of an item's bytes): fetched here, a page at a time, while the labels are opened.
  const fetched = fetchThumbnails(caseId, unseen.map((item) => item.id));
  for (const item of items) {
    const cached = withThumbnails ? thumbnailUrls.get(item.id) : undefined;
    if (cached) thumbnails.set(item.id, cached);
    if (!needed.includes(item)) continue;
    const key = await caseKey!(item.caseKid);
    if (!key) continue;
    if (item.label && wantLabel(item)) {
      try {
        const label = await decryptLabel(item.label, key);
        labels.set(item.id, { evidenceId: item.id, fileName: label.fileName, mediaType: label.mediaType });
      } catch {
        // Left unnamed: the list still works, and opening the item verifies everything.
      }
    }
    const sealed = unseen.includes(item) ? (await fetched).get(item.id) : undefined;
    if (sealed) {
      try {
        const picture = await decryptThumbnail(sealed, key);
        const url = URL.createObjectURL(new Blob([picture.bytes as Uint8Array<ArrayBuffer>], { type: picture.mediaType }));
        thumbnailUrls.set(item.id, url);
        thumbnails.set(item.id, url);
      } catch {
        // Shown with its type icon instead.
      }
    }
  }
  return { labels, thumbnails };
}

/** The sealed thumbnails of `ids`, by id; those that cannot be fetched (offline and never saved) are left out, shown with their type icon. */
async function fetchThumbnails(caseId: string, ids: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const pages: string[][] = [];
  for (let at = 0; at < ids.length; at += THUMBNAILS_MAX) pages.push(ids.slice(at, at + THUMBNAILS_MAX));
  await Promise.all(
    pages.map((page) =>
      casesApi.thumbnails(caseId, page).then(
        (answer) => answer.thumbnails.forEach((t) => found.set(t.id, t.thumbnail)),
        () => undefined,
      ),
    ),
  );
  return found;
}
