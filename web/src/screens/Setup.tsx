/** First run: create the organisation and its first administrator, then sign in as them. */
import { PASSWORD_MIN_LENGTH, SetupRequest, type SessionInfo } from "../../../shared/api/schemas";
import { api } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../forms";
import { PublicLayout } from "./Public";

export function SetupScreen(props: { onSignedIn: (session: SessionInfo) => void }) {
  const form = useForm({
    schema: SetupRequest,
    toBody: (values) => ({ organisation: values["organisation"], admin: values["admin"] }),
    check: (values): FieldErrors =>
      (values["admin"] as { password?: string } | undefined)?.password === values["confirm"]
        ? {}
        : { confirm: "The passwords don't match. Type the same password twice." },
    send: async (body) => props.onSignedIn(await api.setup(body)),
  });

  return (
    <PublicLayout>
      <h1>Set up Custody</h1>
      <p>Create your organisation and its first administrator account. You can invite everyone else afterwards.</p>
      <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <Field name="organisation.name" label="Organisation name" autoComplete="organization" error={form.errors["organisation.name"]} />
        <Field name="admin.name" label="Your name" autoComplete="name" error={form.errors["admin.name"]} />
        <Field name="admin.email" label="Email" type="email" inputMode="email" autoComplete="email" error={form.errors["admin.email"]} />
        <Field
          name="admin.password"
          label="Password"
          type="password"
          autoComplete="new-password"
          hint={`At least ${PASSWORD_MIN_LENGTH} characters. A short sentence is easy to remember.`}
          error={form.errors["admin.password"]}
        />
        <Field name="confirm" label="Confirm password" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
        <SubmitButton busy={form.busy} label="Create organisation" busyLabel="Creating organisation…" />
      </form>
    </PublicLayout>
  );
}
