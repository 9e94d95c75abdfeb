/**
 * The installed, offline-first app in Chromium against `npm start` (issue 8):
 *  - installable: Chromium reports no installability error (manifest with icons including a
 *    maskable one, standalone, theme colour, a service worker controlling the page);
 *  - offline: the app opens offline after a reload, signed in; the cases and the case saved on
 *    the device are shown, marked as saved; an item kept offline opens, decrypted and verified
 *    on the device; a photo captured offline is encrypted and queued, and uploads by itself when
 *    the connection is back, then verifies; the offline viewing reaches the audit trail exactly
 *    once even when the answer to its first sending is lost;
 *  - the page closed in the middle of the queue: reopened, the upload completes;
 *  - closed with a capture queued offline: Background Sync uploads it with no page open;
 *  - the session ended on the server while offline: back online the app asks to sign in again,
 *    and the queued capture uploads after sign-in, nothing lost;
 *  - a file shared from another app (Web Share Target) opens "Add to case", and is uploaded there.
 * Role locators only. Needs `npx vite build` first (the server runs with --no-build).
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BrowserContext, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, completeMfaIfAsked, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, phoneProfile } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const shots = resolve(root, "test-results/e2e");
mkdirSync(shots, { recursive: true });
const MiB = 1024 * 1024;

describe("offline-first PWA: installable, works offline, queues captures, shares in", () => {
  let server: CustodyServer;
  let context: BrowserContext;
  let page: Page;
  let work: string;
  let caseUrl: string;
  const shot = (name: string) => page.screenshot({ path: `${shots}/pwa-${name}.png`, fullPage: true });

  /** A small real image (ffmpeg), `name` in the work folder; returns its path and SHA-512. */
  function photo(name: string, colour: string): { path: string; sha512: string } {
    const path = join(work, name);
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `color=c=${colour}:s=320x240`, "-frames:v", "1", path], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
    return { path, sha512: createHash("sha512").update(readFileSync(path)).digest("hex") };
  }

  const evidenceLink = (name: string) => page.getByRole("link", { name: new RegExp(`^Open ${name.replaceAll(".", "\\.")}`) });

  /** The item is listed on the case page once uploaded; its manifest states the file's SHA-512; it opens verified. */
  async function expectUploadedAndVerified(name: string, sha512: string): Promise<string> {
    const link = evidenceLink(name);
    await visible(link, 120_000);
    const evidenceId = new URL((await link.getAttribute("href"))!, server.url).searchParams.get("evidence")!;
    const item = (await (await page.request.get(`/api/evidence/${evidenceId}`)).json()) as { status: string; manifest: string };
    expect(item.status).toBe("complete");
    expect(JSON.parse(Buffer.from(item.manifest.split(".")[1]!, "base64url").toString()).sha512).toBe(sha512);
    await link.click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    await page.getByRole("link", { name: /^← / }).click();
    return evidenceId;
  }

  async function newPage(): Promise<Page> {
    page = await context.newPage();
    page.on("pageerror", (error) => console.error("page error:", error));
    return page;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-pwa-"));
    server = await CustodyServer.start();
    context = await phoneProfile(join(work, "profile"), server.url);
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (error) => console.error("page error:", error));
  });

  afterAll(async () => {
    await context?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is installable: manifest, icons (maskable too), standalone, theme colour, share target, a controlling service worker", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = (await cdp.send("Page.getInstallabilityErrors")) as { installabilityErrors: { errorId: string }[] };
    expect(installabilityErrors).toEqual([]);
    const { errors } = (await cdp.send("Page.getAppManifest")) as { errors: { message: string }[] };
    expect(errors).toEqual([]);
    await cdp.detach();

    const manifest = (await (await page.request.get("/manifest.webmanifest")).json()) as {
      display: string;
      theme_color: string;
      start_url: string;
      icons: { src: string; sizes: string; purpose: string }[];
      share_target: { action: string; method: string; enctype: string; params: { files: { name: string; accept: string[] }[] } };
    };
    expect(manifest).toMatchObject({ display: "standalone", theme_color: "#16324f", start_url: "/" });
    expect(manifest.icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual(expect.arrayContaining(["192x192 any", "512x512 any", "512x512 maskable"]));
    for (const icon of manifest.icons) expect((await page.request.get(icon.src)).headers()["content-type"]).toBe("image/png");
    expect(manifest.share_target).toMatchObject({ action: "/share-target", method: "POST", enctype: "multipart/form-data" });
    expect(manifest.share_target.params.files[0]!.accept).toContain("video/*");
  }, 120_000);

  it("opens offline, signed in, with the cases and evidence saved on the device; a kept item opens verified; a capture queues and uploads when back online", async () => {
    server.attachLogOnFailure();
    await createCase(page, { number: "2026-0311", title: "Harbour theft" });
    caseUrl = new URL(page.url()).pathname + new URL(page.url()).search;

    // Online: a photo, opened once and kept offline.
    const first = photo("quay.png", "navy");
    await page.getByLabel("Add photos, videos or documents").setInputFiles(first.path);
    const keptId = await expectUploadedAndVerified("quay.png", first.sha512);
    await evidenceLink("quay.png").click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    await page.getByRole("button", { name: "Keep offline" }).click();
    await visible(page.getByText("Kept on this device"), 30_000);
    await page.getByRole("link", { name: /^← / }).click();
    await visible(page.getByRole("list", { name: "Evidence items" }).getByText("Kept offline"));
    await page.getByRole("link", { name: "← Cases" }).click();
    await visible(page.getByRole("link", { name: /2026-0311.*Harbour theft/ }));

    // The signal goes; the app is reloaded (as when opened from the home screen).
    await context.setOffline(true);
    await page.reload();
    await visible(page.getByRole("status").filter({ hasText: "Offline. You see what this device saved" }), 30_000);
    await expectSignedIn(page);
    await visible(page.getByText(/Offline: your cases as saved on this device/));
    await page.getByRole("link", { name: /2026-0311.*Harbour theft/ }).click();
    await visible(page.getByRole("heading", { name: "Harbour theft", level: 1 }));
    await visible(page.getByText(/Offline: this case as saved on this device/));
    await shot("offline-case");

    // The kept item opens from the device: decrypted and verified here, the viewing recorded.
    await evidenceLink("quay.png").click();
    await visible(page.getByRole("region", { name: "Verified" }), 60_000);
    await visible(page.getByText("Opened from the copy kept on this device (offline)."));
    await visible(page.getByRole("img", { name: "quay.png" }));
    await shot("offline-verified");
    await page.getByRole("link", { name: /^← / }).click();

    // A photo taken offline: encrypted at once and queued.
    const second = photo("dock.png", "olive");
    await page.getByLabel("Take photo or video").setInputFiles(second.path);
    const queued = page.getByRole("listitem").filter({ hasText: "dock.png" });
    await visible(queued.getByRole("status").filter({ hasText: /Waiting for a connection/ }), 30_000);
    // The Uploads page says where it stands, and how much space the app uses.
    await page.getByRole("link", { name: /^Uploads, 1 not finished/ }).click();
    await visible(page.getByRole("heading", { name: "Uploads", level: 1 }));
    await visible(page.getByRole("list", { name: "Upload queue" }).getByRole("listitem").filter({ hasText: "dock.png" }).getByText(/Waiting for a connection/));
    await visible(page.getByText(/^Custody uses .* of the .* the browser allows it\.$/));
    await visible(page.getByText("1 viewing made offline will be sent to the audit trail when the device is back online."));
    await visible(page.getByRole("list", { name: "Kept offline" }).getByRole("link", { name: "quay.png" }));
    await shot("offline-uploads");

    // An event the server will refuse for good (evidence this user never opened), queued before the
    // genuine one: it is dropped, and does not hold the genuine viewing back.
    await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((done) => {
        const open = indexedDB.open("custody");
        open.onsuccess = () => done(open.result);
      });
      const store = () => db.transaction("offlineEvents", "readwrite").objectStore("offlineEvents");
      const genuine = await new Promise<Record<string, unknown>>((done) => {
        const req = store().getAll();
        req.onsuccess = () => done((req.result as Record<string, unknown>[])[0]!);
      });
      const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
      await new Promise<void>((done) => {
        const req = store().put({ ...genuine, id: hex(16), evidenceId: hex(16), at: new Date(Date.parse(String(genuine.at)) - 1000).toISOString() });
        req.onsuccess = () => done();
      });
      db.close();
    });

    // Back online: the first sending of the offline viewing loses its answer (the server did record it).
    let lost = 0;
    await page.route("**/api/audit/offline-events", async (route: Route) => {
      if (lost++ > 0) return route.continue();
      await route.fetch();
      await route.abort("connectionreset");
    });
    await context.setOffline(false);
    await page.goto(caseUrl);
    await expectUploadedAndVerified("dock.png", second.sha512);
    await expect.poll(() => lost, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await expect.poll(async () => (await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((done) => {
        const open = indexedDB.open("custody");
        open.onsuccess = () => done(open.result);
      });
      const count = await new Promise<number>((done) => {
        const req = db.transaction("offlineEvents").objectStore("offlineEvents").count();
        req.onsuccess = () => done(req.result);
      });
      db.close();
      return count;
    })), { timeout: 30_000 }).toBe(0);
    const events = (await (await page.request.get(`/api/audit/events?action=evidence.view&targetId=${keptId}&limit=100`)).json()) as { events: { recordedOffline?: { at: string } }[] };
    expect(events.events.filter((e) => e.recordedOffline)).toHaveLength(1);
    const refused = (await (await page.request.get("/api/audit/events?action=audit.offline_refused&limit=100")).json()) as { events: unknown[] };
    expect(refused.events.length).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it("the page closed in the middle of an upload: reopened, it completes without re-sending what the server has", async () => {
    server.attachLogOnFailure();
    const path = join(work, "long-video.bin");
    const data = randomBytes(40 * MiB);
    writeFileSync(path, data);
    const stored: number[] = [];
    let passed = 0;
    const held: Route[] = [];
    await context.route("**/api/uploads/**", async (route) => {
      if (passed >= 2) return void held.push(route);
      passed++;
      const response = await route.fetch();
      if (response.status() === 204) stored.push(Number(new URL(route.request().url()).pathname.split("/").at(-1)));
      await route.fulfill({ response });
    });
    await page.getByLabel("Add photos, videos or documents").setInputFiles(path);
    await expect.poll(() => stored.length, { timeout: 60_000 }).toBe(2);
    await expect.poll(() => held.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    // Closed once the file is encrypted, as a page closed minutes into a long upload is: its signed
    // manifest and ciphertext are kept on the device even while a part sent early is stalled on the
    // network (an encryption cut short would start again under a new key and send every part again).
    await expect.poll(() => page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((done) => {
        const open = indexedDB.open("custody");
        open.onsuccess = () => done(open.result);
      });
      const rows = await new Promise<{ fileName: string; request?: { manifest?: string } }[]>((done) => {
        const req = db.transaction("uploads").objectStore("uploads").getAll();
        req.onsuccess = () => done(req.result as { fileName: string; request?: { manifest?: string } }[]);
      });
      db.close();
      return rows.some((row) => row.fileName === "long-video.bin" && typeof row.request?.manifest === "string" && row.request.manifest !== "");
    }), { timeout: 60_000 }).toBe(true);
    await page.close();
    for (const route of held) await route.abort("connectionreset").catch(() => undefined);
    await context.unrouteAll({ behavior: "ignoreErrors" });

    const sentAfter: number[] = [];
    await newPage();
    page.on("request", (request) => {
      const m = /\/api\/uploads\/[0-9a-f]{32}\/(\d+)/.exec(request.url());
      if (request.method() === "PUT" && m) sentAfter.push(Number(m[1]));
    });
    await page.goto(caseUrl);
    await expectUploadedAndVerified("long-video.bin", createHash("sha512").update(data).digest("hex"));
    expect(sentAfter.filter((n) => stored.includes(n))).toEqual([]);
  }, 180_000);

  it("closed with a capture queued offline: Background Sync uploads it while no page is open", async () => {
    server.attachLogOnFailure();
    await context.grantPermissions(["background-sync"], { origin: server.url });
    const shotFile = photo("pier.png", "maroon");
    await context.setOffline(true);
    await page.getByLabel("Take photo or video").setInputFiles(shotFile.path);
    await visible(page.getByRole("listitem").filter({ hasText: "pier.png" }).getByRole("status").filter({ hasText: /Waiting for a connection/ }), 30_000);
    await page.close();

    // No page of the app is open; a blank tab (no client of the app) drives the browser's sync.
    const blank = await context.newPage();
    const cdp = await context.newCDPSession(blank);
    const registrations: { registrationId: string; scopeURL: string }[] = [];
    cdp.on("ServiceWorker.workerRegistrationUpdated", (event: { registrations: { registrationId: string; scopeURL: string }[] }) => registrations.push(...event.registrations));
    await cdp.send("ServiceWorker.enable");
    await expect.poll(() => registrations.some((r) => r.scopeURL.startsWith(server.url)), { timeout: 10_000 }).toBe(true);
    const registration = registrations.find((r) => r.scopeURL.startsWith(server.url))!;
    const caseId = new URLSearchParams(caseUrl.split("?")[1]).get("case")!;
    const complete = async () => {
      const list = (await (await blank.request.get(`${server.url}/api/cases/${caseId}/evidence`)).json()) as { evidence: { id: string; status: string }[] };
      return list.evidence.filter((e) => e.status === "complete").map((e) => e.id);
    };
    const before = await complete();
    await context.setOffline(false);
    // The browser may fire the sync by itself on reconnecting; this fires it in case it has not yet.
    await cdp.send("ServiceWorker.dispatchSyncEvent", { origin: server.url, registrationId: registration.registrationId, tag: "custody-uploads", lastChance: false });
    await expect.poll(async () => (await complete()).length, { timeout: 60_000 }).toBe(before.length + 1);
    await cdp.detach();
    await blank.close();

    await newPage();
    await page.goto(caseUrl);
    await expectUploadedAndVerified("pier.png", shotFile.sha512);
  }, 180_000);

  it("the session ended while offline: back online it asks to sign in again, and the queued capture uploads after, nothing lost", async () => {
    server.attachLogOnFailure();
    const capture = photo("gate.png", "teal");
    await context.setOffline(true);
    await page.getByLabel("Take photo or video").setInputFiles(capture.path);
    await visible(page.getByRole("listitem").filter({ hasText: "gate.png" }).getByRole("status").filter({ hasText: /Waiting for a connection/ }), 30_000);
    // Meanwhile the server ends the session (here: signed out from another tab of the same browser).
    const ended = await page.request.post("/api/auth/sign-out", { headers: { Origin: server.url } });
    expect(ended.status()).toBe(204);
    await context.setOffline(false);
    await visible(page.getByRole("heading", { name: "Sign in" }), 60_000);
    await visible(page.getByText("Your session ended. Sign in again."));
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await completeMfaIfAsked(page, ADMIN.email);
    // Back where the user was, and the queue goes on by itself.
    await expectSignedIn(page, "Harbour theft");
    await expectUploadedAndVerified("gate.png", capture.sha512);
  }, 180_000);

  it("offline, the session's limits still apply on the device: idle past the organisation's timeout, it asks to sign in; online, the server decides", async () => {
    server.attachLogOnFailure();
    await page.goto(caseUrl);
    await expectSignedIn(page, "Harbour theft");
    /** The session saved on the device, moved `minutes` into the past (as if nobody had used the app since). */
    const age = (minutes: number) =>
      page.evaluate(async (ms) => {
        localStorage.setItem("custody-last-activity", String(Date.now() - ms));
        const db = await new Promise<IDBDatabase>((done) => {
          const open = indexedDB.open("custody");
          open.onsuccess = () => done(open.result);
        });
        const row = await new Promise<{ savedAt: string; body: { limits?: { idleMinutes: number } } }>((done) => {
          const get = db.transaction("apiCache").objectStore("apiCache").get("session");
          get.onsuccess = () => done(get.result);
        });
        await new Promise<void>((done) => {
          const tx = db.transaction("apiCache", "readwrite");
          tx.objectStore("apiCache").put({ ...row, savedAt: new Date(Date.now() - ms).toISOString() });
          tx.oncomplete = () => done();
        });
        db.close();
        return row.body.limits?.idleMinutes;
      }, minutes * 60_000);
    await expect.poll(() => age(0), { timeout: 15_000 }).toBe(30); // the limits came with the session
    await context.setOffline(true);
    await age(25);
    await page.reload();
    await expectSignedIn(page, "Harbour theft"); // 25 minutes idle: within the 30-minute timeout
    await age(31);
    await page.reload();
    await visible(page.getByRole("heading", { name: "Sign in" }), 30_000);
    await visible(page.getByText(/You're offline, and your session has ended/));
    await shot("offline-session-ended");
    await context.setOffline(false);
    await page.reload();
    // The server last saw this session minutes ago, so it still holds: the app opens.
    await expectSignedIn(page, "Harbour theft");
  }, 120_000);

  it("a video shared from another app opens “Add to case”, and is encrypted and uploaded to the chosen case", async () => {
    server.attachLogOnFailure();
    const clip = join(work, "shared-clip.mp4");
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=15", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
    // What the phone's share sheet does: a navigation POST of the file to the manifest's share_target action.
    await page.goto("/cases");
    await expectSignedIn(page);
    await page.evaluate(() => {
      const form = document.createElement("form");
      form.method = "post";
      form.enctype = "multipart/form-data";
      form.action = "/share-target";
      form.innerHTML = '<input type="file" name="files" aria-label="Shared file">';
      form.id = "share-sheet";
      document.body.append(form);
    });
    await page.getByLabel("Shared file").setInputFiles(clip);
    await Promise.all([page.waitForURL("**/share"), page.evaluate(() => (document.getElementById("share-sheet") as HTMLFormElement).submit())]);
    await visible(page.getByRole("heading", { name: "Add to case", level: 1 }), 30_000);
    await visible(page.getByRole("list", { name: "Shared files" }).getByText("shared-clip.mp4"));
    const form = page.getByRole("form", { name: "Add to case" });
    await form.getByLabel("Case").selectOption({ label: "2026-0311 · Harbour theft" });
    await shot("share-target");
    await form.getByRole("button", { name: "Add it to the case" }).click();
    await visible(page.getByRole("heading", { name: "Harbour theft", level: 1 }));
    await expectUploadedAndVerified("shared-clip.mp4", createHash("sha512").update(readFileSync(clip)).digest("hex"));
  }, 180_000);
});
