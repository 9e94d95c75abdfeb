/**
 * The messages of disclosure (docs/disclosure.md §6): a guest's invitation, the notice that a case
 * was shared with a guest, and the reminder a few days before a share ends (to the guest and to
 * the sharer). None carries a link secret: a link share's URL is only ever in the sharer's browser.
 */
import type { Notice } from "./notify";

/** A time as people read it in a message: "2026-12-09 23:59 UTC". */
export const mailTime = (iso: string) => `${iso.replace("T", " ").slice(0, 16)} UTC`;

export function guestInvitationNotice(m: { to: string; guestName: string; sharerName: string; token: string; expiresAt: string; origin: string }): Notice {
  return {
    purpose: "guest_invitation",
    to: m.to,
    subject: "You are invited to receive evidence",
    text: [
      `Hello ${m.guestName},`,
      "",
      `${m.sharerName} invites you to receive evidence through Custody.`,
      `Open this link to set your password and a second factor (it works once, until ${mailTime(m.expiresAt)}):`,
      "",
      `${m.origin}/invite#token=${encodeURIComponent(m.token)}`,
      "",
      "You will see only what is shared with you. If you did not expect this, ignore this message.",
      "",
    ].join("\n"),
  };
}

export function shareNotice(m: { to: string; guestName: string; sharerName: string; caseNumber: string; expiresAt: string; origin: string }): Notice {
  return {
    purpose: "share_notice",
    to: m.to,
    subject: `Case ${m.caseNumber} was shared with you`,
    text: [
      `Hello ${m.guestName},`,
      "",
      `${m.sharerName} shared case ${m.caseNumber} with you, until ${mailTime(m.expiresAt)}.`,
      "Sign in to see it:",
      "",
      `${m.origin}/shared`,
      "",
    ].join("\n"),
  };
}

export function reminderToGuest(m: { to: string; guestName: string; caseNumber: string; expiresAt: string; origin: string }): Notice {
  return {
    purpose: "share_reminder",
    to: m.to,
    subject: `Your access to case ${m.caseNumber} ends ${mailTime(m.expiresAt).slice(0, 10)}`,
    text: [
      `Hello ${m.guestName},`,
      "",
      `Your access to case ${m.caseNumber} ends ${mailTime(m.expiresAt)}. After that you can no longer open it; ask the person who shared it if you need longer.`,
      "",
      `${m.origin}/shared`,
      "",
    ].join("\n"),
  };
}

export function reminderToSharer(m: { to: string; sharerName: string; recipient: string; caseNumber: string; expiresAt: string; origin: string; caseId: string }): Notice {
  return {
    purpose: "share_reminder",
    to: m.to,
    subject: `Your share of case ${m.caseNumber} with ${m.recipient} ends ${mailTime(m.expiresAt).slice(0, 10)}`,
    text: [
      `Hello ${m.sharerName},`,
      "",
      `Your share of case ${m.caseNumber} with ${m.recipient} ends ${mailTime(m.expiresAt)}. To give them longer, extend it in the case's Sharing section:`,
      "",
      `${m.origin}/cases?case=${encodeURIComponent(m.caseId)}`,
      "",
    ].join("\n"),
  };
}
