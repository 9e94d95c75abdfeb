import type { Context } from "hono";

/** The client's IP: Cloudflare's `CF-Connecting-IP` (wrangler dev sets it too), else null. */
export function clientIp(c: Context): string | null {
  return c.req.header("CF-Connecting-IP") ?? c.req.header("X-Real-IP") ?? null;
}

export function userAgent(c: Context): string | null {
  return c.req.header("User-Agent")?.slice(0, 512) ?? null;
}
