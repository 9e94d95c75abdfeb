/**
 * MFA in Chromium against `npm start`: TOTP enrolment from the QR screen's secret, two-step
 * sign-in and a refused replayed code, then passkeys through the DevTools virtual authenticator
 * (CTAP2, internal, resident keys, user verification): added in Security, used as the second
 * factor and for passwordless sign-in; and an assertion made for one session's challenge is
 * refused in another's. Needs `npx vite build` first.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createKeys, expectSignedIn, freshTotpCode, setUpThroughUi, signOut, totpSecretOf, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

async function virtualAuthenticator(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
}

async function passwordStep(page: Page): Promise<void> {
  await visible(page.getByRole("heading", { name: "Sign in" }));
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await visible(page.getByRole("heading", { name: "Two-step verification" }));
}

describe("MFA in a real browser: TOTP and passkeys", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    await virtualAuthenticator(page);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("enrols TOTP at setup before anything else, then asks for a code at sign-in and refuses a replayed one", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page); // includes the enrolment screen: QR code, secret, first code, recovery codes
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await signOut(page, ADMIN.name);

    const secret = totpSecretOf(ADMIN.email)!;
    await passwordStep(page);
    const code = await freshTotpCode(secret);
    await page.getByLabel("Authentication code").fill(code);
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await expectSignedIn(page);
    await signOut(page, ADMIN.name);

    await passwordStep(page);
    await page.getByLabel("Authentication code").fill(code);
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    const alert = page.getByRole("alert");
    await visible(alert);
    expect(await alert.textContent()).toContain("each code works once");
    await page.getByLabel("Authentication code").fill(await freshTotpCode(secret));
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await expectSignedIn(page);
  });

  it("adds a passkey, then uses it as the second factor and for passwordless sign-in", async () => {
    server.attachLogOnFailure();
    await page.goto("/settings/security");
    await visible(page.getByRole("heading", { name: "Security", level: 1 }));
    await page.getByLabel("Passkey name").fill("Test phone");
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await visible(page.getByRole("list", { name: "Your passkeys" }).getByText("Test phone", { exact: true }));
    const sessions = page.getByRole("list", { name: "Your sessions" });
    await visible(sessions.getByText(/\(this device\)/));

    await signOut(page, ADMIN.name);
    await passwordStep(page);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await expectSignedIn(page);

    await signOut(page, ADMIN.name);
    await page.getByRole("button", { name: "Continue with a passkey" }).click();
    await expectSignedIn(page);
    const session = (await (await page.request.get("/api/sessions")).json()) as { sessions: { current: boolean; method: string }[] };
    expect(session.sessions.find((s) => s.current)?.method).toBe("passkey");
  });

  it("refuses an assertion made for one session's challenge when another session sends it", async () => {
    server.attachLogOnFailure();
    await signOut(page, ADMIN.name);
    await passwordStep(page);
    // The genuine authenticator signs this session's second-factor challenge...
    const signed = await page.evaluate(async () => {
      const b64 = (bytes: ArrayBuffer | null) =>
        bytes === null ? undefined : btoa(String.fromCharCode(...new Uint8Array(bytes))).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
      const unb64 = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
      const answer = await fetch("/api/auth/passkey/options", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ purpose: "second_factor" }) });
      const { challengeId, options } = (await answer.json()) as { challengeId: string; options: { challenge: string; rpId: string; allowCredentials: { id: string; type: "public-key" }[] } };
      const credential = (await navigator.credentials.get({
        publicKey: {
          challenge: unb64(options.challenge),
          rpId: options.rpId,
          allowCredentials: options.allowCredentials.map((c) => ({ id: unb64(c.id), type: c.type })),
          userVerification: "required",
        },
      })) as PublicKeyCredential;
      const response = credential.response as AuthenticatorAssertionResponse;
      return {
        challengeId,
        credential: {
          id: credential.id,
          rawId: b64(credential.rawId),
          type: "public-key",
          response: { clientDataJSON: b64(response.clientDataJSON), authenticatorData: b64(response.authenticatorData), signature: b64(response.signature), userHandle: b64(response.userHandle) },
          clientExtensionResults: {},
        },
      };
    });
    // ...and a second browser (another pending session, another device) replays it as its own.
    const attacker = await (await phoneContext(browser, server.url)).newPage();
    await attacker.goto("/");
    await passwordStep(attacker);
    const stolen = await attacker.request.post("/api/auth/mfa", { headers: { Origin: server.url }, data: { method: "passkey", ...signed } });
    expect(stolen.status()).toBe(401);
    expect(((await stolen.json()) as { error: { code: string } }).error.code).toBe("invalid_code");
    // Used up: the genuine session cannot use it afterwards either, nor does it work as passwordless sign-in.
    const after = await page.request.post("/api/auth/mfa", { headers: { Origin: server.url }, data: { method: "passkey", ...signed } });
    expect(after.status()).toBe(401);
    const passwordless = await attacker.request.post("/api/auth/passkey", { headers: { Origin: server.url }, data: signed });
    expect(passwordless.status()).toBe(401);
    expect(((await (await attacker.request.get("/api/auth/session")).json()) as { stage: string }).stage).toBe("mfa_pending");
    await attacker.context().close();
  });
});
