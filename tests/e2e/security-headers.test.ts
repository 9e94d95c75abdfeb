/**
 * Security headers on every response (issue 14, item 2), in Chromium against `npm start` (and
 * `npm run start:deno` with CUSTODY_E2E_RUNTIME=deno): the HTML, the scripts, the service worker,
 * the manifest and the API's JSON all carry the Content-Security-Policy and the other headers of
 * worker/src/lib/security-headers.ts; another site cannot frame the app; and a walk through every
 * screen (setup, MFA, sign-in, cases, a case, a photo and a video in the viewer, uploads, cameras
 * with the map, requests, sites, users, settings, identity provider, audit, security, key
 * settings) raises no CSP violation, in the page or its Web Workers. Needs `npx vite build` first.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, ConsoleMessage, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { SiteCreated } from "../../shared/api/video";
import { API_HEADERS, APP_HEADERS } from "../../worker/src/lib/security-headers";
import { Person, waitFor } from "./api-client";
import { ADMIN, createCase, createKeys, playVideo, setUpThroughUi, signIn, signOut, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";
import { TileServer } from "./tile-server";

const root = resolve(import.meta.dirname, "../..");

/** A CSP violation or refusal, however the browser reports it: the DOM event, or a console line (page or Web Worker). */
const CSP_CONSOLE = /Content[- ]Security[- ]Policy|Refused to (load|execute|apply|connect|compile|create|frame|evaluate)/i;

