/**
 * Disclosure end to end in Chromium (docs/disclosure.md): a lead invites a guest by email address
 * and shares the case with them; shares a chosen item through a link with an access code; the
 * guest and the link recipient open and verify the item, download what their level allows and sign
 * receipts; the receipt verifies offline with `npm run verify`; the lead sees the receipts, revokes,
 * and both recipients are refused. Needs `npx vite build` first (the server runs with --no-build).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, enrolTotp, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const root = resolve(import.meta.dirname, "../..");
const PHOTO = "harbour-door.png";
const shots = resolve(root, "test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/disclosure-${name}.png`, fullPage: true });
const GUEST = { email: "pat.prosecutor@cps.example", name: "Pat Prosecutor", password: "a guest's long passphrase", keyPassphrase: "pat's own key passphrase, kept apart" };

describe("disclosure: a guest and a link receive, verify and sign for evidence; revocation refuses them", () => {
  let server: CustodyServer;
  let browser: Browser;
  let lead: Page;
  let guest: Page;
  let linkPage: Page;
  let work: string;
  let photo: string;
  let linkUrl = "";
  let accessCode = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "custody-disclosure-"));
    photo = join(work, PHOTO);
    const ffmpeg = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", photo], { encoding: "utf8" });
    if (ffmpeg.status !== 0) throw new Error(`ffmpeg failed: ${ffmpeg.stderr}`);
    server = await CustodyServer.start();
    browser = await launchBrowser();
    lead = await (await phoneContext(browser, server.url)).newPage();
    lead.on("dialog", (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("a lead invites a guest by email address; the guest sets up their account and sees nothing of the organisation", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(lead);
    await createKeys(lead, ADMIN.keyPassphrase);
    await expectSignedIn(lead);
    await createCase(lead, { number: "2026-0777", title: "Harbour break-in" });
    await lead.getByLabel("Add photos, videos or documents").setInputFiles(photo);
    await visible(lead.getByRole("link", { name: new RegExp(`^Open ${PHOTO.replace(".", "\\.")}`) }), 60_000);

    const sharing = lead.getByRole("region", { name: "Sharing" });
    await sharing.getByRole("button", { name: "Share…" }).click();
    const invite = sharing.getByRole("form", { name: "Invite a guest" });
    await invite.getByLabel("Guest's email").fill(GUEST.email);
    await invite.getByLabel("Guest's name").fill(GUEST.name);
    await invite.getByRole("button", { name: "Invite guest" }).click();
    const invitation = invite.getByLabel("Invitation link");
    await visible(invitation);
    const invitationUrl = await invitation.inputValue();
    expect(invitationUrl).toMatch(/\/invite#token=/);

    guest = await (await phoneContext(browser, server.url)).newPage();
    await guest.goto(invitationUrl);
    await visible(guest.getByRole("heading", { name: "Set your password" }));
    await guest.getByLabel("Password", { exact: true }).fill(GUEST.password);
    await guest.getByLabel("Confirm password").fill(GUEST.password);
    await guest.getByRole("button", { name: "Set password" }).click();
    await enrolTotp(guest);
    await createKeys(guest, GUEST.keyPassphrase);
    await expectSignedIn(guest, "Shared with me");
    await visible(guest.getByText("Nothing is shared with you at the moment."));
    // A guest's navigation is what is shared with them, nothing else; the cases page is no access.
    expect(await guest.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents()).toEqual(["Shared with me"]);
    await guest.goto("/admin/users");
    await visible(guest.getByRole("heading", { name: "Not available to guests" }));
    await guest.goto("/cases");
    await expectSignedIn(guest, "Shared with me");
  });

  it("the lead shares the whole case with the guest; the guest opens, verifies and downloads it, exports a court package that verifies, and signs a receipt", async () => {
    server.attachLogOnFailure();
    await lead.reload();
    const sharing = lead.getByRole("region", { name: "Sharing" });
    await sharing.getByRole("button", { name: "Share…" }).click();
    const form = sharing.getByRole("form", { name: "New share" });
    await expect.poll(() => form.getByLabel("Guest").locator("option").allTextContents(), { timeout: 15_000 }).toEqual([`${GUEST.name} (${GUEST.email})`]);
    await form.getByLabel("Level").selectOption("export");
    await form.getByRole("button", { name: "Share", exact: true }).click();
    await visible(sharing.getByRole("heading", { name: `Shared with ${GUEST.name}` }), 30_000);
    await sharing.getByRole("button", { name: "Done" }).click();
    await visible(sharing.getByRole("list", { name: "Shares" }).getByRole("listitem").filter({ hasText: GUEST.name }));

    await guest.goto("/shared");
    await guest.getByRole("link", { name: /2026-0777.*Harbour break-in/ }).click();
    await visible(guest.getByRole("heading", { name: "Case 2026-0777: Harbour break-in" }));
    await guest.getByRole("button", { name: `Open ${PHOTO}` }).click();
    await visible(guest.getByRole("region", { name: `Verified: ${PHOTO}` }), 30_000);
    await visible(guest.getByRole("img", { name: PHOTO }));
    // Without File System Access (no picker to answer in a test) the original downloads as a file.
    await guest.evaluate(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
    const [download] = await Promise.all([guest.waitForEvent("download"), guest.getByRole("button", { name: `Download original of ${PHOTO}` }).click()]);
    const saved = readFileSync((await download.path())!);
    expect(createHash("sha512").update(saved).digest("hex")).toBe(createHash("sha512").update(readFileSync(photo)).digest("hex"));

    // The court package, as the share's level allows: it verifies offline.
    const [zip] = await Promise.all([guest.waitForEvent("download"), guest.getByRole("button", { name: `Export court package of ${PHOTO}` }).click()]);
    const zipFile = join(work, "package.zip");
    writeFileSync(zipFile, readFileSync((await zip.path())!));
    const checked = spawnSync(resolve(root, "node_modules/.bin/node"), [join(root, "scripts/verify.ts"), zipFile], { cwd: root, encoding: "utf8" });
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);

    // The case package of the share (level export): built here through the share's routes; it verifies offline.
    const panel = guest.getByRole("region", { name: "Case package" });
    await panel.getByRole("button", { name: "Download case package" }).click();
    await visible(panel.getByText("All items (1)"));
    const [casePackage] = await Promise.all([guest.waitForEvent("download", { timeout: 120_000 }), panel.getByRole("button", { name: "Save package" }).click()]);
    expect(casePackage.suggestedFilename()).toMatch(/^case-2026-0777-package-\d{4}-\d{2}-\d{2}\.zip$/);
    const casePackageFile = join(work, "case-package.zip");
    writeFileSync(casePackageFile, readFileSync((await casePackage.path())!));
    const verified = spawnSync("npm", ["run", "verify", "--silent", "--", casePackageFile], { cwd: root, encoding: "utf8" });
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    await visible(panel.getByRole("status").filter({ hasText: "Downloaded" }), 30_000);

    await guest.getByRole("button", { name: "Sign receipt" }).click();
    await visible(guest.getByRole("list", { name: "Signed receipts" }).getByRole("listitem").filter({ hasText: `Signed by ${GUEST.name}` }), 20_000);
    await shot(guest, "guest-portal");
  });

  it("a link with an access code: view only; the recipient signs a receipt that verifies offline", async () => {
    server.attachLogOnFailure();
    const sharing = lead.getByRole("region", { name: "Sharing" });
    await sharing.getByRole("button", { name: "Share…" }).click();
    await sharing.getByLabel("A link with an access code").check();
    const form = sharing.getByRole("form", { name: "New share" });
    await form.getByLabel("Who the link is for").fill("Defence counsel, R v Smith");
    await form.getByLabel("Chosen items").check();
    await form.getByRole("list", { name: "Items to share" }).getByLabel(PHOTO).check();
    await form.getByRole("button", { name: "Share", exact: true }).click();
    await visible(sharing.getByRole("heading", { name: "Shared with Defence counsel, R v Smith" }), 30_000);
    linkUrl = await sharing.getByLabel("Link", { exact: true }).inputValue();
    accessCode = await sharing.getByLabel("Access code", { exact: true }).inputValue();
    expect(linkUrl).toMatch(/\/s\/[0-9a-f]{32}#[A-Za-z0-9_-]{43}$/);
    // "Email this link": a mailto: composed here, with the link and without the access code.
    const mailto = (await sharing.getByRole("link", { name: "Email this link" }).getAttribute("href"))!;
    expect(mailto).toMatch(/^mailto:\?subject=/);
    expect(decodeURIComponent(mailto)).toContain(linkUrl);
    expect(decodeURIComponent(mailto)).not.toContain(accessCode);
    await visible(sharing.getByRole("button", { name: "Copy link" }));
    await shot(lead, "link-created");
    await sharing.getByRole("button", { name: "Done" }).click();

    linkPage = await (await phoneContext(browser, server.url)).newPage();
    const sent: string[] = [];
    linkPage.on("request", (request) => sent.push(`${request.url()} ${request.postData() ?? ""}`));
    await linkPage.goto(linkUrl);
    await visible(linkPage.getByRole("heading", { name: "Evidence shared with you" }));
    await linkPage.getByLabel("Access code").fill("WRONG-CODE");
    await linkPage.getByRole("button", { name: "Open" }).click();
    await visible(linkPage.getByRole("alert").filter({ hasText: "not right" }));
    await linkPage.getByLabel("Access code").fill(accessCode);
    await linkPage.getByRole("button", { name: "Open" }).click();
    await visible(linkPage.getByRole("heading", { name: "Case 2026-0777: Harbour break-in" }), 20_000);
    await linkPage.getByRole("button", { name: `Open ${PHOTO}` }).click();
    await visible(linkPage.getByRole("region", { name: `Verified: ${PHOTO}` }), 30_000);
    await visible(linkPage.getByText("This share is for viewing in the app only."));
    expect(await linkPage.getByRole("button", { name: /Download original/ }).count()).toBe(0);
    expect(await linkPage.getByRole("button", { name: "Download case package" }).count()).toBe(0);

    await linkPage.getByLabel("Your name").fill("Dana Defence");
    await linkPage.getByRole("button", { name: "Sign receipt" }).click();
    const signed = linkPage.getByRole("list", { name: "Signed receipts" }).getByRole("listitem").filter({ hasText: "Signed by Dana Defence" });
    await visible(signed, 20_000);
    const [receipt] = await Promise.all([linkPage.waitForEvent("download"), signed.getByRole("button", { name: "Download receipt" }).click()]);
    const receiptFile = join(work, "receipt.jws");
    writeFileSync(receiptFile, readFileSync((await receipt.path())!));
    const verify = spawnSync(resolve(root, "node_modules/.bin/node"), [join(root, "scripts/verify.ts"), receiptFile], { cwd: root, encoding: "utf8" });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain("Dana Defence");

    // The link's secret never left the browser: no request carried it.
    const secret = linkUrl.split("#")[1]!;
    expect(sent.some((line) => line.includes(secret))).toBe(false);
  });

  it("the lead sees who received what; revokes; the guest and the link are refused", async () => {
    server.attachLogOnFailure();
    await lead.reload();
    const shares = lead.getByRole("region", { name: "Sharing" }).getByRole("list", { name: "Shares" });
    await visible(shares.getByRole("list", { name: `Receipts from ${GUEST.name}` }).getByText(`Received by ${GUEST.name}`));
    await visible(shares.getByRole("list", { name: "Receipts from Defence counsel, R v Smith" }).getByText("Received by Dana Defence"));
    await shot(lead, "shares-with-receipts");
    await lead.getByRole("button", { name: `Revoke share with ${GUEST.name}` }).click();
    await visible(shares.getByRole("heading", { name: `${GUEST.name} Revoked` }));
    await lead.getByRole("button", { name: "Revoke share with Defence counsel, R v Smith" }).click();
    await visible(shares.getByRole("heading", { name: "Defence counsel, R v Smith Revoked" }));
    // The case's history names them.
    await lead.reload();
    await visible(lead.getByRole("list", { name: "Case history" }).getByRole("listitem").filter({ hasText: /share/i }).first());

    await guest.reload();
    await visible(guest.getByRole("alert").filter({ hasText: "does not exist, has expired or was revoked" }));
    await guest.goto("/shared");
    await visible(guest.getByText("Nothing is shared with you at the moment."));

    const again = await linkPage.context().newPage();
    await again.goto(linkUrl);
    await again.getByLabel("Access code").fill(accessCode);
    await again.getByRole("button", { name: "Open" }).click();
    await visible(again.getByRole("alert").filter({ hasText: "does not exist, has expired or was revoked" }));
  });
});
