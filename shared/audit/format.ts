/** How audit events read, the same on the page and in every PDF report (web and shared builders). */
import type { AuditEvent, AuditOutcome } from "./chain";

export const OUTCOME_LABELS: Record<AuditOutcome, string> = {
  success: "Success",
  denied: "Denied",
  failed: "Failed",
};

/** Who acted: the label recorded at the time (a user's email), or what kind of actor it was. */
export function actorText(actor: AuditEvent["actor"]): string {
  if (actor.type === "anonymous") return actor.label ? `anonymous (as ${actor.label})` : "anonymous";
  if (actor.type === "system") return actor.label ?? "system";
  if (actor.type === "agent") return `site agent ${actor.label ?? actor.id ?? ""}`.trim();
  return actor.label ?? actor.id ?? "unknown user";
}

/** How each action reads, after the person's name ("Jane Doe (jane@…) created the case"). */
export const ACTION_TEXT: Record<string, string> = {
  "case.create": "created the case",
  "case.update": "edited the case",
  "case.close": "closed the case",
  "case.reopen": "reopened the case",
  "case.member_add": "added a member",
  "case.member_role": "changed a member's role",
  "case.member_remove": "removed a member (the case key was rotated)",
  "case.package_export": "exported a case package",
  "case.oversight_add": "gave a supervisor access to the case (oversight)",
  "case.oversight_remove": "ended a supervisor's access to the case (oversight)",
  "evidence.upload_start": "started an upload",
  "evidence.upload_complete": "added evidence",
  "evidence.redacted": "made a redacted copy of an item",
  "evidence.upload_cancel": "cancelled an upload",
  "evidence.view": "viewed an item",
  "evidence.download": "downloaded an original",
  "evidence.export": "exported a court package (or this item in a case package)",
  "evidence.details_edit": "edited evidence details",
  "capture.upload": "started uploading a capture to My captures",
  "evidence.file": "filed a capture into a case",
  "video.request_create": "requested video from a site",
  "video.export_start": "started exporting requested video (at the site)",
  "video.clip_held": "exported and encrypted a clip, held at the site",
  "video.clip_unavailable": "found no footage for a clip",
  "video.request_held": "holds the requested video, awaiting a decision",
  "video.request_unavailable": "reported the requested video unavailable",
  "video.request_approve": "approved the video request",
  "video.request_deny": "denied the video request",
  "video.request_expire": "expired the video request (no decision in time)",
  "video.delivery_start": "started sending requested video",
  "video.clip_delivered": "delivered requested video",
  "video.request_delivered": "completed the video request",
  "video.request_delivered_by_upload": "answered the video request by upload, through its submission link",
  "video.held_deleted": "deleted its held copy of the video",
  "retention.hold": "placed a legal hold",
  "retention.hold_lift": "lifted a legal hold",
  "retention.category_assign": "changed an item's retention category",
  "retention.deletion_request": "asked for an item to be deleted",
  "retention.due": "listed an item as past retention, due for deletion",
  "retention.due_cleared": "took an item off the due list (its retention is not over)",
  "retention.delete": "approved deleting an item (to the recycle bin)",
  "retention.restore": "restored an item from the recycle bin",
  "retention.shred": "destroyed an item's key (permanent deletion begun)",
  "retention.purge": "deleted an item permanently: nothing of it is stored",
  "share.create": "shared evidence",
  "share.update": "changed a share's level",
  "share.extend": "extended a share",
  "share.revoke": "revoked a share",
  "share.access_code": "set a new access code for a link",
  "share.guest_invite": "invited a guest",
  "share.open": "opened a shared link with its access code",
  "share.code_wrong": "entered a wrong access code",
  "share.locked": "locked a shared link (too many wrong codes)",
  "share.access": "opened a share",
  "share.view": "viewed shared evidence",
  "share.download": "downloaded a shared original",
  "share.export": "exported a court package from a share",
  "share.receipt": "signed a receipt",
  "share.keys_add": "gave a share the case's new key",
  "share.reminder": "reminded the recipient and sharer that a share ends soon",
  "submission.link_create": "made a submission link",
  "submission.link_email": "emailed a submission link",
  "submission.link_open": "opened a submission link",
  "submission.link_revoke": "revoked a submission link",
  "submission.throttled": "was refused: too many requests to a submission link",
  "submission.start": "began sending evidence through a submission link",
  "submission.file_add": "began sending a file through a submission link",
  "submission.file_refused": "was refused a file: the submission link's limits are reached",
  "submission.part_upload": "sent part of a submitted file",
  "submission.file": "sent a file through a submission link",
  "submission.sent": "finished sending evidence through a submission link",
  "submission.abandoned": "deleted a submission left unfinished",
  "submission.view": "viewed a submitted file",
  "submission.accept": "accepted a submitted file as evidence",
  "submission.reject": "rejected and deleted a submitted file",
  "audit.read": "read the audit trail",
  "access.denied": "was refused",
  "auth.sign_in": "signed in",
  "auth.sign_out": "signed out",
  "auth.reauth": "confirmed their password again",
  "auth.lockout": "was locked out after too many wrong passwords",
  "auth.throttled": "was slowed down after repeated attempts",
  "auth.password_accepted": "entered the right password (second step pending)",
  "audit.export": "exported the audit trail",
  "audit.offline_refused": "had an offline record refused",
  "request.refused": "had a request refused",
  "camera.sync": "updated the site's cameras",
  "evidence.part_upload": "uploaded part of an item",
  "keys.register": "set up their keys",
  "keys.passkey_unlock_on": "turned on passkey unlock",
  "keys.passkey_unlock_off": "turned off passkey unlock",
  "keys.recovery_request": "asked for key recovery",
  "keys.recovery_release": "approved a key recovery",
  "keys.recovery_complete": "completed key recovery",
  "keys.recovery_cancel": "cancelled a key recovery",
  "mail.send": "sent an email",
  "mfa.totp_start": "began setting up an authenticator app",
  "mfa.totp_enrol": "turned on an authenticator app",
  "mfa.totp_remove": "removed an authenticator app",
  "mfa.passkey_add": "added a passkey",
  "mfa.passkey_remove": "removed a passkey",
  "mfa.recovery_code_used": "used a recovery code",
  "mfa.recovery_codes_replace": "made new recovery codes",
  "mfa.reset": "reset two-step verification",
  "oidc.provider_delete": "removed the identity provider",
  "organisation.setup": "set up the organisation",
  "retention.category_create": "created a retention category",
  "retention.category_change": "changed a retention category",
  "retention.due_list": "read the list of items due for deletion",
  "retention.run": "ran the retention check",
  "retention.settings_change": "changed the retention settings",
  "session.revoke": "ended a session",
  "session.revoke_all": "ended all other sessions",
  "settings.change": "changed the organisation's settings",
  "settings.mail_change": "changed the email settings",
  "settings.mail_test": "sent a test email",
  "site.create": "registered a site",
  "site.enrolment_issue": "made a site configuration file",
  "site.agent_enrol": "connected a site's agent",
  "site.operator_add": "added a site operator",
  "site.operator_remove": "removed a site operator",
  "user.invite": "invited a user",
  "user.invitation_accept": "accepted an invitation",
  "user.activate": "activated an account",
  "user.disable": "disabled an account",
  "user.enable": "enabled an account",
  "user.provision": "created an account from the identity provider",
  "user.oidc_link": "linked an account to the identity provider",
  "user.password_change": "changed a password",
  "user.role_change": "changed a role",
  "user.unlock": "unlocked an account",
  "user.update": "edited an account",
  "user.supervisor_add": "made a user a supervisor",
  "user.supervisor_remove": "took away a user's supervisor role",
};

