/**
 * Accessibility (issue 19, item 11): every screen, at 390 px and at 1366 px wide, passes
 * axe-core (`@axe-core/playwright`) with no serious or critical violation. A failure lists each
 * violation with its rule, its help text and the elements it found, and attaches screenshots
 * of the screen at both sizes. Needs `npx vite build` first.
 */
import { AxeBuilder } from "@axe-core/playwright";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

const SIZES = [
  { name: "phone", width: 390, height: 844 },
  { name: "desktop", width: 1366, height: 900 },
] as const;

/** The serious and critical violations on the page as it is now, one line each. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
}

describe("accessibility: axe-core at 390 px and 1366 px", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let caseUrl = "";

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("the setup screen (and the check itself can fail)", async () => {
    server.attachLogOnFailure();
    const found: string[] = [];
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.goto("/");
      await visible(page.getByRole("heading", { name: "Set up Custody" }));
      found.push(...(await violations(page)).map((v) => `${size.name} setup: ${v}`));
    }
    // The check can fail: an image without a text alternative is found at once.
    await page.evaluate(() => document.querySelector("main")?.insertAdjacentHTML("beforeend", '<img id="axe-probe" src="/favicon.svg">'));
    expect((await violations(page)).some((v) => v.startsWith("image-alt"))).toBe(true);
    await page.evaluate(() => document.getElementById("axe-probe")?.remove());
    await page.setViewportSize(SIZES[0]);
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0300", title: "Market stall fire" });
    caseUrl = new URL(page.url()).pathname + new URL(page.url()).search;
    expect(found, found.join("\n")).toEqual([]);
  }, 120_000);

  it("the sign-in screen", async () => {
    server.attachLogOnFailure();
    const visitor = await (await phoneContext(browser, server.url)).newPage();
    const found: string[] = [];
    for (const size of SIZES) {
      await visitor.setViewportSize(size);
      await visitor.goto("/");
      await visible(visitor.getByRole("heading", { name: "Sign in" }), 20_000);
      found.push(...(await violations(visitor)).map((v) => `${size.name}: ${v}`));
    }
    await visitor.context().close();
    expect(found, found.join("\n")).toEqual([]);
  }, 60_000);

  for (const screen of [
    { path: "/cases", heading: "Cases" },
    { path: "case", heading: "Market stall fire" },
    { path: "/uploads", heading: "Uploads" },
    { path: "/cameras", heading: "Cameras" },
    { path: "/requests", heading: "Requests" },
    { path: "/audit", heading: "Audit" },
    { path: "/admin/users", heading: "Users" },
    { path: "/admin/settings", heading: "Settings" },
    { path: "/admin/sites", heading: "Sites" },
    { path: "/admin/sign-in", heading: /Sign-in|Identity provider/ },
    { path: "/settings/security", heading: "Security" },
    { path: "/settings/keys", heading: /Key passphrase|Keys/ },
  ]) {
    it(`${screen.path === "case" ? "a case" : screen.path}`, async () => {
      server.attachLogOnFailure();
      const found: string[] = [];
      for (const size of SIZES) {
        await page.setViewportSize(size);
        await page.goto(screen.path === "case" ? caseUrl : screen.path);
        await visible(page.getByRole("heading", { name: screen.heading, level: 1 }), 20_000);
        await page.waitForLoadState("networkidle");
        const here = await violations(page);
        // Each size's screen is kept, so a failure shows both.
        const file = `${shots}/accessibility-${screen.path.replace(/\W+/g, "-").replace(/^-|-$/g, "") || "case"}-${size.name}.png`;
        await page.screenshot({ path: file, fullPage: true });
        if (here.length > 0) onTestFailed(() => console.error(`screen at ${size.name} width: ${file}`));
        found.push(...here.map((v) => `${size.name}: ${v}`));
      }
      expect(found, found.join("\n")).toEqual([]);
    }, 60_000);
  }
});
