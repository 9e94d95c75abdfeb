/** Sign in with email and password. */
import { SignInRequest, type SessionInfo } from "../../../shared/api/schemas";
import { api } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm } from "../ui/forms";
import { OidcSignIn } from "./OidcSignIn";
import { PasskeySignIn } from "./PasskeySignIn";
import { PublicLayout } from "../ui/layout";
import { rememberSignInPassword } from "./password-memory";

export function SignInScreen(props: { notice?: string; onSignedIn: (session: SessionInfo) => void }) {
  const form = useForm({
    schema: SignInRequest,
    send: async (body) => {
      const session = await api.signIn(body);
      // For the key gate, which refuses a key passphrase equal to it (memory only, password-memory.ts).
      await rememberSignInPassword(body.password);
      props.onSignedIn(session);
    },
  });

  return (
    <PublicLayout>
      <h1>Sign in</h1>
      <OidcSignIn />
      {props.notice && !form.formError && (
        <p role="status" class="notice">
          {props.notice}
        </p>
      )}
      <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <Field name="email" label="Email" type="email" inputMode="email" autoComplete="username" error={form.errors["email"]} />
        <Field name="password" label="Password" type="password" autoComplete="current-password" error={form.errors["password"]} />
        <SubmitButton busy={form.busy} label="Sign in" busyLabel="Signing in…" />
      </form>
      <PasskeySignIn onSignedIn={props.onSignedIn} />
      <p class="aside">New here? Ask your organisation's administrator for an invitation link.</p>
    </PublicLayout>
  );
}
