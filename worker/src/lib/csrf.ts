import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * CSRF defence for every state-changing route, whatever its content type. Browsers send
 * `Origin` (and `Sec-Fetch-Site`) on every cross-origin and same-origin POST/PATCH/DELETE;
 * a request that says it comes from another site is refused. Non-browser clients (the site
 * agent, CLIs) send neither and carry no cookie, so they are not at risk. The session cookie
 * is also SameSite=Strict: two independent layers.
 */
export const csrfProtection: MiddlewareHandler = async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method)) {
    const origin = c.req.header("Origin");
    const fetchSite = c.req.header("Sec-Fetch-Site");
    const ownOrigin = new URL(c.req.url).origin;
    if ((origin !== undefined && origin !== ownOrigin) || (fetchSite !== undefined && fetchSite !== "same-origin" && fetchSite !== "none")) {
      throw new ApiError(403, "cross_site_request", "This request came from another site and was refused.");
    }
  }
  await next();
};
