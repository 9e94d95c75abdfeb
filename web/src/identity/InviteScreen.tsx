/** /invite#token=…: a new user chooses their password, which accepts the invitation and signs them in. */
import { AcceptInvitationRequest, PASSWORD_MIN_LENGTH, type SessionInfo } from "../../../shared/api/schemas";
import { api } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../ui/forms";
import { PublicLayout } from "../ui/layout";
import { rememberSignInPassword } from "./password-memory";

/** The token travels in the URL fragment, which browsers never send to a server. */
export function invitationToken(hash: string = location.hash): string | undefined {
  return new URLSearchParams(hash.replace(/^#/, "")).get("token") || undefined;
}

export function InviteScreen(props: { onSignedIn: (session: SessionInfo) => void }) {
  const token = invitationToken();
  const form = useForm({
    schema: AcceptInvitationRequest,
    toBody: (values) => ({ token, password: values["password"] }),
    check: (values): FieldErrors =>
      values["password"] === values["confirm"] ? {} : { confirm: "The passwords don't match. Type the same password twice." },
    send: async (body) => {
      const session = await api.acceptInvitation(body);
      await rememberSignInPassword(body.password); // the key gate refuses it as a key passphrase
      props.onSignedIn(session);
    },
  });

  return (
    <PublicLayout>
      <h1>Set your password</h1>
      {token ? (
        <>
          <p>You've been invited to Custody. Choose a password to finish setting up your account.</p>
          <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
            <FormAlert message={form.formError} />
            <Field
              name="password"
              label="Password"
              type="password"
              autoComplete="new-password"
              hint={`At least ${PASSWORD_MIN_LENGTH} characters. A short sentence is easy to remember.`}
              error={form.errors["password"]}
            />
            <Field name="confirm" label="Confirm password" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
            <SubmitButton busy={form.busy} label="Set password" busyLabel="Setting password…" />
          </form>
        </>
      ) : (
        <p role="alert" class="alert">
          This invitation link is incomplete. Open the whole link from your invitation, or ask your administrator for a
          new one.
        </p>
      )}
    </PublicLayout>
  );
}
