/**
 * TOTP (worker/src/lib/totp.ts) against RFC 6238 Appendix B and against Debian's `oathtool`, an
 * independent implementation (`apt-get install oathtool`).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode, hotp, newTotpSecret, otpauthUri, timeStep, totpCode, verifyTotp } from "../../worker/src/lib/totp";

const RFC_SECRET = new TextEncoder().encode("12345678901234567890");

describe("TOTP", () => {
  it("matches the RFC 6238 Appendix B vectors (SHA-1, 8 digits)", async () => {
    const vectors: [number, string][] = [
      [59, "94287082"],
      [1111111109, "07081804"],
      [1111111111, "14050471"],
      [1234567890, "89005924"],
      [2000000000, "69279037"],
      [20000000000, "65353130"],
    ];
    for (const [seconds, code] of vectors) {
      expect(await hotp(RFC_SECRET, timeStep(seconds * 1000), 8), `T=${seconds}`).toBe(code);
      expect(await totpCode(base32Encode(RFC_SECRET), seconds * 1000, 8)).toBe(code);
    }
  });

  it("matches RFC 4226 Appendix D HOTP values (6 digits, the product's length)", async () => {
    const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    for (const [counter, code] of expected.entries()) expect(await hotp(RFC_SECRET, counter)).toBe(code);
  });

  it("agrees with oathtool on fresh secrets and times", async () => {
    for (let i = 0; i < 5; i++) {
      const secret = newTotpSecret();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const seconds = 1_700_000_000 + i * 7919;
      const theirs = execFileSync("oathtool", ["--totp", "-b", `--now=@${seconds}`, secret], { encoding: "utf8" }).trim();
      expect(await totpCode(secret, seconds * 1000)).toBe(theirs);
      // And today's code, the way a user's authenticator computes it.
      const now = Date.now();
      const current = execFileSync("oathtool", ["--totp", "-b", secret], { encoding: "utf8" }).trim();
      expect([await totpCode(secret, now - 1000), await totpCode(secret, now)]).toContain(current);
    }
  });

  it("accepts one step of drift either side, never a used step again, and nothing else", async () => {
    const secret = newTotpSecret();
    const now = 1_700_000_015_000;
    const step = timeStep(now);
    const at = (s: number) => totpCode(secret, s * 30_000);
    expect(await verifyTotp(secret, await at(step), { nowMs: now, lastStep: null })).toBe(step);
    expect(await verifyTotp(secret, await at(step - 1), { nowMs: now, lastStep: null })).toBe(step - 1);
    expect(await verifyTotp(secret, await at(step + 1), { nowMs: now, lastStep: null })).toBe(step + 1);
    expect(await verifyTotp(secret, await at(step - 2), { nowMs: now, lastStep: null })).toBeNull();
    expect(await verifyTotp(secret, await at(step + 2), { nowMs: now, lastStep: null })).toBeNull();
    // Replay: the step just used, and any before it, are refused.
    expect(await verifyTotp(secret, await at(step), { nowMs: now, lastStep: step })).toBeNull();
    expect(await verifyTotp(secret, await at(step - 1), { nowMs: now, lastStep: step })).toBeNull();
    expect(await verifyTotp(secret, await at(step + 1), { nowMs: now, lastStep: step })).toBe(step + 1);
    expect(await verifyTotp(secret, "12345", { nowMs: now, lastStep: null })).toBeNull();
    expect(await verifyTotp(secret, "abcdef", { nowMs: now, lastStep: null })).toBeNull();
  });

  it("round-trips base32 and writes the otpauth URI authenticator apps read", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(20));
    expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    expect(base32Encode(new TextEncoder().encode("foobar"))).toBe("MZXW6YTBOI"); // RFC 4648 §10
    expect(otpauthUri({ secret: "ABC", issuer: "Custody", account: "ada@example.org" })).toBe(
      "otpauth://totp/Custody%3Aada%40example.org?secret=ABC&issuer=Custody&algorithm=SHA1&digits=6&period=30",
    );
  });
});
