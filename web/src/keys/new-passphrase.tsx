/**
 * Choosing a new key passphrase (first key setup, recovery, change): the field with a strength
 * meter that follows the typing, and the check on submit that refuses a guessable passphrase or
 * one equal to the sign-in password before anything is sealed or sent. zxcvbn runs in a Web
 * Worker (strength.worker.ts), started only when one of these fields is shown, so neither its
 * code nor its word lists load anywhere else and typing never waits for it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { isSignInPassword } from "../identity/password-memory";
import { Field } from "../ui/forms";
import { KEY_PASSPHRASE_HINT, KEY_PASSPHRASE_MIN_LENGTH } from "./passphrase";
import type { PassphraseStrength, Person } from "./strength";
import type { StrengthAnswer, StrengthRequest } from "./strength-messages";
import "./keys.css";

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (strength: PassphraseStrength) => void; reject: (error: unknown) => void }>();

function strengthWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(new URL("./strength.worker.ts", import.meta.url), { type: "module", name: "passphrase-strength" });
  started.onmessage = (event: MessageEvent<StrengthAnswer>) => {
    waiting.get(event.data.id)?.resolve(event.data.strength);
    waiting.delete(event.data.id);
  };
  started.onerror = (event) => {
    // The worker could not load or crashed: fail what is waiting, start afresh next time.
    event.preventDefault();
    for (const pending of waiting.values()) pending.reject(new Error("passphrase strength worker failed"));
    waiting.clear();
    started.terminate();
    if (worker === started) worker = undefined;
  };
  worker = started;
  return started;
}

/** Rates a passphrase in the worker. */
function rate(passphrase: string, person: Person): Promise<PassphraseStrength> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    strengthWorker().postMessage({ id, passphrase, person } satisfies StrengthRequest);
  });
}

/** The person whose details an attacker would try first: name, email, organisation. */
export function personOf(session: SessionInfo): Person {
  return { name: session.user.name, email: session.user.email, organisation: session.organisation.name };
}

export const SAME_AS_PASSWORD =
  "Your key passphrase must be different from your sign-in password. The server receives your sign-in password each time you sign in; it must never be able to open your keys.";

/**
 * Throws (as the form helpers expect) when `passphrase` may not seal the keys: equal to the
 * sign-in password this browser remembers, or too guessable. Call it before any key work.
 */
export async function refuseUnsafePassphrase(passphrase: string, field: string, person: Person): Promise<void> {
  if (await isSignInPassword(passphrase)) {
    throw new ApiError(0, "passphrase_is_password", SAME_AS_PASSWORD, [{ path: field, message: "Choose a key passphrase different from your sign-in password." }]);
  }
  let strength: PassphraseStrength;
  try {
    strength = await rate(passphrase, person);
  } catch {
    throw new ApiError(0, "strength_unavailable", "Couldn't check how strong the key passphrase is. Reload the page and try again.");
  }
  if (strength.refusal) {
    const why = strength.warning ?? "It is too easy to guess.";
    throw new ApiError(0, "weak_passphrase", strength.refusal, [{ path: field, message: `Too easy to guess. ${why}` }]);
  }
}

function meterText(value: string, strength: PassphraseStrength | undefined): string {
  if (!value || !strength) return "";
  const parts = [`Strength: ${strength.label}.`];
  if (strength.acceptable) parts.push("Hard to guess.");
  else if (strength.warning) parts.push(strength.warning);
  else parts.push("Add more unrelated words.");
  if ([...value.normalize("NFKC")].length < KEY_PASSPHRASE_MIN_LENGTH) parts.push(`Use at least ${KEY_PASSPHRASE_MIN_LENGTH} characters.`);
  return parts.join(" ");
}

/** The new key passphrase field with its strength meter (a labelled <meter> and a polite live text). */
export function NewPassphraseField(props: { name: string; label: string; error?: string; person: Person }) {
  const [value, setValue] = useState("");
  const [strength, setStrength] = useState<{ value: string; strength: PassphraseStrength }>();
  const box = useRef<HTMLDivElement>(null);
  // One rating at a time; while one runs, only the latest value waits for the next.
  const scheduler = useRef<{ busy: boolean; next?: string }>({ busy: false });

  useEffect(() => {
    strengthWorker(); // starts loading zxcvbn now, before the first key press
    const form = box.current?.closest("form");
    const onReset = () => setValue("");
    form?.addEventListener("reset", onReset);
    return () => form?.removeEventListener("reset", onReset);
  }, []);

  useEffect(() => {
    if (!value) return setStrength(undefined);
    const state = scheduler.current;
    state.next = value;
    if (state.busy) return;
    const run = (text: string) => {
      state.busy = true;
      state.next = undefined;
      rate(text, props.person).then(
        (rated) => setStrength({ value: text, strength: rated }),
        () => setStrength(undefined),
      ).finally(() => {
        state.busy = false;
        if (state.next !== undefined) run(state.next);
      });
    };
    run(value);
  }, [value]);

  const meterId = `field-${props.name}-strength`;
  const current = value && strength ? strength.strength : undefined;
  return (
    <div ref={box} onInput={(event) => setValue((event.target as HTMLInputElement).value)}>
      <Field name={props.name} label={props.label} type="password" autoComplete="new-password" hint={KEY_PASSPHRASE_HINT} error={props.error} />
      <div class="strength">
        <label for={meterId} class="strength-label">
          Key passphrase strength
        </label>
        <meter
          id={meterId}
          class="strength-meter"
          min={0}
          max={4}
          low={3}
          high={4}
          optimum={4}
          value={current?.score ?? 0}
          aria-valuetext={current ? current.label : "Not rated yet"}
        />
        <p class="strength-text" aria-live="polite">
          {meterText(value, current)}
        </p>
      </div>
    </div>
  );
}
