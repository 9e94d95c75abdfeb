/**
 * Background Sync for the upload queue (where the browser has it: Chromium): the page asks for
 * a sync when files are queued or the connection is lost; the browser fires it in the service
 * worker once the device is online again, even if the app is closed, and the service worker
 * then uploads what is staged (one part at a time: it cannot see when a body has been sent).
 * If a page of the app is open, it does the uploading itself and the sync does nothing. A Web
 * Lock per item keeps the page and the service worker from uploading the same file at once.
 * Without Background Sync the queue still drains on `online` and on app start (queue.ts).
 */
import { onReachability } from "../api/connectivity";
import { db } from "../db";
import { SessionEnded, putWithFetch, uploadToServer } from "./uploader";

export const UPLOAD_SYNC_TAG = "custody-uploads";

/** The lock an item's upload runs under, in the page and in the service worker. */
export const uploadLock = (evidenceId: string) => `custody-upload-${evidenceId}`;

interface SyncRegistration {
  sync?: { register(tag: string): Promise<void> };
}

/** Page: asks the browser to wake the service worker for the queue when the device is online (no-op where unsupported). */
export async function requestBackgroundUpload(): Promise<void> {
  try {
    const registration = (await navigator.serviceWorker?.getRegistration()) as (ServiceWorkerRegistration & SyncRegistration) | undefined;
    await registration?.sync?.register(UPLOAD_SYNC_TAG);
  } catch {
    // No service worker (development server) or no permission: the page drains the queue itself.
  }
}

/** Runs `task` holding `name`, or at once where Web Locks are missing; `ifAvailable` gives up (false) when someone holds it. */
export async function withLock(name: string, ifAvailable: boolean, task: () => Promise<void>): Promise<boolean> {
  const locks = "locks" in navigator ? navigator.locks : undefined;
  if (!locks) {
    await task();
    return true;
  }
  return locks.request(name, { ifAvailable }, async (lock: Lock | null) => {
    if (!lock) return false;
    await task();
    return true;
  });
}

/**
 * Service worker: uploads every staged item of the queue, unless a page of the app is open (it
 * uploads them itself). Rejects when the connection fails midway, so the browser tries the sync
 * again later; an ended session (401) leaves the items for the page, after the user signs in.
 */
export async function uploadInBackground(windowsOpen: () => Promise<boolean>): Promise<void> {
  if (await windowsOpen()) return;
  const rows = (await db.uploads.toArray()).filter((row) => row.state === "uploading" && row.request).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const row of rows) {
    const controller = new AbortController();
    const stop = onReachability((reachable) => {
      if (!reachable) controller.abort();
    });
    try {
      await withLock(uploadLock(row.evidenceId), true, () =>
        uploadToServer(row, { parallel: 1, put: putWithFetch, onProgress: () => undefined, onNote: () => undefined }, controller.signal),
      );
    } catch (error) {
      if (error instanceof SessionEnded) return;
      if (controller.signal.aborted) throw new Error("The connection went during a background upload; the browser will try again.");
      // Something the user must see (a closed case, a damaged copy…): the page shows it, and Retry.
      await db.uploads.update(row.evidenceId, { state: "failed", error: `${error instanceof Error ? error.message : String(error)} Press Retry to try again, or Cancel.` });
    } finally {
      stop();
    }
  }
}
