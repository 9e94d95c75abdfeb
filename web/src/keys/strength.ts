/**
 * How guessable a key passphrase is, and whether it is strong enough to seal the key bundle the
 * server stores (docs/security.md, "Key passphrase strength"). zxcvbn-ts with the common
 * dictionaries (passwords from breach corpora, diceware words) and keyboard adjacency graphs of
 * `@zxcvbn-ts/language-common`, and the user's own name, email and organisation counted as
 * guessable. Scoring a long passphrase takes tens to hundreds of milliseconds, so the app runs
 * this module in a Web Worker (strength.worker.ts); it has no DOM and no app imports, so the unit
 * tests import it directly.
 */
import { ZxcvbnFactory, type TranslationKeys } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";

/**
 * zxcvbn's top score: an estimated 10^10 guesses or more. The bundle can be attacked offline by
 * whoever copies the database, so "safely unguessable" against a slow hash (score 3, 10^8) is
 * not enough: against a version 1 bundle (210,000 PBKDF2-HMAC-SHA512 rounds) one current GPU
 * tries some 2 × 10^4 guesses a second, so 10^8 falls in about an hour; 10^10 takes that GPU
 * about a week. Version 2 (Argon2id, 64 MiB) costs far more per guess, but old bundles remain
 * until their users unlock them (the figures are in docs/security.md).
 */
export const MIN_KEY_PASSPHRASE_SCORE = 4;

/** Our own suggestion, added to every refusal. */
export const SENTENCE_SUGGESTION = "Try a short sentence of four or more unrelated words, for example one only you would think of.";

/** zxcvbn's feedback keys in plain words (no translation package: these are the app's own). */
const PLAIN: TranslationKeys = {
  warnings: {
    straightRow: "Straight rows of keys on a keyboard are easy to guess.",
    keyPattern: "Keyboard patterns are easy to guess.",
    simpleRepeat: 'Repeated characters, like "aaa", are easy to guess.',
    extendedRepeat: 'Repeated patterns, like "abcabcabc", are easy to guess.',
    sequences: 'Sequences, like "abcd" or "6543", are easy to guess.',
    recentYears: "Recent years are easy to guess.",
    dates: "Dates are easy to guess.",
    topTen: "This is one of the ten most used passwords.",
    topHundred: "This is one of the hundred most used passwords.",
    common: "This is a commonly used password.",
    similarToCommon: "This is very like a commonly used password.",
    wordByItself: "A single word is easy to guess.",
    namesByThemselves: "A name on its own is easy to guess.",
    commonNames: "Common first names and surnames are easy to guess.",
    userInputs: "It contains your name, your email address or your organisation's name, which are easy to guess.",
    pwned: "This has appeared in a data breach.",
  },
  suggestions: {
    l33t: "Swapping letters for look-alike symbols (@ for a, 0 for o) hardly makes it harder to guess.",
    reverseWords: "Words spelled backwards are easy to guess.",
    allUppercase: "All capitals is as easy to guess as all lower case.",
    capitalization: "A capital first letter adds little.",
    dates: "Leave out dates and years that have to do with you.",
    recentYears: "Leave out recent years.",
    associatedYears: "Leave out years that have to do with you.",
    sequences: "Leave out sequences of letters or digits.",
    repeated: "Leave out repeated words and characters.",
    longerKeyboardPattern: "Leave out keyboard patterns.",
    anotherWord: "Add more words, less common ones.",
    useWords: "Use several words, but not a well-known phrase.",
    noNeed: "You don't need symbols, digits or capital letters: length and unusual words count most.",
    pwned: "If you use it anywhere else, change it there too.",
  },
  timeEstimation: {
    ltSecond: "less than a second",
    second: "{base} second",
    seconds: "{base} seconds",
    minute: "{base} minute",
    minutes: "{base} minutes",
    hour: "{base} hour",
    hours: "{base} hours",
    day: "{base} day",
    days: "{base} days",
    month: "{base} month",
    months: "{base} months",
    year: "{base} year",
    years: "{base} years",
    centuries: "centuries",
  },
};

let scorer: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  // Built on first use (some 30 ms: it ranks the dictionaries).
  scorer ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs, translations: PLAIN, useLevenshteinDistance: true });
  return scorer;
}

export interface PassphraseStrength {
  /** zxcvbn's score, 0 (too guessable) to 4 (very unguessable). */
  score: 0 | 1 | 2 | 3 | 4;
  /** log10 of zxcvbn's estimate of the guesses an attacker needs. */
  guessesLog10: number;
  acceptable: boolean;
  /** A short word for the meter: "Very weak" … "Strong". */
  label: string;
  /** What makes it guessable, in plain words, or null. */
  warning: string | null;
  /** zxcvbn's suggestions in plain words, then ours when it is refused. */
  suggestions: string[];
  /** The refusal to show on submit (weakPassphraseMessage), or null when it is acceptable. */
  refusal: string | null;
}

const LABELS = ["Very weak", "Weak", "Fair", "Not strong enough yet", "Strong"] as const;

/**
 * The words of the user's name, email and organisation, which an attacker would try first.
 * "Ada Lovelace", "ada.lovelace@example.org" → "Ada Lovelace", "Ada", "Lovelace", the address,
 * its local part and its parts, and so on; pieces under three characters are left out.
 */
export interface Person {
  name?: string;
  email?: string;
  organisation?: string;
}

export function guessableInputs(person: Person): string[] {
  const inputs = new Set<string>();
  const add = (text: string | undefined) => {
    if (!text) return;
    const whole = text.trim().toLowerCase();
    if (whole.length >= 3) inputs.add(whole);
    for (const piece of whole.split(/[^\p{L}\p{N}]+/u)) if (piece.length >= 3) inputs.add(piece);
  };
  add(person.name);
  add(person.email);
  add(person.email?.split("@")[0]);
  add(person.organisation);
  return [...inputs];
}

/** Rates a key passphrase (NFKC-normalised first, so look-alike characters are not extra strength). */
export function rateKeyPassphrase(passphrase: string, userInputs: readonly string[]): PassphraseStrength {
  const result = zxcvbn().check(passphrase.normalize("NFKC"), [...userInputs]);
  const score = result.score as PassphraseStrength["score"];
  const acceptable = score >= MIN_KEY_PASSPHRASE_SCORE;
  const suggestions = [...result.feedback.suggestions];
  if (!acceptable) suggestions.push(SENTENCE_SUGGESTION);
  const strength = { score, guessesLog10: result.guessesLog10, acceptable, label: LABELS[score], warning: result.feedback.warning, suggestions, refusal: null };
  return acceptable ? strength : { ...strength, refusal: weakPassphraseMessage(strength) };
}

/** The refusal shown on submit: why, then what to do. */
export function weakPassphraseMessage(strength: PassphraseStrength): string {
  const why = strength.warning ? `This key passphrase is too easy to guess. ${strength.warning}` : "This key passphrase is too easy to guess.";
  return [why, ...strength.suggestions].join(" ");
}
