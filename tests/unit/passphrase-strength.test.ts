/**
 * The key passphrase strength rule (web/src/keys/strength.ts): zxcvbn with the common word lists
 * and keyboard graphs, the user's own details counted as guessable, score 4 required.
 */
import { describe, expect, it } from "vitest";
import { guessableInputs, MIN_KEY_PASSPHRASE_SCORE, rateKeyPassphrase, SENTENCE_SUGGESTION, weakPassphraseMessage } from "../../web/src/keys/strength";

const ada = guessableInputs({ name: "Ada Lovelace", email: "ada.lovelace@example.org", organisation: "Northshire Police" });

describe("key passphrase strength", () => {
  it("requires zxcvbn's top score", () => {
    expect(MIN_KEY_PASSPHRASE_SCORE).toBe(4);
  });

  it.each([
    ["a repeated character", "aaaaaaaaaaaa"],
    ["a common password with digits", "password1234"],
    ["a keyboard row", "qwertyuiopasdf"],
    ["a keyboard walk across rows", "1qaz2wsx3edc4rfv"],
    ["the bottom row and the home row", "zxcvbnmasdfghjkl"],
    ["a sequence", "abcdefghijklmnop"],
    ["the user's email address", "ada.lovelace@example.org"],
    ["the user's name and a year", "AdaLovelace1815"],
    ["the organisation's name and digits", "northshirepolice12"],
    ["a common password in look-alike symbols", "P@ssw0rd12345"],
  ])("refuses %s (%s) and says why", (_what, passphrase) => {
    const strength = rateKeyPassphrase(passphrase, ada);
    expect(strength.acceptable, `${passphrase}: score ${strength.score}`).toBe(false);
    expect(strength.score).toBeLessThan(4);
    expect(strength.suggestions).toContain(SENTENCE_SUGGESTION);
    const message = weakPassphraseMessage(strength);
    expect(message).toMatch(/^This key passphrase is too easy to guess\./);
    // Plain words, never zxcvbn's translation keys.
    expect(message).not.toMatch(/\b(simpleRepeat|similarToCommon|straightRow|keyPattern|userInputs|anotherWord)\b/);
  });

  it("names the reason in plain words", () => {
    expect(rateKeyPassphrase("aaaaaaaaaaaa", ada).warning).toBe('Repeated characters, like "aaa", are easy to guess.');
    expect(rateKeyPassphrase("ada.lovelace@example.org", ada).warning).toMatch(/your name, your email address or your organisation's name/);
  });

  it("counts the user's details only for that user", () => {
    // The same string is refused for Ada and scored on its own for someone else.
    const mine = rateKeyPassphrase("lovelace northshire", ada);
    const theirs = rateKeyPassphrase("lovelace northshire", guessableInputs({ name: "Bo Chen", email: "bo@example.org" }));
    expect(mine.guessesLog10).toBeLessThan(theirs.guessesLog10);
  });

  it.each(["purple tractor sings quietly at dawn", "my granny's ferret plays oboe at midnight", "Seven clumsy otters audit the lighthouse"])(
    "accepts a sentence of unrelated words: %s",
    (passphrase) => {
      const strength = rateKeyPassphrase(passphrase, ada);
      expect(strength.acceptable).toBe(true);
      expect(strength.score).toBe(4);
      expect(strength.label).toBe("Strong");
      expect(strength.guessesLog10).toBeGreaterThanOrEqual(10);
    },
  );

  it("scores the NFKC form, so full-width look-alikes add nothing", () => {
    expect(rateKeyPassphrase("ｐａｓｓｗｏｒｄ１２３４", ada).acceptable).toBe(false);
  });

  it("finds the guessable words in a person's details", () => {
    expect(ada).toEqual(
      expect.arrayContaining(["ada lovelace", "ada", "lovelace", "ada.lovelace@example.org", "ada.lovelace", "example", "northshire police", "northshire", "police"]),
    );
    expect(guessableInputs({ name: "Bo Li", email: "bo@ex.io" })).toEqual(["bo li", "bo@ex.io"]);
  });
});
