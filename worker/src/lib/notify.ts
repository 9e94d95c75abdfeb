/**
 * Messages to guests (docs/disclosure.md §6): invitations, share notices and expiry reminders go
 * by email through the organisation's mail settings (lib/mail.ts) when mail is configured; with
 * none, nothing is sent and the app shows the link to copy. Every message sent, and every one that
 * failed, is audited (`mail.send`, with its purpose and address). A link share's URL carries its
 * secret and is never composed here: the sharer's browser offers it (mailto: or copy).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { audit } from "./audit";
import { sendMail, type MailOutcome } from "./mail";

export interface Notice {
  to: string;
  subject: string;
  /** Plain text; never a link secret. */
  text: string;
  /** What it is, for the audit record: "guest_invitation", "share_notice", "share_reminder". */
  purpose: string;
}

/** The audit details of a message's outcome (null when nothing was tried: no mail configured). */
export function mailEvent(notice: Notice, outcome: MailOutcome): { outcome: "success" | "failed"; details: Record<string, string> } | null {
  if (!outcome.sent && outcome.reason === "not_configured") return null;
  return {
    outcome: outcome.sent ? "success" : "failed",
    details: { purpose: notice.purpose, to: notice.to, ...(outcome.sent ? {} : { error: outcome.error.kind }) },
  };
}

/** Sends `notice` for the signed-in user's organisation where mail is configured, audits it, and says whether it went. */
export async function sendNotice(c: Context<AppEnv>, notice: Notice): Promise<boolean> {
  const outcome = await sendMail(c.env, c.get("user").orgId, { to: notice.to, subject: notice.subject, text: notice.text });
  const event = mailEvent(notice, outcome);
  if (event) await audit(c, { action: "mail.send", target: { type: "user", id: null }, ...event });
  return outcome.sent;
}
