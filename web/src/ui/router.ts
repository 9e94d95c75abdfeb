/**
 * A tiny client-side router on the History API: `navigate()` changes the URL, `usePath()`
 * re-renders on any change (ours or the browser's back and forward), and `onLinkClick`, set
 * once on the document, lets plain <a href> elements navigate without a page load.
 */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();
let navigations = 0;

function notify(): void {
  navigations += 1;
  for (const listener of listeners) listener();
}

/** True once the user has moved within the app (not on the page's first load). */
export function hasNavigated(): boolean {
  return navigations > 0;
}

addEventListener("popstate", notify);

/** Goes to `to` (a same-origin path, may carry ?query and #fragment). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const here = location.pathname + location.search + location.hash;
  if (to !== here) history[options.replace ? "replaceState" : "pushState"](null, "", to);
  notify();
}

/** The current `location.pathname`, kept up to date. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    update();
    return () => void listeners.delete(update);
  }, []);
  return path;
}

/**
 * Document-level click handler: a click on a same-origin <a href> navigates in-app unless the
 * user asked for a new tab or window, the link downloads, or it only jumps within the page.
 */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.("a[href]");
  if (!(anchor instanceof HTMLAnchorElement)) return;
  if ((anchor.target && anchor.target !== "_self") || anchor.hasAttribute("download")) return;
  if (anchor.origin !== location.origin) return;
  if (anchor.pathname === location.pathname && anchor.search === location.search && anchor.hash) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search + anchor.hash);
}

/** The current `location.search` ("?a=b" or ""), kept up to date like `usePath`. */
export function useSearch(): string {
  const [search, setSearch] = useState(location.search);
  useEffect(() => {
    const update = () => setSearch(location.search);
    listeners.add(update);
    update();
    return () => void listeners.delete(update);
  }, []);
  return search;
}

/** A case or an evidence item, for links from any part: "/cases", "/cases?case=…", "/cases?case=…&evidence=…". */
export function caseHref(caseId?: string, evidenceId?: string): string {
  if (!caseId) return "/cases";
  return `/cases?case=${caseId}${evidenceId ? `&evidence=${evidenceId}` : ""}`;
}
