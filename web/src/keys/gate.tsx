/**
 * The key gate between sign-in and the app. It asks the server for the user's keys:
 * none yet → "Create your key passphrase"; registered but not on this device (or different
 * ones) → "Unlock your keys"; already here → the app. Admins pass through it too. From
 * "Unlock", a lost passphrase leads to key recovery (RecoverKeys below); a device holding a
 * transport key for a still-open request goes straight back to that.
 *
 * All key work happens here in the browser: private keys leave it only sealed in the bundle
 * (version 2: Argon2id, docs/evidence-format.md §3.1). Argon2id runs in a Web Worker (kdf.ts)
 * with progress on screen, so the page keeps answering. A user who signed in with a passkey
 * that has passkey unlock on goes straight in: its PRF output opens its envelope (unlock.ts).
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { z } from "zod";
import { PublicJwk, type MyKeys, type MyRecoveryRequest, type SessionInfo } from "../../../shared/api/schemas";
import {
  escrowEncryptionKey,
  generateUserKeys,
  importPrivateKey,
  KEY_BUNDLE_VERSION,
  receiveTransferredKey,
  sealKeyBundle,
} from "../../../shared/crypto/keys";
import { api, ApiError } from "../api/client";
import { Field, FormAlert, SubmitButton, useForm, type FieldErrors } from "../ui/forms";
import { PublicLayout } from "../ui/layout";
import { forgetSignInPassword } from "../identity/password-memory";
import { DeviceKeysContext, type DeviceKeysValue } from "./context";
import { NewPassphraseField, personOf, refuseUnsafePassphrase } from "./new-passphrase";
import { KeyPassphrase, MISMATCH } from "./passphrase";
import { beginKeyWork, endKeyWork } from "./kdf";
import { takePasskeySecret } from "./passkey-secret";
import { KeyWorkProgress } from "./progress";
import { deriveKey, passkeyPrompt, refuseDowngrade, STEP_SEAL, STORAGE_FAILED, unlockWithPassphrase, unlockWithPasskeySecret } from "./unlock";
import {
  forgetDeviceKeys,
  forgetTransportKey,
  loadDeviceKeys,
  loadTransportKey,
  matchesRegistered,
  newTransportKeyPair,
  rememberBundleVersion,
  saveDeviceKeys,
  saveTransportKey,
  type DeviceKeys,
  type TransportKey,
} from "./store";

type GateState =
  | { kind: "checking" }
  | { kind: "error"; message: string }
  | { kind: "create" }
  | { kind: "unlock"; registered: MyKeys; notice?: string }
  | { kind: "recover"; open?: { request: MyRecoveryRequest; transport: TransportKey } }
  | { kind: "ready"; keys: DeviceKeys };

function messageOf(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

/** The user's open recovery request, or null when there is none (404 `no_recovery`). */
async function openRecovery(): Promise<MyRecoveryRequest | null> {
  try {
    return await api.myRecovery();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
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
      if (error instanceof ApiError && error.code === "unreachable") {
        // Offline: the keys this device already holds are the user's (they were checked when unlocked here).
        const device = await loadDeviceKeys(userId).catch(() => undefined);
        if (device) return setState({ kind: "ready", keys: device });
        return setState({ kind: "error", message: "You're offline, and your keys are not on this device yet. Connect to the network and press Retry to unlock them." });
      }
      return setState({ kind: "error", message: `Couldn't check your keys. ${messageOf(error, "Reload the page and try again.")}` });
    }
    let device: DeviceKeys | undefined;
    let transport: TransportKey | undefined;
    try {
      device = await loadDeviceKeys(userId);
      transport = await loadTransportKey(userId);
    } catch {
      return setState({ kind: "error", message: STORAGE_FAILED });
    }
    if (matchesRegistered(device, registered)) {
      await refuseDowngrade(userId, registered).catch(() => undefined); // remembers a newer bundle; the keys are here already
      takePasskeySecret()?.output?.fill(0); // not needed: the keys are here
      return setState({ kind: "ready", keys: device });
    }
    try {
      await refuseDowngrade(userId, registered);
    } catch (error) {
      return setState({ kind: "error", message: messageOf(error, "Couldn't check your key bundle.") });
    }
    // Signed in just now with a passkey that has passkey unlock on: the same gesture unlocks.
    const secret = takePasskeySecret();
    let notice: string | undefined;
    if (secret && !secret.output && registered.passkeyBundles.length > 0) {
      notice = "The passkey you signed in with can't unlock your keys: its authenticator doesn't support the PRF extension. Enter your key passphrase.";
    } else if (secret?.output) {
      try {
        const keys = await unlockWithPasskeySecret(userId, registered, secret.credentialId, secret.output);
        if (keys) return setState({ kind: "ready", keys });
        notice = "Passkey unlock is not on for the passkey you signed in with. Enter your key passphrase (you can turn passkey unlock on in Security).";
      } catch (error) {
        notice = messageOf(error, "Your passkey couldn't unlock your keys. Enter your key passphrase.");
      } finally {
        secret.output.fill(0);
      }
    }
    if (transport) {
      // A recovery request made on this device: carry on with it if the server still has it open.
      let request: MyRecoveryRequest | null;
      try {
        request = await openRecovery();
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return;
        return setState({ kind: "error", message: `Couldn't check your recovery request. ${messageOf(error, "Reload the page and try again.")}` });
      }
      if (request && request.id === transport.requestId && request.transportKid === transport.transportKid) {
        return setState({ kind: "recover", open: { request, transport } });
      }
      await forgetTransportKey(userId).catch(() => undefined);
    }
    setState({ kind: "unlock", registered, ...(notice ? { notice } : {}) });
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
      {state.kind === "create" && <CreateKeys session={props.session} onReady={ready} onAlreadyExist={() => void check()} />}
      {state.kind === "unlock" && (
        <UnlockKeys
          session={props.session}
          registered={state.registered}
          notice={state.notice}
          onReady={ready}
          onNoKeys={() => setState({ kind: "create" })}
          onLost={() => setState({ kind: "recover" })}
        />
      )}
      {state.kind === "recover" && (
        <RecoverKeys
          session={props.session}
          open={state.open}
          onReady={ready}
          onBack={() => void check()}
          onGone={() => void check()}
        />
      )}
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
      // Before anything is made or sent: a guessable passphrase, or the sign-in password, is refused here.
      await refuseUnsafePassphrase(passphrase, "passphrase", personOf(props.session));
      const recovery = await api.recoveryKey();
      const { signing, encryption } = await generateUserKeys();
      // About a second of Argon2id in a Worker, with progress on screen.
      beginKeyWork([STEP_SEAL]);
      const bundle = await sealKeyBundle({ signing: signing.privateJwk, encryption: encryption.privateJwk }, passphrase, deriveKey).finally(endKeyWork);
      // Only the encryption key is escrowed to the recovery key: nobody else can ever sign as this user.
      const escrow = await escrowEncryptionKey(encryption.privateJwk, recovery.publicJwk);
      try {
        // PublicJwk is a strict schema with no `d`: parsing proves only public halves are sent.
        await api.registerKeys({
          signing: PublicJwk.parse(signing.publicJwk),
          encryption: PublicJwk.parse(encryption.publicJwk),
          bundle,
          escrow,
        });
      } catch (error) {
        // Keys were made meanwhile (another tab or device): unlock those instead.
        if (error instanceof ApiError && error.code === "keys_exist") return props.onAlreadyExist();
        throw error;
      }
      // Straight from the fresh JWKs to non-extractable CryptoKeys: no second Argon2id run.
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
      await rememberBundleVersion(props.session.user.id, KEY_BUNDLE_VERSION).catch(() => undefined);
      forgetSignInPassword(); // the passphrase is chosen: nothing left to compare it with
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
        <NewPassphraseField name="passphrase" label="Key passphrase" error={form.errors["passphrase"]} person={personOf(props.session)} />
        <Field name="confirm" label="Confirm key passphrase" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
        <SubmitButton busy={form.busy} label="Create my keys" busyLabel="Creating your keys…" />
        <KeyWorkProgress />
      </form>
      <SignedInAs session={props.session} />
    </>
  );
}

