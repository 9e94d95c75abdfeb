/**
 * Passkey unlock and the version 2 key bundle in Chromium against `npm start`, with the
 * DevTools virtual authenticator (CTAP 2.1, internal, resident keys, user verification):
 *  - with PRF (`hasPrf: true`): a passkey added in Security, passkey unlock turned on (key
 *    passphrase once, then the passkey's gesture); on a device with none of this one's data,
 *    "Continue with a passkey" signs in and unlocks the keys in the same gesture, and so does the
 *    passkey as the second factor after the password;
 *  - without PRF (`hasPrf: false`, a new browser context): turning it on says why it can't, and
 *    signing in with that passkey falls back to the key passphrase;
 *  - a device that has seen the user's version 2 bundle refuses (and warns about) a version 1
 *    bundle offered later;
 *  - a version 1 (PBKDF2) bundle is re-sealed as version 2 at its next unlock.
 *
 * The PRF secret of a virtual credential cannot be carried to another browser context (CDP's
 * WebAuthn.getCredentials has no hmac-secret, and a credential added to another context's
 * authenticator answers no PRF output), so the PRF "new device" is the same tab with all of the
 * site's data wiped (Storage.clearDataForOrigin: IndexedDB, storage, cookies, cache, service
 * workers): a security key moved to a browser that has never seen the user.
 *
 * A version 1 bundle can no longer be stored (the server refuses it), so where one is needed
 * the test answers GET /api/keys/me in the browser with the server's own answer, its bundle
 * swapped for a version 1 bundle of the same keys: what a database from before version 2 (or
 * someone answering in the server's name) would serve. Needs `npx vite build` first.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MyKeys, PublicKeyInfo } from "../../shared/api/schemas";
import { escrowEncryptionKey, generateUserKeys, openKeyBundle, sealKeyBundle, sealLegacyKeyBundle } from "../../shared/crypto";
import { addUserByApi, Person } from "./api-client";
import { ADMIN, createKeys, expectSignedIn, setUpThroughUi, signIn, signOut, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/passkey-unlock-${name}.png`, fullPage: true });

/**
 * Starts recording, in the page, each text the key work progress bar shows (a MutationObserver,
 * so a short derivation is not missed); `read` answers them.
 */
async function watchProgress(page: Page): Promise<{ read: () => Promise<string[]> }> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    new MutationObserver(() => {
      for (const bar of Array.from(document.querySelectorAll("progress[aria-label='Key work progress']"))) {
        const text = bar.getAttribute("aria-valuetext") ?? "";
        if (!seen.includes(text)) seen.push(text);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  return { read: () => page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen) };
}

const headerOf = (jwe: string) => JSON.parse(Buffer.from(jwe.split(".")[0]!, "base64url").toString("utf8")) as { v?: number; alg: string; kdf?: { alg: string; cred?: string } };

async function virtualAuthenticator(page: Page, hasPrf: boolean): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf },
  });
  return cdp;
}

/**
 * Answers GET /api/keys/me in this browser with the server's answer, its bundle replaced by
 * `bundle`, until `stop`, which waits for an answer still in flight so none lands after it.
 */
async function serveBundle(page: Page, bundle: string): Promise<{ served: () => number; stop: () => Promise<void> }> {
  let served = 0;
  await page.route("**/api/keys/me", async (route) => {
    if (route.request().method() !== "GET") return route.fallback();
    const response = await route.fetch();
    if (response.status() !== 200) return route.fulfill({ response });
    served++;
    const body = (await response.json()) as MyKeys;
    // A request the page gave up on (it navigated away) is already settled: nothing to answer.
    await route.fulfill({ response, json: { ...body, bundle } }).catch((error: Error) => {
      if (!/already handled/.test(error.message)) throw error;
    });
  });
  return { served: () => served, stop: () => page.unrouteAll({ behavior: "wait" }) };
}

async function addPasskey(page: Page, name: string): Promise<void> {
  await page.goto("/settings/security");
  await visible(page.getByRole("heading", { name: "Security", level: 1 }));
  await page.getByLabel("Passkey name").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await visible(page.getByRole("list", { name: "Your passkeys" }).getByText(name, { exact: true }));
}

async function turnOnPasskeyUnlock(page: Page, name: string, passphrase: string): Promise<void> {
  await page.getByRole("button", { name: `Turn on passkey unlock for ${name}` }).click();
  const form = page.getByRole("form", { name: `Passkey unlock for ${name}` });
  await form.getByLabel("Key passphrase").fill(passphrase);
  await form.getByRole("button", { name: "Turn on" }).click();
}

