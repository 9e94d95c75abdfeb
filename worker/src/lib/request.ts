import type { Context } from "hono";

/**
 * The client's IP (sessions, the audit trail, the per-IP throttle): `CF-Connecting-IP`, and only
 * where what stands in front of the worker sets that header itself, so a client cannot choose it.
 * That is the binding `TRUST_CF_CONNECTING_IP` = "true", set
 * - on Cloudflare by `npm run deploy` (`--var`): the edge overwrites any `CF-Connecting-IP` the
 *   client sent with the address it connected from;
 * - by the Deno host (deno/server.ts), which always replaces the header with the TCP peer's
 *   address, or the trusted reverse proxy's `X-Forwarded-For` (CUSTODY_TRUST_PROXY).
 * Anywhere else, `wrangler dev` above all (`npm start`), the header may come from the client
 * (miniflare only fills it in when the client sent none), so it is ignored: the address is
 * unknown (null). No other header (`X-Real-IP`, `X-Forwarded-For`) is ever read here.
 */
export function clientIp(c: Context): string | null {
  const trusted = (c.env as { TRUST_CF_CONNECTING_IP?: unknown } | undefined)?.TRUST_CF_CONNECTING_IP === "true";
  return trusted ? (c.req.header("CF-Connecting-IP") ?? null) : null;
}

export function userAgent(c: Context): string | null {
  return c.req.header("User-Agent")?.slice(0, 512) ?? null;
}
