import { constantTimeEqual } from "./secrets";

/**
 * Password hashing: PBKDF2-HMAC-SHA256 through WebCrypto, 100,000 iterations, 16-byte salt,
 * 32-byte output. Why these, and not Argon2id or 600,000 iterations: docs/security.md.
 * Stored as `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>` so the parameters can be
 * raised later and old hashes still verify (and are re-hashed at the next sign-in).
 */

export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const encoder = new TextEncoder();

function b64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password.normalize("NFKC")), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

/** Hashes a password with a fresh salt; returns the self-describing encoded string. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${b64(salt)}$${b64(hash)}`;
}

/** A syntactically valid hash of no real password, checked when an account does not exist. */
const DECOY_HASH = `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${b64(new Uint8Array(SALT_BYTES))}$${b64(new Uint8Array(HASH_BITS / 8))}`;

/**
 * Checks `password` against `encoded`. With `encoded` null (no such account, or no password
 * set) it still spends the same work on a decoy and returns false, so timing does not tell
 * whether an account exists.
 */
export async function verifyPassword(password: string, encoded: string | null): Promise<boolean> {
  const [scheme, iterationsText, saltText, hashText] = (encoded ?? DECOY_HASH).split("$");
  if (scheme !== "pbkdf2-sha256" || !iterationsText || !saltText || !hashText) return false;
  const iterations = Number(iterationsText);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) return false;
  const actual = await derive(password, unb64(saltText), iterations);
  return constantTimeEqual(actual, unb64(hashText)) && encoded !== null;
}

/** Should a hash that just verified be replaced with one at today's parameters? */
export function needsRehash(encoded: string): boolean {
  return !encoded.startsWith(`pbkdf2-sha256$${PBKDF2_ITERATIONS}$`);
}

// ---- Password policy (NIST SP 800-63B): a minimum length (the organisation's, 12 by default,
// never under 8), at least 64 and up to 256 characters accepted, no composition rules, and no
// password from the list of common and breached passwords.

let commonPasswords: Promise<Set<string>> | undefined;

/**
 * The common-password list of `@zxcvbn-ts/language-common` (its `passwords-common` dictionary,
 * some 30,000 entries compiled from breach corpora), as a lower-case set. Imported dynamically so
 * the bundler evaluates (decompresses) it on first use, not at every isolate start.
 */
export function commonPasswordSet(): Promise<Set<string>> {
  commonPasswords ??= import("@zxcvbn-ts/language-common").then(
    ({ dictionary }) => new Set(dictionary["passwords-common"].map((word) => word.toLowerCase())),
  );
  return commonPasswords;
}

/** Why `password` is not acceptable, or null when it is. */
export async function passwordProblem(password: string, options: { minLength: number; email?: string }): Promise<string | null> {
  const normalised = password.normalize("NFKC");
  // Length counts characters (code points), as people do, not UTF-16 units.
  if ([...normalised].length < options.minLength) return `Use at least ${options.minLength} characters.`;
  const lower = normalised.toLowerCase();
  if ((await commonPasswordSet()).has(lower)) {
    return "This password is too common: it appears in lists of breached passwords. Choose another, for example a short sentence.";
  }
  if (options.email && (lower === options.email.toLowerCase() || lower === options.email.toLowerCase().split("@")[0])) {
    return "Don't use your email address as your password.";
  }
  return null;
}
