/**
 * /settings/keys: the user's key ids, changing the key passphrase (the same keys re-sealed in
 * the browser under the new one; the server only ever gets the new sealed bundle), and
 * forgetting the keys on this device.
 */
import { forgetSignInPassword } from "../identity/password-memory";
import { withReauth } from "../identity/reauth";
import { useState } from "preact/hooks";
import { z } from "zod";
import { KeyUnwrapError } from "../../../shared/crypto/errors";
import { KEY_BUNDLE_VERSION, openKeyBundleJwks, sealKeyBundle } from "../../../shared/crypto/keys";
import { beginKeyWork, endKeyWork, keyWorkStep } from "./kdf";
import { KeyWorkProgress } from "./progress";
import { rememberBundleVersion } from "./store";
import { deriveKey, refuseDowngrade, STEP_DERIVE, STEP_SEAL } from "./unlock";
import type { SessionInfo } from "../../../shared/api/schemas";
import { api, ApiError } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../ui/forms";
import { useDeviceKeys } from "./context";
import { NewPassphraseField, personOf, refuseUnsafePassphrase } from "./new-passphrase";
import { KeyPassphrase, MISMATCH, wrongPassphrase } from "./passphrase";
import { PageHeading } from "../ui/layout";

/** "AbCdEfGh…wXyZ": enough to compare by eye; the full id is in the title and description. */
function shortKid(kid: string): string {
  return kid.length > 14 ? `${kid.slice(0, 8)}…${kid.slice(-4)}` : kid;
}

function KeyId(props: { kid: string }) {
  return (
    <code class="kid" title={props.kid} aria-description={`Full key id: ${props.kid}`}>
      {shortKid(props.kid)}
    </code>
  );
}

const ChangeForm = z.object({ current: z.string().min(1, "Enter your current key passphrase."), next: KeyPassphrase });

export function KeySettingsPage(props: { session: SessionInfo }) {
  const { keys, forget } = useDeviceKeys();
  const [status, setStatus] = useState("");
  const [forgetting, setForgetting] = useState(false);
  const [forgetError, setForgetError] = useState<string>();

  const form = useForm({
    schema: ChangeForm,
    toBody: (values) => ({ current: values["current"], next: values["next"] }),
    check: (values): FieldErrors => {
      if (values["next"] !== values["confirm"]) return { confirm: MISMATCH };
      if (values["next"] && values["next"] === values["current"]) return { next: "Choose a passphrase different from the current one." };
      return {};
    },
    send: async ({ current, next }) => {
      setStatus("");
      const person = personOf(props.session);
      await refuseUnsafePassphrase(next, "next", person);
      const registered = await api.myKeys();
      await refuseDowngrade(keys.userId, registered);
      let resealed: string;
      beginKeyWork([STEP_DERIVE, STEP_SEAL]);
      try {
        // Opens the bundle with the current passphrase and seals the same keys under the new one (2 × Argon2id, in a Worker).
        const jwks = await openKeyBundleJwks(registered.bundle, current, deriveKey);
        keyWorkStep(STEP_SEAL);
        resealed = await sealKeyBundle(jwks, next, deriveKey);
      } catch (error) {
        if (error instanceof KeyUnwrapError) throw wrongPassphrase("current");
        throw error;
      } finally {
        endKeyWork();
      }
      await withReauth(async () => {
        // Checked again inside: "Confirm it's you" may only now have given this browser the sign-in password.
        await refuseUnsafePassphrase(next, "next", person);
        return api.replaceBundle({ bundle: resealed });
      });
      await rememberBundleVersion(keys.userId, KEY_BUNDLE_VERSION).catch(() => undefined);
      forgetSignInPassword();
      form.formRef.current?.reset();
      setStatus("Key passphrase changed. Use the new one to unlock your keys on any other device.");
    },
  });

  async function onForget() {
    setForgetting(true);
    setForgetError(undefined);
    try {
      await forget(); // the key gate takes over and asks to unlock again
    } catch (error) {
      setForgetError(
        error instanceof ApiError ? `Couldn't forget the keys. ${error.message}` : "Couldn't forget the keys on this device. Reload the page and try again.",
      );
      setForgetting(false);
    }
  }

  return (
    <>
      <PageHeading>Key passphrase</PageHeading>
      <section aria-labelledby="your-keys-heading">
        <h2 id="your-keys-heading">Your keys</h2>
        <dl class="key-ids">
          <div>
            <dt>Signing key id</dt>
            <dd>
              <KeyId kid={keys.signingKid} />
            </dd>
          </div>
          <div>
            <dt>Encryption key id</dt>
            <dd>
              <KeyId kid={keys.encryptionKid} />
            </dd>
          </div>
        </dl>
      </section>

      <section aria-labelledby="change-heading">
        <h2 id="change-heading">Change key passphrase</h2>
        <p>Your keys stay the same; only the passphrase that unlocks them changes. Devices already unlocked keep working.</p>
        <form
          ref={form.formRef}
          aria-labelledby="change-heading"
          onSubmit={form.onSubmit}
          onInput={(event) => {
            setStatus("");
            form.onInput(event);
          }}
          noValidate
        >
          <FormAlert message={form.formError} />
          <Field name="current" label="Current key passphrase" type="password" autoComplete="off" error={form.errors["current"]} />
          <NewPassphraseField name="next" label="New key passphrase" error={form.errors["next"]} person={personOf(props.session)} />
          <Field name="confirm" label="Confirm new key passphrase" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
          <SubmitButton busy={form.busy} label="Change passphrase" busyLabel="Changing passphrase…" />
          <KeyWorkProgress />
          <p role="status" class="status">
            {status}
          </p>
        </form>
      </section>

      <section aria-labelledby="device-heading">
        <h2 id="device-heading">This device</h2>
        <p>
          Your keys are kept on this device so you don't need the key passphrase each time you sign in. Forget them on a
          shared device or before you hand this one on; you'll need your key passphrase to use Custody here again.
        </p>
        <button type="button" class="secondary" onClick={() => void onForget()} disabled={forgetting} aria-busy={forgetting || undefined}>
          {forgetting ? "Forgetting keys…" : "Forget keys on this device"}
        </button>
        {forgetError && (
          <p role="alert" class="alert">
            {forgetError}
          </p>
        )}
      </section>
    </>
  );
}
