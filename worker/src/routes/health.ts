import { Hono } from "hono";
import { Health } from "../../../shared/api/schemas";
import { schemaVersion } from "../db/schema";
import type { AppEnv } from "../env";
import { describe } from "../lib/openapi";
import { APP_VERSION } from "../version";

export const health = new Hono<AppEnv>().get(
  "/",
  describe({ summary: "Is the service up? Its app and schema versions.", access: "public", responses: { 200: { description: "Up.", schema: Health } } }),
  async (c) => {
    const body: Health = { status: "ok", version: APP_VERSION, schemaVersion: await schemaVersion(c.env.DB) };
    return c.json(body, 200);
  },
);
