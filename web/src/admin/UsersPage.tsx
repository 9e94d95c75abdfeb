/** Admin → Users: everyone in the organisation, invitations, and role changes. */
import type { TargetedEvent, TargetedFocusEvent, TargetedSubmitEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { CreateUserRequest, type Invitation, type PendingRecovery, type Role, type User } from "../../../shared/api/schemas";
import { importRecoveryKeyFile, releaseEscrowedKey, type UnlockedKey } from "../../../shared/crypto/keys";
import { api, ApiError } from "../api/client";
import { Field, FormAlert, SelectField, SubmitButton, useForm } from "../ui/forms";
import { formatDateTime } from "../ui/format";
import { ROLE_LABELS, ROLE_OPTIONS, STATUS_LABELS } from "../ui/labels";
import { withReauth } from "../identity/reauth";
import { PageHeading } from "../ui/layout";
import { LoadMore, usePaged } from "../ui/paging";
import { UserActions } from "./UserActions";
import { messageOf } from "../ui/messages";

function byName(a: User, b: User): number {
  return a.name.localeCompare(b.name) || a.email.localeCompare(b.email);
}

export function UsersPage(props: { me: User }) {
  const people = usePaged<User>((cursor) => api.listUsers(cursor ? { cursor } : {}).then((page) => ({ items: page.users, nextCursor: page.nextCursor })), []);
  const users = people.items;

  function upsert(user: User) {
    // A new or changed user is shown at once, in name order among those loaded.
    people.setItems((current) => [...current.filter((other) => other.id !== user.id), user].sort(byName));
  }

  return (
    <>
      <PageHeading>Users</PageHeading>
      <InviteUser onInvited={(invitation) => upsert(invitation.user)} />
      <RecoveryRequests me={props.me} />
      <section aria-labelledby="people-heading" aria-busy={people.loading || undefined}>
        <h2 id="people-heading">People{users ? ` (${users.length}${people.hasMore ? "+" : ""})` : ""}</h2>
        {people.error && !users && (
          <div class="stack">
            <p role="alert" class="alert">
              Couldn't load the list of users. {people.error}
            </p>
            <button type="button" class="secondary" onClick={people.reload}>
              Retry
            </button>
          </div>
        )}
        {!users && people.loading && <p class="muted">Loading users…</p>}
        {users && (
          <ul class="user-list" aria-label="People">
            {users.map((user) => (
              <UserCard key={user.id} user={user} isMe={user.id === props.me.id} onSaved={upsert} />
            ))}
          </ul>
        )}
        {users && <LoadMore hasMore={people.hasMore} loading={people.loading} error={people.error} noun="users" onMore={people.more} />}
      </section>
    </>
  );
}

function InviteUser(props: { onInvited: (invitation: Invitation) => void }) {
  const [invitation, setInvitation] = useState<Invitation>();
  // A new key gives a fresh, empty form (role back to Investigator) after each invitation.
  const [formKey, setFormKey] = useState(0);
  const form = useForm({
    schema: CreateUserRequest,
    send: async (body) => {
      const created = await api.createUser(body);
      setFormKey((key) => key + 1);
      setInvitation(created);
      props.onInvited(created);
    },
  });

  return (
    <section aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite user</h2>
      {invitation && <InvitationLink invitation={invitation} onDone={() => setInvitation(undefined)} />}
      <form
        key={formKey}
        ref={form.formRef}
        aria-labelledby="invite-heading"
        onSubmit={form.onSubmit}
        onInput={form.onInput}
        noValidate
      >
        <FormAlert message={form.formError} />
        <Field name="email" label="Email" type="email" inputMode="email" autoComplete="off" error={form.errors["email"]} />
        <Field name="name" label="Name" autoComplete="off" error={form.errors["name"]} />
        <SelectField
          name="role"
          label="Role"
          options={ROLE_OPTIONS}
          defaultValue={"investigator" satisfies Role}
          error={form.errors["role"]}
        />
        <SubmitButton busy={form.busy} label="Invite user" busyLabel="Inviting…" />
      </form>
    </section>
  );
}

function InvitationLink(props: { invitation: Invitation; onDone: () => void }) {
  const { user, token, expiresAt } = props.invitation;
  const link = `${location.origin}/invite#token=${encodeURIComponent(token)}`;
  const [copyStatus, setCopyStatus] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => heading.current?.focus(), [token]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
      setCopyStatus("Link copied.");
    } catch {
      input.current?.select();
      setCopyStatus("Couldn't copy automatically. The link is selected: copy it with your device's copy command.");
    }
  }

  return (
    <div class="invitation" role="region" aria-labelledby="invitation-heading">
      <h3 id="invitation-heading" ref={heading} tabIndex={-1}>
        Invitation ready for {user.name}
      </h3>
      {props.invitation.emailed ? (
        <p role="status">
          The invitation was emailed to {user.email}. It works once, until {formatDateTime(expiresAt)}. If it does not arrive, send them this link over a channel you trust (it is
          shown only once).
        </p>
      ) : (
        <p>
          Send this link to {user.name} ({user.email}) over a channel you trust. It is shown only once and works until{" "}
          {formatDateTime(expiresAt)}.
        </p>
      )}
      <div class="field">
        <label for="invitation-link">Invitation link</label>
        <input
          id="invitation-link"
          ref={input}
          type="text"
          readOnly
          value={link}
          onFocus={(event: TargetedFocusEvent<HTMLInputElement>) => event.currentTarget.select()}
        />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={() => void copy()}>
          Copy link
        </button>
        <button type="button" class="secondary" onClick={props.onDone}>
          Done
        </button>
      </div>
      <p role="status" class="status">
        {copyStatus}
      </p>
    </div>
  );
}