/** An action in words: its own text, or the code's words ("case.thing_done" → "case: thing done") for one added since. */
export function actionText(action: string): string {
  return ACTION_TEXT[action] ?? action.replace(/_/g, " ").replace(".", ": ");
}

/** The filter's choices: every action in words ("signed in"), sorted as they read. */
export const ACTION_CHOICES: readonly { value: string; label: string }[] = Object.entries(ACTION_TEXT)
  .map(([value, label]) => ({ value, label: label.charAt(0).toUpperCase() + label.slice(1) }))
  .sort((a, b) => a.label.localeCompare(b.label));

/** What the reader's own device knows, to name people, items and cases instead of showing ids. */
export interface AuditNames {
  /** A person by user id: name and email. */
  person?: (id: string) => { name: string; email: string } | undefined;
  /** An evidence item by id: its title or file name, known only where the reader can open it. */
  item?: (id: string) => string | undefined;
  /** A case by id: "2026-0107: Shop robbery". */
  caseLabel?: (id: string) => string | undefined;
}

/** "Jane Doe (jane@example.org)". */
export function personLabel(person: { name: string; email: string }): string {
  return `${person.name} (${person.email})`;
}

/** Who acted, with their name when it is known: "Jane Doe (jane@example.org)", "site agent Corner Shop". */
export function personText(actor: AuditEvent["actor"], names: AuditNames = {}): string {
  if (actor.type === "user" && actor.id) {
    const person = names.person?.(actor.id);
    if (person) return personLabel(person);
  }
  return actorText(actor);
}

