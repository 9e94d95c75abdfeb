/**
 * Capture first, file later (issue 19, item 3) in Chromium against `npm start`, at phone size:
 * a JPEG picked from the home screen goes into My captures (encrypted to the user's own key),
 * shows the capture time from its EXIF apart from its upload time, is filed into a case (its
 * file key re-wrapped, with title and tags), and opens there verified.
 * A small photo picked with a large video uploads beside it, not behind it (item 6).
 * Needs `npx vite build` first.
 */
import type { Browser, Page } from "playwright-core";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";
import { exifSegment, withSegment } from "../support/exif";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

describe("capture first, file later", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    work = mkdtempSync(join(tmpdir(), "custody-captures-"));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("captures into My captures, shows the EXIF capture time apart from the upload time, files it into a case where it verifies", async () => {
    server.attachLogOnFailure();
    onTestFailed(async () => void (await page.screenshot({ path: `${shots}/captures-failed.png`, fullPage: true }).catch(() => undefined)));
    const plain = join(work, "plain.jpg");
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=orange:s=320x240", "-frames:v", "1", plain], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
    const photo = join(work, "doorway.jpg");
    writeFileSync(photo, withSegment(readFileSync(plain), exifSegment(false, "2024:03:15 09:30:00", "+01:00")));

    // A long video picked with the photo, before it (48 MiB: six parts).
    const video = join(work, "long-video.mp4");
    writeFileSync(video, Buffer.alloc(48 * 1024 * 1024, 7));
    // Which upload is which (by its size at the start), and the order they complete in.
    const sizes = new Map<string, number>();
    const completed: string[] = [];
    page.on("request", (request) => {
      const match = /\/api\/cases\/[0-9a-f]{32}\/evidence$/.exec(new URL(request.url()).pathname);
      if (!match || request.method() !== "POST") return;
      const body = request.postDataJSON() as { evidenceId: string; byteSize?: number; manifest?: string };
      sizes.set(body.evidenceId, body.byteSize ?? (JSON.parse(Buffer.from(body.manifest!.split(".")[1]!, "base64url").toString()) as { byteSize: number }).byteSize);
    });
    page.on("response", (response) => {
      const match = /^\/api\/evidence\/([0-9a-f]{32})\/complete$/.exec(new URL(response.url()).pathname);
      if (match && response.status() === 200 && !completed.includes(match[1]!)) completed.push(match[1]!);
    });

    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    // One tap from the home screen, before there is any case.
    await page.getByLabel("Capture from files").setInputFiles([video, photo]);
    await visible(page.getByRole("status").filter({ hasText: "2 files added to My captures" }));
    await page.getByRole("link", { name: "My captures" }).click();
    await visible(page.getByRole("heading", { name: "My captures", level: 1 }));
    const card = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "doorway.jpg" }) });
    await visible(card, 60_000);
    const expected = await page.evaluate(() =>
      new Date("2024-03-15T08:30:00Z").toLocaleString(undefined, { year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }),
    );
    const captured = card.getByRole("definition").first();
    expect(await captured.textContent()).toBe(expected);
    expect(await card.getByRole("definition").nth(1).textContent()).not.toBe(expected);
    expect(await card.textContent()).toMatch(/Uploaded.*20\d\d/);
    await page.screenshot({ path: `${shots}/captures-list.png`, fullPage: true });
    // Uploads side by side (issue 19, item 6): the photo did not wait behind the video picked before it.
    await visible(page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "long-video.mp4" }) }), 120_000);
    const bySize = [...sizes].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    expect(bySize).toHaveLength(2);
    expect(completed).toEqual(bySize);

    // A case to file it into, then back to My captures.
    await page.getByRole("link", { name: "Cases" }).first().click();
    await createCase(page, { number: "2026-0100", title: "Shop doorway damage" });
    await page.goto("/captures");
    await card.getByRole("button", { name: "File to a case: doorway.jpg" }).click();
    const form = page.getByRole("form", { name: "File doorway.jpg to a case" });
    await form.getByLabel("Case").selectOption({ label: "2026-0100: Shop doorway damage" });
    await form.getByLabel("Title").fill("Front door, left pane");
    await form.getByLabel("Tags (comma-separated)").fill("damage, doorway");
    await form.getByRole("button", { name: "File to case" }).click();

    // It opens in the case, verified, with the capture time from its EXIF.
    const badge = page.getByRole("region", { name: "Verified" });
    await visible(badge, 60_000);
    expect(new URL(page.url()).searchParams.get("evidence")).toBeTruthy();
    expect(await badge.textContent()).toMatch(/Captured.*2024.*\(from the photo's EXIF\)/);
    await visible(page.getByText("Front door, left pane").first());
    await page.screenshot({ path: `${shots}/captures-filed.png`, fullPage: true });

    // A filed capture goes into the case package like any item: its manifest names the holding
    // place, and npm run verify finds its move into the case in the item's verified audit extract.
    await page.goto(`/cases?case=${new URL(page.url()).searchParams.get("case")}`);
    await page.evaluate(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
    const panel = page.getByRole("region", { name: "Case package" });
    await panel.getByRole("button", { name: "Download case package" }).click();
    await visible(panel.getByRole("group", { name: "Items to include" }).getByRole("checkbox", { name: /Front door, left pane/ }), 30_000);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 120_000 }), panel.getByRole("button", { name: "Save package" }).click()]);
    const zip = join(work, "case-package.zip");
    await download.saveAs(zip);
    const verified = spawnSync("npm", ["run", "verify", "--silent", "--", zip], { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8" });
    expect(verified.status, `${verified.stdout}\n${verified.stderr}`).toBe(0);
    expect(verified.stdout).toContain("OK: the package and all 1 item(s) passed every check.");
    expect(verified.stdout).toMatch(/captured first and filed into case/);
    // Filed: gone from My captures, where the video still waits.
    await page.goto("/captures");
    await visible(page.getByRole("heading", { name: "long-video.mp4" }));
    expect(await page.getByRole("heading", { name: "doorway.jpg" }).count()).toBe(0);
  }, 180_000);
});
