/**
 * Re-authentication before sensitive actions. `withReauth(action)` runs the action; when the
 * server answers 403 `reauth_required` it opens the "Confirm it's you" dialog (password or
 * passkey), then runs the action once more.
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { OIDC_START_PATH, oidcApi } from "./oidc";
import { ApiError } from "../api/client";
import { identity } from "./api";
import { rememberSignInPassword } from "./password-memory";

type Pending = { resolve: () => void; reject: (error: unknown) => void };
let open: ((pending: Pending) => void) | undefined;

export async function withReauth<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "reauth_required") || !open) throw error;
    await new Promise<void>((resolve, reject) => open!({ resolve, reject }));
    return action();
  }
}

const CANCELLED = "Cancelled: nothing was changed.";

export function ReauthDialog() {
  const [pending, setPending] = useState<Pending>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const dialog = useRef<HTMLDialogElement>(null);
  const [provider, setProvider] = useState<string | null>(null);

  useEffect(() => {
    open = (next) => {
      setError(undefined);
      setPending(next);
    };
    return () => void (open = undefined);
  }, []);

  useEffect(() => {
    if (!pending) return;
    // People who sign in with the organisation's identity provider confirm by signing in there again.
    oidcApi.publicConfig().then(
      (config) => setProvider(config.enabled ? (config.displayName ?? "your organisation's sign-in") : null),
      () => setProvider(null),
    );
  }, [pending]);

  useEffect(() => {
    if (pending && !dialog.current?.open) dialog.current?.showModal();
    if (!pending && dialog.current?.open) dialog.current.close();
  }, [pending]);

  function finish(ok: boolean) {
    if (ok) pending?.resolve();
    else pending?.reject(new ApiError(0, "reauth_cancelled", CANCELLED));
    setPending(undefined);
  }

  async function run(step: () => Promise<unknown>) {
    setBusy(true);
    setError(undefined);
    try {
      await step();
      finish(true);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Something went wrong. Try again.");
    } finally {
      setBusy(false);
    }
  }

  function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    if (!password) return setError("Enter your password.");
    // Remembered (memory only) so a key passphrase being changed can be refused if it equals this.
    void run(async () => {
      await identity.reauthWithPassword(password);
      await rememberSignInPassword(password);
    });
  }

  return (
    <dialog ref={dialog} class="reauth-dialog" aria-labelledby="reauth-heading" onCancel={(event) => (event.preventDefault(), finish(false))}>
      {pending && (
        <form onSubmit={submit} class="stack">
          <h2 id="reauth-heading">Confirm it's you</h2>
          <p>This is a sensitive action. Enter your password, or use a passkey, to continue.</p>
          {error && (
            <p role="alert" class="alert">
              {error}
            </p>
          )}
          <div class="field">
            <label for="reauth-password">Your password</label>
            <input id="reauth-password" name="password" type="password" autoComplete="current-password" autoFocus />
          </div>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy} aria-busy={busy || undefined}>
              Confirm
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => void run(() => identity.reauthWithPasskey())}>
              Use a passkey
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => finish(false)}>
              Cancel
            </button>
          </div>
          {provider && (
            <p>
              Signed in with {provider}? <a href={`${OIDC_START_PATH}?reauth=1`}>Sign in again with {provider}</a>, then repeat the action: a fresh
              sign-in counts as confirmation for five minutes.
            </p>
          )}
        </form>
      )}
    </dialog>
  );
}