describe("security headers and the Content-Security-Policy", () => {
  let server: CustodyServer;
  let tiles: TileServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let work: string;
  let agent: ChildProcess | undefined;
  const violations: string[] = [];
  const agentLog: string[] = [];

  const onConsole = (where: string) => (message: ConsoleMessage) => {
    if (CSP_CONSOLE.test(message.text())) violations.push(`${where} console: ${message.text()}`);
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-csp-"));
    mkdirSync(join(work, "recordings"));
    mkdirSync(join(work, "agent-data"));
    server = await CustodyServer.start();
    tiles = await TileServer.start();
    browser = await launchBrowser();
    context = await phoneContext(browser, server.url);
    await context.exposeFunction("reportCspViolation", (text: string) => violations.push(`event: ${text}`));
    await context.addInitScript(() => {
      const report = (where: string) => (e: SecurityPolicyViolationEvent) =>
        void (window as unknown as { reportCspViolation(t: string): void }).reportCspViolation(`${where} ${e.effectiveDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber}) on ${location.pathname}`);
      document.addEventListener("securitypolicyviolation", report("document"));
    });
    page = await context.newPage();
    page.on("console", onConsole("page"));
    page.on("worker", (worker) => worker.on("console", onConsole(`worker ${worker.url()}`)));
  }, 180_000);

  afterAll(async () => {
    agent?.kill("SIGTERM");
    await browser?.close();
    await tiles?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("puts the headers on the HTML (any in-app path), the scripts, the service worker, the manifest, and the API's JSON", async () => {
    server.attachLogOnFailure();
    const navigate = { Accept: "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document" };
    const index = await fetch(`${server.url}/`, { headers: navigate });
    const html = await index.text();
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
    const stylesheet = /<link rel="stylesheet" crossorigin href="([^"]+)"/.exec(html)?.[1];
    expect(script && stylesheet, html).toBeTruthy();
    const app = [
      ["/", index],
      ["/cases?case=x (single-page-app fallback)", await fetch(`${server.url}/cases?case=x`, { headers: navigate })],
      [script!, await fetch(`${server.url}${script}`)],
      [stylesheet!, await fetch(`${server.url}${stylesheet}`)],
      ["/sw.js", await fetch(`${server.url}/sw.js`)],
      ["/manifest.webmanifest", await fetch(`${server.url}/manifest.webmanifest`)],
      ["/favicon.svg", await fetch(`${server.url}/favicon.svg`)],
    ] as const;
    for (const [what, response] of app) {
      expect(response.status, what).toBe(200);
      for (const [name, value] of Object.entries(APP_HEADERS)) expect(response.headers.get(name), `${name} of ${what}`).toBe(value);
    }
    expect(app[0][1].headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    // The build's rules file is for the host, not a file of the app.
    expect(await (await fetch(`${server.url}/_headers`)).text()).not.toContain("Content-Security-Policy:");

    const api = [
      ["/api/health", await fetch(`${server.url}/api/health`)],
      ["/api/no-such-route (404)", await fetch(`${server.url}/api/no-such-route`)],
      ["/api/auth/session (401)", await fetch(`${server.url}/api/auth/session`)],
    ] as const;
    for (const [what, response] of api) {
      for (const [name, value] of Object.entries(API_HEADERS)) expect(response.headers.get(name), `${name} of ${what}`).toBe(value);
    }
  });

  it("cannot be framed by another site", async () => {
    server.attachLogOnFailure();
    const framer = await context.newPage();
    await framer.setContent(`<iframe title="framed" src="${server.url}/"></iframe>`);
    const frame = framer.frames().find((f) => f !== framer.mainFrame())!;
    await framer.waitForTimeout(2000);
    // Refused by frame-ancestors: Chromium puts its error page in the frame, never the app.
    expect(frame.url()).not.toBe(`${server.url}/`);
    expect(await framer.frameLocator("iframe").getByRole("heading").count()).toBe(0);
    await framer.close();
    violations.length = 0; // the refused frame is reported as a violation: that one was the point
  });

  it("raises no CSP violation on any screen: setup, MFA, sign-in, cases, a photo and a video, uploads, cameras with the map, and every admin and settings page", async () => {
    server.attachLogOnFailure();
    onTestFailed(() => page.screenshot({ path: resolve(root, "test-results/e2e/security-headers-failed.png"), fullPage: true }).then(() => undefined));
    onTestFailed(() => console.error(`violations:\n${violations.join("\n")}\n--- agent log ---\n${agentLog.join("").slice(-5000)}`));
    const heading = async (path: string) => {
      await page.goto(path);
      await visible(page.getByRole("heading", { level: 1 }), 20_000);
      await page.waitForTimeout(500);
    };

    // Setup, MFA enrolment, keys; then out and in again (sign-in and the second step).
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await visible(page.getByRole("navigation", { name: "Main" }), 30_000);
    await signOut(page, ADMIN.name);
    await signIn(page, ADMIN.email, ADMIN.password);
    const unlock = page.getByRole("heading", { name: "Unlock your keys" });
    if (await unlock.isVisible().catch(() => false)) {
      await page.getByLabel("Key passphrase").fill(ADMIN.keyPassphrase);
      await page.getByRole("button", { name: /Unlock/ }).click();
    }
    await visible(page.getByRole("navigation", { name: "Main" }), 30_000);

    // A case, a photo and a video in it, each opened in the viewer (decrypted in a Web Worker with hash-wasm).
    await heading("/cases");
    await createCase(page, { number: "2026-0099", title: "Headers walk" });
    const photo = join(work, "scene.png");
    const video = join(work, "clip.mp4");
    for (const [file, args] of [
      [photo, ["-f", "lavfi", "-i", "color=c=teal:s=320x240", "-frames:v", "1"]],
      [video, ["-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=15", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]],
    ] as const) {
      const made = spawnSync("ffmpeg", ["-v", "error", "-y", ...args, file], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
    }
    const caseUrl = page.url();
    await page.getByLabel("Add photos, videos or documents").setInputFiles([photo, video]);
    await visible(page.getByRole("link", { name: /^Open scene\.png/ }), 60_000);
    await visible(page.getByRole("link", { name: /^Open clip\.mp4/ }), 60_000);
    await page.getByRole("link", { name: /^Open scene\.png/ }).click();
    // Streamed through the service worker (/view/…) or, without one, an object URL: either way it must load.
    const image = page.getByRole("img", { name: "scene.png" });
    await visible(image, 30_000);
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.goto(caseUrl);
    await page.getByRole("link", { name: /^Open clip\.mp4/ }).click();
    const played = await playVideo(page);
    expect(played.now).toBeGreaterThan(played.start);

    // The map's tile server, a site whose agent lists a located camera, and Cameras with the map.
    await heading("/admin/settings");
    const settings = page.getByRole("form", { name: "Organisation settings" });
    await settings.getByLabel("Map tile URL").fill(tiles.template);
    await settings.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Settings saved" }));
    const session = (await context.cookies()).find((c) => c.name === "custody_session")!;
    const admin = new Person(server.url, `custody_session=${session.value}`, "");
    const site = await admin.json<SiteCreated>("/api/sites", { body: { name: "Corner Shop", address: "1 High Street", holdDays: 30 } });
    const sitePath = join(work, "site.json");
    const cameras = [{ archiveId: "entrance", name: "Entrance", latitude: 51.5007, longitude: -0.1246, direction: 90, recorderId: "nvr-1" }];
    writeFileSync(sitePath, JSON.stringify({ ...site.config, archive: "./recordings", dataDir: "./agent-data", cameras }));
    agent = spawn(process.execPath, [resolve(root, "agent/main.ts"), "--config", sitePath], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    agent.stdout!.on("data", (c: Buffer) => agentLog.push(c.toString()));
    agent.stderr!.on("data", (c: Buffer) => agentLog.push(c.toString()));
    await waitFor(() => admin.json<{ cameras: unknown[] }>("/api/cameras"), (r) => r.cameras.length === 1, "the agent's camera", 30_000);
    await heading("/cameras");
    await visible(page.getByRole("region", { name: /map/i }).or(page.locator(".leaflet-container")).first(), 30_000);
    await visible(page.locator(".leaflet-tile-loaded").first(), 30_000);
    expect(tiles.served.length).toBeGreaterThan(0);

    for (const path of ["/uploads", "/requests", "/admin/sites", "/admin/users", "/admin/settings", "/admin/sign-in", "/audit", "/settings/security", "/settings/keys"]) {
      await heading(path);
    }
    expect(violations).toEqual([]);
  });
});