const ROLE_WORDS: Record<string, string> = { lead: "lead", contributor: "contributor", viewer: "viewer" };

/** Item verbs: what was done to one evidence item, named after the verb. */
const ITEM_VERBS: Record<string, string> = {
  "evidence.view": "viewed",
  "evidence.download": "downloaded the original of",
  "evidence.upload_complete": "added",
  "evidence.redacted": "made the redacted copy",
  "evidence.upload_start": "started uploading",
  "evidence.upload_cancel": "cancelled the upload of",
  "evidence.details_edit": "edited the details of",
  "capture.upload": "captured",
  "evidence.file": "filed",
  "evidence.export": "exported a court package of",
};

/** What the reader sees for an item they cannot open (its name is encrypted to people who can). */
export const UNKNOWN_ITEM = "an item you cannot open";

/**
 * An event's action in plain words, naming the people, item and case it concerns where the
 * reader's device knows them: "added Jane Doe (jane@…) as contributor", "viewed IMG_0042.jpg".
 * `inCase` leaves out the case (it is the page's own).
 */
export function describeAction(event: AuditEvent, names: AuditNames = {}, options: { inCase?: boolean } = {}): string {
  const details = event.details as Record<string, unknown>;
  const targetPerson = event.target.type === "user" && event.target.id ? names.person?.(event.target.id) : undefined;
  const someone = targetPerson ? personLabel(targetPerson) : "a person";
  const caseId = typeof details["caseId"] === "string" ? details["caseId"] : event.target.type === "case" ? event.target.id : null;
  const caseText = !options.inCase && caseId ? ` in case ${names.caseLabel?.(caseId) ?? "(one you are not a member of)"}` : "";
  const evidenceId = typeof details["evidenceId"] === "string" ? details["evidenceId"] : event.target.type === "evidence" ? event.target.id : null;
  const item = evidenceId ? (names.item?.(evidenceId) ?? UNKNOWN_ITEM) : null;
  switch (event.action) {
    case "case.member_add":
      return `added ${someone} as ${ROLE_WORDS[String(details["role"])] ?? "member"}${caseText}`;
    case "case.member_role":
      return `changed ${someone}'s role from ${ROLE_WORDS[String(details["from"])] ?? "?"} to ${ROLE_WORDS[String(details["to"])] ?? "?"}${caseText}`;
    case "case.member_remove":
      return `removed ${someone} from the case (the case key was rotated)${caseText}`;
    case "case.oversight_add":
      return `gave ${someone} access as supervisor (oversight)${caseText}`;
    case "case.oversight_remove":
      return `ended ${someone}'s access as supervisor (oversight)${caseText}`;
    case "user.supervisor_add":
      return `made ${someone} a supervisor`;
    case "user.supervisor_remove":
      return `took away ${someone}'s supervisor role`;
    case "audit.read":
      return options.inCase ? "read this history" : caseId ? `read the history of case ${names.caseLabel?.(caseId) ?? "(one you are not a member of)"}` : "read the audit trail";
    case "case.create":
      return options.inCase ? "created the case" : `created case ${caseId ? (names.caseLabel?.(caseId) ?? "(one you are not a member of)") : ""}`.trim();
  }
  const verb = ITEM_VERBS[event.action];
  if (verb && item) return `${verb} ${item}${caseText}`;
  const words = actionText(event.action);
  return `${words}${item ? ` (${item})` : ""}${targetPerson && !words.includes(someone) ? `: ${someone}` : ""}${caseText}`;
}

/** "2026-03-12 14:05:33 UTC" (unambiguous, for reports). */
export function utcTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
