/** The worker's secrets on Deno come from the server's environment, as `wrangler secret put` gives them on Cloudflare. */
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { OidcProviderState } from "../../shared/api/oidc";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { db } from "../worker/backend";
import { denoServer, restartDenoBackend } from "../worker/backend-deno";
import { ADMIN, call, sessionCookie, setUpOrganisation, signIn } from "../worker/helpers";
import { importDataKey } from "../../worker/src/lib/data-key";
import { base32Decode, hotp, timeStep } from "../../worker/src/lib/totp";

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

describe("the data key on the Deno host", () => {
  it("is made in the data folder when the environment has none, kept across restarts, and DATA_KEY / DATA_KEY_PREVIOUS from the environment take over", async () => {
    const admin = await setUpOrganisation();
    const keyFile = join(denoServer().stateDir, "data-key.env");
    expect((statSync(keyFile).mode & 0o777).toString(8)).toBe("600");
    const made = /^DATA_KEY=(\S+)$/m.exec(readFileSync(keyFile, "utf8"))![1]!;
    expect(Buffer.from(made, "base64")).toHaveLength(32);

    // Restarted, the same key opens the seed sealed before.
    await restartDenoBackend("stop");
    await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);

    // Another key from the environment: the seed sealed under the file's key no longer opens...
    const other = randomBytes(32).toString("base64");
    await restartDenoBackend("stop", { DATA_KEY: other });
    const pending = await call("/api/auth/sign-in", { body: { email: ADMIN.email, password: ADMIN.password } });
    const currentCode = await hotp(base32Decode(admin.totpSecret), timeStep(Date.now()));
    const wrongKey = await call("/api/auth/mfa", { body: { method: "totp", code: currentCode }, cookie: sessionCookie(pending) });
    expect(wrongKey.status).toBe(401);

    // ...until the old key is given as the previous one: then it opens, and is sealed again under the new key.
    await restartDenoBackend("stop", { DATA_KEY: other, DATA_KEY_PREVIOUS: made });
    await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);
    const row = await db.prepare("SELECT secret, secret_key_id FROM totp_credentials").first<{ secret: string; secret_key_id: string }>();
    expect(row!.secret_key_id).toBe((await importDataKey(other)).id);
    expect(row!.secret.split(".")[1]).toBe(row!.secret_key_id);
  });
});