function UnlockKeys(props: {
  session: SessionInfo;
  registered: MyKeys;
  notice: string | undefined;
  onReady: (keys: DeviceKeys) => void;
  onNoKeys: () => void;
  onLost: () => void;
}) {
  const userId = props.session.user.id;
  const [passkeyBusy, setPasskeyBusy] = useState(false);
  const [passkeyError, setPasskeyError] = useState<string>();
  const [note, setNote] = useState("");
  const canUsePasskey = props.registered.passkeyBundles.length > 0 && typeof PublicKeyCredential !== "undefined";

  /** A fresh copy: the bundle may have changed on another device since the gate looked. */
  async function fresh(): Promise<MyKeys | null> {
    try {
      return await api.myKeys();
    } catch (error) {
      if (error instanceof ApiError && error.code === "no_keys") return null;
      throw error;
    }
  }

  const form = useForm({
    schema: PassphraseForm,
    send: async ({ passphrase }) => {
      setPasskeyError(undefined);
      const registered = await fresh();
      if (!registered) return props.onNoKeys();
      const { keys, resealed } = await unlockWithPassphrase(userId, registered, passphrase);
      if (resealed) setNote("Your key bundle was re-sealed with Argon2id.");
      props.onReady(keys);
    },
  });
  // Straight from sign-in (two-step too), the next thing to type is the key passphrase.
  useEffect(() => (form.formRef.current?.elements.namedItem("passphrase") as HTMLInputElement | null)?.focus(), []);

  async function withPasskey() {
    setPasskeyBusy(true);
    setPasskeyError(undefined);
    try {
      const registered = await fresh();
      if (!registered) return props.onNoKeys();
      await refuseDowngrade(userId, registered);
      const { credentialId, prf } = await passkeyPrompt(registered);
      const keys = await unlockWithPasskeySecret(userId, registered, credentialId, prf);
      if (!keys) throw new ApiError(0, "passkey_off", "Passkey unlock is not on for that passkey. Use your key passphrase.");
      props.onReady(keys);
    } catch (error) {
      setPasskeyError(messageOf(error, "Your passkey couldn't unlock your keys. Use your key passphrase."));
      setPasskeyBusy(false);
    }
  }

  return (
    <>
      <h1>Unlock your keys</h1>
      <p>
        Enter your key passphrase to use your signing and encryption keys on this device. They stay on this device until
        you choose to forget them.
      </p>
      {props.notice && (
        <p role="alert" class="alert">
          {props.notice}
        </p>
      )}
      {canUsePasskey && (
        <div class="stack">
          <button type="button" class="primary" onClick={() => void withPasskey()} disabled={passkeyBusy || form.busy} aria-busy={passkeyBusy || undefined}>
            {passkeyBusy ? "Waiting for your passkey…" : "Unlock with a passkey"}
          </button>
          {passkeyError && (
            <p role="alert" class="alert">
              {passkeyError}
            </p>
          )}
          <p class="aside">Or with your key passphrase:</p>
        </div>
      )}
      <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <Field name="passphrase" label="Key passphrase" type="password" autoComplete="off" error={form.errors["passphrase"]} />
        <SubmitButton busy={form.busy} label="Unlock" busyLabel="Unlocking your keys…" />
        <KeyWorkProgress />
        <p role="status" class="status">
          {note}
        </p>
      </form>
      <p class="aside">
        <button type="button" class="link-button" onClick={props.onLost}>
          Lost your key passphrase?
        </button>
      </p>
      <SignedInAs session={props.session} />
    </>
  );
}

