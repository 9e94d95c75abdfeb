/**
 * Case package in a real browser against `npm start`: a lead uploads a photo and a video
 * (made by ffmpeg, the video over one 8 MiB ciphertext part), chooses them under "Download case
 * package", and the package built in the browser is saved (the download fallback, then a file
 * picked through the File System Access API); `npm run verify` passes on it, whole and per item,
 * and the case history shows the export.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const PHOTO = "doorway.jpg";
const VIDEO = "stairwell.mp4";

function verify(zip: string) {
  const out = spawnSync("npm", ["run", "verify", "--silent", "--", zip], { cwd: root, encoding: "utf8" });
  return { status: out.status, text: `${out.stdout}\n${out.stderr}`, stdout: out.stdout };
}

describe("case package in the app: a lead downloads it and npm run verify passes", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-casepkg-"));
    const photo = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", join(work, PHOTO)], { encoding: "utf8" });
    if (photo.status !== 0) throw new Error(`ffmpeg failed: ${photo.stderr}`);
    const video = spawnSync(
      "ffmpeg",
      ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=3:size=640x360:rate=30,noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "28M", "-maxrate", "28M", "-bufsize", "56M", "-movflags", "+faststart", join(work, VIDEO)],
      { encoding: "utf8" },
    );
    if (video.status !== 0) throw new Error(`ffmpeg failed: ${video.stderr}`);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("a lead uploads a photo and a video", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await visible(page.getByRole("navigation", { name: "Main" }), 30_000);
    await createCase(page, { number: "2026-0099", title: "Stairwell assault" });
    await page.getByLabel("Add photos, videos or documents").setInputFiles([join(work, PHOTO), join(work, VIDEO)]);
    await visible(page.getByRole("link", { name: /^Open doorway\.jpg/ }), 90_000);
    await visible(page.getByRole("link", { name: /^Open stairwell\.mp4/ }), 90_000);
  }, 240_000);

  it("downloads the case package (no File System Access: the download fallback) and npm run verify passes", async () => {
    server.attachLogOnFailure();
    await page.evaluate(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
    const panel = page.getByRole("region", { name: "Case package" });
    await panel.getByRole("button", { name: "Download case package" }).click();
    const items = panel.getByRole("group", { name: "Items to include" });
    await visible(items.getByRole("checkbox", { name: /doorway\.jpg/ }), 30_000);
    expect(await items.getByRole("checkbox", { name: /stairwell\.mp4/ }).isChecked()).toBe(true);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 120_000 }), panel.getByRole("button", { name: "Save package" }).click()]);
    expect(download.suggestedFilename()).toMatch(/^case-2026-0099-package-\d{4}-\d\d-\d\d\.zip$/);
    const zip = join(work, "case-package.zip");
    await download.saveAs(zip);
    await visible(panel.getByRole("status").filter({ hasText: /Downloaded case-2026-0099-package-.*\.zip/ }), 30_000);

    const files = unzipSync(readFileSync(zip));
    const names = Object.keys(files);
    expect(names.slice(0, 4)).toEqual(["VERIFY.txt", "case.json", "SHA512SUMS", "chain-of-custody.pdf"]);
    expect(names.filter((n) => n.includes("/original/")).map((n) => n.split("/original/")[1]).sort()).toEqual([PHOTO, VIDEO]);
    const original = names.find((n) => n.endsWith(`/original/${VIDEO}`))!;
    expect(Buffer.from(files[original]!).equals(readFileSync(join(work, VIDEO)))).toBe(true);

    const result = verify(zip);
    expect(result.status, result.text).toBe(0);
    expect(result.stdout).toContain("Case package");
    expect(result.stdout).toContain("OK: the package and all 2 item(s) passed every check.");
    expect(result.stdout).toContain(`${ADMIN.name} <${ADMIN.email}>`);
    // The extract was fetched after the export was recorded: it shows it.
    const extract = new TextDecoder().decode(files[names.find((n) => n.endsWith("audit.jsonl"))!]);
    expect(extract).toContain('"action":"evidence.export"');
  }, 240_000);

  it("saves to a file picked through the File System Access API, which also verifies; the history shows both exports", async () => {
    server.attachLogOnFailure();
    await page.reload();
    // The save dialog is the operating system's: stand in for it with a file in the origin's private storage.
    await page.evaluate(() => {
      (window as unknown as { showSaveFilePicker: () => Promise<FileSystemFileHandle> }).showSaveFilePicker = async () =>
        (await navigator.storage.getDirectory()).getFileHandle("picked-case-package.zip", { create: true });
    });
    const panel = page.getByRole("region", { name: "Case package" });
    await panel.getByRole("button", { name: "Download case package" }).click();
    const items = panel.getByRole("group", { name: "Items to include" });
    await visible(items.getByRole("checkbox", { name: /doorway\.jpg/ }), 30_000);
    await panel.getByRole("button", { name: "Save package" }).click();
    await visible(panel.getByRole("status").filter({ hasText: "Saved picked-case-package.zip" }), 120_000);
    const base64 = await page.evaluate(async () => {
      const file = await (await (await navigator.storage.getDirectory()).getFileHandle("picked-case-package.zip")).getFile();
      const bytes = new Uint8Array(await file.arrayBuffer());
      let text = "";
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    });
    const zip = join(work, "picked.zip");
    writeFileSync(zip, Buffer.from(base64, "base64"));
    const result = verify(zip);
    expect(result.status, result.text).toBe(0);
    expect(result.stdout).toContain("OK: the package and all 2 item(s) passed every check.");

    const history = page.getByRole("region", { name: "Case history" });
    await page.reload();
    await visible(history, 30_000);
    await visible(history.getByText("exported a case package").first(), 30_000);
  }, 240_000);

  it("shows progress and cancels: the partial package is discarded and nothing is downloaded", async () => {
    server.attachLogOnFailure();
    await page.reload();
    await page.evaluate(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
    // Slow ciphertext parts, so the build is still running when Cancel is pressed.
    await page.route("**/api/evidence/*/parts/*", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue().catch(() => undefined);
    });
    let downloaded = false;
    page.on("download", () => (downloaded = true));
    const panel = page.getByRole("region", { name: "Case package" });
    await panel.getByRole("button", { name: "Download case package" }).click();
    await visible(panel.getByRole("group", { name: "Items to include" }).getByRole("checkbox", { name: /stairwell\.mp4/ }), 30_000);
    await panel.getByRole("button", { name: "Save package" }).click();
    const progress = panel.getByRole("progressbar", { name: "Case package" });
    await visible(progress, 30_000);
    await panel.getByRole("button", { name: "Cancel package" }).click();
    await visible(panel.getByRole("alert").filter({ hasText: "Cancelled: the partial package was discarded." }), 30_000);
    await visible(panel.getByRole("button", { name: "Download case package" }));
    await page.unroute("**/api/evidence/*/parts/*");
    expect(downloaded).toBe(false);
    const left = await page.evaluate(async () => {
      const views = await (await navigator.storage.getDirectory()).getDirectoryHandle("views", { create: true });
      const names: string[] = [];
      for await (const name of (views as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    });
    expect(left).not.toContain("case-package.zip");
  }, 240_000);
});
