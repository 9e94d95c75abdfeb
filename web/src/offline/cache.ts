/**
 * What the app read from the server, saved on the device so it can be shown offline
 * (docs/offline.md §3): each GET wrapped in `saved()` stores its answer in IndexedDB
 * (db.apiCache) under the signed-in user and path, and when the server cannot be reached answers
 * from there instead. `savedAt(value)` tells a screen that what it shows is such a saved copy,
 * and when it was saved, so it can say so. The last signed-in session is kept the same way, so
 * the app opens offline within the session's lifetime.
 */
import type { SessionInfo } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { isReachable } from "../api/connectivity";
import { db } from "../db";

/** How long a read may hang on a dead network before the saved copy is shown instead. */
const SLOW_MS = 8_000;

let user: string | undefined;
const origins = new WeakMap<object, string>();

/** The signed-in user whose saved answers are read and written (undefined when signed out). */
export function setCacheUser(userId: string | undefined): void {
  user = userId;
}

/** When `value` came from the device's saved copy (the server was unreachable): the time it was saved. */
export function savedAt(value: unknown): string | undefined {
  return typeof value === "object" && value !== null ? origins.get(value) : undefined;
}

function unreachable(error: unknown): boolean {
  return error instanceof ApiError && error.code === "unreachable";
}

async function fromCache<T>(key: string): Promise<T | undefined> {
  const row = await db.apiCache.get(key).catch(() => undefined);
  if (!row) return undefined;
  const body = row.body as T;
  if (typeof body === "object" && body !== null) origins.set(body, row.savedAt);
  return body;
}

export const NOT_SAVED =
  "You're offline, and this was not saved on this device. Open it once while online to have it offline.";

/**
 * Runs the GET `read` and saves its answer under `path`; when the server cannot be reached (or
 * is already known to be unreachable, or does not answer within a few seconds), answers with
 * the saved copy instead. Throws what `read` threw when there is no saved copy.
 */
export async function saved<T>(path: string, read: () => Promise<T>): Promise<T> {
  const owner = user;
  const key = `${owner} ${path}`;
  if (owner && !isReachable()) {
    const copy = await fromCache<T>(key);
    if (copy !== undefined) return copy;
  }
  const pending = read().then(async (body) => {
    if (owner) await db.apiCache.put({ key, userId: owner, savedAt: new Date().toISOString(), body }).catch(() => undefined);
    return body;
  });
  pending.catch(() => undefined); // when the saved copy was shown instead, a late failure is nobody's business
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<"slow">((resolve) => (timer = setTimeout(() => resolve("slow"), SLOW_MS)));
  try {
    const first = await Promise.race([pending, slow]);
    if (first !== "slow") return first;
    const copy = owner ? await fromCache<T>(key) : undefined;
    return copy !== undefined ? copy : await pending;
  } catch (error) {
    if (!owner || !unreachable(error)) throw error;
    const copy = await fromCache<T>(key);
    if (copy === undefined) throw new ApiError(0, "unreachable", NOT_SAVED);
    return copy;
  } finally {
    clearTimeout(timer);
  }
}

/** Removes the signed-in user's saved answers (on sign-out: case titles and members stay off a shared device). */
export async function forgetSaved(userId: string): Promise<void> {
  await db.apiCache.where("userId").equals(userId).delete();
}

// ---- the session ------------------------------------------------------------------------------

const SESSION_KEY = "session";
const ACTIVITY_KEY = "custody-last-activity";
/** The page's localStorage (absent in the service worker, which shares this module). */
const local = () => (globalThis as unknown as { localStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void } }).localStorage;

/** Notes that the user is using the app now (at most once a minute): the idle clock kept offline. */
export function noteActivity(now = Date.now()): void {
  const store = local();
  if (store && now - Number(store.getItem(ACTIVITY_KEY) ?? 0) > 60_000) store.setItem(ACTIVITY_KEY, String(now));
}

function lastActivity(): number {
  return Number(local()?.getItem(ACTIVITY_KEY) ?? 0);
}

/** Keeps the signed-in session, to open the app offline later. */
export async function saveSession(session: SessionInfo): Promise<void> {
  if (session.stage !== "active") return;
  noteActivity();
  await db.apiCache.put({ key: SESSION_KEY, userId: session.user.id, savedAt: new Date().toISOString(), body: session }).catch(() => undefined);
}

/**
 * When the saved session ends for a device that cannot ask the server: the server's own limits,
 * applied here. The end no use postpones (`limits.endsBy`), and the idle timeout counted from the
 * last use of the app on this device (or from when the server last said, if older answers lack the limits).
 */
export function offlineEnd(session: SessionInfo, savedAt: string): number {
  if (!session.limits) return Date.parse(session.expiresAt);
  const used = Math.max(lastActivity(), Date.parse(savedAt));
  return Math.min(Date.parse(session.limits.endsBy), used + session.limits.idleMinutes * 60_000);
}

/** The saved session, if it is still within its limits (`offlineEnd`): the app then opens offline as this user. */
export async function offlineSession(now = Date.now()): Promise<SessionInfo | undefined> {
  const row = await db.apiCache.get(SESSION_KEY).catch(() => undefined);
  const session = row?.body as SessionInfo | undefined;
  if (!row || !session || session.stage !== "active" || !(offlineEnd(session, row.savedAt) > now)) return undefined;
  return session;
}

/** True when a session was saved on this device (ended or not): someone was signed in here and did not sign out. */
export async function hadSession(): Promise<boolean> {
  return !!(await db.apiCache.get(SESSION_KEY).catch(() => undefined));
}

/** Forgets the saved session (signed out, or the server said it ended). */
export async function forgetSession(): Promise<void> {
  await db.apiCache.delete(SESSION_KEY).catch(() => undefined);
}
