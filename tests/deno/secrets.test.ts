/** The worker's secrets on Deno come from the server's environment, as `wrangler secret put` gives them on Cloudflare. */
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { OidcProviderState } from "../../shared/api/oidc";
import { restartDenoBackend } from "../worker/backend-deno";
import { call, setUpOrganisation } from "../worker/helpers";

beforeAll(async () => {
  await restartDenoBackend("stop", { OIDC_CLIENT_SECRET: "the-secret-from-the-environment" });
}, 60_000);

describe("secrets on the Deno host", () => {
  it("binds OIDC_CLIENT_SECRET from the environment: the provider needs no stored secret, and the settings say where it comes from", async () => {
    const admin = await setUpOrganisation();
    const body = { issuer: inject("oidcIssuer"), clientId: "custody", displayName: "Northshire SSO", scopes: "openid email profile", roleMappings: [] };
    const saved = await call("/api/oidc/provider", { method: "PUT", body, cookie: admin.cookie });
    expect(saved.status, await saved.clone().text()).toBe(200);
    const state = (await saved.json()) as OidcProviderState;
    expect(state.provider).toMatchObject({ hasClientSecret: true, secretSource: "binding" });
  });
});
