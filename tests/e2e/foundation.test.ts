import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, completeMfa, createKeys, expectSignedIn, setUpThroughUi, signIn, signOut, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/foundation-${name}.png`, fullPage: true });

describe("foundation: setup, sign-in and roles in a real browser against npm start", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("sets up the organisation on first run and lands signed in", async () => {
    server.attachLogOnFailure();
    const recovery = JSON.parse(await setUpThroughUi(page)) as { type: string; privateJwk: { d?: string } };
    expect(recovery.type).toBe("custody-recovery-key");
    expect(typeof recovery.privateJwk.d).toBe("string");
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const name of ["Cases", "Requests", "Cameras", "Audit", "Admin"]) {
      await visible(nav.getByRole("link", { name }));
    }
    await shot(page, "signed-in");
  });

  it("refuses a second setup: the API answers 409 and the app shows sign-in, not setup", async () => {
    server.attachLogOnFailure();
    const again = await page.request.post("/api/setup", {
      headers: { Origin: server.url },
      data: { organisation: { name: "Impostor" }, admin: { email: "eve@example.org", name: "Eve", password: "another long password" }, recoveryKey: { kty: "EC", crv: "P-521", x: "A".repeat(88), y: "A".repeat(88) } },
    });
    expect(again.status()).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("already_set_up");
    const fresh = await (await phoneContext(browser, server.url)).newPage();
    await fresh.goto("/");
    await visible(fresh.getByRole("heading", { name: "Sign in" }));
    expect(await fresh.getByRole("heading", { name: "Set up Custody" }).count()).toBe(0);
    await fresh.context().close();
  });

  it("signs out (emptying the device's decrypted views and redacted copies in the making), refuses a wrong password with a clear message, and signs in again", async () => {
    server.attachLogOnFailure();
    // What a viewed item and a redacted copy cut short leave in OPFS (docs/offline.md), and an upload's ciphertext, which stays.
    const opfs = (action: "plant" | "list") =>
      page.evaluate(async (what) => {
        const root = await navigator.storage.getDirectory();
        const files: Record<string, string[]> = { views: ["0123.mp4"], redactions: ["job.log", "job.ckpt", "job.audio"], uploads: ["4567.bin"] };
        const found: string[] = [];
        for (const [dir, names] of Object.entries(files)) {
          const folder = await root.getDirectoryHandle(dir, { create: true });
          for (const name of names) {
            if (what === "plant") await (await (await folder.getFileHandle(name, { create: true })).createWritable()).close();
            else if (await folder.getFileHandle(name).then(() => true, () => false)) found.push(`${dir}/${name}`);
          }
        }
        return found;
      }, action);
    await opfs("plant");
    expect(await opfs("list")).toHaveLength(5);
    await signOut(page, ADMIN.name);
    expect((await page.request.get("/api/auth/session")).status()).toBe(401);
    expect(await opfs("list")).toEqual(["uploads/4567.bin"]);

    await signIn(page, ADMIN.email, "not the right password");
    const alert = page.getByRole("alert");
    await visible(alert);
    expect(await alert.textContent()).toContain("Email or password is incorrect.");
    await shot(page, "wrong-password");

    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await completeMfa(page, ADMIN.email);
    await expectSignedIn(page);
  });

  it("lets the admin invite an investigator, who cannot reach admin pages or routes", async () => {
    server.attachLogOnFailure();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    await visible(page.getByRole("heading", { name: "Invite user" }));
    const form = page.getByRole("form", { name: "Invite user" });
    await form.getByLabel("Email").fill("ivy@example.org");
    await form.getByLabel("Name").fill("Ivy Investigator");
    await form.getByLabel("Role").selectOption({ label: "Investigator" });
    await form.getByRole("button", { name: "Invite user" }).click();
    const link = page.getByLabel("Invitation link");
    await visible(link);
    const url = await link.inputValue();
    expect(url).toMatch(/\/invite#token=/);
    await shot(page, "invited");

    const ivy = await (await phoneContext(browser, server.url)).newPage();
    await ivy.goto(url);
    await visible(ivy.getByRole("heading", { name: "Set your password" }));
    await ivy.getByLabel("Password", { exact: true }).fill("ivy's long sign-in password");
    await ivy.getByLabel("Confirm password").fill("ivy's long sign-in password");
    await ivy.getByRole("button", { name: "Set password" }).click();
    // The password she has just set is refused as her key passphrase (the server sees it at every sign-in).
    await createKeys(ivy, "ivy's long sign-in password");
    await visible(ivy.getByRole("alert").filter({ hasText: "Your key passphrase must be different from your sign-in password." }));
    await createKeys(ivy, "ivy's key passphrase, long");
    await expectSignedIn(ivy);
    const nav = ivy.getByRole("navigation", { name: "Main" });
    expect(await nav.getByRole("link", { name: "Admin" }).count()).toBe(0);
    expect(await nav.getByRole("link", { name: "Audit" }).count()).toBe(0);

    await ivy.goto("/admin/users");
    await visible(ivy.getByRole("heading", { name: "Administrators only" }));
    expect((await ivy.request.get("/api/users")).status()).toBe(403);
    const escalate = await ivy.request.post("/api/users", { headers: { Origin: server.url }, data: { email: "x@example.org", name: "X", role: "admin" } });
    expect(escalate.status()).toBe(403);
    await shot(ivy, "investigator-refused");
    await ivy.context().close();
  });

  it("stops cleanly on Ctrl-C and keeps the data for the next start", async () => {
    server.attachLogOnFailure();
    await server.restart();
    const again = await (await phoneContext(browser, server.url)).newPage();
    await again.goto("/");
    await signIn(again, ADMIN.email, ADMIN.password);
    // Same browser profile? No: a new device, so the keys must be unlocked with the passphrase.
    await visible(again.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await again.getByLabel("Key passphrase").fill(ADMIN.keyPassphrase);
    await again.getByRole("button", { name: "Unlock" }).click();
    await expectSignedIn(again);
    await again.context().close();
  });
});
