/// <reference lib="webworker" />
/**
 * The service worker: precaches the app shell that the build lists in `self.__WB_MANIFEST`,
 * answers every in-app navigation with the cached index.html (the app routes on the client, so
 * it opens offline), and leaves /api/ to the network. It also receives files shared to Custody
 * from other apps (the manifest's `share_target`: POST /share-target), keeps them in IndexedDB
 * and opens "Add to case"; and on Background Sync uploads the queue while the app is closed
 * (upload/background.ts). It answers the per-view URLs of streaming playback (`/view/<id>`,
 * evidence/view-sw.ts) without holding a key or plaintext itself. A new version waits until the page asks it to take over.
 */
import "./ui/zod-jitless";
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";
import { db } from "./db";
import { UPLOAD_SYNC_TAG, uploadInBackground } from "./upload/background";
import { handleViewFetch } from "./evidence/view-sw";

declare const self: ServiceWorkerGlobalScope;

// Streaming playback: `/view/<id>` is answered from the page's evidence worker (evidence/view-sw.ts).
// Registered before Workbox's router, which then leaves these requests alone.
self.addEventListener("fetch", (event) => void handleViewFetch(event));

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

registerRoute(new NavigationRoute(createHandlerBoundToURL("index.html"), { denylist: [/^\/api\//, /^\/share-target/, /^\/view\//] }));

// A file shared from the phone's gallery: kept on the device (never sent anywhere) until the user
// picks its case on /share, where it is encrypted like any picked file.
registerRoute(
  ({ url, request }) => url.pathname === "/share-target" && request.method === "POST",
  async ({ request }) => {
    try {
      const form = await request.formData();
      const files = form.getAll("files").filter((value): value is File => value instanceof File);
      const sharedAt = new Date().toISOString();
      if (files.length > 0) await db.sharedFiles.bulkAdd(files.map((file) => ({ file, sharedAt })));
    } catch (error) {
      console.error("Custody: could not keep the shared files", error);
    }
    return Response.redirect("/share", 303);
  },
  "POST",
);

/** Background Sync's event (not in TypeScript's WebWorker library yet). */
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
}

self.addEventListener("sync" as keyof ServiceWorkerGlobalScopeEventMap, (event) => {
  const sync = event as unknown as SyncEvent;
  if (sync.tag !== UPLOAD_SYNC_TAG) return;
  sync.waitUntil(uploadInBackground(async () => (await self.clients.matchAll({ type: "window" })).length > 0));
});

self.addEventListener("message", (event: ExtendableMessageEvent) => {
  if ((event.data as { type?: unknown } | null)?.type === "SKIP_WAITING") void self.skipWaiting();
});

// The first install controls the open page at once, so it works offline without a reload.
// Updates still wait for SKIP_WAITING: claiming only changes which worker serves requests.
clientsClaim();
