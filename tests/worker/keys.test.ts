import { db } from "./backend";
import { CompactEncrypt } from "jose";
import { describe, expect, it } from "vitest";
import type { MyKeys, PublicJwk, PublicKeyInfo, SignerKey, UserPublicKeys } from "../../shared/api/schemas";
import { escrowEncryptionKey, generateUserKeys, toBase64url } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addUser, call, expectError, setUpOrganisation, sealBundle, openBundle, changeBundlePassphrase } from "./helpers";

async function newKeys(passphrase: string, cookie: string) {
  const keys = await generateUserKeys();
  const bundle = await sealBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, passphrase);
  const recovery = (await (await call("/api/keys/recovery", { cookie })).json()) as PublicKeyInfo;
  const escrow = await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk);
  return { keys, bundle, body: { signing: keys.signing.publicJwk as PublicJwk, encryption: keys.encryption.publicJwk as PublicJwk, bundle, escrow } };
}

async function dumpD1(): Promise<string> {
  const tables = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").all<{ name: string }>()).results;
  const rows = await Promise.all(tables.map(async ({ name }) => (await db.prepare(`SELECT * FROM "${name}"`).all()).results));
  return JSON.stringify(rows);
}

describe("user keys", () => {
  it("registers public keys and a sealed bundle that only the passphrase opens; the server keeps no private key", async () => {
    const admin = await setUpOrganisation();
    const { keys, bundle, body } = await newKeys("my key passphrase, long", admin.cookie);
    const registered = await call("/api/keys/me", { method: "PUT", body, cookie: admin.cookie });
    expect(registered.status).toBe(201);
    const mine = (await registered.json()) as MyKeys;
    expect(mine.signing.kid).toBe(keys.signing.kid);
    expect(mine.encryption.kid).toBe(keys.encryption.kid);
    expect(mine.bundle).toBe(bundle);

    // Another device fetches the bundle and opens it with the passphrase.
    const fetched = (await (await call("/api/keys/me", { cookie: admin.cookie })).json()) as MyKeys;
    const opened = await openBundle(fetched.bundle, "my key passphrase, long");
    expect(opened.signing.kid).toBe(keys.signing.kid);
    await expect(openBundle(fetched.bundle, "a wrong passphrase")).rejects.toThrow();

    // A full copy of D1 holds no private key material.
    const dump = await dumpD1();
    for (const secret of [keys.signing.privateJwk.d!, keys.encryption.privateJwk.d!]) expect(dump).not.toContain(secret);
    expect(dump).not.toMatch(/"d":/);

    // Second registration is refused and changes nothing.
    const again = await newKeys("another passphrase here", admin.cookie);
    await expectError(await call("/api/keys/me", { method: "PUT", body: again.body, cookie: admin.cookie }), 409, "keys_exist");
    expect(((await (await call("/api/keys/me", { cookie: admin.cookie })).json()) as MyKeys).signing.kid).toBe(keys.signing.kid);

    expect((await auditEvents()).map((e) => e.action)).toContain("keys.register");
  });

  it("changes the key passphrase by replacing the bundle, keeping the keys", async () => {
    const admin = await setUpOrganisation();
    const { keys, bundle, body } = await newKeys("first passphrase, long", admin.cookie);
    await call("/api/keys/me", { method: "PUT", body, cookie: admin.cookie });
    const resealed = await changeBundlePassphrase(bundle, "first passphrase, long", "second passphrase, long");
    const replaced = await call("/api/keys/me/bundle", { method: "PUT", body: { bundle: resealed }, cookie: admin.cookie });
    expect(replaced.status).toBe(200);
    const mine = (await replaced.json()) as MyKeys;
    expect((await openBundle(mine.bundle, "second passphrase, long")).encryption.kid).toBe(keys.encryption.kid);
    await expect(openBundle(mine.bundle, "first passphrase, long")).rejects.toThrow();
    expect((await auditEvents()).map((e) => e.action)).toContain("keys.passphrase_change");
  });

  it("refuses a key that is not a P-521 point, a kid that is not its thumbprint, and a weakly sealed bundle", async () => {
    const admin = await setUpOrganisation();
    const { body } = await newKeys("a passphrase, long enough", admin.cookie);
    const offCurve = { ...body.signing, y: toBase64url(new Uint8Array(66).fill(7)) };
    await expectError(await call("/api/keys/me", { method: "PUT", body: { ...body, signing: offCurve }, cookie: admin.cookie }), 400, "invalid_key");
    await expectError(await call("/api/keys/me", { method: "PUT", body: { ...body, encryption: { ...body.encryption, kid: body.signing.kid } }, cookie: admin.cookie }), 400, "invalid_key");

    const weak = await new CompactEncrypt(new TextEncoder().encode("{}"))
      .setProtectedHeader({ alg: "PBES2-HS512+A256KW", enc: "A256GCM", typ: "custody-key-bundle+jwe", p2c: 1000 })
      .encrypt(new TextEncoder().encode("passphrase"));
    await expectError(await call("/api/keys/me", { method: "PUT", body: { ...body, bundle: weak }, cookie: admin.cookie }), 400, "invalid_bundle");
    expect(await db.prepare("SELECT count(*) AS n FROM user_keys").first("n")).toBe(0);
    expect(await db.prepare("SELECT count(*) AS n FROM key_bundles").first("n")).toBe(0);
  });

  it("lets members look up a user's public keys and a signer by key id, and nobody signed out", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const { keys, body } = await newKeys("ivy's key passphrase", ivy.cookie);
    await call("/api/keys/me", { method: "PUT", body, cookie: ivy.cookie });

    const theirs = (await (await call(`/api/keys/users/${ivy.session.user.id}`, { cookie: admin.cookie })).json()) as UserPublicKeys;
    expect(theirs.encryption?.kid).toBe(keys.encryption.kid);
    expect(theirs.encryption?.publicJwk).not.toHaveProperty("d");
    const none = (await (await call(`/api/keys/users/${admin.session.user.id}`, { cookie: ivy.cookie })).json()) as UserPublicKeys;
    expect(none).toEqual({ userId: admin.session.user.id, signing: null, encryption: null });

    const signer = (await (await call(`/api/keys/signers/${keys.signing.kid}`, { cookie: admin.cookie })).json()) as SignerKey;
    expect(signer).toMatchObject({ kid: keys.signing.kid, owner: { id: ivy.session.user.id, name: "Ivy" }, retiredAt: null });
    await expectError(await call(`/api/keys/signers/${keys.encryption.kid}`, { cookie: admin.cookie }), 404);

    await expectError(await call(`/api/keys/users/${ivy.session.user.id}`), 401);
    await expectError(await call("/api/keys/recovery"), 401);
    await expectError(await call("/api/keys/me"), 401);
  });

  it("serves the organisation recovery key's public half, registered at setup", async () => {
    const admin = await setUpOrganisation();
    const response = await call("/api/keys/recovery", { cookie: admin.cookie });
    expect(response.status).toBe(200);
    const key = (await response.json()) as { kid: string; publicJwk: PublicJwk };
    expect(key.publicJwk).toMatchObject({ kty: "EC", crv: "P-521", kid: key.kid });
    expect(key.publicJwk).not.toHaveProperty("d");
  });
});
