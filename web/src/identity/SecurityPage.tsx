/** Your security: two-step verification (authenticator app, passkeys, recovery codes), password, and sessions. */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { ChangePasswordRequest, type MfaStatus, type SessionSummary } from "../../../shared/api/identity";
import { identity } from "./api";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../ui/forms";
import { formatDateTime } from "../ui/format";
import { withReauth } from "./reauth";
import { rememberSignInPassword } from "./password-memory";
import { PageHeading } from "../ui/layout";
import { TotpEnrolment } from "./MfaEnrolScreen";
import { RecoveryCodesPanel } from "./RecoveryCodes";
import "./identity.css";
import { messageOf } from "../ui/messages";
import { useOptionalDeviceKeys } from "../keys/context";
import { passkeysThatUnlock, turnOffPasskeyUnlock, turnOnPasskeyUnlock } from "../keys/passkey-unlock";
import { KeyWorkProgress } from "../keys/progress";

const FACTOR_WORDS: Record<string, string> = {
  password: "a password",
  passkey: "a passkey",
  oidc: "the organisation's sign-in service",
  totp: "an authenticator app code",
  recovery_code: "a recovery code",
};

/**
 * How a session signed in, in words: "password+totp" → "with a password and an authenticator app
 * code"; "password+totp_enrolment" → "… (while setting it up)". Unknown parts are left out.
 */
export function signInMethod(method: string | null): string {
  const parts = (method ?? "password").split("+");
  const enrolling = parts.some((part) => part.endsWith("_enrolment"));
  const words = parts.map((part) => FACTOR_WORDS[part.replace(/_enrolment$/, "")]).filter((word): word is string => !!word);
  if (words.length === 0) return "";
  return `with ${words.join(" and ")}${enrolling ? " (while setting up two-step verification)" : ""}`;
}

export function SecurityPage() {
  return (
    <>
      <PageHeading>Security</PageHeading>
      <TwoStep />
      <ChangePassword />
      <Sessions />
    </>
  );
}

