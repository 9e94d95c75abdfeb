/**
 * Without a service worker controlling the page (a browser that has none, a first visit before it
 * takes control), an item is opened by verifying the whole file first and showing it through an
 * object URL (docs/offline.md). The page's Content-Security-Policy (`connect-src 'self'`) does not
 * let `fetch` read such a URL, so the PDF viewer and redaction read the verified file itself
 * (web/src/evidence/opened-file.ts). Here the browser blocks service workers outright.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PDFDocument, StandardFonts } from "pdf-lib";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser } from "./harness";

// An 8 × 8 red PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC", "base64");

describe("an item opened without a service worker", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  const refused: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-nosw-"));
    const pdf = await PDFDocument.create();
    const sheet = pdf.addPage([595, 842]);
    sheet.drawText("Statement of witness", { x: 60, y: 760, size: 20, font: await pdf.embedFont(StandardFonts.Helvetica) });
    writeFileSync(join(work, "statement.pdf"), await pdf.save());
    writeFileSync(join(work, "tiny.png"), PNG);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 360, height: 740 }, serviceWorkers: "block" });
    page = await context.newPage();
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("shows a PDF and opens a photo for redaction, with nothing refused by the page's policy", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0241", title: "No service worker" });
    expect(await page.evaluate(() => navigator.serviceWorker?.controller ?? null)).toBeNull();
    await page.getByLabel("Add photos, videos or documents").setInputFiles([join(work, "statement.pdf"), join(work, "tiny.png")]);
    const card = (name: string) => page.getByRole("link", { name: new RegExp(`^Open ${name.replace(/\./g, "\\.")}`) });
    for (const name of ["statement.pdf", "tiny.png"]) await visible(card(name), 120_000);

    await card("statement.pdf").click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    await visible(page.getByRole("region", { name: "PDF: statement.pdf" }).getByText("Page 1 of 1"), 30_000);

    await page.getByRole("link", { name: /^← 2026-0241/ }).click();
    await card("tiny.png").click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    await page.getByRole("button", { name: "Redact…" }).click();
    await visible(page.getByRole("region", { name: "Redact", exact: true }).getByRole("img", { name: /^The photo with/ }), 30_000);
    expect(refused).toEqual([]);
  }, 240_000);
});
