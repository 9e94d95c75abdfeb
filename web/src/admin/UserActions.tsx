/** Admin actions on one user: disable or enable, reset MFA, unlock, sign out everywhere. */
import { useEffect, useState } from "preact/hooks";
import type { UserSecurity } from "../../../shared/api/identity";
import type { User } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { identity } from "../identity/api";
import { formatDateTime } from "../ui/format";
import { withReauth } from "../identity/reauth";
import "./admin.css";

let cached: Promise<Map<string, UserSecurity>> | undefined;
const listeners = new Set<() => void>();

function securityFacts(refresh = false): Promise<Map<string, UserSecurity>> {
  if (refresh || !cached) {
    cached = identity.userSecurity().then((list) => new Map(list.users.map((u) => [u.id, u])));
    cached.catch(() => (cached = undefined));
    if (refresh) for (const listener of listeners) listener();
  }
  return cached;
}

export function UserActions(props: { user: User; isMe: boolean; onSaved: (user: User) => void }) {
  const { user, isMe } = props;
  const [facts, setFacts] = useState<UserSecurity>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");

  useEffect(() => {
    const update = () => void securityFacts().then((map) => setFacts(map.get(user.id)), () => undefined);
    listeners.add(update);
    update();
    return () => void listeners.delete(update);
  }, [user.id]);

  async function act(step: () => Promise<unknown>, done: string) {
    setBusy(true);
    setError(undefined);
    setNote("");
    try {
      await withReauth(step);
      setNote(done);
      void securityFacts(true);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Something went wrong. Try again.");
    } finally {
      setBusy(false);
    }
  }

  const mfa = facts ? [facts.mfa.totp ? "authenticator app" : "", facts.mfa.passkeys ? `${facts.mfa.passkeys} passkey${facts.mfa.passkeys > 1 ? "s" : ""}` : ""].filter(Boolean).join(", ") || "not set up" : "…";
  return (
    <div class="stack">
      <p class="hint">
        Two-step verification: {mfa}
        {facts ? `. Signed in on ${facts.activeSessions} device${facts.activeSessions === 1 ? "" : "s"}.` : ""}
      </p>
      {facts?.lockedUntil && <p class="badge badge-locked">Locked until {formatDateTime(facts.lockedUntil)} after failed sign-ins</p>}
      {!isMe && (
        <div class="user-actions">
          {user.status === "disabled" ? (
            <button type="button" class="secondary" disabled={busy} onClick={() => void act(async () => props.onSaved(await identity.enableUser(user.id)), `${user.name} can sign in again.`)}>
              Enable<span class="visually-hidden"> {user.name}</span>
            </button>
          ) : (
            <button type="button" class="secondary" disabled={busy} onClick={() => void act(async () => props.onSaved(await identity.disableUser(user.id)), `${user.name} is disabled and signed out everywhere.`)}>
              Disable<span class="visually-hidden"> {user.name}</span>
            </button>
          )}
          {facts?.lockedUntil && (
            <button type="button" class="secondary" disabled={busy} onClick={() => void act(() => identity.unlockUser(user.id), `${user.name} is unlocked.`)}>
              Unlock<span class="visually-hidden"> {user.name}</span>
            </button>
          )}
          {facts && (facts.mfa.totp || facts.mfa.passkeys > 0) && (
            <button type="button" class="secondary" disabled={busy} onClick={() => void act(() => identity.resetMfa(user.id), `${user.name}'s two-step verification was reset; they set it up again at next sign-in.`)}>
              Reset MFA<span class="visually-hidden"> for {user.name}</span>
            </button>
          )}
          {facts && facts.activeSessions > 0 && (
            <button type="button" class="secondary" disabled={busy} onClick={() => void act(() => identity.revokeUserSessions(user.id), `${user.name} is signed out everywhere.`)}>
              Sign out everywhere<span class="visually-hidden"> ({user.name})</span>
            </button>
          )}
        </div>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <p role="status" class="status">
        {note}
      </p>
    </div>
  );
}
