/**
 * OpenID Connect sign-in in a real browser: the administrator configures the identity provider
 * in the app, signs out, and signs in again through the real provider's login page (oidc-provider
 * in Node, on 127.0.0.1: another site than the app on localhost, so the round trip crosses sites
 * as it does in production).
 */
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRecoveryKeyPair } from "../../shared/crypto";
import { OIDC_CLIENT, startOidcProvider, type RunningProvider } from "../support/oidc-provider";
import { ADMIN, createKeys, expectSignedIn, signOut, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/oidc-${name}.png`, fullPage: true });

/** RFC 6238 TOTP (SHA-1, 30 s, 6 digits) for a base32 secret. */
function totp(secret: string, at = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/**
 * First-run setup through the API, with the administrator's TOTP enrolled (the organisation
 * requires MFA for local accounts), leaving the browser signed in: this file is about the
 * identity provider, the setup screens have their own tests.
 */
async function setUpSignedIn(page: Page, origin: string): Promise<void> {
  const headers = { Origin: origin };
  const recoveryKey = (await generateRecoveryKeyPair()).publicJwk;
  const setup = await page.request.post("/api/setup", { headers, data: { organisation: { name: ADMIN.organisation }, admin: { email: ADMIN.email, name: ADMIN.name, password: ADMIN.password }, recoveryKey } });
  expect(setup.status()).toBe(201);
  if (((await setup.json()) as { stage?: string }).stage === "mfa_enrolment") {
    const started = await page.request.post("/api/mfa/totp", { headers });
    expect(started.status()).toBe(201);
    const { secret } = (await started.json()) as { secret: string };
    const confirmed = await page.request.post("/api/mfa/totp/confirm", { headers, data: { code: totp(secret) } });
    expect(confirmed.status()).toBe(200);
  }
  await page.goto("/");
}

/** The provider's own login page (oidc-provider's development interaction): its field names, its button. */
async function logInAtProvider(page: Page, login: string): Promise<void> {
  await visible(page.getByRole("heading", { name: "Sign-in" }));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password will do");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

describe("OpenID Connect sign-in in a real browser against npm start and a real provider", () => {
  let server: CustodyServer;
  let provider: RunningProvider;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await CustodyServer.start();
    provider = await startOidcProvider({ redirectUris: [`${server.url}/api/oidc/callback`] });
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await provider?.close();
    await server?.dispose();
  });

  it("lets the administrator configure the provider, with a discovery check", async () => {
    server.attachLogOnFailure();
    await setUpSignedIn(page, server.url);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Sign-in" }).click();
    await visible(page.getByRole("heading", { name: "Identity provider", level: 1 }));
    expect(await page.getByLabel("Redirect URI").inputValue()).toBe(`${server.url}/api/oidc/callback`);

    const form = page.getByRole("form", { name: "Set up a provider" });
    // A wrong issuer first: a clear error, nothing saved.
    await form.getByLabel("Issuer URL").fill(`${provider.issuer}/wrong`);
    await form.getByRole("button", { name: "Test discovery" }).click();
    await visible(form.getByRole("alert").filter({ hasText: "Discovery failed" }));

    await form.getByLabel("Issuer URL").fill(provider.issuer);
    await form.getByRole("button", { name: "Test discovery" }).click();
    const report = form.getByRole("status").filter({ hasText: "Discovery works." });
    await visible(report);
    expect(await report.textContent()).toContain(`${provider.issuer}/token`);

    await form.getByLabel("Client ID").fill(OIDC_CLIENT.clientId);
    await form.getByLabel("Client secret").fill(OIDC_CLIENT.clientSecret);
    await form.getByLabel("Button name").fill("Northshire SSO");
    await form.getByLabel("Scopes").fill("openid email profile groups");
    await form.getByRole("button", { name: "Add mapping" }).click();
    await form.getByLabel("Group 1", { exact: true }).fill("custody-admins");
    await form.getByLabel("Role for group 1").selectOption({ label: "Administrator" });
    await shot(page, "settings");
    await form.getByRole("button", { name: "Save identity provider" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Sign in with Northshire SSO" }));

    // The secret is write-only: after a reload the field is empty and says one is stored.
    await page.reload();
    const saved = page.getByRole("form", { name: "Provider settings" });
    await visible(saved);
    expect(await saved.getByLabel("Client secret").inputValue()).toBe("");
    await visible(saved.getByText("A secret is stored."));
    expect(await saved.getByLabel("Issuer URL").inputValue()).toBe(provider.issuer);
  });

  it("signs out, and signs in again through the provider's own login page", async () => {
    server.attachLogOnFailure();
    await signOut(page, ADMIN.name);
    const button = page.getByRole("button", { name: "Sign in with Northshire SSO" });
    await visible(button);
    await shot(page, "sign-in-screen");
    await button.click();

    await page.waitForURL((url) => url.origin === provider.issuer);
    await logInAtProvider(page, "ada");

    // Back in the app, signed in (the keys stay unlocked on this device), with no local MFA step.
    await expectSignedIn(page);
    expect(new URL(page.url()).origin).toBe(server.url);
    const session = (await (await page.request.get("/api/auth/session")).json()) as { user: { email: string; role: string }; stage: string };
    expect(session.user).toMatchObject({ email: ADMIN.email, role: "admin" });
    expect(session.stage).toBe("active");
    // Only the session cookie remains; the short-lived sign-in binding was cleared by the callback.
    const cookies = await page.context().cookies(server.url);
    expect(cookies.map((cookie) => cookie.name)).toContain("custody_session");
    expect(cookies.map((cookie) => cookie.name)).not.toContain("custody_oidc");
    await shot(page, "signed-in");
  });

  it("sends someone without an account back to the sign-in page with a clear message", async () => {
    server.attachLogOnFailure();
    const stranger = await (await phoneContext(browser, server.url)).newPage();
    await stranger.goto("/");
    await stranger.getByRole("button", { name: "Sign in with Northshire SSO" }).click();
    await logInAtProvider(stranger, "oscar");

    const alert = stranger.getByRole("alert");
    await visible(alert);
    expect(await alert.textContent()).toContain("There is no Custody account for you.");
    await visible(stranger.getByRole("heading", { name: "Sign in" }));
    expect(new URL(stranger.url()).search).toBe(""); // the error code is not left in the address
    expect((await stranger.request.get("/api/auth/session")).status()).toBe(401);
    await shot(stranger, "no-account");
    await stranger.context().close();
  });
});
