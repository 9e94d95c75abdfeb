/**
 * Email against a real SMTP server (Debian's python3-aiosmtpd, tests/support/smtp.ts): an
 * administrator sets SMTP in the settings (the password sealed, never returned), sends a test
 * message, and an invitation then goes by email; the test reads the message and follows its
 * link. Failures say what went wrong (auth, refused, DNS, TLS, HTTP status); with no mail
 * configured nothing is sent and the link is for copying. Also the HTTP mail API transport.
 */
import { describe, expect, inject, it } from "vitest";
import type { MailSettings } from "../../shared/api/mail";
import type { Invitation } from "../../shared/api/schemas";
import { backend, db } from "./backend";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { auditEvents } from "./audit-helpers";

declare module "vitest" {
  export interface ProvidedContext {
    smtpPort: number;
    smtpInbox: string;
    smtpAccount: { user: string; password: string; httpMailToken: string };
  }
}

const smtpPort = inject("smtpPort");
const inbox = inject("smtpInbox");
const { user: SMTP_USER, password: SMTP_PASSWORD, httpMailToken: HTTP_MAIL_TOKEN } = inject("smtpAccount");

interface SmtpMessage {
  to: string[];
  raw: string;
}

/** The text of a message's part of `type`, its base64 body decoded. */
function messageText(raw: string, type = "text/plain"): string {
  const at = raw.indexOf(`Content-Type: ${type}`);
  if (at < 0) return "";
  const start = raw.indexOf("\r\n\r\n", at) + 4;
  const end = raw.indexOf("\r\n--", start);
  const binary = atob(raw.slice(start, end < 0 ? undefined : end).replace(/\s+/g, ""));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

async function messagesTo(address: string, timeoutMs = 15_000): Promise<SmtpMessage[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const all = (await (await fetch(`${inbox}/messages`)).json()) as SmtpMessage[];
    const mine = all.filter((m) => m.to.includes(address));
    if (mine.length > 0 || Date.now() > until) return mine;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const smtpSettings = (overrides: Record<string, unknown> = {}) => ({
  transport: "smtp",
  fromAddress: "custody@example.org",
  fromName: "Custody (Northshire)",
  smtp: { host: "127.0.0.1", port: smtpPort, security: "none", username: SMTP_USER, password: SMTP_PASSWORD, ...overrides },
});

describe("email", () => {
  it("with no mail configured, nothing is sent and the invitation is a link to copy; a test message says mail is not configured", async () => {
    const admin = await setUpOrganisation();
    const settings = await call("/api/settings/mail", { cookie: admin.cookie });
    expect(await settings.json()).toMatchObject({ transport: "none", smtp: null, http: null });
    const invited = await call("/api/users", { cookie: admin.cookie, body: { email: `nomail-${backend.runtime}@example.org`, name: "No Mail", role: "investigator" } });
    expect(invited.status).toBe(201);
    expect(((await invited.json()) as Invitation).emailed).toBe(false);
    await expectError(await call("/api/settings/mail/test", { cookie: admin.cookie, body: { to: "someone@example.org" } }), 409, "mail_not_configured");
    expect(await messagesTo(`nomail-${backend.runtime}@example.org`, 500)).toEqual([]);
  });

  it("an administrator sets SMTP (password sealed, never returned), sends a test message, and invitations go by email with a link that works", async () => {
    const admin = await setUpOrganisation();
    const saved = await call("/api/settings/mail", { method: "PUT", cookie: admin.cookie, body: smtpSettings() });
    expect(saved.status, await saved.clone().text()).toBe(200);
    const view = (await saved.json()) as MailSettings;
    expect(view).toEqual({ transport: "smtp", fromAddress: "custody@example.org", fromName: "Custody (Northshire)", smtp: { host: "127.0.0.1", port: smtpPort, security: "none", username: SMTP_USER, passwordSet: true }, http: null });
    expect(JSON.stringify(await (await call("/api/settings/mail", { cookie: admin.cookie })).json())).not.toContain(SMTP_PASSWORD);
    const row = (await db.prepare("SELECT smtp_password FROM mail_settings").first<{ smtp_password: string }>())!;
    expect(row.smtp_password).toMatch(/^v1\./);
    expect(row.smtp_password).not.toContain(SMTP_PASSWORD);

    const testTo = `test-${backend.runtime}-${crypto.randomUUID().slice(0, 8)}@example.org`;
    const tested = await call("/api/settings/mail/test", { cookie: admin.cookie, body: { to: testTo } });
    expect(tested.status, await tested.clone().text()).toBe(200);
    const [test] = await messagesTo(testTo);
    expect(test!.raw).toContain("Subject: Custody test message");
    expect(test!.raw).toContain('From: "Custody (Northshire)" <custody@example.org>');
    expect(messageText(test!.raw)).toContain("This is a test message from Custody");

    // A saved password is kept when the form leaves it out.
    expect((await call("/api/settings/mail", { method: "PUT", cookie: admin.cookie, body: smtpSettings({ password: undefined }) })).status).toBe(200);
    const inviteTo = `invitee-${backend.runtime}-${crypto.randomUUID().slice(0, 8)}@example.org`;
    const invited = await call("/api/users", { cookie: admin.cookie, body: { email: inviteTo, name: "Ines Invitee", role: "investigator" } });
    expect(invited.status).toBe(201);
    const invitation = (await invited.json()) as Invitation;
    expect(invitation.emailed).toBe(true);
    const [mail] = await messagesTo(inviteTo);
    expect(mail!.raw).toContain("Subject: Your invitation to Custody");
    const text = messageText(mail!.raw);
    expect(text).toContain("Hello Ines Invitee,");
    const link = /https?:\/\/\S+\/invite#token=(\S+)/.exec(text);
    expect(link, text).not.toBeNull();
    const token = decodeURIComponent(link![1]!);
    expect(token).toBe(invitation.token);
    const accepted = await call("/api/invitations/accept", { body: { token, password: "a long enough passphrase" } });
    expect(accepted.status).toBe(200);
  });

  it("says what is wrong: a wrong password, a refused connection, an unknown host, no STARTTLS, an HTTP status", async () => {
    const admin = await setUpOrganisation();
    const attempt = async (settings: Record<string, unknown>) => {
      const saved = await call("/api/settings/mail", { method: "PUT", cookie: admin.cookie, body: settings });
      expect(saved.status, await saved.clone().text()).toBe(200);
      return call("/api/settings/mail/test", { cookie: admin.cookie, body: { to: "errors@example.org" } });
    };
    const auth = await expectError(await attempt(smtpSettings({ password: "wrong" })), 502, "mail_auth");
    expect(auth.error.message).toContain("username and password");
    // A port where nothing listens: the inbox reader's port is taken by HTTP, so use a closed one next to the SMTP server.
    await expectError(await attempt(smtpSettings({ port: 1, username: "", password: "" })), 502, "mail_refused");
    await expectError(await attempt(smtpSettings({ host: "no-such-host.invalid", username: "", password: "" })), 502);
    const tls = await expectError(await attempt(smtpSettings({ security: "starttls" })), 502, "mail_tls");
    expect(tls.error.message).toContain("does not offer STARTTLS");

    // An invitation whose email fails is still made: the link is shown to copy, and the failure is on the record.
    await attempt(smtpSettings({ password: "wrong" }));
    const invited = await call("/api/users", { cookie: admin.cookie, body: { email: `unlucky-${backend.runtime}@example.org`, name: "Unlucky", role: "investigator" } });
    expect(invited.status).toBe(201);
    expect(((await invited.json()) as Invitation).emailed).toBe(false);
    const failed = (await auditEvents()).filter((e) => e.action === "mail.send");
    expect(failed.at(-1)).toMatchObject({ outcome: "failed", details: { purpose: "invitation", to: `unlucky-${backend.runtime}@example.org`, error: "auth" } });
    const tests = (await auditEvents()).filter((e) => e.action === "settings.mail_test");
    expect(tests.some((e) => e.outcome === "failed" && (e.details as { error?: string }).error === "mail_auth")).toBe(true);

    const http = { transport: "http", fromAddress: "custody@example.org", fromName: "Custody" };
    await expectError(await attempt({ ...http, http: { url: `${inbox}/http-mail`, token: "not-the-token" } }), 502, "mail_auth");
    await expectError(await attempt({ ...http, http: { url: `${inbox}/no-such-api` } }), 502, "mail_http");
    const ok = await attempt({ ...http, http: { url: `${inbox}/http-mail`, token: HTTP_MAIL_TOKEN } });
    expect(ok.status).toBe(200);
    const received = (await (await fetch(`${inbox}/http-mail`)).json()) as { to: { email: string }[]; subject: string; from: { email: string } }[];
    expect(received.some((m) => m.to[0]!.email === "errors@example.org" && m.subject === "Custody test message" && m.from.email === "custody@example.org")).toBe(true);
    expect(JSON.stringify(await (await call("/api/settings/mail", { cookie: admin.cookie })).json())).not.toContain(HTTP_MAIL_TOKEN);
  });

  it("refuses bad settings with a clear 400 and changes nothing; only administrators", async () => {
    const admin = await setUpOrganisation();
    const put = (body: unknown, cookie = admin.cookie) => call("/api/settings/mail", { method: "PUT", cookie, body });
    await expectError(await put(smtpSettings({ port: 0 })), 400, "validation_failed");
    await expectError(await put(smtpSettings({ host: "smtp example" })), 400, "validation_failed");
    await expectError(await put(smtpSettings({ host: "smtp.example.org" })), 400, "validation_failed"); // a password over an unencrypted connection
    await expectError(await put({ transport: "http", fromAddress: "c@example.org", fromName: "C", http: { url: "http://mail.example.org/send" } }), 400, "validation_failed");
    await expectError(await put({ transport: "smtp", fromAddress: "not an address", fromName: "C", smtp: { host: "a", port: 25, security: "none" } }), 400, "validation_failed");
    expect(await db.prepare("SELECT org_id FROM mail_settings").first()).toBeNull();
    const user = await addUser(admin.cookie, { email: "plain@example.org", name: "Plain", role: "investigator" });
    await expectError(await call("/api/settings/mail", { cookie: user.cookie }), 403);
    await expectError(await put(smtpSettings(), user.cookie), 403);
    await expectError(await call("/api/settings/mail/test", { cookie: user.cookie, body: { to: "x@example.org" } }), 403);
  });
});
