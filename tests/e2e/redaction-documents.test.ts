/**
 * Redaction of photos and documents on the device (issue 22; docs/redaction.md), in Chromium
 * against `npm start`: a PNG with known blocks gets one region drawn with the pointer (then placed
 * exactly with its number fields) and hidden by a solid fill, and one added by keyboard and
 * pixelated; the copy's decrypted pixels are black in the first, without their fine pattern in the
 * second, and byte for byte the original's everywhere else; its page says what it was derived from
 * and lists the operations. A PDF with known text gets a box on page 1; the copy has no text that
 * pdf.js in Node can extract, and the box is black on its page image. A link share of the copy
 * alone shows the copy and not its original. A photo with three faces gets them from "Find faces"
 * as three blurred ellipses, listed on the copy's page and blurred in its pixels. The editor passes axe, and the CSP refuses nothing. Needs `npx vite build` first.
 */
import { AxeBuilder } from "@axe-core/playwright";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { deflateSync } from "node:zlib";
import { PDFDocument, StandardFonts } from "pdf-lib";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

const W = 400;
const H = 300;
/** The two blocks of the photo, in pixels: a solid red one (filled) and a fine checkerboard (pixelated). */
const SOLID = { left: 40, top: 40, width: 80, height: 80 };
const CHECKS = { left: 240, top: 160, width: 120, height: 100 };
const PHOTO = "blocks.png";
const PDF = "statement.pdf";
const SECRET_LINE = "Witness address: 12 Harbour Road";
const OTHER_LINE = "Statement of witness Jane Roe";

const inside = (b: typeof SOLID, x: number, y: number, margin = 0) => x >= b.left - margin && x < b.left + b.width + margin && y >= b.top - margin && y < b.top + b.height + margin;

/** RGB pixels of the photo: a smooth background, the red block and the checkerboard of 2 px squares. */
function photoPixels(): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      let pixel = [(x * 255) / W, (y * 255) / H, 128];
      if (inside(SOLID, x, y)) pixel = [220, 20, 30];
      else if (inside(CHECKS, x, y)) pixel = ((x >> 1) + (y >> 1)) % 2 ? [255, 255, 255] : [0, 0, 0];
      rgb.set(pixel.map(Math.round), i);
    }
  }
  return rgb;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG (8-bit RGB, no colour profile or gamma chunk, so the browser draws the values as they are). */
