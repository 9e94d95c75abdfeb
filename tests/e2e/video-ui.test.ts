/**
 * Video requests in the web app, in Chromium against `npm start` (or `npm run start:deno` in the
 * e2e-deno project), with the real site agent and
 * real ffmpeg: an administrator registers a site and downloads its configuration file, the
 * agent enrols with it, the investigator picks a camera and sends a request, the site
 * operator approves it in their inbox (count badge), and the clip appears in the case,
 * verified and playing, with its provenance. Role locators only. Needs `npx vite build` first.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { addUserByApi, Person } from "./api-client";
import { ADMIN, createCase, createKeys, playVideo, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const shots = resolve(root, "test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/video-${name}.png`, fullPage: true });

/** "YYYY-MM-DDTHH:mm" in this machine's time zone (Chromium's too), for a datetime-local input. */
function localMinute(t: number): string {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

describe("video requests in the web app", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let operatorPage: Page;
  let work: string;
  let agent: ChildProcess | null = null;
  const agentLog: string[] = [];
  let t0: number;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-video-ui-"));
    // Ten 10-second segments (a keyframe every second), starting on a minute two hours ago.
    t0 = Math.floor((Date.now() - 2 * 3600_000) / 60_000) * 60_000;
    mkdirSync(join(work, "recordings", "entrance"), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const name = `${new Date(t0 + i * 10_000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}.mp4`;
      const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-movflags", "+faststart", join(work, "recordings", "entrance", name)], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
    }
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  }, 240_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill("SIGTERM");
      await new Promise((done) => agent!.once("exit", done));
    }
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("registers a site, enrols its agent from the downloaded file, requests video, and the operator's approval delivers a verified, playing clip into the case", async () => {
    server.attachLogOnFailure();
    onTestFailed(() => console.error(`--- agent log ---\n${agentLog.join("").slice(-10_000)}`));
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);

    // A case to receive the video.
    await createCase(page, { number: "2026-0107", title: "Shop robbery" });

    // A site operator (their account made over the API; they sign in below).
    const session = (await page.context().cookies()).find((c) => c.name === "custody_session")!;
    const admin = new Person(server.url, `custody_session=${session.value}`, "");
    const olive = await addUserByApi(admin, { email: "olive@example.org", name: "Olive Operator", role: "site_operator" });

    // Admin → Sites: register, download the configuration file, add the operator.
    await page.goto("/admin/sites");
    await visible(page.getByRole("heading", { name: "Sites", level: 1 }));
    await page.getByRole("button", { name: "Register a site" }).click();
    await page.getByLabel("Site name").fill("Corner Shop");
    await page.getByLabel("Address").fill("1 High Street");
    await page.getByRole("button", { name: "Register and make the configuration file" }).click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download configuration file" }).click()]);
    const config = JSON.parse(readFileSync((await download.path())!, "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ type: "custody-site-config", server: server.url, siteName: "Corner Shop" });
    await page.getByRole("button", { name: "Done" }).click();
    const card = page.getByRole("article", { name: "Corner Shop" });
    await card.getByLabel("Add an operator").selectOption({ label: "Olive Operator (olive@example.org)" });
    await card.getByRole("button", { name: "Add", exact: true }).click();
    await visible(card.getByText("Olive Operator (olive@example.org)"));

    // At the site: the file completed with the archive and the camera, and the agent started.
    const sitePath = join(work, "site.json");
    writeFileSync(
      sitePath,
      JSON.stringify({ ...config, archive: "./recordings", dataDir: "./agent-data", cameras: [{ archiveId: "entrance", name: "Entrance", latitude: 51.5007, longitude: -0.1246, direction: 90, recorderId: "nvr-1" }] }),
    );
    agent = spawn(process.execPath, ["agent/main.ts", "--config", sitePath], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    agent.stdout!.on("data", (c: Buffer) => agentLog.push(c.toString()));
    agent.stderr!.on("data", (c: Buffer) => agentLog.push(c.toString()));
    // The page shows the agent come online by itself.
    await visible(page.getByRole("article", { name: "Corner Shop" }).getByText("Agent connected"), 30_000);

    // The investigator finds the camera, nearest first, and asks for one minute of it.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cameras" }).click();
    await page.getByLabel("Latitude").fill("51.5009");
    await page.getByLabel("Longitude").fill("-0.1248");
    await page.getByRole("button", { name: "Sort by distance" }).click();
    await visible(page.getByText(/Corner Shop · \d+ m away · facing E/));
    await page.getByRole("checkbox", { name: /Entrance/ }).check();
    const request = page.getByRole("form", { name: "Request video" });
    // No case is chosen for the investigator: sending without one is refused in place.
    await expect.poll(() => request.getByLabel("Case").inputValue()).toBe("");
    await visible(request.getByText(/Times are in this device's time zone/));
    await request.getByRole("button", { name: "Send request" }).click();
    await visible(request.getByText("Choose the case the video is for."));
    // Started from the case page instead, the form has that case chosen.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cases" }).click();
    await page.getByRole("link", { name: /Shop robbery/ }).first().click();
    await page.getByRole("link", { name: "Request CCTV video for this case" }).click();
    await page.getByRole("checkbox", { name: /Entrance/ }).check();
    await expect.poll(() => request.getByLabel("Case").inputValue(), { timeout: 20_000 }).not.toBe("");
    expect(await request.getByLabel("Case").locator("option:checked").textContent()).toBe("2026-0107: Shop robbery");
    await request.getByLabel("From").fill(localMinute(t0));
    await request.getByLabel("To").fill(localMinute(t0 + 60_000));
    await request.getByLabel("Reason").fill("Robbery at the till at 14:05");
    await request.getByRole("button", { name: "Send request" }).click();
    await visible(page.getByRole("heading", { name: "Requests", level: 1 }));
    // Status changes show by themselves: exported and held at the site.
    await visible(page.getByRole("status").filter({ hasText: "Held, awaiting approval" }), 30_000);
    await shot(page, "investigator-held");

    // The site operator signs in (no key passphrase is asked: they hold no evidence keys) and sees the request in their inbox, with no case.
    const operatorContext = await phoneContext(browser, server.url);
    await operatorContext.addCookies([{ name: "custody_session", value: olive.cookie.split("=")[1]!, url: server.url }]);
    operatorPage = await operatorContext.newPage();
    await operatorPage.goto("/");
    await visible(operatorPage.getByRole("heading", { name: "Requests inbox", level: 1 }), 20_000);
    await visible(operatorPage.getByRole("navigation", { name: "Main" }).getByLabel("1 awaiting your decision"));
    const inbox = operatorPage.getByRole("region", { name: /Awaiting your decision/ });
    await visible(inbox.getByText("Robbery at the till at 14:05"));
    expect(await operatorPage.getByText("Shop robbery").count()).toBe(0);
    expect(await operatorPage.getByText("2026-0107").count()).toBe(0);
    await shot(operatorPage, "operator-inbox");
    expect(await operatorPage.getByLabel(/key passphrase/i).count()).toBe(0);
    // Approve asks first, like Deny; Cancel changes nothing.
    await inbox.getByRole("button", { name: "Approve and send" }).click();
    const confirmApprove = inbox.getByRole("form", { name: "Approve the request" });
    await visible(confirmApprove.getByText(/to Ada Admin\?|cannot be called back/));
    await confirmApprove.getByRole("button", { name: "Cancel" }).click();
    await visible(inbox.getByRole("status").filter({ hasText: "Held, awaiting approval" }));
    await inbox.getByRole("button", { name: "Approve and send" }).click();
    await inbox.getByRole("form", { name: "Approve the request" }).getByRole("button", { name: "Yes, approve and send" }).click();
    await visible(operatorPage.getByRole("status").filter({ hasText: /Approved, sending|Delivered/ }));

    // The investigator's page turns delivered and links to the clip, which verifies and plays.
    await visible(page.getByRole("status").filter({ hasText: "Delivered" }), 60_000);
    await page.getByRole("link", { name: "open the clip" }).click();
    const badge = page.getByRole("region", { name: "Verified" });
    await visible(badge, 60_000);
    await visible(badge.getByText("Corner Shop (site agent)"));
    const provenance = page.getByRole("region", { name: "Requested video" });
    await visible(provenance.getByText(/Entrance · Corner Shop · facing E/));
    await visible(provenance.getByText(/by Olive Operator/));
    const played = await playVideo(page);
    expect(played.now).toBeGreaterThan(played.start);
    expect(Math.abs(played.duration - 60)).toBeLessThanOrEqual(1);
    await shot(page, "delivered-verified");

    // The case's history tells the story from the audit trail, the site agent's steps included.
    await page.getByRole("link", { name: /Shop robbery/ }).first().click();
    const history = page.getByRole("list", { name: "Case history" });
    await visible(history.getByText("requested video from a site"));
    await visible(history.getByText(/site agent Corner Shop exported and encrypted a clip, held at the site/));
    await visible(history.getByText(/olive@example\.org approved the video request/));
    await visible(history.getByText(/site agent Corner Shop delivered requested video/));
  }, 240_000);
});
