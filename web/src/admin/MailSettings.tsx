/**
 * Admin → Settings → Email: how the organisation sends invitations and notices (none, SMTP, or
 * an HTTP mail API), validated here and by the server, with "Send test message". The SMTP
 * password and API token are write-only: the page only learns whether one is saved.
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { MailSettings, MailTestResult, UpdateMailSettingsRequest } from "../../../shared/api/mail";
import { ApiError, apiFetch } from "../api/client";
import { withReauth } from "../identity/reauth";
import { Field, issuesToFieldErrors, type FieldErrors } from "../ui/forms";

const mailApi = {
  get: () => apiFetch("/api/settings/mail", {}, MailSettings),
  save: (json: UpdateMailSettingsRequest) => apiFetch("/api/settings/mail", { method: "PUT", json }, MailSettings),
  test: (to: string) => apiFetch("/api/settings/mail/test", { method: "POST", json: { to } }, MailTestResult),
};

type Transport = MailSettings["transport"];

export function MailSettingsForm() {
  const [settings, setSettings] = useState<MailSettings>();
  const [transport, setTransport] = useState<Transport>("none");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState<"save" | "test">();

  useEffect(() => {
    mailApi.get().then(
      (loaded) => {
        setSettings(loaded);
        setTransport(loaded.transport);
      },
      (caught: unknown) => setError(caught instanceof ApiError ? caught.message : "Couldn't load the email settings."),
    );
  }, []);

  async function save(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const secret = (name: string) => (data.get(name) === null || String(data.get(name)) === "" ? undefined : String(data.get(name)));
    const body =
      transport === "none"
        ? { transport }
        : transport === "smtp"
          ? { transport, fromAddress: text("fromAddress"), fromName: text("fromName"), smtp: { host: text("smtp.host"), port: Number(text("smtp.port")), security: text("smtp.security"), username: text("smtp.username"), password: secret("smtp.password") } }
          : { transport, fromAddress: text("fromAddress"), fromName: text("fromName"), http: { url: text("http.url"), token: secret("http.token") } };
    const parsed = UpdateMailSettingsRequest.safeParse(body);
    setNote("");
    setError(undefined);
    if (!parsed.success) {
      setErrors(issuesToFieldErrors(parsed.error.issues));
      return setError("Check the email fields marked below and try again.");
    }
    setErrors({});
    setBusy("save");
    try {
      const saved = await withReauth(() => mailApi.save(parsed.data));
      setSettings(saved);
      setNote(saved.transport === "none" ? "Email turned off: invitations show a link to copy." : "Email settings saved. Send a test message to check them.");
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Couldn't save the email settings.");
      if (caught instanceof ApiError) setErrors(caught.fieldErrors);
    } finally {
      setBusy(undefined);
    }
  }

  async function test(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const to = String(new FormData(event.currentTarget).get("to") ?? "").trim();
    setNote("");
    setError(undefined);
    setBusy("test");
    try {
      await mailApi.test(to);
      setNote(`Test message sent to ${to}. Check that it arrived (and not in spam).`);
    } catch (caught) {
      setError(caught instanceof ApiError ? `The test message was not sent: ${caught.message}` : "The test message was not sent.");
    } finally {
      setBusy(undefined);
    }
  }

  if (!settings) return error ? <p role="alert" class="alert">{error}</p> : null;
  const smtp = settings.smtp;
  const http = settings.http;
  return (
    <section aria-labelledby="mail-heading" class="stack settings-group">
      <h2 id="mail-heading">Email</h2>
      <p class="hint">
        Invitations go by email when mail is set up; without it, everything works and the app shows links to copy. On Cloudflare use a mail provider's HTTP API; self-hosted, SMTP
        (the deployment guide's "Email" section has the details).
      </p>
      <form onSubmit={(event) => void save(event)} class="stack" aria-label="Email settings" noValidate>
        <fieldset class="stack">
          <legend>How to send</legend>
          {(
            [
              ["none", "No email (show links to copy)"],
              ["smtp", "SMTP server"],
              ["http", "HTTP mail API"],
            ] as const
          ).map(([value, label]) => (
            <label class="checkbox" key={value}>
              <input type="radio" name="transport" value={value} checked={transport === value} onChange={() => setTransport(value)} />
              {label}
            </label>
          ))}
        </fieldset>
        {transport !== "none" && (
          <>
            <Field name="fromAddress" label="From address" hint="The sender of every message, e.g. custody@police.example (your provider must allow it)." type="email" required={false} defaultValue={settings.fromAddress} error={errors["fromAddress"]} />
            <Field name="fromName" label="From name" required={false} defaultValue={settings.fromName || "Custody"} error={errors["fromName"]} />
          </>
        )}
        {transport === "smtp" && (
          <>
            <Field name="smtp.host" label="SMTP host" hint="e.g. smtp.example.org" required={false} defaultValue={smtp?.host ?? ""} error={errors["smtp.host"]} />
            <Field name="smtp.port" label="SMTP port" hint="587 with STARTTLS, 465 with TLS, 25 for a relay on your network." type="number" required={false} defaultValue={String(smtp?.port ?? 587)} error={errors["smtp.port"]} />
            <div class="field">
              <label for="mail-smtp-security">Encryption</label>
              <select id="mail-smtp-security" name="smtp.security" defaultValue={smtp?.security ?? "starttls"}>
                <option value="starttls">STARTTLS (port 587)</option>
                <option value="tls">TLS (port 465)</option>
                <option value="none">None (a relay on a private network only)</option>
              </select>
            </div>
            <Field name="smtp.username" label="SMTP username" hint="Leave empty for a relay that needs no sign-in." required={false} defaultValue={smtp?.username ?? ""} error={errors["smtp.username"]} />
            <Field
              name="smtp.password"
              label="SMTP password"
              hint={smtp?.passwordSet ? "A password is saved (sealed; it is never shown). Leave empty to keep it." : "Sealed on the server with its data key; never shown again."}
              type="password"
              required={false}
              defaultValue=""
              autoComplete="new-password"
              error={errors["smtp.password"]}
            />
          </>
        )}
        {transport === "http" && (
          <>
            <Field name="http.url" label="Mail API URL" hint="Custody sends each message here as JSON (from, to, subject, text, html), as the deployment guide describes. The address must start with https://." type="url" required={false} defaultValue={http?.url ?? ""} error={errors["http.url"]} />
            <Field
              name="http.token"
              label="API token"
              hint={http?.tokenSet ? "A token is saved (sealed; it is never shown). Leave empty to keep it." : "Sent as Authorization: Bearer <token>. Sealed on the server; never shown again."}
              type="password"
              required={false}
              defaultValue=""
              autoComplete="new-password"
              error={errors["http.token"]}
            />
          </>
        )}
        <button type="submit" class="primary" disabled={!!busy}>
          {busy === "save" ? "Saving…" : "Save email settings"}
        </button>
      </form>
      {settings.transport !== "none" && (
        <form onSubmit={(event) => void test(event)} class="stack" aria-label="Send a test message" noValidate>
          <div class="field">
            <label for="mail-test-to">Send a test message to</label>
            <input id="mail-test-to" name="to" type="email" autoComplete="email" placeholder="you@example.org" />
          </div>
          <button type="submit" disabled={!!busy}>
            {busy === "test" ? "Sending…" : "Send test message"}
          </button>
        </form>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <p role="status" class="status">
        {note}
      </p>
    </section>
  );
}
