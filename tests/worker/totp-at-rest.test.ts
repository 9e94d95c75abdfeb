/**
 * TOTP seeds at rest (issue 14, item 9): the server must use the seed, so it cannot hash it; it
 * keeps it sealed with AES-256-GCM under the data key (a Workers secret, or on Deno an environment
 * variable or a key file in the data folder), never in D1. A dump of every table, in any encoding
 * the seed could take, holds no seed: neither for a fresh enrolment nor for a seed stored in plain
 * text before the migration (sealed at the next sign-in).
 */
import { describe, expect, it } from "vitest";
import { base32Decode } from "../../worker/src/lib/totp";
import { backend, db } from "./backend";
import { ADMIN, addUser, call, freshTotpCode, setUpOrganisation, signIn } from "./helpers";

/** The seed in every encoding a careless store could have used. */
function encodings(base32: string): string[] {
  const bytes = base32Decode(base32);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const base64 = btoa(String.fromCharCode(...bytes));
  const base64url = base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return [base32, base32.toLowerCase(), hex, hex.toUpperCase(), base64.replace(/=+$/, ""), base64url];
}

/** Every row of every table the API's database holds, as text (what `wrangler d1 export` would show). */
async function dumpDatabase(): Promise<string> {
  const tables = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'").all<{ name: string }>()).results;
  const parts: string[] = [];
  for (const { name } of tables) parts.push(name, JSON.stringify((await db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all()).results));
  return parts.join("\n");
}

function expectNoSeed(haystack: string, seed: string): void {
  for (const encoded of encodings(seed)) expect(haystack.includes(encoded), `the seed (as ${encoded}) is in the dump`).toBe(false);
}

/** The stored bytes (objects, database files), decoded leniently, so the raw 20 seed bytes show up too. */
async function storedText(): Promise<string> {
  return (await backend.storedBytes()).map((bytes) => new TextDecoder("latin1").decode(bytes)).join("\n");
}

describe("TOTP seeds at rest", () => {
  it("a dump of every table holds no seed of an enrolled authenticator, in any encoding, and the seed still works", async () => {
    const admin = await setUpOrganisation();
    const investigator = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    // The seeds are used after enrolment too: sign-in with a code works from the sealed copy.
    await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);
    const dump = await dumpDatabase();
    expect(dump).toContain("totp_credentials");
    const stored = await storedText();
    for (const seed of [admin.totpSecret, investigator.totpSecret]) {
      expectNoSeed(dump, seed);
      expectNoSeed(stored, seed);
      expect(stored.includes(new TextDecoder("latin1").decode(base32Decode(seed))), "the raw seed bytes are stored").toBe(false);
    }
  });

  it("a seed stored as it was before the migration is sealed at the next sign-in and still works", async () => {
    const admin = await setUpOrganisation();
    const investigator = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    // As migration 0012 finds a row written by an older version: the seed in plain text, format 0.
    const legacySeed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const user = await db.prepare("SELECT id FROM users WHERE email = ?").bind("ivy@example.org").first<{ id: string }>();
    await db.prepare("UPDATE totp_credentials SET secret = ?, secret_format = 0, secret_key_id = NULL, last_step = NULL WHERE user_id = ?").bind(legacySeed, user!.id).run();
    expect(await dumpDatabase()).toContain(legacySeed);

    // Somebody else signs in: the first sign-in after the upgrade seals every plain-text seed left.
    await signIn(ADMIN.email, ADMIN.password, admin.totpSecret);
    expectNoSeed(await dumpDatabase(), legacySeed);
    const row = await db.prepare("SELECT secret, secret_format FROM totp_credentials WHERE user_id = ?").bind(user!.id).first<{ secret: string; secret_format: number }>();
    expect(row).toMatchObject({ secret_format: 1, secret: expect.stringMatching(/^v1\./) });

    // The sealed seed is the same seed: the investigator's authenticator app still signs them in.
    const first = await call("/api/auth/sign-in", { body: { email: "ivy@example.org", password: "a long enough passphrase" } });
    expect(first.status).toBe(200);
    const cookie = first.headers.get("Set-Cookie")!.split(";")[0]!;
    const second = await call("/api/auth/mfa", { body: { method: "totp", code: await freshTotpCode(legacySeed) }, cookie });
    expect(second.status, await second.clone().text()).toBe(200);
    expect(investigator.totpSecret).not.toBe(legacySeed);
  });

  it("a sealed seed copied to another user's row does not work there (the seal is bound to its user)", async () => {
    const admin = await setUpOrganisation();
    await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const rows = (await db.prepare("SELECT u.email, t.secret FROM totp_credentials t JOIN users u ON u.id = t.user_id").all<{ email: string; secret: string }>()).results;
    const adminSealed = rows.find((r) => r.email === ADMIN.email)!.secret;
    const ivy = await db.prepare("SELECT id FROM users WHERE email = ?").bind("ivy@example.org").first<{ id: string }>();
    await db.prepare("UPDATE totp_credentials SET secret = ? WHERE user_id = ?").bind(adminSealed, ivy!.id).run();
    const first = await call("/api/auth/sign-in", { body: { email: "ivy@example.org", password: "a long enough passphrase" } });
    const cookie = first.headers.get("Set-Cookie")!.split(";")[0]!;
    const { result: second, errors } = await backend.serverErrors(() =>
      freshTotpCode(admin.totpSecret).then((code) => call("/api/auth/mfa", { body: { method: "totp", code }, cookie })),
    );
    expect(second.status).toBe(401);
    expect(errors.join("\n")).toMatch(/could not be opened/);
  });
});
