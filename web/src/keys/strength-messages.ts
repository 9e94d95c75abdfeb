/** Messages between the page and the passphrase strength worker. */
import type { PassphraseStrength, Person } from "./strength";

export interface StrengthRequest {
  id: number;
  passphrase: string;
  /** Whose passphrase: their name, email and organisation count as guessable. */
  person: Person;
}

export interface StrengthAnswer {
  id: number;
  strength: PassphraseStrength;
}
