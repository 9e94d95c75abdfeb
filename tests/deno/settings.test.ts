/** The development setting for an identity provider on this machine is off on the Deno host unless its environment sets it. */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { restartDenoBackend } from "../worker/backend-deno";
import { call, expectError, setUpOrganisation } from "../worker/helpers";

beforeAll(async () => {
  // As `npm run start:deno` runs in production: no OIDC_ALLOW_LOOPBACK (empty is unset; the tests' server has it otherwise).
  await restartDenoBackend("stop", { OIDC_ALLOW_LOOPBACK: "" });
}, 60_000);

describe("OpenID settings on the Deno host", () => {
  it("refuses an identity provider on this machine unless OIDC_ALLOW_LOOPBACK is set", async () => {
    const admin = await setUpOrganisation();
    const body = { issuer: inject("oidcIssuer"), clientId: "custody", clientSecret: "s", displayName: "SSO" };
    const saved = await expectError(await call("/api/oidc/provider", { method: "PUT", body, cookie: admin.cookie }), 400, "issuer_not_allowed");
    expect(saved.error.message).toMatch(/loopback/);
    const discovered = await expectError(await call("/api/oidc/provider/discovery", { body: { issuer: inject("oidcIssuer") }, cookie: admin.cookie }), 422, "discovery_failed");
    expect(discovered.error.message).toMatch(/loopback/);
  });
});
