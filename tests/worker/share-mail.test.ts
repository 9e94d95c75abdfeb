/**
 * Disclosure by email (docs/disclosure.md §6), against a real SMTP server (tests/support/smtp.ts):
 * a guest's invitation goes by email and its link works; a share with a guest sends them a notice
 * with the portal's address; the daily job reminds the guest and the sharer a few days before a
 * share ends, once per share however often it runs, and again after the expiry is changed. No
 * message ever carries a link share's secret.
 */
import { describe, expect, inject, it } from "vitest";
import type { CreatedShare, GuestInvitation } from "../../shared/api/shares";
import { auditEvents } from "./audit-helpers";
import { backend } from "./backend";
import { openCase, randomBytes, uploadEvidence, withKeys } from "./evidence-helpers";
import { addUser, call, setUpOrganisation, withTotp } from "./helpers";
import { inDays, json, share } from "./share-helpers";

const smtpPort = inject("smtpPort");
const inbox = inject("smtpInbox");

interface SmtpMessage {
  to: string[];
  raw: string;
}

/** The plain text of a message (base64 in the messages lib/smtp.ts builds). */
function messageText(raw: string): string {
  const at = raw.indexOf("Content-Type: text/plain");
  const start = raw.indexOf("\r\n\r\n", at) + 4;
  const end = raw.indexOf("\r\n--", start);
  const binary = atob(raw.slice(start, end < 0 ? undefined : end).replace(/\s+/g, ""));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

async function allMessages(): Promise<SmtpMessage[]> {
  return (await (await fetch(`${inbox}/messages`)).json()) as SmtpMessage[];
}

/** Messages to `address`, waiting until there are at least `count` (or the time is up). */
async function messagesTo(address: string, count = 1, timeoutMs = 15_000): Promise<SmtpMessage[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const mine = (await allMessages()).filter((m) => m.to.includes(address));
    if (mine.length >= count || Date.now() > until) return mine;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const subjectOf = (raw: string) => /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? "";

describe("disclosure by email", () => {
  it("emails a guest's invitation and share notice, and reminds guest and sharer once before a share ends", async () => {
    const tag = `${backend.runtime}-${crypto.randomUUID().slice(0, 8)}`;
    const leadEmail = `lead-${tag}@example.org`;
    const guestEmail = `guest-${tag}@cps.example`;
    const adminSession = await setUpOrganisation();
    const lead = await withKeys(await addUser(adminSession.cookie, { email: leadEmail, name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0300", { title: "Harbour fire" });
    const item = await uploadEvidence(lead, caseA, randomBytes(2000, 21));
    const saved = await call("/api/settings/mail", {
      method: "PUT",
      cookie: adminSession.cookie,
      body: { transport: "smtp", fromAddress: "custody@example.org", fromName: "Custody", smtp: { host: "127.0.0.1", port: smtpPort, security: "none", username: "", password: "" } },
    });
    expect(saved.status, await saved.clone().text()).toBe(200);

    // The invitation goes by email (the token is then not in the answer) and its link works.
    const invited = await json<GuestInvitation>(await call(`/api/cases/${caseA.id}/guests`, { cookie: lead.cookie, body: { email: guestEmail, name: "Pat Prosecutor" } }), 201);
    expect(invited.sent).toBe(true);
    expect(invited.invitation).toBeNull();
    const [invitation] = await messagesTo(guestEmail);
    expect(subjectOf(invitation!.raw)).toBe("You are invited to receive evidence");
    const invitationText = messageText(invitation!.raw);
    expect(invitationText).toContain("Hello Pat Prosecutor,");
    expect(invitationText).toContain("Lee Lead invites you");
    const token = decodeURIComponent(/\/invite#token=(\S+)/.exec(invitationText)![1]!);
    const accepted = await call("/api/invitations/accept", { body: { token, password: "a guest's long passphrase" } });
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    const guest = await withKeys(await withTotp(accepted));

    // A share with the guest: a notice with the portal's address. One ends in 2 days, one in 20.
    const soon = inDays(2);
    const guestShare = await share(lead, caseA.id, { type: "guest", guestId: guest.id }, { items: [item.evidenceId], expiresAt: soon });
    const created = await json<CreatedShare>(guestShare.response, 201);
    expect(created.notified).toBe(true);
    const [, notice] = await messagesTo(guestEmail, 2);
    expect(subjectOf(notice!.raw)).toBe("Case 2026-0300 was shared with you");
    const noticeText = messageText(notice!.raw);
    expect(noticeText).toContain(`Lee Lead shared case 2026-0300 with you, until ${soon.replace("T", " ").slice(0, 16)} UTC.`);
    expect(noticeText).toMatch(/https?:\/\/\S+\/shared\n/);
    const later = await share(lead, caseA.id, { type: "guest", guestId: guest.id }, { items: [item.evidenceId], expiresAt: inDays(20) });
    expect(later.response.status).toBe(201);
    // A link share: nothing is emailed by the server (its URL holds the secret, composed in the sharer's browser).
    const link = await share(lead, caseA.id, { type: "link", label: "Defence counsel" }, { items: [item.evidenceId], expiresAt: inDays(1) });
    expect((await json<CreatedShare>(link.response, 201)).notified).toBe(false);
    expect(await messagesTo(guestEmail, 3)).toHaveLength(3); // invitation, two notices
    expect(await messagesTo(leadEmail, 1, 500)).toEqual([]);

    // The daily job, run twice: one reminder per share ending within 3 days, to the guest and the sharer.
    await backend.runScheduled(new Date());
    await backend.runScheduled(new Date());
    const guestMail = await messagesTo(guestEmail, 4);
    const leadMail = await messagesTo(leadEmail, 2);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // anything extra would have arrived by now
    const guestReminders = (await messagesTo(guestEmail)).filter((m) => subjectOf(m.raw).startsWith("Your access to case"));
    expect(guestReminders).toHaveLength(1);
    expect(subjectOf(guestReminders[0]!.raw)).toBe(`Your access to case 2026-0300 ends ${soon.slice(0, 10)}`);
    expect(messageText(guestReminders[0]!.raw)).toContain("/shared");
    const leadReminders = (await messagesTo(leadEmail)).map((m) => subjectOf(m.raw)).sort();
    expect(leadReminders).toEqual([`Your share of case 2026-0300 with Defence counsel ends ${inDays(1).slice(0, 10)}`, `Your share of case 2026-0300 with Pat Prosecutor ends ${soon.slice(0, 10)}`].sort());
    expect(guestMail.length + leadMail.length).toBeGreaterThanOrEqual(6);

    // No message anywhere carries the link's secret.
    for (const message of await allMessages()) expect(message.raw).not.toContain(link.secret!);

    // Audited: one share.reminder per share, and every message sent.
    const events = await auditEvents();
    const reminders = events.filter((e) => e.action === "share.reminder");
    expect(reminders.map((e) => e.target.id).sort()).toEqual([guestShare.id, link.id].sort());
    expect(reminders[0]!.actor.type).toBe("system");
    const sentMail = events.filter((e) => e.action === "mail.send");
    expect(sentMail.map((e) => e.details.purpose).sort()).toEqual(["guest_invitation", "share_notice", "share_notice", "share_reminder", "share_reminder", "share_reminder"]);
    expect(sentMail.every((e) => e.outcome === "success")).toBe(true);

    // Extending a share makes it due for a reminder again when its new end comes near.
    expect((await call(`/api/shares/${guestShare.id}`, { method: "PATCH", cookie: lead.cookie, body: { expiresAt: inDays(2.5) } })).status).toBe(200);
    await backend.runScheduled(new Date());
    const again = (await messagesTo(guestEmail, 5)).filter((m) => subjectOf(m.raw).startsWith("Your access to case"));
    expect(again).toHaveLength(2);
  });

  it("with no mail configured nothing is sent: the invitation and the share are for the sharer to pass on, and no reminder is marked", async () => {
    const tag = `${backend.runtime}-${crypto.randomUUID().slice(0, 8)}`;
    const adminSession = await setUpOrganisation();
    const lead = await withKeys(await addUser(adminSession.cookie, { email: `lead-${tag}@example.org`, name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0301", { title: "Quay" });
    const item = await uploadEvidence(lead, caseA, randomBytes(500, 22));
    const invited = await json<GuestInvitation>(await call(`/api/cases/${caseA.id}/guests`, { cookie: lead.cookie, body: { email: `guest-${tag}@cps.example`, name: "Pat" } }), 201);
    expect(invited.sent).toBe(false);
    expect(invited.invitation).not.toBeNull();
    const guest = await withKeys(await withTotp(await call("/api/invitations/accept", { body: { token: invited.invitation!.token, password: "a guest's long passphrase" } })));
    const shared = await share(lead, caseA.id, { type: "guest", guestId: guest.id }, { items: [item.evidenceId], expiresAt: inDays(1) });
    expect((await json<CreatedShare>(shared.response, 201)).notified).toBe(false);
    await backend.runScheduled(new Date());
    expect(await messagesTo(`guest-${tag}@cps.example`, 1, 500)).toEqual([]);
    expect((await auditEvents()).filter((e) => e.action === "share.reminder" || e.action === "mail.send")).toEqual([]);
  });
});
