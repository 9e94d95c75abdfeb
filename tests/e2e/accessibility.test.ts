/**
 * Accessibility (issue 19, item 11): every screen, at 390 px and at 1366 px wide, passes
 * axe-core (`@axe-core/playwright`) with no serious or critical violation. A failure lists each
 * violation with its rule, its help text and the elements it found, and attaches screenshots
 * of the screen at both sizes. Needs `npx vite build` first.
 */
import { AxeBuilder } from "@axe-core/playwright";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
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

/**
 * The screen as it is now, at both sizes (resized in place: the flows that reach some screens
 * cannot be replayed by address): violations prefixed with the size, screenshots kept.
 */
async function atBothSizes(page: Page, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.waitForLoadState("networkidle");
    const here = await violations(page);
    const file = `${shots}/accessibility-${name}-${size.name}.png`;
    await page.screenshot({ path: file, fullPage: true });
    if (here.length > 0) onTestFailed(() => console.error(`screen at ${size.name} width: ${file}`));
    found.push(...here.map((v) => `${size.name} ${name}: ${v}`));
  }
  await page.setViewportSize(SIZES[0]);
  return found;
}

/** Presses Tab (only) until `target` has the focus; fails if it is not reached in `max` presses. */
async function tabTo(page: Page, target: Locator, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((element) => element === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

describe("accessibility: axe-core at 390 px and 1366 px", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let caseUrl = "";
  let work: string;
  let photo = "";

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    work = mkdtempSync(join(tmpdir(), "custody-a11y-"));
    photo = join(work, "porch.png");
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=320x240", "-frames:v", "1", photo], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
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

  it("keyboard only: capture into My captures, file it, view it verified (and the item screen and My captures pass axe)", async () => {
    server.attachLogOnFailure();
    const found: string[] = [];
    await page.setViewportSize(SIZES[0]);
    await page.goto("/cases");
    await visible(page.getByRole("heading", { name: "Cases", level: 1 }));
    // Capture: Tab to "Capture from files", Space opens the file chooser.
    await tabTo(page, page.getByLabel("Capture from files"));
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
    await chooser.setFiles(photo);
    await visible(page.getByRole("status").filter({ hasText: "1 file added to My captures" }));
    await tabTo(page, page.getByRole("link", { name: "My captures" }));
    await page.keyboard.press("Enter");
    await visible(page.getByRole("heading", { name: "My captures", level: 1 }));
    const fileButton = page.getByRole("button", { name: "File to a case: porch.png" });
    await visible(fileButton, 60_000);
    found.push(...(await atBothSizes(page, "captures")));
    // File it: Tab to each control, Enter to act.
    await tabTo(page, fileButton);
    await page.keyboard.press("Enter");
    const form = page.getByRole("form", { name: "File porch.png to a case" });
    const chooseCase = form.getByLabel("Case");
    await visible(chooseCase, 20_000);
    await tabTo(page, chooseCase);
    // A focused <select> takes the first letters of an option (typing, not pointing).
    await page.keyboard.type("2026");
    expect(await chooseCase.inputValue()).not.toBe("");
    await tabTo(page, form.getByLabel("Title"));
    await page.keyboard.type("Porch light");
    await tabTo(page, form.getByRole("button", { name: "File to case" }));
    await page.keyboard.press("Enter");
    // View: the filed item opens and verifies.
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    found.push(...(await atBothSizes(page, "evidence-item")));
    // Back to the case by keyboard, and open the item again from its list with Enter.
    await tabTo(page, page.getByRole("link", { name: /^← / }).first());
    await page.keyboard.press("Enter");
    // Listed by the title given as it was filed (the members' copy of its details).
    const open = page.getByRole("link", { name: /^Open Porch light/ });
    await visible(open, 20_000);
    await tabTo(page, open, 120);
    await page.keyboard.press("Enter");
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    expect(found, found.join("\n")).toEqual([]);
  }, 180_000);

  it("keyboard only (Tab, Enter, Space; arrows inside a radio group): share the case through a link; the invitation, two-step enrolment and share portal screens pass axe", async () => {
    server.attachLogOnFailure();
    const found: string[] = [];
    await page.setViewportSize(SIZES[0]);
    await page.goto(caseUrl);
    const sharing = page.getByRole("region", { name: "Sharing" });
    await tabTo(page, sharing.getByRole("button", { name: "Share…" }), 150);
    await page.keyboard.press("Enter");
    // A radio group takes one Tab stop (its checked radio); its arrow keys choose within it, as native radios do everywhere.
    const linkChoice = sharing.getByLabel("A link with an access code");
    await tabTo(page, sharing.locator("input[type=radio]:checked").first());
    for (const key of ["ArrowDown", "ArrowUp", "ArrowUp"]) {
      if (await linkChoice.isChecked()) break;
      await page.keyboard.press(key);
    }
    expect(await linkChoice.isChecked()).toBe(true);
    const form = sharing.getByRole("form", { name: "New share" });
    await tabTo(page, form.getByLabel("Who the link is for"));
    await page.keyboard.type("Insurer's assessor");
    await tabTo(page, form.getByRole("button", { name: "Share", exact: true }));
    await page.keyboard.press("Enter");
    await visible(sharing.getByRole("heading", { name: "Shared with Insurer's assessor" }), 30_000);
    const linkUrl = await sharing.getByLabel("Link", { exact: true }).inputValue();
    const accessCode = await sharing.getByLabel("Access code", { exact: true }).inputValue();

    // The share portal, as its recipient reaches it.
    const recipient = await (await phoneContext(browser, server.url)).newPage();
    await recipient.goto(linkUrl);
    await visible(recipient.getByRole("heading", { name: "Evidence shared with you" }));
    found.push(...(await atBothSizes(recipient, "share-code")));
    await recipient.getByLabel("Access code").fill(accessCode);
    await recipient.getByRole("button", { name: "Open" }).click();
    await visible(recipient.getByRole("heading", { name: "Case 2026-0300: Market stall fire" }), 20_000);
    found.push(...(await atBothSizes(recipient, "share-portal")));
    await recipient.context().close();

    // An invitation, then two-step enrolment, as the invited person sees them.
    const invited = (await (await page.request.post("/api/users", { data: { email: "una@example.org", name: "Una Investigator", role: "investigator" }, headers: { Origin: server.url } })).json()) as { token: string };
    const una = await (await phoneContext(browser, server.url)).newPage();
    await una.goto(`/invite#token=${invited.token}`);
    await visible(una.getByRole("heading", { name: "Set your password" }));
    found.push(...(await atBothSizes(una, "invitation")));
    await una.getByLabel("Password", { exact: true }).fill("una's long sign-in password");
    await una.getByLabel("Confirm password").fill("una's long sign-in password");
    await una.getByRole("button", { name: "Set password" }).click();
    await visible(una.getByRole("heading", { name: "Set up two-step verification" }), 20_000);
    found.push(...(await atBothSizes(una, "mfa-enrolment")));
    await una.context().close();
    expect(found, found.join("\n")).toEqual([]);
  }, 180_000);
});