function png(rgb: Uint8Array): Buffer {
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(W, 0);
  header.writeUInt32BE(H, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((W * 3 + 1) * H);
  for (let y = 0; y < H; y++) rows.set(rgb.subarray(y * W * 3, (y + 1) * W * 3), y * (W * 3 + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", new Uint8Array())]);
}

/** Decodes an image file to raw pixels with ffmpeg (`rgb24` or `gray`). */
function decode(path: string, format: "rgb24" | "gray"): Uint8Array {
  const out = spawnSync("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", format, "-"], { maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`ffmpeg failed: ${out.stderr}`);
  return new Uint8Array(out.stdout);
}

/** The face finder's sample photo (1920 × 1280 px): three faces, their centres in fractions of it (tests/browser/face-detect.test.ts). */
const FACES_PHOTO = resolve(import.meta.dirname, "../../node_modules/@vladmandic/face-api/demo/sample1.jpg");
const FACE_CENTRES = [
  { x: 0.26, y: 0.4 },
  { x: 0.485, y: 0.46 },
  { x: 0.81, y: 0.27 },
];

const card = (page: Page, name: string) => page.getByRole("link", { name: new RegExp(`^Open ${name.replace(/\./g, "\\.")}`) });

describe("redaction of a photo and a PDF: copies made on the device, what they hide, and sharing a copy alone", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let caseUrl = "";
  const original = photoPixels();
  const files = { photo: "", pdf: "" };
  /** What the Content-Security-Policy refused while editing and making copies (pdf.js's worker, canvases, blobs). */
  const refused: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-redaction-"));
    files.photo = join(work, PHOTO);
    writeFileSync(files.photo, png(original));
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    const sheet = pdf.addPage([595, 842]);
    sheet.drawText(SECRET_LINE, { x: 60, y: 760, size: 20, font });
    sheet.drawText(OTHER_LINE, { x: 60, y: 600, size: 20, font });
    files.pdf = join(work, PDF);
    writeFileSync(files.pdf, await pdf.save());
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });
    // Without File System Access (no picker to answer in a test) a download is a file.
    await page.addInitScript(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Downloads the open item's decrypted, verified file. */
  async function downloadOpenItem(name: string): Promise<string> {
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download original" }).click()]);
    const path = join(work, name);
    writeFileSync(path, readFileSync((await download.path())!));
    return path;
  }

  it("a photo: a filled region drawn with the pointer, a pixelated one added by keyboard; the copy hides both and keeps every other pixel", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/redaction-failed.png`, fullPage: true }).catch(() => undefined);
    });
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0220", title: "Harbour Road" });
    caseUrl = page.url();
    await page.getByLabel("Add photos, videos or documents").setInputFiles([files.photo, files.pdf]);
    for (const name of [PHOTO, PDF]) await visible(card(page, name), 120_000);

    await card(page, PHOTO).click();
    await page.getByRole("button", { name: "Redact…" }).click();
    const editor = page.getByRole("region", { name: "Redact", exact: true });
    const preview = editor.getByRole("img", { name: /^The photo with/ });
    await visible(preview, 30_000);

    // Region 1, drawn with the pointer over the red block; then placed exactly with its fields.
    await preview.scrollIntoViewIfNeeded();
    const box = (await preview.boundingBox())!;
    const at = (x: number, y: number) => [box.x + (x / W) * box.width, box.y + (y / H) * box.height] as const;
    await page.mouse.move(...at(SOLID.left + 2, SOLID.top + 2));
    await page.mouse.down();
    await page.mouse.move(...at(SOLID.left + 40, SOLID.top + 40), { steps: 4 });
    await page.mouse.move(...at(SOLID.left + SOLID.width - 2, SOLID.top + SOLID.height - 2), { steps: 4 });
    await page.mouse.up();
    const first = editor.getByRole("group", { name: "Region 1" });
    await visible(first);
    const drawnLeft = Number(await first.getByLabel("Left (px)").inputValue());
    expect(Math.abs(drawnLeft - SOLID.left)).toBeLessThanOrEqual(4);
    expect(Math.abs(Number(await first.getByLabel("Width (px)").inputValue()) - SOLID.width)).toBeLessThanOrEqual(6);
    await first.getByLabel("Effect").selectOption({ label: "Solid fill" });
    for (const [label, value] of [["Left", SOLID.left], ["Top", SOLID.top], ["Width", SOLID.width], ["Height", SOLID.height]] as const) await first.getByLabel(`${label} (px)`).fill(String(value));

    // Region 2, by keyboard: "Add a region", moved with the arrow keys, then placed with its fields.
    await editor.getByRole("button", { name: "Add a region" }).focus();
    await page.keyboard.press("Enter");
    const second = editor.getByRole("group", { name: "Region 2" });
    await visible(second);
    const startLeft = Number(await second.getByLabel("Left (px)").inputValue());
    await editor.getByRole("group", { name: "Redaction preview: the photo" }).focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await expect.poll(() => second.getByLabel("Left (px)").inputValue()).toBe(String(startLeft + 8));
    await second.getByLabel("Effect").selectOption({ label: "Pixelate" });
    for (const [label, value] of [["Width", CHECKS.width], ["Height", CHECKS.height], ["Left", CHECKS.left], ["Top", CHECKS.top]] as const) await second.getByLabel(`${label} (px)`).fill(String(value));
    expect(await second.getByLabel("Left (px)").inputValue()).toBe(String(CHECKS.left));

    // The editor passes axe (no serious or critical violation).
    const axe = await new AxeBuilder({ page }).include(".redactor").analyze();
    const serious = axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
    expect(serious).toEqual([]);
    await page.screenshot({ path: `${shots}/redaction-photo-editor.png`, fullPage: true });

    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    await visible(editor.getByRole("status").filter({ hasText: "Redacted copy added to the case" }), 60_000);
    // Back to the case within the app: the copy's upload goes on in this page (a reload would restart it).
    await page.getByRole("link", { name: /^← 2026-0220/ }).click();
    await card(page, `Redacted copy of ${PHOTO}`).click({ timeout: 120_000 });

    // Its page: derived from the original (by SHA-512), with the operations in words.
    const derived = page.getByRole("region", { name: "Derived from another item" });
    await visible(derived, 60_000);
    expect(await derived.locator("code").getAttribute("title")).toBe(createHash("sha512").update(readFileSync(files.photo)).digest("hex"));
    await visible(derived.getByText("A redacted copy of"));
    expect(await derived.getByRole("list", { name: "Operations" }).getByRole("listitem").allTextContents()).toEqual(["fill rect whole image (1 key)", "pixelate rect whole image (1 key)"]);

    // Its pixels: black in the filled region, without the checkerboard in the pixelated one, the original's elsewhere.
    const pixels = decode(await downloadOpenItem("copy.png"), "rgb24");
    expect(pixels.length).toBe(W * H * 3);
    let outsideChanged = 0;
    let filledNotBlack = 0;
    let checksSame = 0;
    let checksCount = 0;
    let edgeOriginal = 0;
    let edgeCopy = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        const same = pixels[i] === original[i] && pixels[i + 1] === original[i + 1] && pixels[i + 2] === original[i + 2];
        // A region's box is rounded outwards to whole pixels: the 2 px around it are neither inside nor outside.
        if (!inside(SOLID, x, y, 2) && !inside(CHECKS, x, y, 2)) outsideChanged += same ? 0 : 1;
        else if (inside(SOLID, x, y, -1)) filledNotBlack += pixels[i]! + pixels[i + 1]! + pixels[i + 2]! === 0 ? 0 : 1;
        else if (inside(CHECKS, x, y, -1)) {
          checksCount++;
          checksSame += same ? 1 : 0;
          if (inside(CHECKS, x + 1, y, -1)) {
            edgeOriginal += Math.abs(original[i]! - original[i + 3]!);
            edgeCopy += Math.abs(pixels[i]! - pixels[i + 3]!);
          }
        }
      }
    }
    expect(outsideChanged).toBe(0);
    expect(filledNotBlack).toBe(0);
    expect(checksSame / checksCount).toBeLessThan(0.05);
    // The 2 px pattern is gone: neighbouring pixels differ a tiny fraction of what they did.
    expect(edgeCopy).toBeLessThan(edgeOriginal * 0.05);
    // The case's history records the redaction.
    await page.goto(caseUrl);
    await visible(page.getByRole("list", { name: "Case history" }).getByRole("listitem").filter({ hasText: "made the redacted copy" }).first(), 30_000);
  }, 360_000);

  it("a PDF: a box on page 1; the copy is page images with no extractable text, black under the box", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/redaction-pdf-failed.png`, fullPage: true }).catch(() => undefined);
    });
    await page.goto(caseUrl);
    await card(page, PDF).click();
    await page.getByRole("button", { name: "Redact…" }).click();
    const editor = page.getByRole("region", { name: "Redact", exact: true });
    await visible(editor.getByText("Page 1 of 1"), 30_000);
    await visible(editor.getByRole("img", { name: /^Page 1 with/ }), 30_000);
    await editor.getByRole("button", { name: "Add a region" }).click();
    const region = editor.getByRole("group", { name: "Region 1 on page 1" });
    await visible(region);
    expect(await region.getByLabel("Effect").locator("option:checked").textContent()).toBe("Solid fill");
    // The secret line: baseline 760 pt from the bottom, 20 pt type: 842 − 760 − 20 = 62 pt from the top.
    for (const [label, value] of [["Left", 50], ["Top", 55], ["Width", 400], ["Height", 35]] as const) await region.getByLabel(`${label} (pt)`).fill(String(value));
    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    await visible(editor.getByRole("status").filter({ hasText: "Redacted copy added to the case" }), 60_000);
    // Back to the case within the app: the copy's upload goes on in this page (a reload would restart it).
    await page.getByRole("link", { name: /^← 2026-0220/ }).click();
    await card(page, `Redacted copy of ${PDF}`).click({ timeout: 120_000 });
    const derived = page.getByRole("region", { name: "Derived from another item" });
    await visible(derived, 60_000);
    expect(await derived.getByRole("list", { name: "Operations" }).getByRole("listitem").allTextContents()).toEqual(["pages redrawn as images at 150 dpi", "fill rect page 1 (1 key)"]);

    const path = await downloadOpenItem("copy.pdf");
    const bytes = new Uint8Array(readFileSync(path));
    const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
    const loading = pdfjs.getDocument({ data: bytes.slice(), verbosity: 0 });
    const pdf = await loading.promise;
    try {
      expect(pdf.numPages).toBe(1);
      const sheet = await pdf.getPage(1);
      const viewport = sheet.getViewport({ scale: 1 });
      expect([Math.round(viewport.width), Math.round(viewport.height)]).toEqual([595, 842]);
      expect((await sheet.getTextContent()).items).toEqual([]);
      expect((await sheet.getOperatorList()).fnArray).toContain(pdfjs.OPS.paintImageXObject);
    } finally {
      await loading.destroy();
    }
    const raw = Buffer.from(bytes).toString("latin1");
    expect(raw).not.toContain("Harbour");
    expect(raw).not.toContain("Font");

    // The page image: black under the box (150 dpi: 150/72 px a point), the other line still drawn.
    const start = raw.indexOf("/Filter /DCTDecode");
    const from = raw.indexOf("stream\n", start) + "stream\n".length;
    const to = raw.indexOf("\nendstream", from);
    writeFileSync(join(work, "page.jpg"), bytes.subarray(from, to));
    const grey = decode(join(work, "page.jpg"), "gray");
    const pw = Math.round((595 * 150) / 72);
    expect(grey.length).toBe(pw * Math.round((842 * 150) / 72));
    const darkShare = (x0: number, y0: number, x1: number, y1: number) => {
      let dark = 0;
      let all = 0;
      for (let y = Math.round((y0 * 150) / 72); y < Math.round((y1 * 150) / 72); y++)
        for (let x = Math.round((x0 * 150) / 72); x < Math.round((x1 * 150) / 72); x++, all++) dark += grey[y * pw + x]! < 40 ? 1 : 0;
      return dark / all;
    };
    expect(darkShare(55, 60, 445, 85)).toBeGreaterThan(0.98);
    const otherLine = darkShare(60, 842 - 600 - 16, 320, 842 - 600 + 2);
    expect(otherLine).toBeGreaterThan(0.02);
    expect(otherLine).toBeLessThan(0.6);
    expect(refused).toEqual([]);
  }, 240_000);

  it("a link share of the copy alone shows the copy, not its original", async () => {
    server.attachLogOnFailure();
    await page.goto(caseUrl);
    const sharing = page.getByRole("region", { name: "Sharing" });
    await sharing.getByRole("button", { name: "Share…" }).click();
    await sharing.getByLabel("A link with an access code").check();
    const form = sharing.getByRole("form", { name: "New share" });
    await form.getByLabel("Who the link is for").fill("Press office");
    await form.getByLabel("Chosen items").check();
    await form.getByRole("list", { name: "Items to share" }).getByLabel(`Redacted copy of ${PHOTO}`, { exact: true }).check();
    await form.getByRole("button", { name: "Share", exact: true }).click();
    await visible(sharing.getByRole("heading", { name: "Shared with Press office" }), 30_000);
    const linkUrl = await sharing.getByLabel("Link", { exact: true }).inputValue();
    const accessCode = await sharing.getByLabel("Access code", { exact: true }).inputValue();

    const recipient = await (await phoneContext(browser, server.url)).newPage();
    await recipient.goto(linkUrl);
    await recipient.getByLabel("Access code").fill(accessCode);
    await recipient.getByRole("button", { name: "Open" }).click();
    await visible(recipient.getByRole("heading", { name: "Case 2026-0220: Harbour Road" }), 20_000);
    const open = recipient.getByRole("button", { name: `Open Redacted copy of ${PHOTO}` });
    await visible(open);
    // The only item there: not the original, nor the other copy.
    expect(await recipient.getByRole("button", { name: /^Open .+\.(png|pdf)$/ }).count()).toBe(1);
    await open.click();
    await visible(recipient.getByRole("region", { name: `Verified: Redacted copy of ${PHOTO}` }), 30_000);
    await recipient.context().close();
  }, 120_000);

  it("a photo with three faces: Find faces, add them; the copy lists three blurred ellipses and the faces are blurred", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => {
      await page.screenshot({ path: `${shots}/redaction-faces-failed.png`, fullPage: true }).catch(() => undefined);
    });
    await page.goto(caseUrl);
    await page.getByLabel("Add photos, videos or documents").setInputFiles(FACES_PHOTO);
    await card(page, "sample1.jpg").click({ timeout: 120_000 });
    await page.getByRole("button", { name: "Redact…" }).click();
    const editor = page.getByRole("region", { name: "Redact", exact: true });
    await visible(editor.getByRole("img", { name: /^The photo with/ }), 30_000);
    await editor.getByRole("button", { name: "Find faces" }).click();
    const faces = editor.getByRole("group", { name: "Faces found" });
    await visible(faces, 120_000);
    expect(await faces.getByRole("checkbox", { checked: true }).count()).toBe(FACE_CENTRES.length);
    await faces.getByRole("button", { name: `Add ${FACE_CENTRES.length} faces as regions` }).click();
    await visible(editor.getByRole("img", { name: `The photo with ${FACE_CENTRES.length} regions hidden` }));
    await editor.getByRole("button", { name: "Make redacted copy" }).click();
    await visible(editor.getByRole("status").filter({ hasText: "Redacted copy added to the case" }), 60_000);
    await page.getByRole("link", { name: /^← 2026-0220/ }).click();
    await card(page, "Redacted copy of sample1.jpg").click({ timeout: 120_000 });
    const derived = page.getByRole("region", { name: "Derived from another item" });
    await visible(derived, 60_000);
    expect(await derived.getByRole("list", { name: "Operations" }).getByRole("listitem").allTextContents()).toEqual(FACE_CENTRES.map(() => "blur ellipse whole image (1 key)"));

    // The copy's pixels: changed at each face's centre, the original's (up to JPEG re-encoding) away from the faces.
    const before = decode(FACES_PHOTO, "gray");
    const after = decode(await downloadOpenItem("faces-copy.jpg"), "gray");
    expect(after.length).toBe(before.length);
    const fw = 1920;
    const fh = before.length / fw;
    /** The mean difference of the two in a 24 px square around (cx, cy), in grey levels. */
    const change = (cx: number, cy: number) => {
      let sum = 0;
      for (let y = Math.round(cy * fh) - 12; y < Math.round(cy * fh) + 12; y++) for (let x = Math.round(cx * fw) - 12; x < Math.round(cx * fw) + 12; x++) sum += Math.abs(before[y * fw + x]! - after[y * fw + x]!);
      return sum / (24 * 24);
    };
    for (const { x, y } of FACE_CENTRES) expect(change(x, y)).toBeGreaterThan(8);
    expect(change(0.05, 0.9)).toBeLessThan(2);
    expect(refused).toEqual([]);
  }, 300_000);
});
