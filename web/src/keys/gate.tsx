/**
 * The key gate between sign-in and the app. It asks the server for the user's keys:
 * none yet → "Create your key passphrase"; registered but not on this device (or different
 * ones) → "Unlock your keys"; already here → the app. Admins pass through it too.
 *
 * All key work happens here in the browser: private keys leave it only sealed in the bundle
 * (PBES2). The PBKDF2 rounds (210,000) run inside WebCrypto, whose calls are asynchronous, so
 * the page stays responsive for the second or so they take; no Web Worker is needed for this.
 */
import { createContext, type ComponentChildren } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { z } from "zod";
import { PublicJwk, type MyKeys, type SessionInfo } from "../../../shared/api/schemas";
import { KeyUnwrapError } from "../../../shared/crypto/errors";
import { generateUserKeys, importPrivateKey, openKeyBundle, sealKeyBundle } from "../../../shared/crypto/keys";
import { api, ApiError } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../forms";
import { PublicLayout } from "../screens/Public";
import { KEY_PASSPHRASE_HINT, KeyPassphrase, MISMATCH, wrongPassphrase } from "./passphrase";
import { forgetDeviceKeys, loadDeviceKeys, matchesRegistered, saveDeviceKeys, type DeviceKeys } from "./store";

type GateState =
  | { kind: "checking" }
  | { kind: "error"; message: string }
  | { kind: "create" }
  | { kind: "unlock" }
  | { kind: "ready"; keys: DeviceKeys };

interface DeviceKeysValue {
  keys: DeviceKeys;
  /** Removes the keys from this device; the gate then asks to unlock them again. */
  forget: () => Promise<void>;
}

const DeviceKeysContext = createContext<DeviceKeysValue | null>(null);

/** The signed-in user's unlocked keys on this device (only inside the gate). */
export function useDeviceKeys(): DeviceKeysValue {
  const value = useContext(DeviceKeysContext);
  if (!value) throw new Error("useDeviceKeys() outside <KeyGate>");
  return value;
}

const STORAGE_FAILED =
  "This browser can't keep your keys on this device (its storage is unavailable, for example in some private windows). Use a normal browser window and try again.";

function messageOf(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

export function KeyGate(props: { session: SessionInfo; onSignOut: () => Promise<void>; children: ComponentChildren }) {
  const userId = props.session.user.id;
  const [state, setState] = useState<GateState>({ kind: "checking" });

  async function check() {
    setState({ kind: "checking" });
    let registered: MyKeys;
    try {
      registered = await api.myKeys();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.code === "no_keys") return setState({ kind: "create" });
      // 401: the app has already gone back to Sign in.
      if (error instanceof ApiError && error.status === 401) return;
      return setState({ kind: "error", message: `Couldn't check your keys. ${messageOf(error, "Reload the page and try again.")}` });
    }
    try {
      const device = await loadDeviceKeys(userId);
      setState(matchesRegistered(device, registered) ? { kind: "ready", keys: device } : { kind: "unlock" });
    } catch {
      setState({ kind: "error", message: STORAGE_FAILED });
    }
  }

  useEffect(() => void check(), [userId]);

  if (state.kind === "ready") {
    const value: DeviceKeysValue = {
      keys: state.keys,
      forget: async () => {
        await forgetDeviceKeys(userId);
        await check();
      },
    };
    return <DeviceKeysContext.Provider value={value}>{props.children}</DeviceKeysContext.Provider>;
  }

  const ready = (keys: DeviceKeys) => setState({ kind: "ready", keys });
  return (
    <PublicLayout headerEnd={<SignOutButton onSignOut={props.onSignOut} />}>
      {state.kind === "checking" && (
        <p class="muted" aria-busy="true">
          Checking your keys…
        </p>
      )}
      {state.kind === "error" && (
        <div class="stack">
          <h1>Your keys</h1>
          <p role="alert" class="alert">
            {state.message}
          </p>
          <button type="button" class="primary" onClick={() => void check()}>
            Retry
          </button>
        </div>
      )}
      {state.kind === "create" && <CreateKeys session={props.session} onReady={ready} onAlreadyExist={() => setState({ kind: "unlock" })} />}
      {state.kind === "unlock" && <UnlockKeys session={props.session} onReady={ready} onNoKeys={() => setState({ kind: "create" })} />}
    </PublicLayout>
  );
}

