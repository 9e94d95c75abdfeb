/** Key passphrase rules and messages shared by the create, unlock and change forms. */
import { z } from "zod";
import { ApiError } from "../api/client";

export const KEY_PASSPHRASE_MIN_LENGTH = 12;
const KEY_PASSPHRASE_MAX_LENGTH = 1024;

export const WRONG_PASSPHRASE = "That key passphrase is not right. Try again.";

export const KeyPassphrase = z
  .string()
  .min(KEY_PASSPHRASE_MIN_LENGTH, `Use at least ${KEY_PASSPHRASE_MIN_LENGTH} characters.`)
  .max(KEY_PASSPHRASE_MAX_LENGTH, `Use at most ${KEY_PASSPHRASE_MAX_LENGTH} characters.`);

export const KEY_PASSPHRASE_HINT = `At least ${KEY_PASSPHRASE_MIN_LENGTH} characters and hard to guess: a short sentence of four or more unrelated words works well. Not your sign-in password.`;

/** A wrong passphrase, as the form helpers expect errors: the alert says it, the field is marked. */
export function wrongPassphrase(field: string): ApiError {
  return new ApiError(0, "wrong_passphrase", WRONG_PASSPHRASE, [{ path: field, message: "Type your key passphrase again." }]);
}

export const MISMATCH = "The key passphrases don't match. Type the same passphrase twice.";
