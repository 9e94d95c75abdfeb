/**
 * The browser's memory of the sign-in password (web/src/identity/password-memory.ts): compared
 * NFKC-normalised, forgotten on request and after 15 minutes.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetSignInPassword, isSignInPassword, rememberSignInPassword } from "../../web/src/identity/password-memory";

afterEach(() => {
  forgetSignInPassword();
  vi.useRealTimers();
});

describe("remembered sign-in password", () => {
  it("matches the same password, NFKC-compared, and nothing else", async () => {
    await rememberSignInPassword("correct horse battery staple");
    expect(await isSignInPassword("correct horse battery staple")).toBe(true);
    // Full-width letters and the ﬁ ligature are the same text after NFKC.
    expect(await isSignInPassword("ｃｏｒｒｅｃｔ horse battery staple")).toBe(true);
    await rememberSignInPassword("ﬁve fine figs");
    expect(await isSignInPassword("five fine figs")).toBe(true);
    expect(await isSignInPassword("correct horse battery staple")).toBe(false); // replaced
    expect(await isSignInPassword("Five fine figs")).toBe(false);
  });

  it("matches nothing once forgotten, or before anything is remembered", async () => {
    expect(await isSignInPassword("")).toBe(false);
    await rememberSignInPassword("correct horse battery staple");
    forgetSignInPassword();
    expect(await isSignInPassword("correct horse battery staple")).toBe(false);
  });

  it("forgets by itself after 15 minutes", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await rememberSignInPassword("correct horse battery staple");
    vi.advanceTimersByTime(14 * 60_000);
    expect(await isSignInPassword("correct horse battery staple")).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(await isSignInPassword("correct horse battery staple")).toBe(false);
  });
});