/** How often the waiting screen asks whether an administrator has released the key. */
const RECOVERY_POLL_MS = 15_000;

const NewPassphraseForm = z.object({ passphrase: KeyPassphrase });

type RecoverPhase =
  | { kind: "intro" }
  | { kind: "waiting"; transport: TransportKey }
  | { kind: "choose"; transport: TransportKey; transfer: string };

function phaseOf(open: { request: MyRecoveryRequest; transport: TransportKey } | undefined): RecoverPhase {
  if (!open) return { kind: "intro" };
  const { request, transport } = open;
  return request.status === "released" && request.transfer ? { kind: "choose", transport, transfer: request.transfer } : { kind: "waiting", transport };
}

/**
 * Lost key passphrase: this device makes a one-time transport key pair (the private half stays
 * here, non-extractable), an administrator re-wraps the escrowed encryption key to it, and this
 * device then seals that key with a new signing key under a new passphrase. The server relays JWEs only.
 */
function RecoverKeys(props: {
  session: SessionInfo;
  open?: { request: MyRecoveryRequest; transport: TransportKey };
  onReady: (keys: DeviceKeys) => void;
  onBack: () => void;
  onGone: () => void;
}) {
  const userId = props.session.user.id;
  const [phase, setPhase] = useState<RecoverPhase>(() => phaseOf(props.open));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);

  // Move focus to each new step's heading so screen reader users hear where they are.
  useEffect(() => heading.current?.focus(), [phase.kind]);

  async function request() {
    setBusy(true);
    setError(undefined);
    try {
      const transport = await newTransportKeyPair();
      let created: MyRecoveryRequest;
      try {
        created = await api.requestRecovery({ transportKey: transport.publicJwk });
      } catch (caught) {
        if (!(caught instanceof ApiError && caught.code === "recovery_open")) throw caught;
        // An older request whose transport key is not on this device can never finish here: replace it.
        await api.cancelRecovery();
        created = await api.requestRecovery({ transportKey: transport.publicJwk });
      }
      try {
        await saveTransportKey(userId, created.id, created.transportKid, transport.privateKey);
      } catch {
        await api.cancelRecovery().catch(() => undefined);
        throw new ApiError(0, "storage_failed", STORAGE_FAILED);
      }
      const stored = await loadTransportKey(userId);
      if (!stored) throw new ApiError(0, "storage_failed", STORAGE_FAILED);
      setPhase({ kind: "waiting", transport: stored });
    } catch (caught) {
      setError(`Couldn't request recovery. ${messageOf(caught, "Reload the page and try again.")}`);
    } finally {
      setBusy(false);
    }
  }

  async function checkAgain(quiet: boolean) {
    if (phase.kind !== "waiting") return;
    if (!quiet) {
      setBusy(true);
      setError(undefined);
    }
    try {
      const open = await openRecovery();
      if (!open || open.id !== phase.transport.requestId) {
        // Cancelled or finished elsewhere: this device's transport key is of no more use.
        await forgetTransportKey(userId).catch(() => undefined);
        return props.onGone();
      }
      if (open.status === "released" && open.transfer) {
        setStatus("");
        setPhase({ kind: "choose", transport: phase.transport, transfer: open.transfer });
        return;
      }
      setStatus(`Checked at ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: not restored yet.`);
    } catch (caught) {
      if (!quiet) setError(`Couldn't check your recovery request. ${messageOf(caught, "Reload the page and try again.")}`);
    } finally {
      if (!quiet) setBusy(false);
    }
  }

  // Poll while the waiting screen is open.
  useEffect(() => {
    if (phase.kind !== "waiting") return;
    const timer = setInterval(() => void checkAgain(true), RECOVERY_POLL_MS);
    return () => clearInterval(timer);
  }, [phase]);

  async function cancel() {
    setBusy(true);
    setError(undefined);
    try {
      await api.cancelRecovery();
      await forgetTransportKey(userId).catch(() => undefined);
      props.onBack();
    } catch (caught) {
      setError(`Couldn't cancel your recovery request. ${messageOf(caught, "Reload the page and try again.")}`);
      setBusy(false);
    }
  }

  if (phase.kind === "choose") {
    return (
      <ChooseNewPassphrase
        session={props.session}
        transport={phase.transport}
        transfer={phase.transfer}
        onReady={props.onReady}
        onGone={props.onGone}
        onCancel={cancel}
        cancelError={error}
      />
    );
  }

  if (phase.kind === "waiting") {
    return (
      <>
        <h1 ref={heading} tabIndex={-1}>
          Waiting for an administrator
        </h1>
        <p>
          Your request is with your administrators. One of them who holds the organisation's recovery key will restore your
          access from the Users page. Tell them you've asked.
        </p>
        <p>
          Come back to this page on this device and browser: only this device can receive your key. It checks every 15
          seconds while it is open.
        </p>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" class="primary" onClick={() => void checkAgain(false)} disabled={busy} aria-busy={busy || undefined}>
            Check again
          </button>
          <button type="button" class="secondary" onClick={() => void cancel()} disabled={busy}>
            Cancel recovery request
          </button>
        </div>
        <p role="status" class="status">
          {status}
        </p>
        <SignedInAs session={props.session} />
      </>
    );
  }

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Recover your keys
      </h1>
      <p>
        An administrator who holds the organisation's recovery key can restore your access. Your encryption key comes back
        to this device, so you keep access to your cases and evidence, and you choose a new key passphrase.
      </p>
      <p>
        You also get a new signing key. Documents you signed before stay verifiable: your old signing key is kept on record,
        it just can't sign anything new.
      </p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="primary" onClick={() => void request()} disabled={busy} aria-busy={busy || undefined}>
          {busy && <span class="spinner" aria-hidden="true" />}
          {busy ? "Requesting…" : "Request recovery"}
        </button>
        <button type="button" class="secondary" onClick={props.onBack} disabled={busy}>
          Back to unlock
        </button>
      </div>
      <SignedInAs session={props.session} />
    </>
  );
}

