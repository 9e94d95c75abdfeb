/**
 * Long lists in the web app, in Chromium against `npm start`: more sites and users than one page
 * of the API holds (50) load as the administrator scrolls down or presses "Show more", each once,
 * in order; the users loaded later still get their security facts.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const pad = (n: number) => String(n).padStart(2, "0");

describe("long lists page in the web app", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
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
  });

  /** A request as the signed-in administrator's browser makes it (its session cookie, same origin). */
  async function post(path: string, data: unknown): Promise<void> {
    const response = await page.request.post(path, { headers: { Origin: server.url }, data });
    expect(response.status(), await response.text()).toBe(201);
  }

  it("loads the next page of sites when the list is scrolled to its end", async () => {
    server.attachLogOnFailure();
    for (let i = 1; i <= 57; i++) await post("/api/sites", { name: `Site ${pad(i)}`, address: "", holdDays: 30 });
    await page.goto("/admin/sites");
    const sites = page.getByRole("list", { name: "Sites" }).getByRole("listitem");
    await visible(sites.first());
    expect(await sites.count()).toBe(50);
    const more = page.getByRole("button", { name: "Show more sites" });
    await visible(more);
    await more.scrollIntoViewIfNeeded();
    await expect.poll(() => sites.count(), { timeout: 15_000 }).toBe(57);
    await expect.poll(() => more.count()).toBe(0);
    const names = await page.getByRole("list", { name: "Sites" }).getByRole("heading", { level: 3 }).allTextContents();
    expect(names.map((n) => n.trim())).toEqual(Array.from({ length: 57 }, (_, i) => `Site ${pad(i + 1)}`));
  });

  it("loads more users when pressed, with the security facts of the users loaded later", async () => {
    server.attachLogOnFailure();
    for (let i = 1; i <= 52; i++) await post("/api/users", { email: `user${pad(i)}@example.org`, name: `User ${pad(i)}`, role: "investigator" });
    await page.goto("/admin/users");
    const people = page.getByRole("list", { name: "People" });
    await visible(people.getByRole("listitem").first());
    await visible(page.getByRole("heading", { name: "People (50+)" }));
    // One more than a page: the administrator and the 52 invited, in name order.
    await page.getByRole("button", { name: "Show more users" }).click();
    await visible(page.getByRole("heading", { name: "People (53)" }));
    const last = people.getByRole("listitem").filter({ hasText: "user52@example.org" });
    await visible(last);
    await visible(last.getByText("Two-step verification: not set up"));
    expect(await page.getByRole("button", { name: "Show more users" }).count()).toBe(0);
  });
});