function UserCard(props: { user: User; isMe: boolean; onSaved: (user: User) => void }) {
  const { user, isMe } = props;
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<string>();
  const selectId = `role-${user.id}`;
  const noteId = `role-note-${user.id}`;
  const errorId = `role-error-${user.id}`;

  async function save(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (isMe || busy) return;
    const role = new FormData(event.currentTarget).get("role") as Role;
    setBusy(true);
    setStatus("");
    setError(undefined);
    try {
      const saved = await withReauth(() => api.updateUser(user.id, { role }));
      setStatus(`Saved: ${saved.name} is now ${ROLE_LABELS[saved.role]}.`);
      props.onSaved(saved);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="user-card">
      <h3>
        {user.name}
        {isMe && <span class="you"> (you)</span>}
      </h3>
      <p class="user-email">{user.email}</p>
      <p class="user-meta">
        <span>{ROLE_LABELS[user.role]}</span>
        {user.supervisor && <span class="badge badge-supervisor">Supervisor</span>}
        <span class={`badge badge-${user.status}`}>{STATUS_LABELS[user.status]}</span>
      </p>
      {user.role === "guest" ? (
        <p class="hint">A guest: an outside recipient of shares, invited by a case lead. Their role cannot be changed.</p>
      ) : (
        <form class="role-form" onSubmit={save}>
          <div class="field">
            <label for={selectId}>
              Role<span class="visually-hidden"> for {user.name}</span>
            </label>
            <select
              id={selectId}
              name="role"
              disabled={isMe}
              aria-describedby={[isMe ? noteId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined}
              aria-invalid={error ? true : undefined}
            >
              {ROLE_OPTIONS.map((option) => (
                <option key={option.value} value={option.value} selected={option.value === user.role}>
                  {option.label}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="secondary" disabled={isMe || busy} aria-busy={busy || undefined}>
            {busy ? "Saving…" : "Save"}
            <span class="visually-hidden"> role for {user.name}</span>
          </button>
        </form>
      )}
      {isMe && (
        <p id={noteId} class="hint">
          Nobody can change their own role. Ask another administrator if yours needs to change.
        </p>
      )}
      {error && (
        <p id={errorId} role="alert" class="alert">
          {error}
        </p>
      )}
      <p role="status" class="status">
        {status}
      </p>
      <UserActions user={user} isMe={isMe} onSaved={props.onSaved} />
    </li>
  );
}

const NOT_RECOVERY_FILE = "This is not the organisation's recovery key file.";

/**
 * Pending key recovery requests. Restoring access happens in this browser: the recovery key
 * file is read here, opens the user's escrow, and re-wraps their encryption key to the
 * one-time transport key their device made. The server receives only that new JWE.
 */
function RecoveryRequests(props: { me: User }) {
  const [requests, setRequests] = useState<PendingRecovery[]>();
  const [loadError, setLoadError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [status, setStatus] = useState("");

  async function load() {
    setLoading(true);
    setLoadError(undefined);
    try {
      setRequests((await api.recoveryRequests()).requests);
    } catch (error) {
      setLoadError(messageOf(error));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => void load(), []);

  function released(request: PendingRecovery) {
    setRequests((current) => (current ?? []).filter((other) => other.id !== request.id));
    setStatus(`Access released for ${request.user.name}. They can now choose a new key passphrase.`);
  }

  return (
    <section aria-labelledby="recovery-heading" aria-busy={loading || undefined}>
      <h2 id="recovery-heading">Key recovery requests</h2>
      {loadError && (
        <div class="stack">
          <p role="alert" class="alert">
            Couldn't load the key recovery requests. {loadError}
          </p>
          <button type="button" class="secondary" onClick={() => void load()}>
            Retry
          </button>
        </div>
      )}
      {!requests && loading && <p class="muted">Loading requests…</p>}
      {requests && requests.length === 0 && <p class="muted">No requests.</p>}
      {requests && requests.length > 0 && (
        <ul class="user-list">
          {requests.map((request) => (
            <RecoveryRequestCard key={request.id} request={request} isMe={request.user.id === props.me.id} onReleased={released} />
          ))}
        </ul>
      )}
      <p role="status" class="status">
        {status}
      </p>
    </section>
  );
}

function RecoveryRequestCard(props: { request: PendingRecovery; isMe: boolean; onReleased: (request: PendingRecovery) => void }) {
  const { request, isMe } = props;
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const inputId = `recovery-file-${request.id}`;
  const errorId = `recovery-error-${request.id}`;
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);

  async function restore(event: TargetedEvent<HTMLInputElement>) {
    const file = event.currentTarget.files?.[0];
    event.currentTarget.value = ""; // the same file can be chosen again after an error
    if (!file || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const recovery = await api.recoveryKey();
      let key: UnlockedKey;
      try {
        key = await importRecoveryKeyFile(await file.text());
      } catch {
        throw new ApiError(0, "not_recovery_file", NOT_RECOVERY_FILE);
      }
      // Checked before use: a key that is not the organisation's could never open the escrow.
      if (key.kid !== recovery.kid) throw new ApiError(0, "not_recovery_file", NOT_RECOVERY_FILE);
      let transfer: string;
      try {
        transfer = await releaseEscrowedKey(request.escrow, key.privateKey, request.transportKey);
      } catch {
        throw new ApiError(0, "bad_escrow", `The recovery key file could not open ${request.user.name}'s escrowed key. Tell them to cancel and request recovery again.`);
      }
      await api.releaseRecovery(request.id, { transfer });
      props.onReleased(request);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="user-card">
      <h3>
        {request.user.name}
        {isMe && <span class="you"> (you)</span>}
      </h3>
      <p class="user-email">{request.user.email}</p>
      <p class="user-meta">Requested {formatDateTime(request.createdAt)}</p>
      {isMe ? (
        <p class="hint">Another administrator must restore your access.</p>
      ) : !open ? (
        <button type="button" class="secondary" onClick={() => setOpen(true)}>
          Restore access for {request.user.name}
        </button>
      ) : (
        <div class="field">
          <label for={inputId}>Recovery key file</label>
          <p id={`${inputId}-hint`} class="hint">
            Choose the recovery key file saved when Custody was set up. It is read only in this browser and never uploaded.
          </p>
          <input
            id={inputId}
            ref={input}
            type="file"
            accept=".json,application/json"
            onChange={(event) => void restore(event)}
            disabled={busy}
            aria-busy={busy || undefined}
            aria-invalid={error ? true : undefined}
            aria-describedby={[`${inputId}-hint`, error ? errorId : ""].filter(Boolean).join(" ")}
          />
          {busy && (
            <p class="muted" aria-live="polite">
              Restoring access…
            </p>
          )}
        </div>
      )}
      {error && (
        <p id={errorId} role="alert" class="alert">
          {error}
        </p>
      )}
    </li>
  );
}
