/**
 * The admin Audit page in a real phone-sized browser against `npm start`: the events of a real
 * organisation (setup, two invitations, a failed sign-in), filters kept in the URL, exports
 * checked with `npm run audit:verify`, and a chain-of-custody PDF for one user read back with
 * pdf-lib. An investigator is refused. Role locators only. Needs `npx vite build` first (the
 * server runs with --no-build).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { decodePDFRawStream, PDFDocument, PDFRawStream } from "pdf-lib";
import type { Browser, Download, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/audit-${name}.png`, fullPage: true });
const downloads = mkdtempSync(join(tmpdir(), "custody-audit-e2e-"));

const IVY = { name: "Ivy Investigator", email: "ivy@example.org", role: "Investigator", password: "ivy's long sign-in password" };
const OWEN = { name: "Owen Operator", email: "owen@example.org", role: "Site operator" };

/** Saves a download under its suggested name and returns the path. */
async function save(download: Download): Promise<string> {
  const path = join(downloads, download.suggestedFilename());
  await download.saveAs(path);
  return path;
}

/** Text drawn on a PDF's pages: pdf-lib writes standard-font text as hex strings in (Flate) content streams. */
function pdfText(doc: PDFDocument): string {
  let text = "";
  for (const [, object] of doc.context.enumerateIndirectObjects()) {
    if (!(object instanceof PDFRawStream)) continue;
    const content = Buffer.from(decodePDFRawStream(object).decode()).toString("latin1");
    for (const [, hex] of content.matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) text += `${Buffer.from(hex!, "hex").toString("latin1")}\n`;
  }
  return text;
}

