/**
 * Trusted time in a real browser against `npm start`, with a real TSA (`openssl ts`,
 * tests/support/tsa.ts): Admin → Settings refuses a bad TSA URL and certificate and saves good
 * ones; a photo uploaded then reads "Timestamped by … at …" on its evidence page; the court
 * package exported in the browser carries the signer register, the file key and the timestamp,
 * and `npm run verify` names the signer as a person, the key's registration and the timestamp.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTsa, type RunningTsa } from "../support/tsa";
import { ADMIN, createCase, createKeys, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const PHOTO = "doorway.jpg";

describe("trusted timestamps in the app: settings, the evidence page, a court package that npm run verify reads", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let tsa: RunningTsa;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-stamps-"));
    const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", join(work, PHOTO)], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
    tsa = await startTsa();
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await tsa?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("sets the TSA in Admin → Settings, with clear errors for a bad URL or certificate", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await visible(page.getByRole("navigation", { name: "Main" }), 30_000);
    await page.goto("/admin/settings");
    const settings = page.getByRole("form", { name: "Organisation settings" });
    const url = settings.getByLabel("Time-stamping authority URL");
    const ca = settings.getByLabel("TSA CA certificate (PEM)");
    await visible(url);
    expect(await url.inputValue()).toBe("");

    await url.fill("http://tsa.example.org/tsr");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await visible(settings.getByText("The TSA URL must start with https:// (http:// only for localhost)."));
    await url.fill(`${tsa.url}/e2e`);
    await ca.fill("not a certificate");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await visible(settings.getByText("Paste PEM certificates (-----BEGIN CERTIFICATE----- …)."));
    await ca.fill(tsa.caPem);
    await settings.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Settings saved" }));
    await page.reload();
    await visible(url);
    expect(await url.inputValue()).toBe(`${tsa.url}/e2e`);
  }, 120_000);

  it("shows “Timestamped by … at …” for an uploaded photo", async () => {
    server.attachLogOnFailure();
    await page.goto("/");
    await createCase(page, { number: "2026-0077", title: "Night entry" });
    await page.getByLabel("Add photos, videos or documents").setInputFiles(join(work, PHOTO));
    const open = page.getByRole("link", { name: new RegExp(`^Open ${PHOTO.replace(".", "\\.")}`) });
    await visible(open, 60_000);
    await open.click();
    const badge = page.getByRole("region", { name: "Verified" });
    await visible(badge, 60_000);
    await visible(badge.getByText(/^Timestamped by O=Custody tests, CN=Custody Test TSA at /), 20_000);
  }, 120_000);

  it("exports a package with the register, the file key and the timestamp, and npm run verify names the signer and the time", async () => {
    server.attachLogOnFailure();
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.getByRole("button", { name: "Export package" }).click()]);
    const zip = join(work, "package.zip");
    await download.saveAs(zip);
    const names = Object.keys(unzipSync(readFileSync(zip)));
    expect(names).toEqual(expect.arrayContaining(["signer-register.jsonl", "file-key.jwk.json", "timestamp.tsr", "timestamp-ca.pem", `original/${PHOTO}`]));
    const verify = spawnSync("npm", ["run", "verify", "--silent", "--", zip], { cwd: root, encoding: "utf8" });
    expect(verify.status, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout).toContain(`Signed by ${ADMIN.name} <${ADMIN.email}>`);
    expect(verify.stdout).toMatch(/with their registered key \(registered \d{4}-\d\d-\d\dT[\d:.]+Z, not retired\)/);
    expect(verify.stdout).toMatch(/The signature existed at \d{4}-\d\d-\d\dT[\d:.]+Z, by the clock of O=Custody tests, CN=Custody Test TSA/);
    expect(verify.stdout).toContain("(the signed metadata, decrypted with the package's file key)");
  }, 120_000);
});
