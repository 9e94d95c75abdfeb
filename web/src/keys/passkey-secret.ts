/**
 * The WebAuthn PRF output of the passkey the user just signed in with, held in page memory only
 * until the key gate uses it to open that passkey's envelope of the key bundle (or the page
 * goes). Never stored, never sent.
 */
import { prfInput } from "../../../shared/crypto/keys";

interface Held {
  credentialId: string;
  /** Undefined when the authenticator gave no PRF output (it has no PRF). */
  output: Uint8Array | undefined;
}

let held: Held | undefined;

/** Keeps the PRF output of `credentialId` (or that it gave none) for the key gate, replacing any earlier one. */
export function holdPasskeySecret(credentialId: string, output: Uint8Array | undefined): void {
  held?.output?.fill(0);
  held = { credentialId, output };
}

/** Takes the held PRF output (once): the caller zeroes it when done. */
export function takePasskeySecret(): Held | undefined {
  const taken = held;
  held = undefined;
  return taken;
}

/** The `extensions` member asking the authenticator for the key bundle's PRF output. */
export async function prfExtension(): Promise<{ prf: { eval: { first: Uint8Array<ArrayBuffer> } } }> {
  return { prf: { eval: { first: await prfInput() } } };
}

/**
 * Takes the PRF output out of a credential's client extension results (so it is never sent to
 * the server), or undefined when the authenticator gave none (no PRF support).
 */
export function extractPrfOutput(results: Record<string, unknown> | undefined): Uint8Array | undefined {
  const prf = results?.["prf"] as { results?: { first?: ArrayBuffer | ArrayBufferView } } | undefined;
  if (results) delete results["prf"];
  const first = prf?.results?.first;
  if (!first) return undefined;
  const bytes = first instanceof ArrayBuffer ? new Uint8Array(first) : new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  return bytes.slice();
}
