/**
 * Keys in a real browser against `npm start`: the recovery key download at setup, creating
 * the key passphrase, going straight in on the same device, unlocking on a new device (wrong
 * passphrase first), changing the passphrase, and forgetting the keys on a device. Throughout,
 * every request body sent to /api is captured to prove no private key (`"d":`) ever leaves.
 * Role locators only. Needs `npx vite build` first (the server runs with --no-build).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { JWK } from "jose";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCaseKeyPair, importPrivateKey, keyId, unwrapCaseKey, wrapCaseKey } from "../../shared/crypto/keys";
import { completeMfaIfAsked, enrolTotp } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/keys-${name}.png`, fullPage: true });

const ADMIN = {
  organisation: "Northshire Police",
  name: "Ada Admin",
  email: "ada@example.org",
  password: "correct horse battery staple",
  keyPassphrase: "ada's key passphrase, kept apart",
  newKeyPassphrase: "a brand new key passphrase for ada",
};

function visible(locator: Locator, timeout = 20_000): Promise<void> {
  return locator.waitFor({ state: "visible", timeout });
}

async function signIn(page: Page): Promise<void> {
  await visible(page.getByRole("heading", { name: "Sign in" }));
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await completeMfaIfAsked(page, ADMIN.email);
}

async function expectInApp(page: Page): Promise<void> {
  await visible(page.getByRole("navigation", { name: "Main" }));
  await visible(page.getByRole("heading", { name: "Cases", level: 1 }));
}

async function unlock(page: Page, passphrase: string): Promise<void> {
  await visible(page.getByRole("heading", { name: "Unlock your keys" }));
  await page.getByLabel("Key passphrase").fill(passphrase);
  await page.getByRole("button", { name: "Unlock" }).click();
}

/** What the page has in IndexedDB for its keys: whether each is a private, non-extractable key that refuses export. */
function deviceKeyFacts(page: Page) {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((done, fail) => {
      const request = indexedDB.open("custody");
      request.onsuccess = () => done(request.result);
      request.onerror = () => fail(request.error);
    });
    const rows = await new Promise<Array<Record<string, unknown>>>((done, fail) => {
      const request = db.transaction("deviceKeys").objectStore("deviceKeys").getAll();
      request.onsuccess = () => done(request.result as Array<Record<string, unknown>>);
      request.onerror = () => fail(request.error);
    });
    db.close();
    const facts = [];
    for (const row of rows) {
      for (const name of ["signing", "encryption"] as const) {
        const key = row[name] as CryptoKey;
        const exported = await crypto.subtle.exportKey("jwk", key).then(
          () => true,
          () => false,
        );
        facts.push({ name, type: key.type, extractable: key.extractable, exported, kid: row[`${name}Kid`] });
      }
    }
    return facts;
  });
}