function ChooseNewPassphrase(props: {
  session: SessionInfo;
  transport: TransportKey;
  transfer: string;
  onReady: (keys: DeviceKeys) => void;
  onGone: () => void;
  onCancel: () => Promise<void>;
  cancelError: string | undefined;
}) {
  const userId = props.session.user.id;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const form = useForm({
    schema: NewPassphraseForm,
    toBody: (values) => ({ passphrase: values["passphrase"] }),
    check: (values): FieldErrors => (values["passphrase"] === values["confirm"] ? {} : { confirm: MISMATCH }),
    send: async ({ passphrase }) => {
      await refuseUnsafePassphrase(passphrase, "passphrase", personOf(props.session));
      let recovered: Awaited<ReturnType<typeof receiveTransferredKey>>;
      try {
        recovered = await receiveTransferredKey(props.transfer, props.transport.privateKey);
      } catch {
        throw new ApiError(
          0,
          "bad_transfer",
          "This device can't open the key the administrator released. Cancel the recovery request below and request recovery again.",
        );
      }
      const [registered, recovery] = await Promise.all([api.myKeys(), api.recoveryKey()]);
      const encryption = await importPrivateKey(recovered, "enc");
      if (encryption.kid !== registered.encryption.kid) {
        throw new ApiError(0, "transfer_mismatch", "The released key is not your registered encryption key. Tell your administrator.");
      }
      // Only the new signing pair is used: the encryption key is the recovered one.
      const { signing } = await generateUserKeys();
      // About a second of Argon2id in a Worker, with progress on screen: the recovered keys get the current seal.
      beginKeyWork([STEP_SEAL]);
      const bundle = await sealKeyBundle({ signing: signing.privateJwk, encryption: recovered }, passphrase, deriveKey).finally(endKeyWork);
      const escrow = await escrowEncryptionKey(recovered, recovery.publicJwk);
      try {
        // PublicJwk is a strict schema with no `d`: parsing proves only the public half is sent.
        await api.completeRecovery({ signing: PublicJwk.parse(signing.publicJwk), bundle, escrow });
      } catch (error) {
        if (error instanceof ApiError && error.code === "recovery_not_released") {
          await forgetTransportKey(userId).catch(() => undefined);
          props.onGone();
          return;
        }
        throw error;
      }
      const unlocked = { signing: await importPrivateKey(signing.privateJwk, "sign"), encryption };
      let keys: DeviceKeys;
      try {
        keys = await saveDeviceKeys(userId, unlocked);
      } catch {
        throw new ApiError(0, "storage_failed", `Your keys were restored, but ${STORAGE_FAILED.charAt(0).toLowerCase()}${STORAGE_FAILED.slice(1)}`);
      }
      await forgetTransportKey(userId).catch(() => undefined);
      await rememberBundleVersion(userId, KEY_BUNDLE_VERSION).catch(() => undefined);
      forgetSignInPassword();
      props.onReady(keys);
    },
  });

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Choose a new key passphrase
      </h1>
      <p>
        An administrator has restored your access. Choose a new key passphrase to seal your keys with; your old one will no
        longer work. It is different from your sign-in password, and Custody never sees it.
      </p>
      <form ref={form.formRef} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <NewPassphraseField name="passphrase" label="New key passphrase" error={form.errors["passphrase"]} person={personOf(props.session)} />
        <Field name="confirm" label="Confirm new key passphrase" type="password" autoComplete="new-password" error={form.errors["confirm"]} />
        <SubmitButton busy={form.busy} label="Restore my keys" busyLabel="Restoring your keys…" />
        <KeyWorkProgress />
      </form>
      {props.cancelError && (
        <p role="alert" class="alert">
          {props.cancelError}
        </p>
      )}
      <p class="aside">
        <button type="button" class="link-button" onClick={() => void props.onCancel()} disabled={form.busy}>
          Cancel recovery request
        </button>
      </p>
      <SignedInAs session={props.session} />
    </>
  );
}
