/** Admin → Users: everyone in the organisation, invitations, and role changes. */
import type { TargetedFocusEvent, TargetedSubmitEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { CreateUserRequest, type Invitation, type Role, type User } from "../../../shared/api/schemas";
import { api, ApiError } from "../api/client";
import { Field, FormAlert, SelectField, SubmitButton, useForm } from "../forms";
import { formatDateTime, ROLE_LABELS, ROLE_OPTIONS, STATUS_LABELS } from "../labels";
import { PageHeading } from "../shell";

function messageOf(error: unknown): string {
  return error instanceof ApiError ? error.message : "Something went wrong in the app. Reload the page and try again.";
}

function byName(a: User, b: User): number {
  return a.name.localeCompare(b.name) || a.email.localeCompare(b.email);
}

export function UsersPage(props: { me: User }) {
  const [users, setUsers] = useState<User[]>();
  const [loadError, setLoadError] = useState<string>();
  const [loading, setLoading] = useState(true);

  async function load() {
    setLoading(true);
    setLoadError(undefined);
    try {
      setUsers((await api.listUsers()).users.sort(byName));
    } catch (error) {
      setLoadError(messageOf(error));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => void load(), []);

  function upsert(user: User) {
    setUsers((current) => [...(current ?? []).filter((other) => other.id !== user.id), user].sort(byName));
  }

  return (
    <>
      <PageHeading>Users</PageHeading>
      <InviteUser onInvited={(invitation) => upsert(invitation.user)} />
      <section aria-labelledby="people-heading" aria-busy={loading || undefined}>
        <h2 id="people-heading">People{users ? ` (${users.length})` : ""}</h2>
        {loadError && (
          <div class="stack">
            <p role="alert" class="alert">
              Couldn't load the list of users. {loadError}
            </p>
            <button type="button" class="secondary" onClick={() => void load()}>
              Retry
            </button>
          </div>
        )}
        {!users && loading && <p class="muted">Loading users…</p>}
        {users && (
          <ul class="user-list">
            {users.map((user) => (
              <UserCard key={user.id} user={user} isMe={user.id === props.me.id} onSaved={upsert} />
            ))}
          </ul>
        )}
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
      <p>
        Send this link to {user.name} ({user.email}) over a channel you trust. It is shown only once and works until{" "}
        {formatDateTime(expiresAt)}.
      </p>
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
      const saved = await api.updateUser(user.id, { role });
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
        <span class={`badge badge-${user.status}`}>{STATUS_LABELS[user.status]}</span>
      </p>
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
    </li>
  );
}
