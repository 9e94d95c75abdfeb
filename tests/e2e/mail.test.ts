/**
 * Email in a real browser against `npm start` and a real SMTP server (Debian's python3-aiosmtpd,
 * tests/support/smtp.ts): Admin → Settings → Email refuses bad input, saves SMTP (the password
 * never shown again), says clearly why a test message failed, sends one; an invitation then
 * goes by email, and the invitee follows the link from the message to set a password.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SMTP_PASSWORD, SMTP_USER, startSmtp, type RunningSmtp } from "../support/smtp";
import { ADMIN, createKeys, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

function plainText(raw: string): string {
  const at = raw.indexOf("Content-Type: text/plain");
  const start = raw.indexOf("\r\n\r\n", at) + 4;
  const end = raw.indexOf("\r\n--", start);
  return Buffer.from(raw.slice(start, end < 0 ? undefined : end).replace(/\s+/g, ""), "base64").toString("utf8");
}

async function waitForMessage(smtp: RunningSmtp, to: string) {
  for (let i = 0; i < 100; i++) {
    const found = smtp.messages().find((m) => m.to.includes(to));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no message to ${to}`);
}

describe("email in the app: settings, a test message, an emailed invitation followed from the message", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;
  let smtp: RunningSmtp;

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await smtp?.close();
  });

  it("sets SMTP in Admin → Settings with clear errors, and sends a test message", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await visible(page.getByRole("navigation", { name: "Main" }), 30_000);
    await page.goto("/admin/settings");
    const form = page.getByRole("form", { name: "Email settings" });
    await visible(form);
    expect(await form.getByRole("radio", { name: "No email (show links to copy)" }).isChecked()).toBe(true);
    await form.getByRole("radio", { name: "SMTP server" }).check();
    await form.getByLabel("From address").fill("custody@example.org");
    await form.getByLabel("SMTP host").fill("127.0.0.1");
    await form.getByLabel("SMTP port").fill("0");
    await form.getByRole("button", { name: "Save email settings" }).click();
    await visible(form.getByText("A port from 1 to 65535."));
    await form.getByLabel("SMTP port").fill(String(smtp.port));
    await form.getByLabel("Encryption").selectOption("none");
    await form.getByLabel("SMTP username").fill(SMTP_USER);
    await form.getByLabel("SMTP password").fill("not the password");
    await form.getByRole("button", { name: "Save email settings" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Email settings saved" }));

    const test = page.getByRole("form", { name: "Send a test message" });
    await test.getByLabel("Send a test message to").fill("admin-inbox@example.org");
    await test.getByRole("button", { name: "Send test message" }).click();
    await visible(page.getByRole("alert").filter({ hasText: "The test message was not sent: The mail server refused the username and password" }));

    await form.getByLabel("SMTP password").fill(SMTP_PASSWORD);
    await form.getByRole("button", { name: "Save email settings" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Email settings saved" }));
    await page.reload();
    await visible(page.getByRole("form", { name: "Email settings" }).getByText("A password is saved (sealed; it is never shown). Leave empty to keep it."));
    expect(await page.getByLabel("SMTP password").inputValue()).toBe("");
    await page.getByRole("form", { name: "Send a test message" }).getByLabel("Send a test message to").fill("admin-inbox@example.org");
    await page.getByRole("button", { name: "Send test message" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Test message sent to admin-inbox@example.org" }));
    const message = await waitForMessage(smtp, "admin-inbox@example.org");
    expect(message.raw).toContain("Subject: Custody test message");
  }, 180_000);

  it("emails an invitation; the invitee follows the link in the message and sets a password", async () => {
    server.attachLogOnFailure();
    await page.goto("/admin/users");
    const form = page.getByRole("form", { name: "Invite user" });
    await visible(form);
    await form.getByLabel("Email").fill("mia@example.org");
    await form.getByLabel("Name").fill("Mia Mailed");
    await form.getByLabel("Role").selectOption({ label: "Investigator" });
    await form.getByRole("button", { name: "Invite user" }).click();
    await visible(page.getByText("The invitation was emailed to mia@example.org."));

    const text = plainText((await waitForMessage(smtp, "mia@example.org")).raw);
    const link = /https?:\/\/\S+\/invite#token=\S+/.exec(text)?.[0];
    expect(link, text).toBeDefined();
    const mia = await (await phoneContext(browser, server.url)).newPage();
    await mia.goto(link!);
    await visible(mia.getByRole("heading", { name: "Set your password" }));
    await mia.getByLabel("Password", { exact: true }).fill("mia's long sign-in password");
    await mia.getByLabel("Confirm password").fill("mia's long sign-in password");
    await mia.getByRole("button", { name: "Set password" }).click();
    // Accepted: the next step of signing up (two-step verification or keys) replaces the form.
    await mia.getByRole("heading", { name: "Set your password" }).waitFor({ state: "hidden", timeout: 30_000 });
    expect(await mia.getByRole("alert").count()).toBe(0);
    await mia.context().close();
  }, 180_000);
});
