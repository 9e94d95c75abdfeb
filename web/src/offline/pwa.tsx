/**
 * Registers the service worker (web/src/sw.ts, built to /sw.js) and offers a reload when a new
 * version is waiting. The new worker takes over only when the user says so, so a form being
 * filled in is never lost to an automatic reload.
 */
import { useEffect, useState } from "preact/hooks";
import { Workbox } from "workbox-window";

/** Calls `onWaiting` with a function that activates the waiting worker and reloads. */
function registerServiceWorker(onWaiting: (activate: () => void) => void): void {
  // The dev server has no built worker; production builds always do.
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  const wb = new Workbox("/sw.js", { scope: "/" });
  wb.addEventListener("waiting", () =>
    onWaiting(() => {
      wb.addEventListener("controlling", () => location.reload());
      wb.messageSkipWaiting();
    }),
  );
  wb.register().catch((error: unknown) => console.warn("Service worker registration failed", error));
  // Phones keep an installed app open for days: look for a new version hourly and on return.
  setInterval(() => void wb.update(), 60 * 60 * 1000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") void wb.update();
  });
}

export function UpdatePrompt() {
  const [activate, setActivate] = useState<() => void>();
  const [reloading, setReloading] = useState(false);

  useEffect(() => registerServiceWorker((fn) => setActivate(() => fn)), []);

  return (
    <div role="status" class="update-prompt" hidden={!activate}>
      {activate && (
        <>
          <span>New version available.</span>
          <button
            type="button"
            class="primary"
            disabled={reloading}
            onClick={() => {
              setReloading(true);
              activate();
            }}
          >
            {reloading ? "Reloading…" : "Reload"}
          </button>
        </>
      )}
    </div>
  );
}
