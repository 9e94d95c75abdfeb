/**
 * The identity provider's JWKS, cached in memory (per isolate on Workers, per process on Deno) for
 * as long as its HTTP cache headers say, within bounds, instead of fetched at every sign-in. A key
 * id the cached set lacks (the provider rotated its keys) fetches the set again at once, but at most
 * once a minute per JWKS URL, so tokens with made-up key ids cannot make the server hammer the provider.
 */

/** Bounds on how long a fetched JWKS is kept, whatever its headers say. */
export const JWKS_MIN_TTL_S = 60;
export const JWKS_MAX_TTL_S = 24 * 60 * 60;
/** When the answer says nothing about caching. */
export const JWKS_DEFAULT_TTL_S = 5 * 60;
/** At most one refetch for an unknown key id per JWKS URL in this long. */
export const JWKS_REFRESH_INTERVAL_MS = 60 * 1000;

interface Entry {
  status: number;
  headers: [string, string][];
  body: string;
  keyIds: (string | undefined)[];
  expiresAt: number;
}

const entries = new Map<string, Entry>();
/** When each JWKS URL was last refetched for an unknown key id. */
const refreshedAt = new Map<string, number>();

/** Seconds the answer may be kept for, from Cache-Control max-age (less Age) or Expires, bounded. */
export function jwksTtlSeconds(headers: Headers, now = Date.now()): number {
  const cacheControl = (headers.get("Cache-Control") ?? "").toLowerCase();
  let ttl: number | null = null;
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(cacheControl)) ttl = 0;
  else {
    const maxAge = /(?:^|[\s,])max-age\s*=\s*"?(\d+)"?/.exec(cacheControl);
    if (maxAge) ttl = Number(maxAge[1]) - (Number(headers.get("Age")) || 0);
    else {
      const expires = Date.parse(headers.get("Expires") ?? "");
      const date = Date.parse(headers.get("Date") ?? "") || now;
      if (!Number.isNaN(expires)) ttl = Math.floor((expires - date) / 1000);
    }
  }
  return Math.min(JWKS_MAX_TTL_S, Math.max(JWKS_MIN_TTL_S, ttl ?? JWKS_DEFAULT_TTL_S));
}

function keyIdsOf(body: string): (string | undefined)[] | null {
  try {
    const keys = (JSON.parse(body) as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) return null;
    return keys.map((key) => (typeof (key as { kid?: unknown })?.kid === "string" ? (key as { kid: string }).kid : undefined));
  } catch {
    return null;
  }
}

/**
 * Fetches the JWKS at `url` with `fetcher`, or answers from the cache while that is fresh. Only a
 * 200 answer holding a key set is kept; anything else goes through to the caller as it is.
 */
export async function cachedJwksFetch(url: string, fetcher: () => Promise<Response>, now = Date.now()): Promise<Response> {
  const cached = entries.get(url);
  if (cached && cached.expiresAt > now) return new Response(cached.body, { status: cached.status, headers: cached.headers });
  const response = await fetcher();
  if (response.status !== 200) return response;
  const body = await response.text();
  const keyIds = keyIdsOf(body);
  const contentType = response.headers.get("Content-Type");
  const headers: [string, string][] = contentType ? [["Content-Type", contentType]] : [];
  // One provider per organisation: a handful of URLs. The bound only keeps a misuse from growing the map.
  if (entries.size >= 100 && !entries.has(url)) entries.delete(entries.keys().next().value!);
  if (keyIds) entries.set(url, { status: 200, headers, body, keyIds, expiresAt: now + jwksTtlSeconds(response.headers, now) * 1000 });
  return new Response(body, { status: 200, headers });
}

/**
 * Before checking a token signed with key `kid`: if the cached set lacks that key, forget the set
 * so that the check fetches it again, unless this URL was refetched so less than a minute ago.
 */
export function refreshJwksForKeyId(url: string, kid: string | undefined, now = Date.now()): void {
  const cached = entries.get(url);
  if (!cached || kid === undefined || cached.keyIds.includes(kid)) return;
  if (now - (refreshedAt.get(url) ?? -Infinity) < JWKS_REFRESH_INTERVAL_MS) return;
  refreshedAt.set(url, now);
  entries.delete(url);
}
