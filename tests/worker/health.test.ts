import { describe, expect, it } from "vitest";
import type { Health } from "../../shared/api/schemas";
import pkg from "../../package.json";
import { call, expectError } from "./helpers";

describe("GET /api/health", () => {
  it("answers 200 with the app version and the applied schema version", async () => {
    const response = await call("/api/health");
    expect(response.status).toBe(200);
    const body = (await response.json()) as Health;
    expect(body).toEqual({ status: "ok", version: pkg.version, schemaVersion: expect.any(Number) });
    expect(body.schemaVersion).toBeGreaterThanOrEqual(1);
  });

  it("answers an unknown API route with 404 in the error shape", async () => {
    await expectError(await call("/api/no-such-thing"), 404, "not_found");
  });
});
