/**
 * Typed failures, so the UI can say exactly what failed. Messages never contain key
 * material, passphrases or plaintext.
 */

/**
 * Data did not verify: a GCM tag, a part hash, the whole-file hash, a size, or a signature.
 * `what` names the failing item, e.g. "segment 3", "part 0", "file sha512", "manifest signature".
 */
export class IntegrityError extends Error {
  override readonly name = "IntegrityError";
  constructor(
    readonly what: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}: ${message}`, options);
  }
}

/** A key could not be unlocked or unwrapped: wrong passphrase, wrong recipient key, or a tampered envelope. */
export class KeyUnwrapError extends Error {
  override readonly name = "KeyUnwrapError";
  constructor(
    readonly what: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}: ${message}`, options);
  }
}

/** An envelope is not one this version understands (unknown version, type or algorithm). */
export class FormatError extends Error {
  override readonly name = "FormatError";
  constructor(
    readonly what: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}: ${message}`, options);
  }
}
