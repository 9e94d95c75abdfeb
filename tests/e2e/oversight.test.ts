/**
 * Supervisor oversight (issue 19, item 8) in Chromium against `npm start`: an administrator makes
 * a colleague a supervisor in Admin → Users; an investigator opens a case and adds a photo; the
 * supervisor finds the case in their list and opens the photo, verified, without being added.
 * Needs `npx vite build` first.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addUserByApi, Person, withKeysByApi } from "./api-client";
import { createCase, createKeys, expectSignedIn, setUpThroughUi, ADMIN, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

/** The key passphrase withKeysByApi seals each bundle with. */
const BUNDLE_PASSPHRASE = "a long key passphrase";

describe("supervisor oversight in a real browser", () => {
  let server: CustodyServer;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-oversight-"));
    server = await CustodyServer.start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A page signed in as `person` (their session cookie), keys unlocked with their passphrase. */
  async function pageOf(person: Person): Promise<Page> {
    const context = await phoneContext(browser, server.url);
    await context.addCookies([{ name: "custody_session", value: person.cookie.split("=")[1]!, url: server.url }]);
    const page = await context.newPage();
    onTestFailed(async () => console.error(`--- page text (${page.url()}) ---\n${await page.locator("body").innerText().catch(() => "")}`));
    await page.goto("/");
    await visible(page.getByRole("heading", { name: "Unlock your keys" }), 20_000);
    await page.getByLabel("Key passphrase").fill(BUNDLE_PASSPHRASE);
    await page.getByRole("button", { name: "Unlock" }).click();
    await expectSignedIn(page);
    return page;
  }

  it("an admin makes a supervisor; an investigator's new case opens for the supervisor without being added", async () => {
    server.attachLogOnFailure();
    const admin = await (await phoneContext(browser, server.url)).newPage();
    await setUpThroughUi(admin);
    await createKeys(admin, ADMIN.keyPassphrase);
    await expectSignedIn(admin);
    const cookie = (await admin.context().cookies()).find((c) => c.name === "custody_session")!;
    const adminApi = new Person(server.url, `custody_session=${cookie.value}`, "");
    const sam = await withKeysByApi(await addUserByApi(adminApi, { email: "sam@example.org", name: "Sam Supervisor", role: "investigator" }));
    const ivy = await withKeysByApi(await addUserByApi(adminApi, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));

    await admin.goto("/admin/users");
    const card = admin.getByRole("listitem").filter({ has: admin.getByRole("heading", { name: "Sam Supervisor" }) });
    await card.getByRole("button", { name: "Make supervisor Sam Supervisor" }).click();
    await visible(card.getByText("Sam Supervisor is a supervisor: every case opened from now on can be opened by them too."));
    await visible(card.getByText("Supervisor", { exact: true }));

    const photo = join(work, "quay-photo.png");
    writeFileSync(photo, Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64"));
    const investigator = await pageOf(ivy);
    await createCase(investigator, { number: "2026-0300", title: "Quay assault" });
    await investigator.getByLabel("Add photos, videos or documents").setInputFiles(photo);
    await visible(investigator.getByRole("link", { name: /^Open quay-photo\.png/ }), 60_000);
    // The members list shows the supervisor apart, as oversight.
    const oversight = investigator.getByRole("list", { name: "Oversight" });
    await visible(oversight.getByText("Sam Supervisor"));
    expect(await investigator.getByRole("button", { name: "Give supervisors access" }).count()).toBe(0);

    const supervisor = await pageOf(sam);
    const row = supervisor.getByRole("link", { name: /2026-0300/ });
    await visible(row, 20_000);
    await visible(supervisor.getByText("Oversight (supervisor)").first());
    await row.click();
    await visible(supervisor.getByRole("heading", { name: "Quay assault", level: 1 }));
    await visible(supervisor.getByText("You oversee this case as a supervisor"));
    await supervisor.getByRole("link", { name: /^Open quay-photo\.png/ }).click();
    await visible(supervisor.getByRole("region", { name: "Verified" }), 60_000);
  }, 240_000);
});
