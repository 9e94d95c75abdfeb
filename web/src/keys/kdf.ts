/**
 * Argon2id for the key bundle, in a Web Worker (kdf.worker.ts), with progress for the screens.
 * `derive` is the Argon2Derive the page passes to shared/crypto's seal and open functions.
 *
 * Argon2id runs as one WebAssembly call, which reports nothing until it ends, so the progress
 * shown during it is an estimate: the time the last derivation took on this device
 * (localStorage; 1.5 s the first time), never reaching 100 % before it is really done.
 */
import { useEffect, useState } from "preact/hooks";
import type { Argon2Derive } from "../../../shared/crypto/keys";
import type { KdfAnswer, KdfRequest } from "./kdf-messages";

/** A derivation that failed in the Worker; its message is for the user (the usual cause on a phone: not enough free memory for 64 MiB). */
export class KeyDerivationError extends Error {
  override readonly name = "KeyDerivationError";
  constructor() {
    super("This device couldn't derive your key (it may be short of memory). Close other apps or tabs and try again.");
  }
}

const LAST_MS_KEY = "custody.kdfMs";
const FIRST_GUESS_MS = 1500;

/** What the progress bar shows: the step's name, its number, and an estimate within it. */
export interface KeyWork {
  label: string;
  step: number;
  steps: number;
  /** 0..1 within this step. */
  fraction: number;
}

type Listener = (work: KeyWork | null) => void;
const listeners = new Set<Listener>();
let current: KeyWork | null = null;
let plan: { steps: string[]; step: number } | null = null;

function publish(work: KeyWork | null) {
  current = work;
  for (const listener of listeners) listener(work);
}

/** Starts a piece of key work made of these steps (their names are what the screen says). */
export function beginKeyWork(steps: string[]): void {
  plan = { steps, step: 0 };
  publish({ label: steps[0]!, step: 1, steps: steps.length, fraction: 0 });
}

/** Moves to the step named `label` (one of those given to beginKeyWork). */
export function keyWorkStep(label: string): void {
  if (!plan) return;
  const index = plan.steps.indexOf(label);
  plan.step = index >= 0 ? index : plan.step;
  publish({ label, step: plan.step + 1, steps: plan.steps.length, fraction: 0 });
}

/** The key work is over (done or failed). */
export function endKeyWork(): void {
  plan = null;
  publish(null);
}

function lastDurationMs(): number {
  const stored = Number(globalThis.localStorage?.getItem(LAST_MS_KEY));
  return Number.isFinite(stored) && stored > 0 ? stored : FIRST_GUESS_MS;
}

/** Argon2id in a fresh Worker; the derivation's own progress is estimated from the last one's time. */
export const derive: Argon2Derive = (password, salt, params) => {
  const started = performance.now();
  const expected = lastDurationMs();
  const tick = setInterval(() => {
    if (!current) return;
    // Approaches but never reaches the end of the step while the worker is still deriving.
    const fraction = Math.min(0.95, (performance.now() - started) / expected);
    publish({ ...current, fraction });
  }, 100);
  return new Promise<Uint8Array>((resolve, reject) => {
    const worker = new Worker(new URL("./kdf.worker.ts", import.meta.url), { type: "module", name: "key-derivation" });
    const finish = () => {
      clearInterval(tick);
      worker.terminate();
    };
    worker.onmessage = (event: MessageEvent<KdfAnswer>) => {
      finish();
      if ("key" in event.data) {
        globalThis.localStorage?.setItem(LAST_MS_KEY, String(Math.round(performance.now() - started)));
        if (current) publish({ ...current, fraction: 1 });
        resolve(event.data.key);
      } else {
        reject(new KeyDerivationError());
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new KeyDerivationError());
    };
    // Copies: the caller zeroes its own; the worker's copy of the password is zeroed there.
    const message: KdfRequest = { password: password.slice() as Uint8Array<ArrayBuffer>, salt: salt.slice() as Uint8Array<ArrayBuffer>, params };
    worker.postMessage(message, [message.password.buffer]);
  });
};

/** The key work in progress, for a progress bar (null when none). */
export function useKeyWork(): KeyWork | null {
  const [work, setWork] = useState<KeyWork | null>(current);
  useEffect(() => {
    listeners.add(setWork);
    return () => void listeners.delete(setWork);
  }, []);
  return work;
}
