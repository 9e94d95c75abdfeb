/**
 * Key recovery in a real browser against `npm start`: an investigator who lost their key
 * passphrase requests recovery from a new device; an administrator restores access with the
 * recovery key file downloaded at setup (a wrong file is refused first); the investigator
 * chooses a new passphrase and keeps the same encryption key with a new signing key. Every
 * request body sent to /api is captured to prove no private key (`"d":`) ever leaves a browser.
 * Role locators only. Needs `npx vite build` first (the server runs with --no-build).
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRecoveryKeyPair, openKeyBundle } from "../../shared/crypto/keys";
import { ADMIN, createKeys, expectSignedIn, setUpThroughUi, signIn, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/recovery-${name}.png`, fullPage: true });

const IVY = {
  name: "Ivy Investigator",
  email: "ivy@example.org",
  password: "ivy's long sign-in password",
  keyPassphrase: "ivy's key passphrase, long",
  newKeyPassphrase: "ivy's brand new key passphrase",
};

interface KeysView {
  signing: { kid: string };
  encryption: { kid: string };
}

/** The device's stored keys: each key's kid, type and whether it can be exported. */
function deviceFacts(page: Page, store: "deviceKeys" | "transportKeys") {
  return page.evaluate(async (store) => {
    const db = await new Promise<IDBDatabase>((done, fail) => {
      const request = indexedDB.open("custody");
      request.onsuccess = () => done(request.result);
      request.onerror = () => fail(request.error);
    });
    const rows = await new Promise<Array<Record<string, unknown>>>((done, fail) => {
      const request = db.transaction(store).objectStore(store).getAll();
      request.onsuccess = () => done(request.result as Array<Record<string, unknown>>);
      request.onerror = () => fail(request.error);
    });
    db.close();
    const facts = [];
    for (const row of rows) {
      for (const name of ["signing", "encryption", "privateKey"]) {
        const key = row[name] as CryptoKey | undefined;
        if (!key) continue;
        const exported = await crypto.subtle.exportKey("jwk", key).then(
          () => true,
          () => false,
        );
        facts.push({ name, type: key.type, extractable: key.extractable, exported });
      }
    }
    return facts;
  }, store);
}

