/**
 * The sign-in password, remembered only so the key screens can refuse a key passphrase equal to
 * it (the server receives the sign-in password at every sign-in; the key passphrase must be
 * something it never sees). Kept in this module's memory only, never in storage, as a SHA-256 of
 * a random salt and the NFKC-normalised password, and only as long as it can be useful:
 * forgotten once a key passphrase has been chosen, on sign-out, and after 15 minutes.
 */

const KEEP_FOR_MS = 15 * 60_000;
const encoder = new TextEncoder();

let held: { salt: Uint8Array<ArrayBuffer>; digest: Uint8Array; timer: ReturnType<typeof setTimeout> } | undefined;

async function digestOf(text: string, salt: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const bytes = encoder.encode(text.normalize("NFKC"));
  const input = new Uint8Array(salt.length + bytes.length);
  input.set(salt);
  input.set(bytes, salt.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input));
}

/** Remembers the password just used to sign in (or set at setup, invitation, password change). */
export async function rememberSignInPassword(password: string): Promise<void> {
  forgetSignInPassword();
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const digest = await digestOf(password, salt);
  held = { salt, digest, timer: setTimeout(forgetSignInPassword, KEEP_FOR_MS) };
}

export function forgetSignInPassword(): void {
  if (held) clearTimeout(held.timer);
  held = undefined;
}

/** Is `candidate` the remembered sign-in password (NFKC-compared)? False when none is remembered. */
export async function isSignInPassword(candidate: string): Promise<boolean> {
  const current = held;
  if (!current) return false;
  const digest = await digestOf(candidate, current.salt);
  return digest.length === current.digest.length && digest.every((byte, i) => byte === current.digest[i]);
}
