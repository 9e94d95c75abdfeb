/**
 * Passkey envelopes of the key bundle (docs/evidence-format.md §3.1.2) and the version 2
 * passphrase bundle, through the API: storing, turning off, removal with the passkey (by its
 * owner, by an administrator's MFA reset, by a key recovery), what is refused (a version 1
 * bundle, an envelope of another passkey, a passphrase bundle as an envelope), and that nobody
 * reads, replaces or removes another user's envelope.
 */
import { db } from "./backend";
import { describe, expect, it } from "vitest";
import type { MyKeys, PasskeyBundle, PublicJwk, PublicKeyInfo } from "../../shared/api/schemas";
import {
  escrowEncryptionKey,
  generateUserKeys,
  openPasskeyBundleJwks,
  sealLegacyKeyBundle,
  sealPasskeyBundle,
  keyId,
} from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addUser, call, expectError, setUpOrganisation, type TestUser, sealBundle, openBundle } from "./helpers";

const PASSPHRASE = "a long key passphrase for tests";

/** A user with registered keys; returns their private JWKs (to seal envelopes as their browser would). */
async function withKeys(user: TestUser) {
  const keys = await generateUserKeys();
  const jwks = { signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk };
  const recovery = (await (await call("/api/keys/recovery", { cookie: user.cookie })).json()) as PublicKeyInfo;
  const body = {
    signing: keys.signing.publicJwk as PublicJwk,
    encryption: keys.encryption.publicJwk as PublicJwk,
    bundle: await sealBundle(jwks, PASSPHRASE),
    escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk),
  };
  expect((await call("/api/keys/me", { method: "PUT", body, cookie: user.cookie })).status).toBe(201);
  return { keys, jwks };
}

/** Stores a passkey for the user, as a completed WebAuthn registration would (the ceremony is tested in tests/e2e/mfa.test.ts). */
async function addPasskey(user: TestUser, id: string): Promise<void> {
  await db
    .prepare("INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at) VALUES (?, ?, 'AAAA', 0, '[]', ?, ?)")
    .bind(id, user.session.user.id, `Key ${id}`, new Date().toISOString())
    .run();
}

const myKeys = async (user: TestUser) => (await (await call("/api/keys/me", { cookie: user.cookie })).json()) as MyKeys;
const countEnvelopes = async () => (await db.prepare("SELECT count(*) AS n FROM passkey_key_bundles").first<number>("n")) ?? 0;

