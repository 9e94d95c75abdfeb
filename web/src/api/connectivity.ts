/**
 * Can the Custody server be reached right now? The app's one answer, shared by the upload queue
 * and the screens. It turns "no" on the `offline` event or when a request fails at the network
 * level (the device may still say it is online: a dead Wi-Fi, a basement), and "yes" again when
 * any answer comes back from the server. While it is "no", a cheap probe (GET /api/health) runs
 * with backoff (1 s, 2 s, 4 s … 30 s) and at once on the `online` event; nothing else needs to
 * retry on its own. Works on the page and in the service worker.
 */

const FIRST_PROBE_MS = 1_000;
const MAX_PROBE_MS = 30_000;

let reachable = navigator.onLine;
let probeDelay = FIRST_PROBE_MS;
let probeTimer: ReturnType<typeof setTimeout> | undefined;
let probing = false;
const listeners = new Set<(reachable: boolean) => void>();
let waiters: (() => void)[] = [];

/** True unless the last thing the app learnt is that the server cannot be reached. */
export function isReachable(): boolean {
  return reachable;
}

/** Calls `listener` whenever reachability changes; returns the unsubscribe function. */
export function onReachability(listener: (reachable: boolean) => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

function set(value: boolean): void {
  if (reachable === value) return;
  reachable = value;
  if (value) {
    probeDelay = FIRST_PROBE_MS;
    clearTimeout(probeTimer);
    probeTimer = undefined;
    for (const wake of waiters.splice(0)) wake();
  }
  for (const listener of [...listeners]) listener(value);
}

/** A response came back from the server (any status): it is reachable. */
export function reportReachable(): void {
  set(true);
}

/** A request failed at the network level: the server is unreachable until a probe or request gets through. */
export function reportUnreachable(): void {
  set(false);
  scheduleProbe();
}

function scheduleProbe(delay = probeDelay): void {
  if (reachable || probeTimer !== undefined || probing) return;
  probeTimer = setTimeout(() => {
    probeTimer = undefined;
    void probe();
  }, delay);
}

async function probe(): Promise<void> {
  if (reachable || probing) return;
  // The device says it has no network at all: the `online` event will call again.
  if (!navigator.onLine) return;
  probing = true;
  try {
    const response = await fetch("/api/health", { cache: "no-store", credentials: "omit" });
    if (response.ok) return set(true);
  } catch {
    // still unreachable
  } finally {
    probing = false;
  }
  probeDelay = Math.min(probeDelay * 2, MAX_PROBE_MS);
  scheduleProbe();
}

/** Resolves at once when the server is reachable, otherwise once it is again; rejects when `signal` aborts. */
export function whenReachable(signal?: AbortSignal): Promise<void> {
  if (reachable) return Promise.resolve();
  scheduleProbe();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener("abort", aborted);
      resolve();
    };
    const aborted = () => {
      waiters = waiters.filter((w) => w !== done);
      reject(new DOMException("cancelled", "AbortError"));
    };
    if (signal?.aborted) return aborted();
    waiters.push(done);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

addEventListener("offline", () => set(false));
addEventListener("online", () => {
  // The device has a network again: find out at once whether the server answers.
  clearTimeout(probeTimer);
  probeTimer = undefined;
  probeDelay = FIRST_PROBE_MS;
  void probe();
});
