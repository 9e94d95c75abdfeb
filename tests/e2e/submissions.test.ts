/**
 * Submission links end to end in Chromium at phone size (docs/submissions.md): a member makes a
 * public appeal link and sees it as a link and a QR code; someone with no account opens it and
 * sees the instructions and limits, and sends a video and a photo with a statement, encrypted in
 * the browser, through a dropped connection and a reload, to a receipt; once revoked, the link says
 * so plainly. Needs `npx vite build` first (the server runs with --no-build).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/submissions-${name}.png`, fullPage: true });

describe("submission links: made by a member, opened with no account, revoked", () => {
  let server: CustodyServer;
  let browser: Browser;
  let member: Page;
  let witness: Page;
  let linkUrl = "";
  let work = "";

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    member = await (await phoneContext(browser, server.url)).newPage();
    member.on("dialog", (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("a member makes a public appeal link and sees it as a link and a QR code", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(member);
    await createKeys(member, ADMIN.keyPassphrase);
    await expectSignedIn(member);
    await createCase(member, { number: "2026-0888", title: "High Street fire" });
    // The section has loaded its links (none yet) before the form opens: a render it makes as they
    // arrive is not mixed with the choices made in the form.
    await visible(member.getByText("No submission links for this case."));
    await member.getByRole("button", { name: "New submission link…" }).click();
    const form = member.getByRole("form", { name: "New submission link" });
    await form.getByRole("radio", { name: /The public/ }).check();
    await form.getByRole("textbox", { name: "Appeal" }).fill("High Street fire appeal");
    await form.getByRole("textbox", { name: "Instructions" }).fill("Photos or video of the fire on High Street, 6 December, 21:00 to 23:00.");
    await form.getByRole("spinbutton", { name: "Most files" }).fill("3");
    await form.getByRole("button", { name: "Make link" }).click();
    const link = member.getByRole("textbox", { name: "Submission link" });
    await visible(link, 60_000);
    linkUrl = await link.inputValue();
    expect(linkUrl).toMatch(new RegExp(`^${server.url}/submit/[A-Za-z0-9_-]{43}#[A-Za-z0-9_-]{43}$`));
    await visible(member.getByRole("img", { name: "QR code for the link for High Street fire appeal" }));
    await member.getByRole("button", { name: "Done" }).click();
    const card = member.getByRole("list", { name: "Submission links" }).getByRole("listitem");
    await visible(card.getByText("Public appeal · up to 3 files"));
    await shot(member, "member");
  });

  it("a witness with no account sends a video and a photo with a statement, encrypted, through a dropped connection and a reload, and keeps a receipt", async () => {
    server.attachLogOnFailure();
    // A real video of three ciphertext parts (about 19 MB of noisy test pattern) and a photo, each
    // ending with a marker that must never leave the browser in the clear.
    work = mkdtempSync(join(tmpdir(), "custody-submit-"));
    const MARKER = "PLAINTEXT-MARKER-7f3c2a-witness-footage";
    const make = (name: string, args: string[]) => {
      const path = join(work, name);
      const run = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", ...args, path], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${run.stderr}`);
      writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from(MARKER)]));
      return { path, bytes: readFileSync(path) };
    };
    const video = make("fire.mp4", ["-i", "testsrc=duration=4:size=640x360:rate=30,noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "38M", "-maxrate", "38M", "-bufsize", "76M"]);
    const photo = make("street.jpg", ["-i", "testsrc=size=1280x720", "-frames:v", "1"]);
    expect(video.bytes.length).toBeGreaterThan(2 * 8 * 1_048_576);
    const sha512 = (bytes: Buffer) => createHash("sha512").update(bytes).digest("hex");
    const STATEMENT = "I filmed the fire from the bus shelter opposite number 12 at about 21:40.";

    witness = await (await browser.newContext({ baseURL: server.url, viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2, acceptDownloads: true })).newPage();
    witness.on("dialog", (dialog) => void dialog.accept());
    const bodies: { url: string; body: Buffer }[] = [];
    witness.on("request", (request) => {
      const body = request.postDataBuffer();
      if (body || request.method() === "PUT") bodies.push({ url: request.url(), body: body ?? Buffer.alloc(0) });
    });
    // The connection drops after the first part: the other part requests fail until the reload.
    let passed = 0;
    let refused = 0;
    const stored = new Set<string>();
    witness.on("requestfinished", (request) => {
      if (request.method() === "PUT" && request.url().includes("/parts/")) stored.add(new URL(request.url()).pathname);
    });
    await witness.route("**/api/submit/*/submissions/*/files/*/parts/*", async (route) => {
      if (passed >= 1) {
        refused++;
        return void (await route.abort("connectionreset").catch(() => undefined));
      }
      passed++;
      await route.continue();
    });

    await witness.goto(linkUrl);
    await visible(witness.getByText("Photos or video of the fire on High Street"));
    await witness.getByLabel("Photos, videos or documents").setInputFiles([video.path, photo.path]);
    await visible(witness.getByRole("list", { name: "Files to send" }).getByText("fire.mp4"));
    await witness.getByLabel("Your name (optional)").fill("Sam Witness");
    await witness.getByLabel("What does it show? (optional)").fill(STATEMENT);
    await witness.getByRole("button", { name: "Send 2 files" }).click();
    await visible(witness.getByRole("progressbar", { name: "Overall" }), 30_000);
    await expect.poll(() => stored.size, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => refused, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await visible(witness.getByRole("status").filter({ hasText: "Connection problem" }), 30_000);
    await shot(witness, "interrupted");

    await witness.reload();
    await witness.unrouteAll({ behavior: "ignoreErrors" });
    const storedBeforeReload = new Set(stored);
    await witness.getByRole("button", { name: "Continue sending" }).click();
    await visible(witness.getByRole("heading", { name: "Sent" }), 120_000);
    // A part the server had before the reload was sent once: after it, only the missing parts went.
    for (const path of storedBeforeReload) expect(bodies.filter((b) => new URL(b.url).pathname === path).length).toBe(1);

    const receipt = witness.getByRole("list", { name: "Receipt" });
    await visible(receipt.getByText("fire.mp4"));
    await visible(receipt.getByText(sha512(video.bytes)));
    await visible(receipt.getByText(sha512(photo.bytes)));
    await visible(witness.getByText(/sent to Northshire Police/));
    const [download] = await Promise.all([witness.waitForEvent("download"), witness.getByRole("link", { name: "Download receipt" }).click()]);
    const text = readFileSync((await download.path())!, "utf8");
    expect(text).toContain(`SHA-512: ${sha512(video.bytes)}`);
    expect(text).toContain(`SHA-512: ${sha512(photo.bytes)}`);
    await shot(witness, "receipt");

    // Nothing the page sent held the files or the statement in the clear.
    const parts = bodies.filter((b) => b.url.includes("/parts/"));
    expect(parts.length).toBeGreaterThanOrEqual(4);
    // The scan sees the parts' bodies themselves (whole 8 MiB ciphertext parts), not empty stand-ins.
    expect(parts.filter((b) => b.body.length > 8_000_000).length).toBeGreaterThanOrEqual(2);
    const window = video.bytes.subarray(9_000_000, 9_000_064);
    for (const { url, body } of bodies) {
      expect(body.includes(MARKER), url).toBe(false);
      expect(body.includes(window), url).toBe(false);
      expect(body.includes(STATEMENT), url).toBe(false);
      expect(body.includes("Sam Witness"), url).toBe(false);
    }
    // Finished: no token, key or ciphertext stays on the device, only the receipt.
    const left = await witness.evaluate(async () => {
      const opened = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open("custody");
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const rows = await new Promise<Record<string, unknown>[]>((resolve) => {
        const request = opened.transaction("submissionSends").objectStore("submissionSends").getAll();
        request.onsuccess = () => resolve(request.result as Record<string, unknown>[]);
      });
      const uploads = await (await navigator.storage.getDirectory()).getDirectoryHandle("uploads", { create: true });
      const names: string[] = [];
      for await (const name of (uploads as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return { rows: rows.map((row) => Object.keys(row).sort()), files: (rows[0]?.files as unknown[] | undefined)?.length, opfs: names };
    });
    expect(left).toEqual({ rows: [["createdAt", "files", "linkId", "organisation", "receipt", "submissionId"]], files: 0, opfs: [] });
  }, 240_000);

  it("someone with no account opens the link on a phone and sees what is asked; a cut link and a revoked one say so plainly", async () => {
    await witness.goto(linkUrl);
    await visible(witness.getByRole("heading", { name: "Send evidence" }));
    await visible(witness.getByText("Photos or video of the fire on High Street"));
    await visible(witness.getByText(/Up to 3 files, 10\.7 GB in all/));
    // Nothing of the case reaches the page.
    expect(await witness.content()).not.toContain("2026-0888");
    await shot(witness, "open");

    await witness.goto(linkUrl.split("#")[0]!);
    await visible(witness.getByRole("alert").getByText(/This link is incomplete/));

    await member.getByRole("button", { name: "Revoke link for High Street fire appeal" }).click();
    await visible(member.getByRole("list", { name: "Submission links" }).getByText("Revoked", { exact: true }));
    await witness.goto(linkUrl);
    await witness.reload();
    await visible(witness.getByRole("alert").getByText(/closed by the investigators/));
    await shot(witness, "revoked");
  });
});