describe("passkey unlock (WebAuthn PRF) and the Argon2id key bundle", () => {
  let server: CustodyServer;
  let browser: Browser;
  let first: Page;
  const contexts: BrowserContext[] = [];
  /** Every request body sent to /api: no PRF output and no private key ever leaves a browser. */
  const apiBodies: string[] = [];

  async function newDevice(): Promise<Page> {
    const context = await phoneContext(browser, server.url);
    contexts.push(context);
    context.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/api")) apiBodies.push(request.postData() ?? "");
    });
    return context.newPage();
  }

  const keysOf = async (page: Page) => (await (await page.request.get("/api/keys/me")).json()) as MyKeys;

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("creates keys sealed with Argon2id, turns passkey unlock on, and one passkey gesture signs in and unlocks on a device without the keys", async () => {
    server.attachLogOnFailure();
    first = await newDevice();
    const cdp = await virtualAuthenticator(first, true);
    await setUpThroughUi(first);
    await createKeys(first, ADMIN.keyPassphrase);
    await expectSignedIn(first);
    const created = await keysOf(first);
    expect(headerOf(created.bundle)).toMatchObject({ v: 2, alg: "A256KW", kdf: { alg: "argon2id" } });

    await addPasskey(first, "Test phone");
    // A wrong passphrase first: nothing is stored, and the form says so.
    await turnOnPasskeyUnlock(first, "Test phone", "not my key passphrase at all");
    await visible(first.getByText("That key passphrase is not right. Try again."));
    expect((await keysOf(first)).passkeyBundles).toEqual([]);
    const form = first.getByRole("form", { name: "Passkey unlock for Test phone" });
    await form.getByLabel("Key passphrase").fill(ADMIN.keyPassphrase);
    const progress = await watchProgress(first);
    await form.getByRole("button", { name: "Turn on" }).click();
    await visible(first.getByText(/Passkey unlock is on for "Test phone"/), 30_000);
    await visible(first.getByRole("button", { name: "Turn off passkey unlock for Test phone" }));
    await shot(first, "security-on");
    // The steps were shown as they ran: Argon2id (in the Worker), the passkey, the sealing.
    expect(await progress.read()).toEqual(
      expect.arrayContaining([expect.stringContaining("Argon2id, 64 MiB"), expect.stringContaining("Waiting for your passkey"), expect.stringContaining("Step 3 of 3")]),
    );
    const withEnvelope = await keysOf(first);
    expect(withEnvelope.passkeyBundles).toHaveLength(1);
    expect(headerOf(withEnvelope.passkeyBundles[0]!.bundle)).toMatchObject({ v: 2, kdf: { alg: "webauthn-prf-hkdf-sha256", cred: withEnvelope.passkeyBundles[0]!.passkeyId } });

    // A device that has never seen the user: every bit of the site's data in this browser wiped.
    await signOut(first, ADMIN.name);
    await cdp.send("Storage.clearDataForOrigin", { origin: server.url, storageTypes: "all" });
    await first.context().clearCookies();
    await first.goto("/");
    await visible(first.getByRole("heading", { name: "Sign in" }));
    await first.getByRole("button", { name: "Continue with a passkey" }).click();
    // No "Unlock your keys": the sign-in gesture's PRF output opened the passkey's envelope.
    await expectSignedIn(first);
    await first.goto("/settings/keys");
    await visible(first.getByRole("heading", { name: "Key passphrase", level: 1 }));
    expect(await first.getByText(created.signing.kid.slice(0, 8)).count()).toBeGreaterThan(0);

    // The same as the second factor after the password: wiped again, the passkey step unlocks too.
    await signOut(first, ADMIN.name);
    await cdp.send("Storage.clearDataForOrigin", { origin: server.url, storageTypes: "all" });
    await first.context().clearCookies();
    await first.goto("/");
    await visible(first.getByRole("heading", { name: "Sign in" }));
    await first.getByLabel("Email").fill(ADMIN.email);
    await first.getByLabel("Password").fill(ADMIN.password);
    await first.getByRole("button", { name: "Sign in" }).click();
    await visible(first.getByRole("heading", { name: "Two-step verification" }));
    await first.getByRole("button", { name: "Use a passkey" }).click();
    await expectSignedIn(first);
  });

  it("falls back to the key passphrase with an authenticator without PRF (a new browser context), and can't turn passkey unlock on there", async () => {
    server.attachLogOnFailure();
    const other = await newDevice();
    await virtualAuthenticator(other, false);
    await other.goto("/");
    await signIn(other, ADMIN.email, ADMIN.password);
    await visible(other.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await other.getByLabel("Key passphrase").fill(ADMIN.keyPassphrase);
    await other.getByRole("button", { name: "Unlock", exact: true }).click();
    await expectSignedIn(other);

    await addPasskey(other, "Old key");
    await turnOnPasskeyUnlock(other, "Old key", ADMIN.keyPassphrase);
    await visible(other.getByText(/its authenticator doesn't support the PRF extension/), 30_000);
    expect((await keysOf(other)).passkeyBundles).toHaveLength(1); // the first device's only

    // Signing in with the PRF-less passkey on this device without the keys: the passphrase is asked.
    await other.goto("/settings/keys");
    await other.getByRole("button", { name: "Forget keys on this device" }).click();
    await visible(other.getByRole("heading", { name: "Unlock your keys" }));
    await signOutFromGate(other);
    await other.getByRole("button", { name: "Continue with a passkey" }).click();
    await visible(other.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await visible(other.getByRole("alert").filter({ hasText: "The passkey you signed in with can't unlock your keys" }));
    await visible(other.getByRole("button", { name: "Unlock with a passkey" }));
    await shot(other, "unlock-screen");
    await other.getByLabel("Key passphrase").fill(ADMIN.keyPassphrase);
    const progress = await watchProgress(other);
    await other.getByRole("button", { name: "Unlock", exact: true }).click();
    await expectSignedIn(other);
    expect(await progress.read()).toEqual(expect.arrayContaining([expect.stringContaining("Deriving the key from your passphrase (Argon2id, 64 MiB)… Step 1 of 3.")]));

    // Then, on this device that has seen the version 2 bundle: a version 1 bundle offered later is refused.
    const legacy = await legacyBundleOfNewKeys();
    await other.goto("/settings/keys");
    const swap = await serveBundle(other, legacy);
    await other.getByRole("button", { name: "Forget keys on this device" }).click();
    const alert = other.getByRole("alert");
    await visible(alert.filter({ hasText: "older, weaker" }), 20_000);
    expect(await alert.first().textContent()).toContain("Don't type your key passphrase here");
    await shot(other, "downgrade-refused");
    expect(await other.getByLabel("Key passphrase").count()).toBe(0);
    expect(swap.served()).toBeGreaterThan(0);
    // The real bundle again: unlocks as usual.
    await swap.stop();
    await other.getByRole("button", { name: "Retry" }).click();
    await visible(other.getByRole("heading", { name: "Unlock your keys" }));

    for (const body of apiBodies) {
      expect(body).not.toMatch(/"d":/);
      expect(body).not.toContain('"prf"');
    }
  });

  it("re-seals a version 1 (PBKDF2) bundle as version 2 at its next unlock, under the same passphrase", async () => {
    server.attachLogOnFailure();
    const adminCookie = (await first.context().cookies()).find((c) => c.name === "custody_session")!;
    const admin = new Person(server.url, `custody_session=${adminCookie.value}`, "");
    const ivy = await addUserByApi(admin, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" });
    const passphrase = "ivy's key passphrase, from long ago";
    const keys = await generateUserKeys();
    const jwks = { signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk };
    const recovery = await ivy.json<PublicKeyInfo>("/api/keys/recovery");
    const registered = await sealKeyBundle(jwks, passphrase);
    await ivy.json("/api/keys/me", {
      method: "PUT",
      body: { signing: keys.signing.publicJwk, encryption: keys.encryption.publicJwk, bundle: registered, escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk) },
    });

    // Ivy's new phone, already signed in; her bundle as a database from before version 2 has it.
    const phone = await newDevice();
    await phone.context().addCookies([{ name: "custody_session", value: ivy.cookie.split("=")[1]!, url: server.url }]);
    const swap = await serveBundle(phone, await sealLegacyKeyBundle(jwks, passphrase));
    await phone.goto("/");
    await visible(phone.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await phone.getByLabel("Key passphrase").fill(passphrase);
    await phone.getByRole("button", { name: "Unlock", exact: true }).click();
    await expectSignedIn(phone);
    expect(swap.served()).toBeGreaterThan(0);
    await swap.stop();

    const now = await ivy.json<MyKeys>("/api/keys/me");
    expect(now.bundle).not.toBe(registered);
    expect(headerOf(now.bundle)).toMatchObject({ v: 2, alg: "A256KW", kdf: { alg: "argon2id" } });
    const opened = await openKeyBundle(now.bundle, passphrase);
    expect(opened.signing.kid).toBe(keys.signing.kid);
    expect(opened.encryption.kid).toBe(keys.encryption.kid);
  });
});

/** Sign out from the key gate's header (the app's menu is not shown there). */
async function signOutFromGate(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await visible(page.getByRole("heading", { name: "Sign in" }));
}

/** A version 1 bundle (of keys that are nobody's): refused before anything is derived. */
async function legacyBundleOfNewKeys(): Promise<string> {
  const keys = await generateUserKeys();
  return sealLegacyKeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "whatever it was");
}
