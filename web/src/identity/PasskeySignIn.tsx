/** "Continue with a passkey": passwordless sign-in with a discoverable credential on this device or a security key. */
import { useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { identity } from "./api";
import "./identity.css";

export function PasskeySignIn(props: { onSignedIn: (session: SessionInfo) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (typeof PublicKeyCredential === "undefined") return null;

  async function signIn() {
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await identity.signInWithPasskey());
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Couldn't sign in with a passkey. Try again, or use your password.");
      setBusy(false);
    }
  }

  return (
    <div class="stack passkey-sign-in">
      <button type="button" class="secondary" onClick={() => void signIn()} disabled={busy} aria-busy={busy || undefined}>
        {busy ? "Waiting for your passkey…" : "Continue with a passkey"}
      </button>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </div>
  );
}