describe("keys: recovery key, key passphrase, unlock on new devices", () => {
  let server: CustodyServer;
  let browser: Browser;
  let first: Page;
  let second: Page;
  const contexts: BrowserContext[] = [];
  /** Every request body sent to /api by any page in the test. */
  const apiBodies: string[] = [];
  /** Every request to /api by any page, as "METHOD /path". */
  const apiRequests: string[] = [];

  async function newDevice(): Promise<Page> {
    const context = await phoneContext(browser, server.url);
    contexts.push(context);
    context.on("request", (request) => {
      const path = new URL(request.url()).pathname;
      if (!path.startsWith("/api")) return;
      apiBodies.push(request.postData() ?? "");
      apiRequests.push(`${request.method()} ${path}`);
    });
    return context.newPage();
  }

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("sets up with a downloaded recovery key whose public half is the organisation's", async () => {
    server.attachLogOnFailure();
    first = await newDevice();
    await first.goto("/");
    await visible(first.getByRole("heading", { name: "Set up Custody" }));
    await first.getByLabel("Organisation name").fill(ADMIN.organisation);
    await first.getByLabel("Your name").fill(ADMIN.name);
    await first.getByLabel("Email").fill(ADMIN.email);
    await first.getByLabel("Password", { exact: true }).fill(ADMIN.password);
    await first.getByLabel("Confirm password").fill(ADMIN.password);
    await visible(first.getByRole("heading", { name: "Recovery key" }));

    const create = first.getByRole("button", { name: "Create organisation" });
    const saved = first.getByLabel("I have saved the recovery key file somewhere safe");
    expect(await create.isDisabled()).toBe(true);
    await saved.check();
    expect(await create.isDisabled()).toBe(true); // ticked, but nothing downloaded yet
    await saved.uncheck();

    const [download] = await Promise.all([
      first.waitForEvent("download"),
      first.getByRole("button", { name: "Download recovery key" }).click(),
    ]);
    const file = JSON.parse(readFileSync(await download.path(), "utf8")) as {
      type: string;
      version: number;
      organisation: string;
      kid: string;
      privateJwk: JWK;
      createdAt: string;
    };
    expect(Object.keys(file).sort()).toEqual(["createdAt", "kid", "organisation", "privateJwk", "type", "version"]);
    expect(file).toMatchObject({ type: "custody-recovery-key", version: 1, organisation: ADMIN.organisation });
    expect(download.suggestedFilename()).toBe(`custody-recovery-key-northshire-police-${file.kid.slice(0, 8)}.json`);
    expect(file.privateJwk).toMatchObject({ kty: "EC", crv: "P-521" });
    expect(typeof file.privateJwk.d).toBe("string");

    expect(await create.isDisabled()).toBe(true); // downloaded, but not yet ticked
    await saved.check();
    expect(await create.isDisabled()).toBe(false);
    await shot(first, "setup-ready");
    await create.click();
    await enrolTotp(first); // two-step verification is required by default, before anything else
    await visible(first.getByRole("heading", { name: "Create your key passphrase" }));

    // The server holds exactly the public half of the downloaded key...
    const recovery = (await (await first.request.get("/api/keys/recovery")).json()) as { kid: string; publicJwk: JWK };
    const { d: _private, ...publicHalf } = file.privateJwk;
    expect(recovery.publicJwk).toEqual(publicHalf);
    expect(recovery.publicJwk).not.toHaveProperty("d");
    expect(recovery.kid).toBe(file.kid);
    expect(await keyId(recovery.publicJwk)).toBe(file.kid);
    // ...and the file really is its private half: a case key wrapped to the server's copy opens with it.
    const caseKey = await generateCaseKeyPair();
    const wrapped = await wrapCaseKey(caseKey.privateJwk, recovery.publicJwk);
    const recoveryPrivate = await importPrivateKey(file.privateJwk, "enc");
    expect((await unwrapCaseKey(wrapped, recoveryPrivate.privateKey)).kid).toBe(caseKey.kid);
  });

  it("refuses a guessable key passphrase, saying why, and the sign-in password, before anything is sent", async () => {
    server.attachLogOnFailure();
    const field = first.getByLabel("Key passphrase", { exact: true });
    const meter = first.getByRole("meter", { name: "Key passphrase strength" });
    const create = first.getByRole("button", { name: "Create my keys" });
    const alert = first.getByRole("alert");
    const sentBefore = apiRequests.length;

    // As the user types, the meter and its live text follow.
    await field.fill("aaaaaaaaaaaa");
    const live = first.getByText(/^Strength: /);
    await visible(live.filter({ hasText: "Strength: Very weak." }));
    expect(await live.getAttribute("aria-live")).toBe("polite");
    expect(await meter.getAttribute("aria-valuetext")).toBe("Very weak");
    await field.fill("purple tractor sings quietly at dawn");
    await visible(live.filter({ hasText: "Strength: Strong." }));
    expect(await meter.getAttribute("aria-valuetext")).toBe("Strong");

    // On submit, a weak one is refused with the reason and a suggestion.
    for (const [weak, reason] of [
      ["aaaaaaaaaaaa", 'Repeated characters, like "aaa", are easy to guess.'],
      ["password1234", "This is very like a commonly used password."],
      [ADMIN.email, "It contains your name, your email address or your organisation's name"],
      ["qwertyuiopasdfgh", "This is very like a commonly used password."],
    ] as const) {
      await field.fill(weak);
      await first.getByLabel("Confirm key passphrase").fill(weak);
      await create.click();
      await visible(alert.filter({ hasText: reason }));
      const text = (await alert.textContent()) ?? "";
      expect(text, weak).toMatch(/^This key passphrase is too easy to guess\./);
      expect(text, weak).toContain("Try a short sentence of four or more unrelated words");
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      await visible(first.getByText(/^Too easy to guess\./));
    }
    await shot(first, "weak-refused");

    // The sign-in password (typed at setup, a few screens ago) is strong, but refused here.
    await field.fill(ADMIN.password);
    await first.getByLabel("Confirm key passphrase").fill(ADMIN.password);
    await create.click();
    await visible(alert.filter({ hasText: "Your key passphrase must be different from your sign-in password." }));
    await visible(first.getByText("Choose a key passphrase different from your sign-in password."));
    await visible(first.getByRole("heading", { name: "Create your key passphrase" }));

    // Nothing was made or sent: no key registration, not even the recovery key fetched for it.
    const sent = apiRequests.slice(sentBefore);
    expect(sent.filter((request) => request.startsWith("PUT /api/keys") || request === "GET /api/keys/recovery")).toEqual([]);
    expect((await first.request.get("/api/keys/me")).status()).toBe(404);
  });

  it("creates the key passphrase, then enters the app with non-extractable keys on the device", async () => {
    server.attachLogOnFailure();
    await shot(first, "create-keys");
    // Sign out stays reachable before the keys exist.
    await visible(first.getByRole("button", { name: "Sign out" }));
    await first.getByLabel("Key passphrase", { exact: true }).fill(ADMIN.keyPassphrase);
    await first.getByLabel("Confirm key passphrase").fill("something else entirely");
    await first.getByRole("button", { name: "Create my keys" }).click();
    await visible(first.getByText("The key passphrases don't match."));
    await first.getByLabel("Confirm key passphrase").fill(ADMIN.keyPassphrase);
    await first.getByRole("button", { name: "Create my keys" }).click();
    await expectInApp(first);
    await shot(first, "in-app");

    const mine = (await (await first.request.get("/api/keys/me")).json()) as { signing: { kid: string }; encryption: { kid: string } };
    const facts = await deviceKeyFacts(first);
    expect(facts).toEqual([
      { name: "signing", type: "private", extractable: false, exported: false, kid: mine.signing.kid },
      { name: "encryption", type: "private", extractable: false, exported: false, kid: mine.encryption.kid },
    ]);
  });

  it("goes straight to the app on the same device after signing out and in", async () => {
    server.attachLogOnFailure();
    await first.getByRole("button", { name: ADMIN.name, exact: true }).click();
    await first.getByRole("button", { name: "Sign out" }).click();
    await signIn(first);
    await expectInApp(first);
    expect(await first.getByRole("heading", { name: "Unlock your keys" }).count()).toBe(0);
    expect(await first.getByRole("heading", { name: "Create your key passphrase" }).count()).toBe(0);
  });

  it("asks a new device to unlock, refuses a wrong passphrase, and accepts the right one", async () => {
    server.attachLogOnFailure();
    second = await newDevice();
    await second.goto("/");
    await signIn(second);
    await visible(second.getByRole("heading", { name: "Unlock your keys" }));
    await visible(second.getByRole("button", { name: "Sign out" }));
    await shot(second, "unlock");

    await unlock(second, "not my key passphrase at all");
    const alert = second.getByRole("alert");
    await visible(alert);
    expect(await alert.textContent()).toBe("That key passphrase is not right. Try again.");
    await shot(second, "unlock-wrong");

    await unlock(second, ADMIN.keyPassphrase);
    await expectInApp(second);
    expect((await deviceKeyFacts(second)).map((fact) => fact.extractable)).toEqual([false, false]);
  });

  it("shows the key ids and changes the key passphrase from the key settings page", async () => {
    server.attachLogOnFailure();
    await second.getByRole("button", { name: ADMIN.name, exact: true }).click();
    await second.getByRole("link", { name: "Key passphrase" }).click();
    await visible(second.getByRole("heading", { name: "Key passphrase", level: 1 }));
    expect(new URL(second.url()).pathname).toBe("/settings/keys");

    const mine = (await (await second.request.get("/api/keys/me")).json()) as { signing: { kid: string }; encryption: { kid: string } };
    expect(await second.getByTitle(mine.signing.kid).textContent()).toBe(`${mine.signing.kid.slice(0, 8)}…${mine.signing.kid.slice(-4)}`);
    await visible(second.getByTitle(mine.encryption.kid));

    const form = second.getByRole("form", { name: "Change key passphrase" });
    await form.getByLabel("Current key passphrase").fill("not my key passphrase at all");
    await form.getByLabel("New key passphrase", { exact: true }).fill(ADMIN.newKeyPassphrase);
    await form.getByLabel("Confirm new key passphrase").fill(ADMIN.newKeyPassphrase);
    await form.getByRole("button", { name: "Change passphrase" }).click();
    await visible(form.getByRole("alert"));
    expect(await form.getByRole("alert").textContent()).toBe("That key passphrase is not right. Try again.");

    // A weak new passphrase, and the sign-in password (this device signed in with it), are refused; nothing is sent.
    const sentBefore = apiRequests.length;
    await form.getByLabel("Current key passphrase").fill(ADMIN.keyPassphrase);
    for (const [refused, reason] of [
      ["password1234", "This key passphrase is too easy to guess. This is very like a commonly used password."],
      ["zxcvbnmasdfghjkl", "This key passphrase is too easy to guess."],
      [ADMIN.password, "Your key passphrase must be different from your sign-in password."],
    ] as const) {
      await form.getByLabel("New key passphrase", { exact: true }).fill(refused);
      await form.getByLabel("Confirm new key passphrase").fill(refused);
      await form.getByRole("button", { name: "Change passphrase" }).click();
      await visible(form.getByRole("alert").filter({ hasText: reason }));
    }
    await visible(form.getByText("Strength: Strong.")); // the sign-in password is strong: refused for being it
    expect(apiRequests.slice(sentBefore).filter((request) => request.startsWith("PUT "))).toEqual([]);

    await form.getByLabel("Current key passphrase").fill(ADMIN.keyPassphrase);
    await form.getByLabel("New key passphrase", { exact: true }).fill(ADMIN.newKeyPassphrase);
    await form.getByLabel("Confirm new key passphrase").fill(ADMIN.newKeyPassphrase);
    await form.getByRole("button", { name: "Change passphrase" }).click();
    const status = second.getByRole("status").filter({ hasText: "Key passphrase changed." });
    await visible(status);
    await shot(second, "passphrase-changed");
  });

  it("unlocks a third device with the new passphrase only", async () => {
    server.attachLogOnFailure();
    const third = await newDevice();
    await third.goto("/");
    await signIn(third);
    await unlock(third, ADMIN.keyPassphrase);
    await visible(third.getByRole("alert"));
    expect(await third.getByRole("alert").textContent()).toBe("That key passphrase is not right. Try again.");
    await unlock(third, ADMIN.newKeyPassphrase);
    await expectInApp(third);
  });

  it("forgets the keys on a device, which then has to unlock again", async () => {
    server.attachLogOnFailure();
    await second.getByRole("button", { name: "Forget keys on this device" }).click();
    await visible(second.getByRole("heading", { name: "Unlock your keys" }));
    expect(await deviceKeyFacts(second)).toEqual([]);
    await unlock(second, ADMIN.newKeyPassphrase);
    await visible(second.getByRole("heading", { name: "Key passphrase", level: 1 }));
  });

  it("never sent a private key to the API", () => {
    server.attachLogOnFailure();
    const withBodies = apiBodies.filter(Boolean);
    expect(withBodies.length).toBeGreaterThanOrEqual(6); // setup, sign-ins, key registration, bundle change
    expect(withBodies.some((body) => body.includes('"recoveryKey"'))).toBe(true);
    expect(withBodies.some((body) => body.includes('"bundle"'))).toBe(true);
    expect(withBodies.filter((body) => body.includes('"d":'))).toEqual([]);
  });
});