describe("audit page: filters, exports and a chain-of-custody report in a real browser", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let invitationForIvy: string;
  let owenId: string;
  let table: Locator;
  let rows: Locator;
  const form = () => page.getByRole("form", { name: "Filter audit events" });
  /** Waits for a finished load ("Showing 2 events.") and returns how many rows the table has. */
  const showing = async (count: number) => {
    await visible(page.getByRole("status").filter({ hasText: `Showing ${count} event${count === 1 ? "" : "s"}` }));
    return rows.count();
  };

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    table = page.getByRole("table", { name: "Audit events" });
    rows = table.getByRole("rowgroup").nth(1).getByRole("row");
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("records setup, two invitations and a failed sign-in", async () => {
    server.attachLogOnFailure();
    const setUp = page.waitForResponse((response) => response.url().endsWith("/api/setup") && response.request().method() === "POST");
    await setUpThroughUi(page);
    await setUp;
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    for (const user of [IVY, OWEN]) {
      const invite = page.getByRole("form", { name: "Invite user" });
      await invite.getByLabel("Email").fill(user.email);
      await invite.getByLabel("Name").fill(user.name);
      await invite.getByLabel("Role").selectOption({ label: user.role });
      await invite.getByRole("button", { name: "Invite user" }).click();
      await visible(page.getByRole("heading", { name: `Invitation ready for ${user.name}` }));
      if (user === IVY) invitationForIvy = await page.getByLabel("Invitation link").inputValue();
      await page.getByRole("button", { name: "Done" }).click();
    }
    const users = (await (await page.request.get("/api/users")).json()) as { users: { id: string; email: string }[] };
    owenId = users.users.find((user) => user.email === OWEN.email)!.id;

    const wrong = await page.request.post("/api/auth/sign-in", {
      headers: { Origin: server.url },
      data: { email: OWEN.email, password: "not owen's password at all" },
    });
    expect(wrong.status()).toBe(401);
  });

  it("opens Audit from the main navigation and lists the events as cards at 360 px", async () => {
    server.attachLogOnFailure();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
    await visible(page.getByRole("heading", { name: "Audit", level: 1 }));
    await visible(table);
    const count = await rows.count();
    // organisation.setup, keys.register, 2 × user.invite, the failed sign-in, audit.read …
    expect(count).toBeGreaterThanOrEqual(5);
    // Actions in plain words, people by name and email.
    for (const action of ["set up the organisation", "invited a user", "signed in"]) {
      expect(await rows.filter({ hasText: action }).count(), action).toBeGreaterThan(0);
    }
    await visible(rows.filter({ hasText: "set up the organisation" }).getByText(`${ADMIN.name} (${ADMIN.email})`).first());
    // Phone first: no sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot(page, "events");

    const setup = rows.filter({ hasText: "set up the organisation" });
    const details = setup.getByRole("button", { name: /^Details of event \d+$/ });
    expect(await details.getAttribute("aria-expanded")).toBe("false");
    await details.click();
    expect(await details.getAttribute("aria-expanded")).toBe("true");
    await visible(setup.getByText("Hash (SHA-512)"));
    await visible(setup.getByText("User agent"));
    await visible(setup.getByText("organisation.setup")); // the code, with the ids, only in the details
    await shot(page, "details");
  });

  it("filters by outcome: Failed shows only the failed sign-in", async () => {
    server.attachLogOnFailure();
    await form().getByLabel("Outcome").selectOption({ label: "Failed" });
    await form().getByRole("button", { name: "Apply filters" }).click();
    expect(await showing(1)).toBe(1);
    const row = rows.first();
    expect(await row.textContent()).toContain("signed in");
    expect(await row.textContent()).toContain(OWEN.email);
    await visible(row.getByText("Failed"));
    expect(new URL(page.url()).searchParams.get("outcome")).toBe("failed");
    await shot(page, "failed");
  });

  it("filters by action and keeps the filter in the URL across a reload", async () => {
    server.attachLogOnFailure();
    await form().getByRole("button", { name: "Clear" }).click();
    expect(new URL(page.url()).search).toBe("");
    expect(await form().getByLabel("Outcome").inputValue()).toBe("");
    // The action filter is a list of plain-language choices.
    await form().getByLabel("Action").selectOption({ label: "Invited a user" });
    await form().getByRole("button", { name: "Apply filters" }).click();
    expect(await showing(2)).toBe(2);
    expect(await rows.filter({ hasText: "invited a user" }).count()).toBe(2);

    await page.reload();
    // The keys are already on this device: straight back to the same filtered view.
    await expectSignedIn(page, "Audit");
    expect(await showing(2)).toBe(2);
    expect(await form().getByLabel("Action").inputValue()).toBe("user.invite");
  });

  it("exports JSON lines that npm run audit:verify accepts, and CSV with its header", async () => {
    server.attachLogOnFailure();
    await form().getByRole("button", { name: "Clear" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Showing" }));

    const [jsonl] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export JSON lines" }).click()]);
    expect(jsonl.suggestedFilename()).toMatch(/^custody-audit-.*\.jsonl$/);
    const jsonlPath = await save(jsonl);
    const verified = await run("npm", ["run", "--silent", "audit:verify", "--", jsonlPath], { cwd: root }).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, out: error.stdout + error.stderr }),
    );
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toMatch(/✓ .*: \d+ events \(events 1 to \d+\)/);

    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const csvText = readFileSync(await save(csv), "utf8");
    expect(csvText.split("\r\n")[0]).toBe(
      "seq,at,recorded_offline_at,actor_type,actor_id,actor_label,action,target_type,target_id,outcome,ip,user_agent,details,prev_hash,hash",
    );
    expect(csvText).toContain("user.invite");
  });

  it("pages with Load more", async () => {
    server.attachLogOnFailure();
    // Every read of the trail is itself an event: 60 reads make more than one page (50).
    for (let i = 0; i < 60; i++) expect((await page.request.get("/api/audit/events?limit=1")).status()).toBe(200);
    await form().getByLabel("Action").selectOption({ label: "Read the audit trail" });
    await form().getByRole("button", { name: "Apply filters" }).click();
    expect(await showing(50)).toBe(50);
    await page.getByRole("button", { name: "Load more" }).click();
    await visible(page.getByRole("status").filter({ hasText: /^Showing (\d{2,}) events\.$/ }));
    const total = await rows.count();
    expect(total).toBeGreaterThan(60);
    const names = await rows.getByRole("button", { name: /^Details of event \d+$/ }).allTextContents();
    expect(new Set(names).size).toBe(total);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
  });

  it("makes a chain-of-custody PDF for one user", async () => {
    server.attachLogOnFailure();
    await form().getByRole("button", { name: "Clear" }).click();
    expect(await page.getByRole("button", { name: "Chain-of-custody report (PDF)" }).count()).toBe(0);
    await form().getByLabel("Target type").fill("user");
    await form().getByLabel("Target id").fill(owenId);
    await form().getByRole("button", { name: "Apply filters" }).click();
    // Owen's invitation and the failed sign-in with his email.
    expect(await showing(2)).toBe(2);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Chain-of-custody report (PDF)" }).click(),
    ]);
    const today = new Date().toISOString().slice(0, 10);
    expect(download.suggestedFilename()).toBe(`chain-of-custody-user-${owenId.slice(0, 8)}-${today}.pdf`);
    const bytes = readFileSync(await save(download));
    expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const pdf = await PDFDocument.load(bytes);
    const pages = pdf.getPageCount();
    expect(pages).toBeGreaterThanOrEqual(1);
    const text = pdfText(pdf);
    for (const expected of ["Chain of custody", ADMIN.organisation, `user ${owenId}`, ADMIN.name, ADMIN.email, "invited a user", "signed in", "user.invite", "auth.sign_in", "Failed", "Integrity", `Page ${pages} of ${pages}`]) {
      expect(text, expected).toContain(expected);
    }
    await visible(page.getByRole("status").filter({ hasText: "Report saved as" }));
    await shot(page, "report");
  });

  it("refuses the audit page to an investigator", async () => {
    server.attachLogOnFailure();
    const ivy = await (await phoneContext(browser, server.url)).newPage();
    await ivy.goto(invitationForIvy);
    await visible(ivy.getByRole("heading", { name: "Set your password" }));
    await ivy.getByLabel("Password", { exact: true }).fill(IVY.password);
    await ivy.getByLabel("Confirm password").fill(IVY.password);
    const accepted = ivy.waitForResponse((response) => response.url().endsWith("/api/invitations/accept"));
    await ivy.getByRole("button", { name: "Set password" }).click();
    await accepted;
    await createKeys(ivy, "ivy's key passphrase, long");
    await expectSignedIn(ivy);
    expect(await ivy.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).count()).toBe(0);
    await ivy.goto("/audit?outcome=failed");
    await visible(ivy.getByRole("heading", { name: "Administrators only" }));
    expect(await ivy.getByRole("table", { name: "Audit events" }).count()).toBe(0);
    expect((await ivy.request.get("/api/audit/events")).status()).toBe(403);
    await shot(ivy, "investigator-refused");
    await ivy.context().close();
  });
});
