/**
 * The passphrase strength worker: scores key passphrases with zxcvbn (strength.ts) off the UI
 * thread, since a long passphrase takes tens to hundreds of milliseconds. Answers each request
 * with its id; the page ignores answers to requests it has since replaced.
 */
import { guessableInputs, rateKeyPassphrase } from "./strength";
import type { StrengthRequest, StrengthAnswer } from "./strength-messages";

const scope = self as unknown as { postMessage(message: StrengthAnswer): void; onmessage: ((event: MessageEvent<StrengthRequest>) => void) | null };

scope.onmessage = (event) => {
  const { id, passphrase, person } = event.data;
  scope.postMessage({ id, strength: rateKeyPassphrase(passphrase, guessableInputs(person)) });
};
