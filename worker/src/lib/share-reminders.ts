/**
 * Expiry reminders (docs/disclosure.md §6), part of the daily scheduled job: a share that ends
 * within REMINDER_DAYS gets one reminder, to its guest (guest shares) and to its sharer, by email
 * where the organisation has mail configured. Each share is marked before its messages go, in the
 * same batch as its audit event, so a second run (or two at once) sends nothing more; with no mail
 * configured nothing is marked, and a later run, once mail is set up, still reminds.
 */
import { sharesToRemind, shareReminded } from "../db/shares";
import { flushAudit, systemAuditStatement } from "./audit";
import { findMailSettings } from "../db/mail";
import { sendMail } from "./mail";
import { mailEvent } from "./notify";
import { publicOrigin } from "./public-url";
import { reminderToGuest, reminderToSharer } from "./share-notices";

/** How long before a share ends its reminder goes. */
export const REMINDER_DAYS = 3;

export interface ReminderResult {
  reminded: number;
}

/** Sends the reminders due at `now` for every organisation; one organisation's failure does not stop the others. */
export async function runShareReminders(env: Env, now: Date): Promise<ReminderResult> {
  const total: ReminderResult = { reminded: 0 };
  const { results } = await env.DB.prepare("SELECT id FROM organisations ORDER BY id").all<{ id: string }>();
  for (const { id: orgId } of results) {
    try {
      total.reminded += await remindOrganisation(env, orgId, now);
    } catch (err) {
      console.error(`share reminders: the run for ${orgId} stopped; the next run takes it up again`, err);
    } finally {
      await flushAudit(env, orgId);
    }
  }
  return total;
}

async function remindOrganisation(env: Env, orgId: string, now: Date): Promise<number> {
  const mail = await findMailSettings(env.DB, orgId);
  if (!mail || mail.transport === "none") return 0;
  let origin: string;
  try {
    origin = publicOrigin(env);
  } catch {
    console.error("share reminders: PUBLIC_URL is not set, so messages cannot link to the app; no reminders sent");
    return 0;
  }
  const at = now.toISOString();
  const until = new Date(now.getTime() + REMINDER_DAYS * 86_400_000).toISOString();
  let reminded = 0;
  for (const share of await sharesToRemind(env.DB, orgId, at, until)) {
    // Claim the share first: only the run whose update changed the row sends.
    const [claim] = await env.DB.batch([
      shareReminded(env.DB, share.id, at),
      systemAuditStatement(env.DB, orgId, { action: "share.reminder", target: { type: "share", id: share.id }, details: { caseId: share.case_id, caseNumber: share.case_number, recipient: share.recipient_label, expiresAt: share.expires_at } }, { onlyIfChanged: true }),
    ]);
    if (!claim || claim.meta.changes !== 1) continue;
    const notices = [reminderToSharer({ to: share.sharer_email, sharerName: share.sharer_name, recipient: share.recipient_label, caseNumber: share.case_number, expiresAt: share.expires_at, origin, caseId: share.case_id })];
    if (share.guest_email) notices.unshift(reminderToGuest({ to: share.guest_email, guestName: share.guest_name ?? share.recipient_label, caseNumber: share.case_number, expiresAt: share.expires_at, origin }));
    const events = [];
    for (const notice of notices) {
      const event = mailEvent(notice, await sendMail(env, orgId, { to: notice.to, subject: notice.subject, text: notice.text }));
      if (event) events.push(systemAuditStatement(env.DB, orgId, { action: "mail.send", target: { type: "share", id: share.id }, ...event }));
    }
    if (events.length > 0) await env.DB.batch(events);
    reminded++;
  }
  return reminded;
}
