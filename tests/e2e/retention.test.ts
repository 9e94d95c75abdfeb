/**
 * Retention in the web app, in Chromium against `npm start` (docs/retention.md): an administrator
 * defines a category and makes it the default; as the case's lead they upload an item, place a
 * legal hold and close the case with its disposition; Admin → Retention then lists the item as
 * due but held (it cannot be approved), the hold is lifted, the deletion approved, the item sits
 * in the recycle bin (gone from the case), is restored, and is approved again.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const FILE_NAME = "desk-photo.txt";
const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/retention-${name}.png`, fullPage: true });

describe("retention in the web app", () => {
  /** Items kept offline on this device (IndexedDB `custody`, table keptOffline). */
  const keptOnDevice = () =>
    page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const open = indexedDB.open("custody");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const count = open.result.transaction("keptOffline").objectStore("keptOffline").count();
            count.onsuccess = () => {
              resolve(count.result);
              open.result.close();
            };
            count.onerror = () => reject(count.error);
          };
        }),
    );

  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-retention-"));
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it("defines a category and makes it the organisation's default", async () => {
    server.attachLogOnFailure();
    await page.goto("/admin/users");
    await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Retention" }).click();
    await visible(page.getByRole("heading", { name: "Retention", level: 1 }));
    const categories = page.getByRole("list", { name: "Categories" });
    await visible(categories.getByText("General"));
    const form = page.getByRole("form", { name: "New category" });
    await form.getByLabel("Name").fill("No further action");
    await form.getByLabel("Keep").selectOption("case_closed");
    await form.getByLabel("Period").fill("0");
    await form.getByLabel("Unit").selectOption("days");
    await form.getByRole("button", { name: "Add category" }).click();
    await visible(categories.getByText("Kept 0 days after the case closes"));

    // A rule changes only with a reason.
    await categories.getByRole("button", { name: "Edit General" }).click();
    const edit = page.getByRole("form", { name: "Edit General" });
    await edit.getByLabel("Keep").selectOption("capture");
    await edit.getByLabel("Period").fill("10");
    await edit.getByRole("button", { name: "Save category" }).click();
    await visible(edit.getByRole("alert").getByText(/Give the reason/));
    await edit.getByLabel("Reason for the change").fill("Records policy 2026");
    await edit.getByRole("button", { name: "Save category" }).click();
    await visible(categories.getByText("Kept 10 years after capture"));

    const settings = page.getByRole("form", { name: "Retention settings" });
    await settings.getByLabel("Default category of new evidence").selectOption({ label: "No further action" });
    expect(await settings.getByLabel("Days in the recycle bin before purge").inputValue()).toBe("7");
    await settings.getByRole("button", { name: "Save retention settings" }).click();
    await visible(page.getByRole("status").getByText("Retention settings saved."));
  });

  it("lets the lead hold the case and close it with its disposition", async () => {
    server.attachLogOnFailure();
    await page.goto("/cases");
    await createCase(page, { number: "NFA-1", title: "Shoplifting report" });
    const file = join(work, FILE_NAME);
    writeFileSync(file, "a photo of the wrong desk\n");
    await page.getByLabel("Add photos, videos or documents").setInputFiles(file);
    await visible(page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }), 60_000);

    // Opened, and kept on this device: its retention is explained on its page.
    await page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }).click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    const retention = page.getByRole("region", { name: "Retention" });
    await visible(retention.getByText(/Kept: kept 0 days after the case closes \(No further action\), and its case is still open\./));
    await page.getByRole("button", { name: "Keep offline" }).click();
    await visible(page.getByText("Kept on this device"), 30_000);
    expect(await keptOnDevice()).toBe(1);
    await page.getByRole("link", { name: /^← / }).click();
    await visible(page.getByRole("heading", { name: "Shoplifting report", level: 1 }));

    await page.getByRole("button", { name: "Place legal hold" }).click();
    await page.getByLabel("Reason for the hold").fill("Civil claim expected");
    await page.getByRole("button", { name: "Place hold" }).click();
    await visible(page.getByRole("list", { name: "Legal holds on this case" }).getByText(/Civil claim expected/));

    await page.getByRole("button", { name: "Close case" }).click();
    const close = page.getByRole("form", { name: "Close case" });
    await close.getByLabel("Disposition").selectOption("no_further_action");
    await close.getByRole("button", { name: "Close case" }).click();
    await visible(page.getByText(/Disposition: No further action/));
    await visible(page.getByText("Closed", { exact: true }));
    await shot(page, "case-closed");
  });

  it("lists the item as due but held, and approves it once the hold is lifted", async () => {
    server.attachLogOnFailure();
    await page.goto("/admin/retention");
    const due = page.getByRole("region", { name: "Due for deletion" });
    await due.getByRole("button", { name: "Check now" }).click();
    await visible(due.getByRole("status").getByText(/1 newly due/));
    const dueList = page.getByRole("list", { name: "Due for deletion" });
    await visible(dueList.getByText("Under legal hold"));
    expect(await dueList.getByRole("checkbox").isDisabled()).toBe(true);

    const holds = page.getByRole("region", { name: "Legal holds" });
    await holds.getByRole("button", { name: "Lift hold on case NFA-1" }).click();
    await holds.getByLabel("Reason for lifting").fill("Claim settled");
    await holds.getByRole("button", { name: "Lift hold", exact: true }).click();
    await visible(holds.getByText("No active legal holds."));

    await expect.poll(() => dueList.getByRole("checkbox").isEnabled(), { timeout: 15_000 }).toBe(true);
    await dueList.getByRole("checkbox").check();
    await due.getByRole("button", { name: "Approve deletion of 1 item" }).click();
    await visible(due.getByRole("status").getByText("1 item moved to the recycle bin."));
    await visible(due.getByText("Nothing is due for deletion."));
    const bin = page.getByRole("list", { name: "Recycle bin" });
    await visible(bin.getByText(/approved by Ada Admin/));
    await visible(bin.getByText(/Purged after/));
    await shot(page, "admin");
  });

  it("takes the item out of the case while it is in the bin, its copy off the device, and restores it", async () => {
    server.attachLogOnFailure();
    await page.goto("/cases");
    // The device drops the copy it kept at its next sync with the server (the app's start here).
    await expect.poll(keptOnDevice, { timeout: 20_000 }).toBe(0);
    await page.getByRole("link", { name: /Shoplifting report/ }).click();
    await visible(page.getByRole("heading", { name: "Shoplifting report", level: 1 }));
    await visible(page.getByText(/^No evidence yet\./));
    expect(await page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }).count()).toBe(0);

    await page.goto("/admin/retention");
    const binRegion = page.getByRole("region", { name: "Recycle bin" });
    await binRegion.getByRole("button", { name: /^Restore item/ }).click();
    await binRegion.getByLabel("Reason for restoring").fill("Needed for the insurer");
    await binRegion.getByRole("button", { name: "Restore item" }).click();
    await visible(binRegion.getByText("The recycle bin is empty."));

    await page.goto("/cases");
    await page.getByRole("link", { name: /Shoplifting report/ }).click();
    await visible(page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }), 30_000);
  });

  it("takes its uploader's request to delete it to the due report", async () => {
    server.attachLogOnFailure();
    await page.getByRole("link", { name: new RegExp(`^Open ${FILE_NAME.replace(".", "\\.")}`) }).click();
    const retention = page.getByRole("region", { name: "Retention" });
    await retention.getByRole("button", { name: "Ask to delete" }).click();
    await retention.getByLabel("Why should it be deleted?").fill("Photo of the wrong desk");
    await retention.getByRole("button", { name: "Ask to delete" }).click();
    await visible(retention.getByRole("status").getByText(/an administrator will review it/));
    await visible(retention.getByText(/Its uploader asked for it to be deleted/));

    await page.goto("/admin/retention");
    const dueList = page.getByRole("list", { name: "Due for deletion" });
    await visible(dueList.getByText(/Asked to be deleted by Ada Admin .*“Photo of the wrong desk”/));
    await dueList.getByRole("button", { name: /^Decline the request to delete item/ }).click();
    await dueList.getByLabel("Reason for keeping it").fill("It shows the till");
    await dueList.getByRole("button", { name: "Decline request" }).click();
    await visible(page.getByRole("region", { name: "Due for deletion" }).getByRole("status").getByText("Request declined: the item is kept."));
    await visible(page.getByText("Nothing is due for deletion."));
  });
});