function TwoStep() {
  const hasKeys = useOptionalDeviceKeys() !== null;
  const [status, setStatus] = useState<MfaStatus>();
  const [codes, setCodes] = useState<string[]>();
  const [addingTotp, setAddingTotp] = useState(false);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);

  const [unlocking, setUnlocking] = useState<Set<string>>(new Set());
  const load = () =>
    Promise.all([identity.mfaStatus(), passkeysThatUnlock()]).then(
      ([mfa, unlock]) => {
        setStatus(mfa);
        setUnlocking(unlock);
      },
      (caught: unknown) => setError(messageOf(caught)),
    );
  useEffect(() => void load(), []);

  async function act(step: () => Promise<unknown>, done: string) {
    setBusy(true);
    setError(undefined);
    setNote("");
    try {
      await withReauth(step);
      setNote(done);
      await load();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  async function addPasskey(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name") ?? "").trim() || "Passkey";
    await act(async () => {
      const result = await identity.addPasskey(name);
      if (result.recoveryCodes) setCodes(result.recoveryCodes);
    }, `Passkey "${name}" added.`);
  }

  return (
    <section aria-labelledby="twostep-heading" class="stack">
      <h2 id="twostep-heading">Two-step verification</h2>
      {codes && <RecoveryCodesPanel codes={codes} doneLabel="Done" onDone={() => setCodes(undefined)} />}
      {status && !codes && (
        <>
          <h3>Authenticator app</h3>
          {status.totp ? (
            <div class="actions">
              <p>On.</p>
              <button type="button" class="secondary" disabled={busy} onClick={() => void act(() => identity.removeTotp(), "Authenticator app removed.")}>
                Remove authenticator app
              </button>
            </div>
          ) : addingTotp ? (
            <TotpEnrolment
              onEnrolled={(result) => {
                setAddingTotp(false);
                if (result.recoveryCodes) setCodes(result.recoveryCodes);
                setNote("Authenticator app turned on.");
                void load();
              }}
            />
          ) : (
            <button type="button" class="secondary" onClick={() => setAddingTotp(true)}>
              Set up authenticator app
            </button>
          )}
          <h3>Passkeys</h3>
          {status.passkeys.length === 0 ? (
            <p class="muted">No passkeys.</p>
          ) : (
            <ul class="security-list" aria-label="Your passkeys">
              {status.passkeys.map((key) => (
                <li key={key.id}>
                  <strong>{key.name}</strong>
                  <p class="hint">
                    Added {formatDateTime(key.createdAt)}
                    {key.lastUsedAt ? `, last used ${formatDateTime(key.lastUsedAt)}` : ""}
                  </p>
                  {hasKeys && <PasskeyUnlock
                    passkey={key}
                    on={unlocking.has(key.id)}
                    busy={busy}
                    onChanged={async (message) => {
                      setNote(message);
                      await load();
                    }}
                  />}
                  <button type="button" class="secondary" disabled={busy} onClick={() => void act(() => identity.removePasskey(key.id), `Passkey "${key.name}" removed.`)}>
                    Remove<span class="visually-hidden"> passkey {key.name}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <form onSubmit={(event) => void addPasskey(event)} class="stack" aria-label="Add a passkey">
            <div class="field">
              <label for="passkey-name">Passkey name</label>
              <input id="passkey-name" name="name" defaultValue="This device" maxLength={60} />
            </div>
            <button type="submit" class="secondary" disabled={busy}>
              Add a passkey
            </button>
          </form>
          <h3>Recovery codes</h3>
          <p>{status.recoveryCodesLeft} unused.</p>
          {(status.totp || status.passkeys.length > 0) && (
            <button
              type="button"
              class="secondary"
              disabled={busy}
              onClick={() => void act(async () => setCodes((await identity.replaceRecoveryCodes()).recoveryCodes), "New recovery codes made; the old ones no longer work.")}
            >
              Make new recovery codes
            </button>
          )}
        </>
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

function ChangePassword() {
  const [done, setDone] = useState("");
  const [formKey, setFormKey] = useState(0);
  const form = useForm({
    schema: ChangePasswordRequest,
    toBody: (values) => ({ currentPassword: values["currentPassword"], newPassword: values["newPassword"] }),
    check: (values): FieldErrors =>
      values["newPassword"] === values["confirm"] ? {} : { confirm: "The passwords don't match. Type the same password twice." },
    send: async (body) => {
      setDone("");
      await identity.changePassword(body);
      await rememberSignInPassword(body.newPassword); // the new one, for a key passphrase chosen next
      setFormKey((key) => key + 1);
      setDone("Password changed. Your other sessions were signed out.");
    },
  });
  return (
    <section aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <form key={formKey} ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate aria-labelledby="password-heading">
        <FormAlert message={form.formError} />
        <Field name="currentPassword" label="Current password" type="password" autoComplete="current-password" error={form.errors["currentPassword"]} />
        <Field
          name="newPassword"
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters (or your organisation's minimum). A short sentence is easy to remember. Common passwords are refused."
          error={form.errors["newPassword"]}
        />
        <Field name="confirm" label="Confirm new password" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
        <SubmitButton busy={form.busy} label="Change password" busyLabel="Changing…" />
      </form>
      <p role="status" class="status">
        {done}
      </p>
    </section>
  );
}

function describeDevice(session: SessionSummary): string {
  const agent = session.userAgent ?? "Unknown device";
  const browser = /Chrome\/|Chromium/.test(agent) ? "Chrome" : /Firefox\//.test(agent) ? "Firefox" : /Safari\//.test(agent) ? "Safari" : "Browser";
  const os = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iOS" : /Windows/.test(agent) ? "Windows" : /Mac OS/.test(agent) ? "macOS" : /Linux/.test(agent) ? "Linux" : "";
  return [browser, os].filter(Boolean).join(" on ");
}

function Sessions() {
  const [sessions, setSessions] = useState<SessionSummary[]>();
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");
  const load = () => identity.sessions().then((list) => setSessions(list.sessions), (caught: unknown) => setError(messageOf(caught)));
  useEffect(() => void load(), []);

  async function revoke(session: SessionSummary) {
    setError(undefined);
    try {
      await identity.revokeSession(session.id);
      if (session.current) location.assign("/");
      setNote(`Signed out ${describeDevice(session)}.`);
      await load();
    } catch (caught) {
      setError(messageOf(caught));
    }
  }

  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Where you're signed in</h2>
      {sessions && (
        <ul class="security-list" aria-label="Your sessions">
          {sessions.map((session) => (
            <li key={session.id}>
              <strong>
                {describeDevice(session)}
                {session.current && " (this device)"}
              </strong>
              <p class="hint">
                Signed in {formatDateTime(session.createdAt)} {signInMethod(session.method)}, last active {formatDateTime(session.lastSeenAt)}
                {session.ip ? `, from ${session.ip}` : ""}
              </p>
              <button type="button" class="secondary" onClick={() => void revoke(session)}>
                End session<span class="visually-hidden"> {session.current ? "on this device" : describeDevice(session)}</span>
              </button>
            </li>
          ))}
        </ul>
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

/**
 * Passkey unlock for one passkey: on, its gesture at sign-in also unlocks the keys on a new
 * device (its PRF output opens an envelope of the key bundle); turning it on takes the key
 * passphrase once and the passkey's gesture.
 */
function PasskeyUnlock(props: { passkey: { id: string; name: string }; on: boolean; busy: boolean; onChanged: (message: string) => Promise<void> }) {
  const keys = useOptionalDeviceKeys()!.keys; // rendered only when there are keys
  const [asking, setAsking] = useState(false);
  const [working, setWorking] = useState(false);
  const [error, setError] = useState<string>();
  const name = props.passkey.name;

  const form = useForm({
    schema: z.object({ passphrase: z.string().min(1, "Enter your key passphrase.") }),
    send: async ({ passphrase }) => {
      setError(undefined);
      await turnOnPasskeyUnlock(keys.userId, props.passkey.id, passphrase);
      setAsking(false);
      await props.onChanged(`Passkey unlock is on for "${name}": signing in with it on a new device unlocks your keys too.`);
    },
  });

  async function turnOff() {
    setWorking(true);
    setError(undefined);
    try {
      await turnOffPasskeyUnlock(props.passkey.id);
      await props.onChanged(`Passkey unlock is off for "${name}".`);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setWorking(false);
    }
  }

  if (props.on) {
    return (
      <div class="stack">
        <p>Unlocks your keys.</p>
        <button type="button" class="secondary" disabled={props.busy || working} onClick={() => void turnOff()} aria-label={`Turn off passkey unlock for ${name}`}>
          Turn off passkey unlock
        </button>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
      </div>
    );
  }
  if (!asking) {
    return (
      <button type="button" class="secondary" disabled={props.busy} onClick={() => setAsking(true)} aria-label={`Turn on passkey unlock for ${name}`}>
        Turn on passkey unlock
      </button>
    );
  }
  return (
    <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate class="stack" aria-label={`Passkey unlock for ${name}`}>
      <p>Enter your key passphrase once; then use the passkey "{name}" when asked. Its authenticator must support the PRF extension.</p>
      <FormAlert message={form.formError} />
      <Field name="passphrase" label="Key passphrase" type="password" autoComplete="off" error={form.errors["passphrase"]} />
      <div class="actions">
        <SubmitButton busy={form.busy} label="Turn on" busyLabel="Turning on…" />
        <button type="button" class="secondary" disabled={form.busy} onClick={() => setAsking(false)}>
          Cancel
        </button>
      </div>
      <KeyWorkProgress />
    </form>
  );
}
