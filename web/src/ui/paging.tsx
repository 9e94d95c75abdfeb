/**
 * Lists that page (the API's cursor paging, shared/api/paging.ts): a hook that holds the items
 * loaded so far and the cursor of the next page, and a "Show more" control that loads the next
 * page when pressed or when it scrolls into view.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "./messages";

export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Paged<T> {
  /** Everything loaded so far, in the list's order; undefined until the first page arrives. */
  items: T[] | undefined;
  hasMore: boolean;
  loading: boolean;
  /** Why the last page could not be loaded, in words for the reader. */
  error: string | undefined;
  more: () => void;
  /** Back to the first page alone. */
  reload: () => void;
  /** Loads again as many pages as are shown, in place (for lists that change while shown). */
  refresh: () => void;
  /** Replaces the loaded items (after a local change), keeping the cursor. */
  setItems: (update: (items: T[]) => T[]) => void;
}

/** Pages of `load(cursor)`, the first loaded at once and again whenever `deps` change. */
export function usePaged<T>(load: (cursor: string | undefined) => Promise<PageOf<T>>, deps: unknown[]): Paged<T> {
  const [items, setItems] = useState<T[]>();
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  // Answers to an earlier generation (before a reload or a change of filter) are dropped.
  const generation = useRef(0);
  const busy = useRef(false);
  const pagesShown = useRef(0);

  async function fetchPage(cursor: string | undefined, replace: boolean) {
    const mine = replace ? ++generation.current : generation.current;
    busy.current = true;
    setLoading(true);
    setError(undefined);
    try {
      const page = await load(cursor);
      if (mine !== generation.current) return;
      setItems((current) => (replace || !current ? page.items : [...current, ...page.items]));
      setNext(page.nextCursor);
      pagesShown.current = replace ? 1 : pagesShown.current + 1;
    } catch (caught) {
      if (mine === generation.current) setError(messageOf(caught));
    } finally {
      if (mine === generation.current) {
        busy.current = false;
        setLoading(false);
      }
    }
  }

  async function refreshShown() {
    if (busy.current) return;
    const mine = generation.current;
    try {
      const { items: fresh, nextCursor } = await pagesFrom(load, Math.max(1, pagesShown.current));
      if (mine !== generation.current) return;
      setItems(fresh);
      setNext(nextCursor);
      setError(undefined);
    } catch (caught) {
      if (mine === generation.current) setError(messageOf(caught));
    }
  }

  useEffect(() => void fetchPage(undefined, true), deps);

  return {
    items,
    hasMore: next !== null,
    loading,
    error,
    more: () => {
      if (next !== null && !busy.current) void fetchPage(next, false);
    },
    reload: () => void fetchPage(undefined, true),
    refresh: () => void refreshShown(),
    setItems: (update) => setItems((current) => (current ? update(current) : current)),
  };
}

/**
 * "Show more …" under a list with more pages: a button, which also presses itself when it
 * scrolls into view, so scrolling down keeps loading. Shows progress and a retry on failure.
 */
export function LoadMore(props: { hasMore: boolean; loading: boolean; error?: string | undefined; noun: string; onMore: () => void }) {
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasMore, loading, onMore } = props;

  useEffect(() => {
    const element = sentinel.current;
    if (!element || !hasMore || loading || props.error || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) onMore();
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [hasMore, loading, props.error, onMore]);

  if (!hasMore) return null;
  return (
    <div class="load-more stack" ref={sentinel}>
      {props.error && (
        <p role="alert" class="alert">
          Couldn't load more {props.noun}. {props.error}
        </p>
      )}
      <button type="button" class="secondary wide" disabled={loading} onClick={onMore}>
        {loading ? `Loading more ${props.noun}…` : props.error ? `Try again: more ${props.noun}` : `Show more ${props.noun}`}
      </button>
    </div>
  );
}

/**
 * Every item of a paged list, for the few places that need the whole of a list that stays small
 * in practice (the site operators to choose from); stops after `maxPages` pages of 200.
 */
export async function allPages<T>(load: (cursor: string | undefined) => Promise<PageOf<T>>, maxPages = 25): Promise<T[]> {
  return (await pagesFrom(load, maxPages)).items;
}

/** The first `pages` pages of a list (fewer if it ends), and the cursor after them. */
async function pagesFrom<T>(load: (cursor: string | undefined) => Promise<PageOf<T>>, pages: number): Promise<PageOf<T>> {
  const items: T[] = [];
  let cursor: string | null | undefined = undefined;
  for (let page = 0; page < pages && cursor !== null; page++) {
    const answer: PageOf<T> = await load(cursor);
    items.push(...answer.items);
    cursor = answer.nextCursor;
  }
  return { items, nextCursor: cursor ?? null };
}
