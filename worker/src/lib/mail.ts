/**
 * Sending email (issue 16, item 6): `sendMail(env, orgId, { to, subject, text, html? })` with the
 * organisation's transport (Admin → Settings → Email): SMTP (lib/smtp.ts, over TCP sockets on
 * Workers and on the Deno host), or an HTTP mail API, a JSON POST with a bearer token
 * (docs/deploy.md "Email"). With no mail configured it sends nothing and says so, and callers
 * show the link to copy instead. Secrets are opened with the data key only here, when sending.
 */
import { findMailSettings, type MailSettingsRow } from "../db/mail";
import { dataKeys, open } from "./data-key";
import { buildMessage, MailError, sendSmtp } from "./smtp";

export { MailError } from "./smtp";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export type MailOutcome = { sent: true } | { sent: false; reason: "not_configured" } | { sent: false; reason: "failed"; error: MailError };

export const mailSecretPlace = (column: "smtp_password" | "http_token", orgId: string) => `mail_settings.${column}/${orgId}`;

/** Whether localhost-only rules apply (plain http for an API, on the machine itself). */
function isLocal(url: URL): boolean {
  return url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]";
}

/** Sends with `row`'s transport; throws MailError. */
export async function sendWith(env: Env, row: MailSettingsRow, message: MailMessage): Promise<void> {
  if (row.transport === "smtp") {
    const password = row.smtp_password ? await open(await dataKeys(env), mailSecretPlace("smtp_password", row.org_id), row.smtp_password) : null;
    const domain = row.from_address.split("@")[1] ?? "custody.invalid";
    const raw = buildMessage({ from: row.from_address, fromName: row.from_name, to: message.to, subject: message.subject, text: message.text, ...(message.html ? { html: message.html } : {}), date: new Date(), messageId: `${crypto.randomUUID()}@${domain}` });
    await sendSmtp({ host: row.smtp_host!, port: row.smtp_port!, security: row.smtp_security ?? "starttls", username: row.smtp_username || null, password, helo: domain }, row.from_address, message.to, raw);
    return;
  }
  if (row.transport === "http") {
    const url = new URL(row.http_url!);
    if (url.protocol !== "https:" && !isLocal(url)) throw new MailError("config", "The mail API URL must be https:// (http:// only for localhost).");
    const token = row.http_token ? await open(await dataKeys(env), mailSecretPlace("http_token", row.org_id), row.http_token) : null;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ from: { email: row.from_address, name: row.from_name }, to: [{ email: message.to }], subject: message.subject, text: message.text, ...(message.html ? { html: message.html } : {}) }),
        signal: AbortSignal.timeout(15_000),
        redirect: "manual",
      });
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (/timeout|abort/i.test(text)) throw new MailError("timeout", `The mail API at ${url.host} did not answer in time.`);
      if (/dns|resolve|not known|ENOTFOUND/i.test(text)) throw new MailError("dns", `The mail API's host ${url.hostname} could not be found (DNS).`);
      if (/tls|ssl|certificate/i.test(text)) throw new MailError("tls", `The TLS connection to the mail API at ${url.host} failed.`);
      throw new MailError("refused", `Could not reach the mail API at ${url.host}: ${text}`);
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 401 || response.status === 403) throw new MailError("auth", `The mail API refused the token (HTTP ${response.status}). Check the API token.`);
    if (response.status < 200 || response.status > 299) throw new MailError("http", `The mail API answered HTTP ${response.status}. Check the URL and the provider's status.`);
    return;
  }
  throw new MailError("config", "No mail transport is configured.");
}

/** Sends `message` with the organisation's mail settings; says whether it went (never throws for a mail failure). */
export async function sendMail(env: Env, orgId: string, message: MailMessage): Promise<MailOutcome> {
  const row = await findMailSettings(env.DB, orgId);
  if (!row || row.transport === "none") return { sent: false, reason: "not_configured" };
  try {
    await sendWith(env, row, message);
    return { sent: true };
  } catch (error) {
    const failure = error instanceof MailError ? error : new MailError("refused", error instanceof Error ? error.message : String(error));
    console.error(`mail: not sent (${failure.kind}): ${failure.message}`);
    return { sent: false, reason: "failed", error: failure };
  }
}