function SignOutButton(props: { onSignOut: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function signOut() {
    setBusy(true);
    setError(undefined);
    try {
      await props.onSignOut();
    } catch (caught) {
      setError(`Couldn't sign out. ${messageOf(caught, "Reload the page and try again.")}`);
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" class="secondary" onClick={signOut} disabled={busy} aria-busy={busy || undefined}>
        {busy ? "Signing out…" : "Sign out"}
      </button>
      {error && (
        <p role="alert" class="alert header-alert">
          {error}
        </p>
      )}
    </>
  );
}

const PassphraseForm = z.object({ passphrase: KeyPassphrase });

function SignedInAs(props: { session: SessionInfo }) {
  return (
    <p class="aside">
      Signed in as {props.session.user.name} ({props.session.user.email}).
    </p>
  );
}

function CreateKeys(props: { session: SessionInfo; onReady: (keys: DeviceKeys) => void; onAlreadyExist: () => void }) {
  const form = useForm({
    schema: PassphraseForm,
    toBody: (values) => ({ passphrase: values["passphrase"] }),
    check: (values): FieldErrors => (values["passphrase"] === values["confirm"] ? {} : { confirm: MISMATCH }),
    send: async ({ passphrase }) => {
      const { signing, encryption } = await generateUserKeys();
      // ~1 s of PBKDF2 inside WebCrypto (asynchronous, so the page keeps responding).
      const bundle = await sealKeyBundle({ signing: signing.privateJwk, encryption: encryption.privateJwk }, passphrase);
      try {
        // PublicJwk is a strict schema with no `d`: parsing proves only public halves are sent.
        await api.registerKeys({ signing: PublicJwk.parse(signing.publicJwk), encryption: PublicJwk.parse(encryption.publicJwk), bundle });
      } catch (error) {
        // Keys were made meanwhile (another tab or device): unlock those instead.
        if (error instanceof ApiError && error.code === "keys_exist") return props.onAlreadyExist();
        throw error;
      }
      // Straight from the fresh JWKs to non-extractable CryptoKeys: no second PBKDF2 run.
      const unlocked = {
        signing: await importPrivateKey(signing.privateJwk, "sign"),
        encryption: await importPrivateKey(encryption.privateJwk, "enc"),
      };
      let keys: DeviceKeys;
      try {
        keys = await saveDeviceKeys(props.session.user.id, unlocked);
      } catch {
        throw new ApiError(0, "storage_failed", `Your keys were created, but ${STORAGE_FAILED.charAt(0).toLowerCase()}${STORAGE_FAILED.slice(1)}`);
      }
      props.onReady(keys);
    },
  });

  return (
    <>
      <h1>Create your key passphrase</h1>
      <p>
        Your key passphrase protects your signing and encryption keys, which seal and sign the evidence you handle. It is
        different from your sign-in password, and Custody never sees it.
      </p>
      <p>If you lose it, an administrator can restore your access with the organisation's recovery key.</p>
      <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <Field
          name="passphrase"
          label="Key passphrase"
          type="password"
          autoComplete="new-password"
          hint={KEY_PASSPHRASE_HINT}
          error={form.errors["passphrase"]}
        />
        <Field name="confirm" label="Confirm key passphrase" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
        <SubmitButton busy={form.busy} label="Create my keys" busyLabel="Creating your keys…" />
      </form>
      <SignedInAs session={props.session} />
    </>
  );
}

function UnlockKeys(props: { session: SessionInfo; onReady: (keys: DeviceKeys) => void; onNoKeys: () => void }) {
  const form = useForm({
    schema: PassphraseForm,
    send: async ({ passphrase }) => {
      // A fresh copy: the passphrase may have changed on another device since the gate looked.
      let registered: MyKeys;
      try {
        registered = await api.myKeys();
      } catch (error) {
        if (error instanceof ApiError && error.code === "no_keys") return props.onNoKeys();
        throw error;
      }
      let unlocked: Awaited<ReturnType<typeof openKeyBundle>>;
      try {
        unlocked = await openKeyBundle(registered.bundle, passphrase);
      } catch (error) {
        if (error instanceof KeyUnwrapError) throw wrongPassphrase("passphrase");
        throw new ApiError(0, "bad_bundle", "This app can't read your key bundle. Reload the page; if that doesn't help, tell your administrator.");
      }
      if (unlocked.signing.kid !== registered.signing.kid || unlocked.encryption.kid !== registered.encryption.kid) {
        throw new ApiError(0, "bundle_mismatch", "Your key bundle doesn't hold your registered keys. Tell your administrator.");
      }
      let keys: DeviceKeys;
      try {
        keys = await saveDeviceKeys(props.session.user.id, unlocked);
      } catch {
        throw new ApiError(0, "storage_failed", STORAGE_FAILED);
      }
      props.onReady(keys);
    },
  });

  return (
    <>
      <h1>Unlock your keys</h1>
      <p>
        Enter your key passphrase to use your signing and encryption keys on this device. They stay on this device until
        you choose to forget them.
      </p>
      <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <Field name="passphrase" label="Key passphrase" type="password" autoComplete="off" error={form.errors["passphrase"]} />
        <SubmitButton busy={form.busy} label="Unlock" busyLabel="Unlocking your keys…" />
      </form>
      <p class="aside">Lost your key passphrase? An administrator can restore your access with the recovery key.</p>
      <SignedInAs session={props.session} />
    </>
  );
}
