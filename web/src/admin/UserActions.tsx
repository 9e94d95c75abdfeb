/** Admin actions on one user: disable or enable, reset MFA, unlock, sign out everywhere. */
import { useEffect, useState } from "preact/hooks";
import type { UserSecurity } from "../../../shared/api/identity";
import type { User } from "../../../shared/api/schemas";
import { api, ApiError } from "../api/client";
import { identity } from "../identity/api";
import { formatDateTime } from "../ui/format";
import { withReauth } from "../identity/reauth";
import "./admin.css";

/**
 * Security facts of the users shown, fetched a page at a time in the user list's own order (the
 * API pages both alike), as far as the users asked for: so a long list costs one request per
 * page of users, not one per user.
 */
let cached: { facts: Map<string, UserSecurity>; next: string | null; done: boolean; loading?: Promise<void> } | undefined;
const listeners = new Set<() => void>();

async function securityFacts(userId: string, refresh = false): Promise<UserSecurity | undefined> {
  if (refresh || !cached) {
    cached = { facts: new Map(), next: null, done: false };
    if (refresh) for (const listener of listeners) listener();
  }
  const state = cached;
  while (!state.facts.has(userId) && !state.done) {
    state.loading ??= identity
      .userSecurity(state.next ?? undefined)
      .then((page) => {
        for (const user of page.users) state.facts.set(user.id, user);
        state.next = page.nextCursor;
        state.done = page.nextCursor === null;
      })
      .finally(() => (state.loading = undefined));
    try {
      await state.loading;
    } catch (caught) {
      if (cached === state) cached = undefined;
      throw caught;
    }
  }
  return state.facts.get(userId);
}

export function UserActions(props: { user: User; isMe: boolean; onSaved: (user: User) => void }) {
  const { user, isMe } = props;
  const [facts, setFacts] = useState<UserSecurity>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");

  useEffect(() => {
    const update = () => void securityFacts(user.id).then(setFacts, () => undefined);
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
      void securityFacts(user.id, true);
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
          {user.status === "active" && (user.role === "investigator" || user.role === "admin") &&
            (user.supervisor ? (
              <button type="button" class="secondary" disabled={busy} onClick={() => void act(async () => props.onSaved(await api.setSupervisor(user.id, false)), `${user.name} is no longer a supervisor: their access to the cases they oversaw is removed.`)}>
                End supervisor role<span class="visually-hidden"> of {user.name}</span>
              </button>
            ) : (
              <button type="button" class="secondary" disabled={busy} onClick={() => void act(async () => props.onSaved(await api.setSupervisor(user.id, true)), `${user.name} is a supervisor: every case opened from now on can be opened by them too.`)}>
                Make supervisor<span class="visually-hidden"> {user.name}</span>
              </button>
            ))}
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
