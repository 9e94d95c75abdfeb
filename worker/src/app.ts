import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MAX_JSON_BODY_BYTES } from "../../shared/api/schemas";
import type { AppEnv } from "./env";
import { ApiError, toErrorResponse } from "./lib/errors";
import { audit } from "./lib/audit";
import { csrfProtection } from "./lib/csrf";
import { API_HEADERS } from "./lib/security-headers";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Methods refused on every path (405), whatever the route: see below. */
export const REFUSED_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);
/** The `Allow` header of a 405: every method some route answers. */
export const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/** Refusals of state-changing requests that are audited (bad input, 400/413, is not: nothing was attempted). */
const REFUSALS_TO_RECORD = new Set([401, 403, 404, 409]);

/** The base app every route is mounted on: errors, limits, CSRF and headers, in one place. */
export function createApp() {
  const app = new Hono<AppEnv>();
  app.onError(async (err, c) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) console.error(`${c.req.method} ${c.req.path} failed:`, err);
    if (REFUSALS_TO_RECORD.has(status) && !SAFE_METHODS.has(c.req.method) && !c.get("audited")) {
      // A refused attempt to change something is on the record too, even where the route wrote nothing.
      try {
        await audit(c, {
          action: "request.refused",
          target: { type: "route", id: `${c.req.method} ${c.req.routePath}` },
          outcome: status === 401 || status === 403 ? "denied" : "failed",
          details: { status, code: body.error.code },
        });
      } catch (auditErr) {
        // The outbox cannot be written (e.g. D1 is failing): the refusal cannot go on the record,
        // so the request fails like any request whose event cannot be written. Nothing changed.
        console.error(`${c.req.method} ${c.req.path}: the refusal (${status}) could not be recorded:`, auditErr);
        const failed = toErrorResponse(auditErr);
        return c.json(failed.body, failed.status);
      }
    }
    return c.json(body, status);
  });
  app.notFound((c) => c.json(toErrorResponse(new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`)).body, 404));
  // The security headers on every API answer, errors included (the app's files get theirs from
  // dist/_headers, or the Deno host): lib/security-headers.ts.
  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(API_HEADERS)) c.res.headers.set(name, value);
  });
  // TRACE echoes a request back (cookies and all) and TRACK is IIS's copy of it; CONNECT asks for a
  // tunnel. None is anything this server does: refused in the error shape, on every path.
  app.use("*", async (c, next) => {
    if (REFUSED_METHODS.has(c.req.method)) {
      c.header("Allow", ALLOWED_METHODS);
      throw new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed.`);
    }
    await next();
  });
  app.use("/api/*", csrfProtection);
  const jsonBodyLimit = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `The request body is larger than ${MAX_JSON_BODY_BYTES / 1024} KiB.`);
    },
  });
  // Every route takes small JSON bodies but the part uploads (signed, and a submission's), which check their exact length themselves.
  const partUpload = (c: { req: { path: string; method: string } }) =>
    c.req.path.startsWith("/api/uploads/") || (c.req.method === "PUT" && /^\/api\/submit\/[^/]+\/submissions\/[^/]+\/files\/[^/]+\/parts\/[^/]+$/.test(c.req.path));
  app.use("/api/*", (c, next) => (partUpload(c) ? next() : jsonBodyLimit(c, next)));
  app.use("/api/*", async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  return app;
}
