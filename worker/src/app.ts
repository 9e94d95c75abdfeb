import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { MAX_JSON_BODY_BYTES } from "../../shared/api/schemas";
import type { AppEnv } from "./env";
import { ApiError, toErrorResponse } from "./lib/errors";
import { csrfProtection } from "./lib/csrf";

/** The base app every route is mounted on: errors, limits, CSRF and headers, in one place. */
export function createApp() {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500) console.error(`${c.req.method} ${c.req.path} failed:`, err);
    return c.json(body, status);
  });
  app.notFound((c) => c.json(toErrorResponse(new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`)).body, 404));
  app.use("/api/*", secureHeaders(), csrfProtection);
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_JSON_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "payload_too_large", `The request body is larger than ${MAX_JSON_BODY_BYTES / 1024} KiB.`);
      },
    }),
  );
  app.use("/api/*", async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  return app;
}
