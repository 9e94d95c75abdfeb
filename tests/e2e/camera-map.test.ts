/**
 * The Cameras map in Chromium against `npm start`: an administrator points the map at a tile
 * server (a local HTTP server started here, answering every tile with a generated PNG) in Admin
 * → Settings; the real site agent syncs two located cameras; Cameras shows the map with one
 * marker per camera, and clicking a marker picks that camera for the request form. Then the
 * tile server fails: the map goes (on the next view, and on a fresh visit) and the list stays.
 * Needs `npx vite build` first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { SiteCreated } from "../../shared/api/video";
import { Person, waitFor } from "./api-client";
import { ADMIN, createKeys, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";
import { TileServer } from "./tile-server";

const root = resolve(import.meta.dirname, "../..");

describe("the Cameras map", () => {
  let server: CustodyServer;
  let tiles: TileServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let agent: ChildProcess | null = null;
  const agentLog: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-map-"));
    mkdirSync(join(work, "recordings"), { recursive: true });
    tiles = await TileServer.start();
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    page.on("pageerror", (error) => pageErrors.push(String(error.stack ?? error)));
  }, 240_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill("SIGTERM");
      await new Promise((done) => agent!.once("exit", done));
    }
    await browser?.close();
    await server?.dispose();
    await tiles?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("shows a marker per camera on the configured tiles, picks a camera by its marker, and hides when the tiles fail while the list stays", async () => {
    server.attachLogOnFailure();
    onTestFailed(() => page.screenshot({ path: resolve(root, "test-results/e2e/camera-map-failed.png"), fullPage: true }).then(() => undefined));
    onTestFailed(() => console.error(`--- agent log ---\n${agentLog.join("").slice(-10_000)}\ntiles served: ${tiles.served.length}, refused: ${tiles.refused.join(" ")}\npage errors: ${pageErrors.join("\n")}`));
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await visible(page.getByRole("navigation", { name: "Main" }), 30_000);

    // Admin → Settings: the map's tile server, checked before it is saved.
    await page.goto("/admin/settings");
    const settings = page.getByRole("form", { name: "Organisation settings" });
    await visible(settings.getByLabel("Map tile URL"));
    expect(await settings.getByLabel("Map tile URL").inputValue()).toBe("https://tile.openstreetmap.org/{z}/{x}/{y}.png");
    await settings.getByLabel("Map tile URL").fill(`http://tiles.example.org:${tiles.port}/tiles/{z}/{x}/{y}.png`);
    await settings.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByText("The tile URL must start with https:// (http:// only for localhost)."));
    await settings.getByLabel("Map tile URL").fill(tiles.template);
    await settings.getByLabel("Map attribution").fill("Test tiles, generated");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Settings saved" }));

    // A site whose agent lists two located cameras (one facing east, one west).
    const session = (await page.context().cookies()).find((c) => c.name === "custody_session")!;
    const admin = new Person(server.url, `custody_session=${session.value}`, "");
    const site = await admin.json<SiteCreated>("/api/sites", { body: { name: "Corner Shop", address: "1 High Street", holdDays: 30 } });
    const cameras = [
      { archiveId: "entrance", name: "Entrance", latitude: 51.5007, longitude: -0.1246, direction: 90, recorderId: "nvr-1" },
      { archiveId: "car-park", name: "Car park", latitude: 51.501, longitude: -0.125, direction: 270, recorderId: "nvr-1" },
    ];
    const sitePath = join(work, "site.json");
    writeFileSync(sitePath, JSON.stringify({ ...site.config, archive: "./recordings", dataDir: "./agent-data", cameras }));
    agent = spawn(process.execPath, ["agent/main.ts", "--config", sitePath], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    agent.stdout!.on("data", (c: Buffer) => agentLog.push(c.toString()));
    agent.stderr!.on("data", (c: Buffer) => agentLog.push(c.toString()));
    await waitFor(() => admin.json<{ cameras: unknown[] }>("/api/cameras"), (r) => r.cameras.length === 2, "the agent's cameras", 30_000);

    // Cameras: the map, on the local tiles, with one marker per camera.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cameras" }).click();
    const map = page.getByRole("region", { name: "Map of cameras" });
    await visible(map);
    await visible(map.getByText("Test tiles, generated"));
    const markers = map.getByRole("button", { name: /, Corner Shop$/ });
    await expect.poll(() => markers.count()).toBe(2);
    expect(tiles.served.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator(".camera-map img.leaflet-tile-loaded").count()).toBeGreaterThan(0);
    await page.screenshot({ path: resolve(root, "test-results/e2e/camera-map.png"), fullPage: true });

    // A marker picks its camera for the request form (and its checkbox in the list).
    const entrance = map.getByRole("button", { name: "Entrance, Corner Shop" });
    await entrance.click();
    await expect.poll(() => entrance.getAttribute("aria-pressed")).toBe("true");
    expect(await page.getByRole("checkbox", { name: /Entrance/ }).isChecked()).toBe(true);
    expect(await page.getByRole("checkbox", { name: /Car park/ }).isChecked()).toBe(false);
    await visible(page.getByRole("form", { name: "Request video" }));
    await visible(page.getByText("From Entrance."));
    // Again: un-picked, like its checkbox.
    await entrance.click();
    await expect.poll(() => page.getByRole("checkbox", { name: /Entrance/ }).isChecked()).toBe(false);
    expect(await page.getByRole("form", { name: "Request video" }).count()).toBe(0);

    // The tile server fails: the next view's tiles don't load, so the map goes and the list stays.
    tiles.failing = true;
    await map.getByRole("button", { name: "Zoom in" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Map unavailable" }));
    expect(await map.count()).toBe(0);
    await visible(page.getByRole("checkbox", { name: /Entrance/ }));
    await visible(page.getByRole("checkbox", { name: /Car park/ }));

    // A fresh visit probes a tile first and shows no map at all.
    const refusedBefore = tiles.refused.length;
    await page.reload();
    await visible(page.getByRole("checkbox", { name: /Car park/ }));
    await visible(page.getByRole("status").filter({ hasText: "Map unavailable" }));
    expect(tiles.refused.length).toBeGreaterThan(refusedBefore);
    expect(await page.getByRole("region", { name: "Map of cameras" }).count()).toBe(0);
    await page.getByRole("checkbox", { name: /Car park/ }).check();
    await visible(page.getByRole("form", { name: "Request video" }));
  });
});