describe("passkey envelopes of the key bundle", () => {
  it("stores an envelope for your own passkey, lists it with your keys, and it opens with that passkey's PRF output", async () => {
    const admin = await setUpOrganisation();
    const { keys, jwks } = await withKeys(admin);
    await addPasskey(admin, "cred-ada-1");
    const prf = crypto.getRandomValues(new Uint8Array(32));
    const envelope = await sealPasskeyBundle(jwks, prf, "cred-ada-1");
    const stored = await call("/api/keys/me/passkeys/cred-ada-1", { method: "PUT", body: { bundle: envelope }, cookie: admin.cookie });
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as PasskeyBundle).bundle).toBe(envelope);

    const mine = await myKeys(admin);
    expect(mine.passkeyBundles.map((b) => b.passkeyId)).toEqual(["cred-ada-1"]);
    const opened = await openPasskeyBundleJwks(mine.passkeyBundles[0]!.bundle, prf);
    expect(await keyId(opened.signing)).toBe(keys.signing.kid);

    // Storing again replaces it (a fresh salt), still one per passkey.
    const again = await sealPasskeyBundle(jwks, prf, "cred-ada-1");
    expect((await call("/api/keys/me/passkeys/cred-ada-1", { method: "PUT", body: { bundle: again }, cookie: admin.cookie })).status).toBe(200);
    expect((await myKeys(admin)).passkeyBundles.map((b) => b.bundle)).toEqual([again]);
    expect(await countEnvelopes()).toBe(1);
    expect((await auditEvents()).filter((e) => e.action === "keys.passkey_unlock_on")).toHaveLength(2);

    // Turning it off deletes the envelope, and is recorded.
    expect((await call("/api/keys/me/passkeys/cred-ada-1", { method: "DELETE", cookie: admin.cookie })).status).toBe(204);
    expect((await myKeys(admin)).passkeyBundles).toEqual([]);
    expect((await auditEvents()).map((e) => e.action)).toContain("keys.passkey_unlock_off");
  });

  it("refuses an envelope naming another passkey, a passphrase bundle as an envelope, junk, an unknown passkey, and a user without keys; nothing is stored", async () => {
    const admin = await setUpOrganisation();
    await addPasskey(admin, "cred-early");
    const { jwks } = await withKeys(admin);
    const prf = crypto.getRandomValues(new Uint8Array(32));
    const other = await sealPasskeyBundle(jwks, prf, "cred-other");
    await expectError(await call("/api/keys/me/passkeys/cred-early", { method: "PUT", body: { bundle: other }, cookie: admin.cookie }), 400, "invalid_bundle");
    const passphraseBundle = await sealBundle(jwks, PASSPHRASE);
    await expectError(await call("/api/keys/me/passkeys/cred-early", { method: "PUT", body: { bundle: passphraseBundle }, cookie: admin.cookie }), 400, "invalid_bundle");
    await expectError(await call("/api/keys/me/passkeys/cred-early", { method: "PUT", body: { bundle: "a.b.c.d.e" }, cookie: admin.cookie }), 400, "invalid_bundle");
    await expectError(await call("/api/keys/me/passkeys/cred-early", { method: "PUT", body: { bundle: other, extra: 1 }, cookie: admin.cookie }), 400);
    const unknown = await sealPasskeyBundle(jwks, prf, "cred-nobody");
    await expectError(await call("/api/keys/me/passkeys/cred-nobody", { method: "PUT", body: { bundle: unknown }, cookie: admin.cookie }), 404, "not_found");
    await expectError(await call("/api/keys/me/passkeys/cred-early", { method: "PUT", body: { bundle: await sealPasskeyBundle(jwks, prf, "cred-early") } }), 401);

    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await addPasskey(ivy, "cred-ivy");
    await expectError(
      await call("/api/keys/me/passkeys/cred-ivy", { method: "PUT", body: { bundle: await sealPasskeyBundle(jwks, prf, "cred-ivy") }, cookie: ivy.cookie }),
      404,
      "no_keys",
    );
    expect(await countEnvelopes()).toBe(0);
  });

  it("nobody reads, replaces or removes another user's envelope", async () => {
    const admin = await setUpOrganisation();
    const ada = await withKeys(admin);
    await addPasskey(admin, "cred-ada");
    const prf = crypto.getRandomValues(new Uint8Array(32));
    const envelope = await sealPasskeyBundle(ada.jwks, prf, "cred-ada");
    expect((await call("/api/keys/me/passkeys/cred-ada", { method: "PUT", body: { bundle: envelope }, cookie: admin.cookie })).status).toBe(200);

    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const ivyKeys = await withKeys(ivy);
    // Ivy's own keys list no envelope of Ada's.
    expect((await myKeys(ivy)).passkeyBundles).toEqual([]);
    // Replacing Ada's envelope with one Ivy made (her keys, her own PRF) under Ada's passkey id: refused.
    const forged = await sealPasskeyBundle(ivyKeys.jwks, crypto.getRandomValues(new Uint8Array(32)), "cred-ada");
    await expectError(await call("/api/keys/me/passkeys/cred-ada", { method: "PUT", body: { bundle: forged }, cookie: ivy.cookie }), 404, "not_found");
    // Turning off Ada's: nothing of hers changes.
    expect((await call("/api/keys/me/passkeys/cred-ada", { method: "DELETE", cookie: ivy.cookie })).status).toBe(204);
    // Ada's public keys are readable by her organisation, her envelope is not.
    const adaPublic = await call(`/api/keys/users/${admin.session.user.id}`, { cookie: ivy.cookie });
    expect(await adaPublic.text()).not.toContain(envelope.split(".")[0]!);
    expect((await myKeys(admin)).passkeyBundles.map((b) => b.bundle)).toEqual([envelope]);
    expect((await auditEvents()).filter((e) => e.action === "keys.passkey_unlock_off")).toHaveLength(0);
  });

  it("removing the passkey removes its envelope; an administrator's MFA reset removes all of a user's", async () => {
    const admin = await setUpOrganisation();
    const ada = await withKeys(admin);
    await addPasskey(admin, "cred-a");
    await addPasskey(admin, "cred-b");
    const prf = crypto.getRandomValues(new Uint8Array(32));
    for (const id of ["cred-a", "cred-b"]) {
      expect((await call(`/api/keys/me/passkeys/${id}`, { method: "PUT", body: { bundle: await sealPasskeyBundle(ada.jwks, prf, id) }, cookie: admin.cookie })).status).toBe(200);
    }
    expect((await call("/api/mfa/passkeys/cred-a", { method: "DELETE", cookie: admin.cookie })).status).toBe(204);
    expect((await myKeys(admin)).passkeyBundles.map((b) => b.passkeyId)).toEqual(["cred-b"]);

    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const ivyKeys = await withKeys(ivy);
    await addPasskey(ivy, "cred-ivy");
    expect((await call("/api/keys/me/passkeys/cred-ivy", { method: "PUT", body: { bundle: await sealPasskeyBundle(ivyKeys.jwks, prf, "cred-ivy") }, cookie: ivy.cookie })).status).toBe(200);
    expect((await call(`/api/users/${ivy.session.user.id}/mfa/reset`, { method: "POST", cookie: admin.cookie })).status).toBe(204);
    expect(await db.prepare("SELECT count(*) AS n FROM passkey_key_bundles WHERE user_id = ?").bind(ivy.session.user.id).first("n")).toBe(0);
    // Ada's is untouched.
    expect((await myKeys(admin)).passkeyBundles.map((b) => b.passkeyId)).toEqual(["cred-b"]);
  });
});

describe("version 2 passphrase bundles", () => {
  it("refuses to store a version 1 (PBES2) bundle, even at the full PBKDF2 count, and records a re-seal as such", async () => {
    const admin = await setUpOrganisation();
    const { jwks } = await withKeys(admin);
    const legacy = await sealLegacyKeyBundle(jwks, PASSPHRASE);
    const refused = await expectError(await call("/api/keys/me/bundle", { method: "PUT", body: { bundle: legacy }, cookie: admin.cookie }), 400, "invalid_bundle");
    expect(refused.error.message).toContain("Argon2id");
    const before = (await myKeys(admin)).bundle;
    expect(before).not.toBe(legacy);

    const resealed = await sealBundle(jwks, PASSPHRASE);
    const replaced = await call("/api/keys/me/bundle", { method: "PUT", body: { bundle: resealed, reason: "reseal" }, cookie: admin.cookie });
    expect(replaced.status).toBe(200);
    expect((await openBundle(((await replaced.json()) as MyKeys).bundle, PASSPHRASE)).signing.kid).toBe(await keyId(jwks.signing));
    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toContain("keys.bundle_reseal");
    expect(actions).not.toContain("keys.passphrase_change");
    await expectError(await call("/api/keys/me/bundle", { method: "PUT", body: { bundle: resealed, reason: "downgrade" }, cookie: admin.cookie }), 400);
  });
});
