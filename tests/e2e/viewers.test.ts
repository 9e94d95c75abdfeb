/**
 * Thumbnails and viewers (issue 19, items 4 and 5) in Chromium against `npm start`: a photo, a
 * short video (ffmpeg) and a PDF are added together; the case's list shows the photo's and the
 * video's thumbnails (made and encrypted on the device, decrypted here with the case key) and a
 * PDF icon; the PDF opens in pdf.js with its page's words in the text layer and ink on its canvas;
 * the photo zooms with the buttons and the wheel. The photo's thumbnail is held back (the page's
 * createImageBitmap waits) until its first part is stored: the part is sent before the thumbnail
 * is made, which goes with the completion (issue 18 item 3). Needs `npx vite build` first.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PDFDocument, StandardFonts } from "pdf-lib";
import type { Browser, Page, Request, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

const PDF_TEXT = "Statement of witness Jane Roe";

function ffmpeg(args: string[]): void {
  const made = spawnSync("ffmpeg", ["-v", "error", "-y", ...args], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
}

/** The card of `name` in the case's evidence list. */
const card = (page: Page, name: string) => page.getByRole("link", { name: new RegExp(`^Open ${name.replace(".", "\\.")}`) });

describe("thumbnails in the evidence list, and the PDF and photo viewers", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  const files: Record<"photo" | "video" | "pdf", string> = { photo: "", video: "", pdf: "" };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-viewers-"));
    files.photo = join(work, "doorway.jpg");
    files.video = join(work, "hallway.mp4");
    files.pdf = join(work, "statement.pdf");
    ffmpeg(["-f", "lavfi", "-i", "testsrc=size=1280x720", "-frames:v", "1", files.photo]);
    ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", files.video]);
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    pdf.addPage([595, 842]).drawText(PDF_TEXT, { x: 60, y: 760, size: 24, font });
    writeFileSync(files.pdf, await pdf.save());
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("lists a photo and a video with their thumbnails and a PDF with its icon; the PDF shows its text, the photo zooms", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/viewers-failed.png`, fullPage: true }).catch(() => undefined);
    });
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0190", title: "Hallway" });

    // The photo's upload, watched: its start, its parts stored, its completion.
    const photoBytes = statSync(files.photo).size;
    const upload = { id: "", startThumbnail: undefined as boolean | undefined, stored: 0, completions: [] as boolean[] };
    const watch = (request: Request) => {
      const path = new URL(request.url()).pathname;
      if (request.method() !== "POST") return;
      if (/^\/api\/cases\/[0-9a-f]{32}\/evidence$/.test(path)) {
        const body = request.postDataJSON() as { evidenceId: string; byteSize?: number; thumbnail?: string };
        if (body.byteSize === photoBytes) Object.assign(upload, { id: body.evidenceId, startThumbnail: body.thumbnail !== undefined });
      } else if (upload.id && path === `/api/evidence/${upload.id}/complete`) {
        upload.completions.push((request.postDataJSON() as { thumbnail?: string }).thumbnail !== undefined);
      }
    };
    const stored = (response: Response) => {
      if (upload.id && response.request().method() === "PUT" && response.url().includes(`/api/uploads/${upload.id}/`) && response.status() === 204) upload.stored++;
    };
    page.on("request", watch);
    page.on("response", stored);
    // Pictures are decoded only once the test lets them: the photo's thumbnail stays in the making.
    await page.evaluate(() => {
      const native = window.createImageBitmap.bind(window);
      const held = window as unknown as { asked: number; release: () => void };
      held.asked = 0;
      const released = new Promise<void>((resolve) => (held.release = resolve));
      window.createImageBitmap = (async (...args: Parameters<typeof createImageBitmap>) => {
        held.asked++;
        await released;
        return native(...args);
      }) as typeof createImageBitmap;
    });
    await page.getByLabel("Add photos, videos or documents").setInputFiles([files.photo, files.video, files.pdf]);
    // Its first (only) part is stored while its thumbnail is being made; it completes only once that is made.
    await expect.poll(() => upload.stored, { timeout: 60_000 }).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { asked: number }).asked)).toBeGreaterThan(0);
    expect(upload.startThumbnail).toBe(false);
    expect(upload.completions).toEqual([]);
    await page.evaluate(() => (window as unknown as { release: () => void }).release());
    for (const name of ["doorway.jpg", "hallway.mp4", "statement.pdf"]) await visible(card(page, name), 120_000);
    // The thumbnail went with the completion.
    expect(upload.completions).toEqual([true]);
    page.off("request", watch);
    page.off("response", stored);

    // The photo's and the video's thumbnails are decoded pictures; the PDF has its type's icon.
    for (const name of ["doorway.jpg", "hallway.mp4"]) {
      const thumb = card(page, name).locator("img.item-thumb-picture");
      await visible(thumb, 30_000);
      await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0 && img.src.startsWith("blob:"))).toBe(true);
      const size = await thumb.evaluate((img: HTMLImageElement) => ({ w: img.naturalWidth, h: img.naturalHeight }));
      expect(Math.max(size.w, size.h)).toBeLessThanOrEqual(240);
      expect((await thumb.boundingBox())!.width).toBeLessThanOrEqual(80); // a small picture beside the name, not a banner
    }
    const pdfCard = card(page, "statement.pdf");
    expect(await pdfCard.locator("img").count()).toBe(0);
    await visible(pdfCard.locator('[data-kind="pdf"] svg'));
    await page.screenshot({ path: `${shots}/viewers-list.png`, fullPage: true });

    // Lists leave thumbnails out and the page fetches them apart: while that answer is held, the
    // list is there with its names and type icons; once it comes, the pictures appear.
    let releaseThumbnails = () => undefined as void;
    const thumbnailsHeld = new Promise<void>((resolve) => (releaseThumbnails = resolve));
    let thumbnailRequests = 0;
    await page.route(/\/api\/cases\/[0-9a-f]{32}\/thumbnails\?ids=/, async (route) => {
      thumbnailRequests++;
      await thumbnailsHeld;
      await route.continue();
    });
    await page.reload();
    for (const name of ["doorway.jpg", "hallway.mp4", "statement.pdf"]) await visible(card(page, name), 60_000);
    await expect.poll(() => thumbnailRequests, { timeout: 30_000 }).toBe(1);
    expect(await page.locator("img.item-thumb-picture").count()).toBe(0);
    await visible(card(page, "doorway.jpg").locator("svg"));
    releaseThumbnails();
    for (const name of ["doorway.jpg", "hallway.mp4"]) await visible(card(page, name).locator("img.item-thumb-picture"), 30_000);
    await page.unroute(/\/api\/cases\/[0-9a-f]{32}\/thumbnails\?ids=/);

    // The PDF, in pdf.js: its words in the text layer, and the page drawn (not a blank canvas);
    // nothing fetched but the app's own files and the item's verified bytes, and nothing the CSP refused.
    const requests: string[] = [];
    const refused: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });
    await pdfCard.click();
    const viewer = page.getByRole("region", { name: "PDF: statement.pdf" });
    await visible(viewer, 60_000);
    await visible(viewer.getByText("Page 1 of 1"), 30_000);
    await expect.poll(() => viewer.locator(".textLayer").textContent(), { timeout: 30_000 }).toContain(PDF_TEXT);
    const inked = await viewer.locator("canvas").evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! < 128 && data[i + 3]! > 0) dark++;
      return dark;
    });
    expect(inked).toBeGreaterThan(100);
    expect(requests.filter((url) => !url.startsWith(server.url) && !url.startsWith("blob:"))).toEqual([]);
    expect(requests.filter((url) => /standard_fonts|cmaps|\.bcmap|\.pfb|\.wasm/.test(url))).toEqual([]);
    expect(refused).toEqual([]);
    await page.screenshot({ path: `${shots}/viewers-pdf.png`, fullPage: true });

    // The photo zooms with the buttons and the wheel, and back to fit.
    await page.getByRole("link", { name: /Hallway/ }).first().click();
    await card(page, "doorway.jpg").click();
    const photo = page.getByRole("region", { name: "Photo: doorway.jpg" });
    await visible(photo, 60_000);
    const image = photo.getByRole("img", { name: "doorway.jpg" });
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1280);
    const before = (await image.boundingBox())!;
    await photo.getByRole("button", { name: "Zoom in" }).click();
    await visible(photo.getByText("Zoom 150 %"));
    const zoomed = (await image.boundingBox())!;
    expect(zoomed.width).toBeGreaterThan(before.width * 1.4);
    const frame = photo.getByLabel(/scroll or pinch to zoom/);
    await frame.hover();
    await page.mouse.wheel(0, -100);
    await visible(photo.getByText("Zoom 180 %"));
    await photo.getByRole("button", { name: "Fit" }).click();
    await visible(photo.getByText("Zoom 100 %"));
  }, 300_000);
});
