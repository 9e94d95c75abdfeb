/** The second step of sign-in: a code from the authenticator app, a passkey, or a recovery code. */
import type { TargetedSubmitEvent } from "preact";
import { useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { identity } from "./api";
import { PublicLayout } from "../ui/layout";
import "./identity.css";

export function MfaChallengeScreen(props: { session: SessionInfo; onDone: (session: SessionInfo) => void; onSignOut: () => Promise<void> }) {
  const methods = props.session.mfaMethods ?? [];
  const [mode, setMode] = useState<"totp" | "recovery_code">(methods.includes("totp") ? "totp" : "recovery_code");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function run(step: () => Promise<SessionInfo>) {
    setBusy(true);
    setError(undefined);
    try {
      props.onDone(await step());
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Something went wrong in the app. Reload the page and try again.");
    } finally {
      setBusy(false);
    }
  }

  function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "").trim();
    if (mode === "totp" && !/^\d{6}$/.test(code.replace(/\s/g, ""))) return setError("Enter the 6-digit code your authenticator app shows.");
    if (!code) return setError("Enter one of your recovery codes.");
    void run(() => identity.verifyMfa({ method: mode, code: mode === "totp" ? code.replace(/\s/g, "") : code }));
  }

  return (
    <PublicLayout>
      <h1>Two-step verification</h1>
      <p>Signing in as {props.session.user.email}.</p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {methods.includes("passkey") && (
        <button type="button" class="primary" onClick={() => void run(() => identity.verifyMfaWithPasskey())} disabled={busy}>
          Use a passkey
        </button>
      )}
      {(methods.includes("totp") || methods.includes("recovery_code")) && (
        <form key={mode} onSubmit={submit} class="stack" noValidate>
          <div class="field">
            {mode === "totp" ? (
              <>
                <label for="mfa-code">Authentication code</label>
                <input id="mfa-code" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={7} autoFocus />
              </>
            ) : (
              <>
                <label for="mfa-code">Recovery code</label>
                <input id="mfa-code" name="code" autoComplete="off" autoCapitalize="characters" spellcheck={false} autoFocus />
              </>
            )}
          </div>
          <button type="submit" class={methods.includes("passkey") ? "secondary" : "primary"} disabled={busy} aria-busy={busy || undefined}>
            {busy ? "Checking…" : "Verify"}
          </button>
        </form>
      )}
      <div class="actions">
        {methods.includes("totp") && methods.includes("recovery_code") && (
          <button type="button" class="link-button" onClick={() => setMode(mode === "totp" ? "recovery_code" : "totp")}>
            {mode === "totp" ? "Use a recovery code" : "Use the authenticator app"}
          </button>
        )}
        <button type="button" class="link-button" onClick={() => void props.onSignOut()}>
          Cancel and sign out
        </button>
      </div>
    </PublicLayout>
  );
}
