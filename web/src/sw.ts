/// <reference lib="webworker" />
/**
 * The service worker: precaches the app shell that the build lists in `self.__WB_MANIFEST`,
 * answers every in-app navigation with the cached index.html (the app routes on the client),
 * and leaves /api/ to the network. A new version waits until the page asks it to take over.
 */
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";

declare const self: ServiceWorkerGlobalScope;

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

registerRoute(new NavigationRoute(createHandlerBoundToURL("index.html"), { denylist: [/^\/api\//] }));

self.addEventListener("message", (event: ExtendableMessageEvent) => {
  if ((event.data as { type?: unknown } | null)?.type === "SKIP_WAITING") void self.skipWaiting();
});

// The first install controls the open page at once, so it works offline without a reload.
// Updates still wait for SKIP_WAITING: claiming only changes which worker serves requests.
clientsClaim();
