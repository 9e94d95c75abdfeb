/**
 * Two-step verification enrolment, shown before anything else when the organisation requires it
 * (a session restricted to enrolment): an authenticator app (QR code and base32 secret, confirmed
 * by a first code) or a passkey, then the one-time recovery codes.
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { TotpSetup } from "../../../shared/api/identity";
import type { SessionInfo } from "../../../shared/api/schemas";
import { identity } from "./api";
import { PublicLayout } from "../ui/layout";
import { RecoveryCodesPanel } from "./RecoveryCodes";
import "./identity.css";
import { messageOf } from "../ui/messages";

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP": the base32 secret in groups of four, for typing. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, "").match(/.{1,4}/g)?.join(" ") ?? "";
}

/** The TOTP set-up steps, usable inside the enrolment screen and the security page. */
export function TotpEnrolment(props: { onEnrolled: (result: { recoveryCodes: string[] | null; session: SessionInfo }) => void }) {
  const [setup, setSetup] = useState<TotpSetup>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    identity.startTotp().then(setSetup, (caught: unknown) => setError(messageOf(caught)));
  }, []);

  async function confirm(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "").replace(/\s/g, "");
    if (!/^\d{6}$/.test(code)) return setError("Enter the 6-digit code your authenticator app shows.");
    setBusy(true);
    setError(undefined);
    try {
      props.onEnrolled(await identity.confirmTotp(code));
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="totp-heading" class="stack">
      <h2 id="totp-heading">Authenticator app</h2>
      {!setup && !error && <p class="muted">Preparing…</p>}
      {setup && (
        <>
          <p>Scan this QR code with an authenticator app (for example FreeOTP, Aegis, Google or Microsoft Authenticator).</p>
          <img class="qr" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}`} alt="QR code for your authenticator app" width={200} height={200} />
          <p>
            <a class="button secondary" href={setup.uri}>
              Open in an authenticator app on this device
            </a>
          </p>
          <p>
            Can't scan it or open it? Type this secret key into the app, four letters at a time:{" "}
            <code class="secret" aria-label={`Secret key, in groups of four: ${groupSecret(setup.secret)}`}>
              {groupSecret(setup.secret)}
            </code>
          </p>
          <form onSubmit={confirm} class="stack" noValidate>
            <div class="field">
              <label for="totp-code">Code from the app</label>
              <input id="totp-code" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={7} required />
            </div>
            <button type="submit" class="primary" disabled={busy} aria-busy={busy || undefined}>
              {busy ? "Checking…" : "Verify and turn on"}
            </button>
          </form>
        </>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function MfaEnrolScreen(props: { session: SessionInfo; onDone: (session: SessionInfo) => void; onSignOut: () => Promise<void> }) {
  const [method, setMethod] = useState<"totp" | "passkey">("totp");
  const [result, setResult] = useState<{ recoveryCodes: string[] | null; session: SessionInfo }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  function enrolled(next: { recoveryCodes: string[] | null; session: SessionInfo }) {
    if (next.recoveryCodes) setResult(next);
    else props.onDone(next.session);
  }

  async function passkey() {
    setBusy(true);
    setError(undefined);
    try {
      enrolled(await identity.addPasskey("Passkey"));
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <PublicLayout>
      <h1>Set up two-step verification</h1>
      {result?.recoveryCodes ? (
        <RecoveryCodesPanel codes={result.recoveryCodes} onDone={() => props.onDone(result.session)} />
      ) : (
        <>
          <p>
            Your organisation requires a second step when you sign in, {props.session.user.name}. Set it up now: it takes a
            minute.
          </p>
          <p class="hint">Account: {props.session.user.email}</p>
          {method === "totp" ? (
            <>
              <TotpEnrolment onEnrolled={enrolled} />
              <button type="button" class="secondary" onClick={() => setMethod("passkey")}>
                Use a passkey instead
              </button>
            </>
          ) : (
            <section aria-labelledby="passkey-heading" class="stack">
              <h2 id="passkey-heading">Passkey</h2>
              <p>A passkey uses this device's screen lock (fingerprint, face or PIN). You can then also sign in with it alone.</p>
              {error && (
                <p role="alert" class="alert">
                  {error}
                </p>
              )}
              <button type="button" class="primary" onClick={() => void passkey()} disabled={busy} aria-busy={busy || undefined}>
                Create a passkey
              </button>
              <button type="button" class="secondary" onClick={() => setMethod("totp")}>
                Use an authenticator app instead
              </button>
            </section>
          )}
          <button type="button" class="link-button" onClick={() => void props.onSignOut()}>
            Sign out
          </button>
        </>
      )}
    </PublicLayout>
  );
}