describe("key recovery: lost key passphrase, restored by an administrator with the recovery key file", () => {
  let server: CustodyServer;
  let browser: Browser;
  let admin: Page;
  let ivy: Page;
  let recoveryFile: string;
  let before: KeysView;
  const contexts: BrowserContext[] = [];
  /** Every request body sent to /api by any page in the test. */
  const apiBodies: string[] = [];

  async function newDevice(): Promise<Page> {
    const context = await phoneContext(browser, server.url);
    contexts.push(context);
    context.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/api")) apiBodies.push(request.postData() ?? "");
    });
    return context.newPage();
  }

  async function openRecoveryRequests(page: Page) {
    await page.goto("/admin/users");
    const section = page.getByRole("region", { name: "Key recovery requests" });
    await visible(section);
    return section;
  }

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("sets up, invites an investigator who creates keys, and shows no recovery requests", async () => {
    server.attachLogOnFailure();
    admin = await newDevice();
    recoveryFile = await setUpThroughUi(admin);
    await createKeys(admin, ADMIN.keyPassphrase);
    await expectSignedIn(admin);

    const section = await openRecoveryRequests(admin);
    await visible(section.getByText("No requests."));
    const form = admin.getByRole("form", { name: "Invite user" });
    await form.getByLabel("Email").fill(IVY.email);
    await form.getByLabel("Name").fill(IVY.name);
    await form.getByLabel("Role").selectOption({ label: "Investigator" });
    await form.getByRole("button", { name: "Invite user" }).click();
    const link = admin.getByLabel("Invitation link");
    await visible(link);
    const url = await link.inputValue();

    const first = await newDevice();
    await first.goto(url);
    await visible(first.getByRole("heading", { name: "Set your password" }));
    await first.getByLabel("Password", { exact: true }).fill(IVY.password);
    await first.getByLabel("Confirm password").fill(IVY.password);
    await first.getByRole("button", { name: "Set password" }).click();
    await createKeys(first, IVY.keyPassphrase);
    await expectSignedIn(first);
    before = (await (await first.request.get("/api/keys/me")).json()) as KeysView;
    expect(before.signing.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("lets the investigator, on a new device, request recovery with a non-extractable transport key", async () => {
    server.attachLogOnFailure();
    ivy = await newDevice();
    await ivy.goto("/");
    await signIn(ivy, IVY.email, IVY.password);
    await visible(ivy.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await ivy.getByRole("button", { name: "Lost your key passphrase?" }).click();
    await visible(ivy.getByRole("heading", { name: "Recover your keys" }));
    await visible(ivy.getByText("Documents you signed before stay verifiable"));
    await shot(ivy, "recover");
    await ivy.getByRole("button", { name: "Request recovery" }).click();
    await visible(ivy.getByRole("heading", { name: "Waiting for an administrator" }));
    await visible(ivy.getByRole("button", { name: "Cancel recovery request" }));
    await shot(ivy, "waiting");

    const mine = (await (await ivy.request.get("/api/keys/me/recovery")).json()) as { status: string; transfer: string | null };
    expect(mine).toMatchObject({ status: "pending", transfer: null });
    expect(await deviceFacts(ivy, "transportKeys")).toEqual([{ name: "privateKey", type: "private", extractable: false, exported: false }]);

    // Reloading the page comes straight back to the waiting screen.
    await ivy.reload();
    await visible(ivy.getByRole("heading", { name: "Waiting for an administrator" }), 20_000);
  });

  it("refuses a recovery key file that is not the organisation's, and releases nothing", async () => {
    server.attachLogOnFailure();
    const section = await openRecoveryRequests(admin);
    await visible(section.getByRole("heading", { name: IVY.name }));
    await visible(section.getByText(IVY.email));
    await section.getByRole("button", { name: `Restore access for ${IVY.name}` }).click();

    const other = await generateRecoveryKeyPair();
    const wrong = JSON.stringify({ type: "custody-recovery-key", version: 1, organisation: ADMIN.organisation, kid: other.kid, privateJwk: other.privateJwk, createdAt: new Date().toISOString() });
    await section.getByLabel("Recovery key file").setInputFiles({ name: "custody-recovery-key-other.json", mimeType: "application/json", buffer: Buffer.from(wrong) });
    const alert = section.getByRole("alert");
    await visible(alert);
    expect(await alert.textContent()).toBe("This is not the organisation's recovery key file.");

    await section.getByLabel("Recovery key file").setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("not json") });
    await visible(alert);
    expect(await alert.textContent()).toBe("This is not the organisation's recovery key file.");
    await shot(admin, "wrong-file");

    const mine = (await (await ivy.request.get("/api/keys/me/recovery")).json()) as { status: string; transfer: string | null };
    expect(mine).toMatchObject({ status: "pending", transfer: null });
    expect(apiBodies.filter((body) => body.includes('"transfer"'))).toEqual([]);
  });

  it("restores access with the right recovery key file", async () => {
    server.attachLogOnFailure();
    const section = admin.getByRole("region", { name: "Key recovery requests" });
    await section.getByLabel("Recovery key file").setInputFiles({ name: "custody-recovery-key.json", mimeType: "application/json", buffer: Buffer.from(recoveryFile) });
    const status = section.getByRole("status");
    await visible(status.filter({ hasText: `Access released for ${IVY.name}. They can now choose a new key passphrase.` }));
    await visible(section.getByText("No requests."));
    await shot(admin, "released");
  });

  it("lets the investigator choose a new passphrase: same encryption key, new signing key", async () => {
    server.attachLogOnFailure();
    await ivy.getByRole("button", { name: "Check again" }).click();
    await visible(ivy.getByRole("heading", { name: "Choose a new key passphrase" }));
    await shot(ivy, "choose");
    await ivy.getByLabel("New key passphrase", { exact: true }).fill(IVY.newKeyPassphrase);
    await ivy.getByLabel("Confirm new key passphrase").fill("not the same passphrase");
    await ivy.getByRole("button", { name: "Restore my keys" }).click();
    await visible(ivy.getByText("The key passphrases don't match."));
    await ivy.getByLabel("Confirm new key passphrase").fill(IVY.newKeyPassphrase);
    await ivy.getByRole("button", { name: "Restore my keys" }).click();
    await expectSignedIn(ivy);

    const after = (await (await ivy.request.get("/api/keys/me")).json()) as KeysView & { bundle: string };
    expect(after.encryption.kid).toBe(before.encryption.kid);
    // The recovered keys get the current seal: version 2, Argon2id (docs/evidence-format.md §3.1.1), opened by the new passphrase.
    expect(JSON.parse(Buffer.from(after.bundle.split(".")[0]!, "base64url").toString("utf8"))).toMatchObject({ v: 2, alg: "A256KW", kdf: { alg: "argon2id", m: 65536, t: 3, p: 1 } });
    expect((await openKeyBundle(after.bundle, IVY.newKeyPassphrase)).signing.kid).toBe(after.signing.kid);
    expect(after.signing.kid).not.toBe(before.signing.kid);
    const old = (await (await ivy.request.get(`/api/keys/signers/${before.signing.kid}`)).json()) as { kid: string; retiredAt: string | null };
    expect(old.kid).toBe(before.signing.kid);
    expect(old.retiredAt).toEqual(expect.any(String));
    const current = (await (await ivy.request.get(`/api/keys/signers/${after.signing.kid}`)).json()) as { retiredAt: string | null };
    expect(current.retiredAt).toBeNull();

    expect(await deviceFacts(ivy, "deviceKeys")).toEqual([
      { name: "signing", type: "private", extractable: false, exported: false },
      { name: "encryption", type: "private", extractable: false, exported: false },
    ]);
    expect(await deviceFacts(ivy, "transportKeys")).toEqual([]);
    expect((await ivy.request.get("/api/keys/me/recovery")).status()).toBe(404);
  });

  it("unlocks a third device with the new passphrase and not the old one", async () => {
    server.attachLogOnFailure();
    const third = await newDevice();
    await third.goto("/");
    await signIn(third, IVY.email, IVY.password);
    await visible(third.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await third.getByLabel("Key passphrase").fill(IVY.keyPassphrase);
    await third.getByRole("button", { name: "Unlock" }).click();
    await visible(third.getByRole("alert"));
    expect(await third.getByRole("alert").textContent()).toBe("That key passphrase is not right. Try again.");
    await third.getByLabel("Key passphrase").fill(IVY.newKeyPassphrase);
    await third.getByRole("button", { name: "Unlock" }).click();
    await expectSignedIn(third);
  });

  it("leaves an administrator's own request to another administrator, and cancels it", async () => {
    server.attachLogOnFailure();
    const lost = await newDevice();
    await lost.goto("/");
    await signIn(lost, ADMIN.email, ADMIN.password);
    await visible(lost.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await lost.getByRole("button", { name: "Lost your key passphrase?" }).click();
    await lost.getByRole("button", { name: "Request recovery" }).click();
    await visible(lost.getByRole("heading", { name: "Waiting for an administrator" }));

    const section = await openRecoveryRequests(admin);
    await visible(section.getByText("Another administrator must restore your access."));
    expect(await section.getByRole("button", { name: `Restore access for ${ADMIN.name}` }).count()).toBe(0);
    await shot(admin, "own-request");

    await lost.getByRole("button", { name: "Cancel recovery request" }).click();
    await visible(lost.getByRole("heading", { name: "Unlock your keys" }));
    expect((await lost.request.get("/api/keys/me/recovery")).status()).toBe(404);
    expect(await deviceFacts(lost, "transportKeys")).toEqual([]);
  });

  it("never sent a private key to the API", () => {
    server.attachLogOnFailure();
    const withBodies = apiBodies.filter(Boolean);
    expect(withBodies.some((body) => body.includes('"escrow"'))).toBe(true);
    expect(withBodies.some((body) => body.includes('"transportKey"'))).toBe(true);
    expect(withBodies.some((body) => body.includes('"transfer"'))).toBe(true);
    expect(withBodies.filter((body) => body.includes('"d":'))).toEqual([]);
  });
});
