/**
 * First run: create the organisation, its recovery key and its first administrator, then
 * sign in as them. The recovery key pair is made here in the browser; its private half goes
 * only into the file the administrator downloads, and only the public half is sent.
 */
import { useState } from "preact/hooks";
import { PASSWORD_MIN_LENGTH, PublicJwk, SetupRequest, type SessionInfo } from "../../../shared/api/schemas";
import { generateRecoveryKeyPair } from "../../../shared/crypto/keys";
import { api } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../ui/forms";
import { PublicLayout } from "../ui/layout";
import { rememberSignInPassword } from "./password-memory";
import { saveBlob } from "../ui/download";

/** "Northshire Police" → "northshire-police" (file-name safe; "organisation" if nothing is left). */
export function slug(name: string): string {
  const out = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return out || "organisation";
}

/** Saves `text` as a file through a Blob, an object URL and a temporary <a download>. */

interface RecoveryKey {
  publicJwk: PublicJwk;
  fileName: string;
}

export function SetupScreen(props: { onSignedIn: (session: SessionInfo) => void }) {
  const [recovery, setRecovery] = useState<RecoveryKey>();
  const [saved, setSaved] = useState(false);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<string>();

  const form = useForm({
    schema: SetupRequest,
    toBody: (values) => ({ organisation: values["organisation"], admin: values["admin"], recoveryKey: recovery?.publicJwk }),
    check: (values): FieldErrors => ({
      // The one rule for a new organisation: the default minimum, as the hint and the server say.
      ...(((values["admin"] as { password?: string } | undefined)?.password ?? "").length < PASSWORD_MIN_LENGTH
        ? { "admin.password": `Use at least ${PASSWORD_MIN_LENGTH} characters.` }
        : {}),
      ...((values["admin"] as { password?: string } | undefined)?.password === values["confirm"]
        ? {}
        : { confirm: "The passwords don't match. Type the same password twice." }),
      ...(recovery && saved ? {} : { recoverySaved: "Download the recovery key and confirm you have saved it." }),
    }),
    send: async (body) => {
      const session = await api.setup(body);
      await rememberSignInPassword(body.admin.password); // the key gate refuses it as a key passphrase
      props.onSignedIn(session);
    },
  });

  async function downloadRecoveryKey() {
    const organisation = (form.formRef.current?.elements.namedItem("organisation.name") as HTMLInputElement | null)?.value.trim() ?? "";
    if (!organisation) {
      setDownloadError("Enter the organisation name above first: the recovery key file is named after it.");
      return;
    }
    setDownloadError(undefined);
    setDownloading(true);
    try {
      // One pair per download: a second click replaces the first pair (never sent), so the newest file is the key.
      const pair = await generateRecoveryKeyPair();
      const fileName = `custody-recovery-key-${slug(organisation)}-${pair.kid.slice(0, 8)}.json`;
      const file = {
        type: "custody-recovery-key",
        version: 1,
        organisation,
        kid: pair.kid,
        privateJwk: pair.privateJwk,
        createdAt: new Date().toISOString(),
      };
      saveBlob(new Blob([JSON.stringify(file, null, 2) + "\n"], { type: "application/json" }), fileName);
      // Keep only the public half; the private JWK (in `pair` and `file`) is dropped with this call.
      setRecovery({ publicJwk: PublicJwk.parse(pair.publicJwk), fileName });
      setSaved(false);
    } catch {
      setDownloadError("Couldn't make the recovery key in this browser. Reload the page and try again.");
    } finally {
      setDownloading(false);
    }
  }

  const ready = !!recovery && saved;

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

        <section class="recovery" aria-labelledby="recovery-heading">
          <h2 id="recovery-heading">Recovery key</h2>
          <p>
            The recovery key can restore access to all of your organisation's evidence if someone loses their key
            passphrase. Keep the file offline, for example on a USB stick in a safe: Custody never stores it.
          </p>
          <button type="button" class="secondary" onClick={() => void downloadRecoveryKey()} disabled={downloading} aria-busy={downloading || undefined}>
            Download recovery key
          </button>
          <p role="status" class="status">
            {recovery ? `Downloaded ${recovery.fileName}.` : ""}
          </p>
          {downloadError && (
            <p role="alert" class="alert">
              {downloadError}
            </p>
          )}
          <div class="check-field">
            <input
              id="field-recoverySaved"
              name="recoverySaved"
              type="checkbox"
              required
              checked={saved}
              onChange={(event) => setSaved(event.currentTarget.checked)}
              aria-invalid={form.errors["recoverySaved"] ? true : undefined}
              aria-describedby={form.errors["recoverySaved"] ? "field-recoverySaved-error" : undefined}
            />
            <label for="field-recoverySaved">I have saved the recovery key file somewhere safe</label>
          </div>
          {form.errors["recoverySaved"] && (
            <p id="field-recoverySaved-error" class="field-error">
              {form.errors["recoverySaved"]}
            </p>
          )}
        </section>

        {!ready && (
          <p id="create-hint" class="hint">
            Download the recovery key and tick the box above to create the organisation.
          </p>
        )}
        <CreateButton busy={form.busy} disabled={!ready} />
      </form>
    </PublicLayout>
  );
}

function CreateButton(props: { busy: boolean; disabled: boolean }) {
  if (!props.disabled) return <SubmitButton busy={props.busy} label="Create organisation" busyLabel="Creating organisation…" />;
  return (
    <button type="submit" class="primary" disabled aria-describedby="create-hint">
      Create organisation
    </button>
  );
}
