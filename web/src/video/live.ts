import { useEffect } from "preact/hooks";
import { LIVE_REFRESH_MS } from "./api";

/** Reloads `load` now and every LIVE_REFRESH_MS while the page is visible; answers a manual reload. */
export function useLiveRefresh(load: () => Promise<void>, deps: unknown[] = []): () => Promise<void> {
  useEffect(() => {
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void load();
    }, LIVE_REFRESH_MS);
    const onVisible = () => document.visibilityState === "visible" && void load();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, deps);
  return load;
}
