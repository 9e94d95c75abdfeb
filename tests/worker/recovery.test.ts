import { db } from "./backend";
import { describe, expect, it } from "vitest";
import type { MyKeys, MyRecoveryRequest, PendingRecoveryList, PublicJwk, PublicKeyInfo, SignerKey } from "../../shared/api/schemas";
import {
  escrowEncryptionKey,
  generateRecoveryKeyPair,
  generateUserKeys,
  importPrivateKey,
  receiveTransferredKey,
  releaseEscrowedKey,
  sealLegacyKeyBundle,
  sealPasskeyBundle,
} from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { addUser, ADMIN, call, enrolTotp, expectError, sessionCookie, sealBundle, openBundle } from "./helpers";

/** Setup with a recovery key pair the test keeps (as the admin's downloaded file). */
async function setUpWithRecoveryKey() {
  const recovery = await generateRecoveryKeyPair();
  const response = await call("/api/setup", { body: { organisation: { name: "Northshire Police" }, admin: ADMIN, recoveryKey: recovery.publicJwk } });
  expect(response.status).toBe(201);
  // MFA is required by default: the administrator enrols TOTP before anything else.
  return { cookie: (await enrolTotp(sessionCookie(response))).cookie, recovery };
}

async function registerKeys(cookie: string, passphrase: string) {
  const keys = await generateUserKeys();
  const recovery = (await (await call("/api/keys/recovery", { cookie })).json()) as PublicKeyInfo;
  const body = {
    signing: keys.signing.publicJwk,
    encryption: keys.encryption.publicJwk,
    bundle: await sealBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, passphrase),
    escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk),
  };
  expect((await call("/api/keys/me", { method: "PUT", body, cookie })).status).toBe(201);
  return keys;
}

describe("recovery after a lost key passphrase", () => {
  it("restores the same encryption key under a new passphrase with a new signing key; the old signing key stays verifiable", async () => {
    const admin = await setUpWithRecoveryKey();
    await registerKeys(admin.cookie, "admin passphrase, long");
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const before = await registerKeys(ivy.cookie, "ivy's forgotten passphrase");
    // Ivy also had passkey unlock on, for a passkey she has lost too.
    await db
      .prepare("INSERT INTO passkeys (id, user_id, public_key, counter, transports, name, created_at) VALUES ('lost-key', ?, 'AAAA', 0, '[]', 'Lost phone', ?)")
      .bind(ivy.session.user.id, new Date().toISOString())
      .run();
    const envelope = await sealPasskeyBundle({ signing: before.signing.privateJwk, encryption: before.encryption.privateJwk }, new Uint8Array(32).fill(9), "lost-key");
    expect((await call("/api/keys/me/passkeys/lost-key", { method: "PUT", body: { bundle: envelope }, cookie: ivy.cookie })).status).toBe(200);

    // Ivy's new device: a one-time transport key, and a request.
    const transport = await generateRecoveryKeyPair();
    const requested = await call("/api/keys/me/recovery", { body: { transportKey: transport.publicJwk }, cookie: ivy.cookie });
    expect(requested.status).toBe(201);
    const request = (await requested.json()) as MyRecoveryRequest;
    expect(request).toMatchObject({ status: "pending", transfer: null, transportKid: transport.kid });
    await expectError(await call("/api/keys/me/recovery", { body: { transportKey: transport.publicJwk }, cookie: ivy.cookie }), 409, "recovery_open");
    await expectError(await call("/api/keys/me/recovery/complete", { body: { signing: before.signing.publicJwk, bundle: "a.b.c.d.e", escrow: "a.b.c.d.e" }, cookie: ivy.cookie }), 409);

    // Only admins see pending requests; the admin's browser releases with the recovery key.
    await expectError(await call("/api/keys/recovery-requests", { cookie: ivy.cookie }), 403);
    const pending = (await (await call("/api/keys/recovery-requests", { cookie: admin.cookie })).json()) as PendingRecoveryList;
    expect(pending.requests.map((r) => r.user.email)).toEqual(["ivy@example.org"]);
    const recoveryKey = await importPrivateKey(admin.recovery.privateJwk, "enc");
    const transfer = await releaseEscrowedKey(pending.requests[0]!.escrow, recoveryKey.privateKey, pending.requests[0]!.transportKey);
    await expectError(await call(`/api/keys/recovery-requests/${request.id}/release`, { body: { transfer }, cookie: ivy.cookie }), 403);
    const released = await call(`/api/keys/recovery-requests/${request.id}/release`, { body: { transfer }, cookie: admin.cookie });
    expect(released.status).toBe(200);
    await expectError(await call(`/api/keys/recovery-requests/${request.id}/release`, { body: { transfer }, cookie: admin.cookie }), 409);

    // Ivy receives the key, makes a new signing key and a new passphrase.
    const status = (await (await call("/api/keys/me/recovery", { cookie: ivy.cookie })).json()) as MyRecoveryRequest;
    expect(status.status).toBe("released");
    const transportKey = await importPrivateKey(transport.privateJwk, "enc");
    const encryption = await receiveTransferredKey(status.transfer!, transportKey.privateKey);
    expect(encryption.d).toBe(before.encryption.privateJwk.d);
    const fresh = await generateUserKeys();
    const recoveryPublic = (await (await call("/api/keys/recovery", { cookie: ivy.cookie })).json()) as PublicKeyInfo;
    // Only the current seal: a version 1 (PBKDF2) bundle is refused, and nothing changes.
    const legacy = await sealLegacyKeyBundle({ signing: fresh.signing.privateJwk, encryption }, "ivy's new passphrase");
    await expectError(
      await call("/api/keys/me/recovery/complete", { cookie: ivy.cookie, body: { signing: fresh.signing.publicJwk, bundle: legacy, escrow: await escrowEncryptionKey(encryption, recoveryPublic.publicJwk) } }),
      400,
      "invalid_bundle",
    );
    const completed = await call("/api/keys/me/recovery/complete", {
      cookie: ivy.cookie,
      body: {
        signing: fresh.signing.publicJwk,
        bundle: await sealBundle({ signing: fresh.signing.privateJwk, encryption }, "ivy's new passphrase"),
        escrow: await escrowEncryptionKey(encryption, recoveryPublic.publicJwk),
      },
    });
    expect(completed.status).toBe(200);
    const mine = (await completed.json()) as MyKeys;
    expect(mine.encryption.kid).toBe(before.encryption.kid);
    expect(mine.signing.kid).toBe(fresh.signing.kid);
    expect((await openBundle(mine.bundle, "ivy's new passphrase")).encryption.kid).toBe(before.encryption.kid);
    // The passkey envelope held the old signing key: gone with it; the passkey itself stays.
    expect(mine.passkeyBundles).toEqual([]);
    expect(await db.prepare("SELECT count(*) AS n FROM passkeys WHERE id = 'lost-key'").first("n")).toBe(1);

    const old = (await (await call(`/api/keys/signers/${before.signing.kid}`, { cookie: admin.cookie })).json()) as SignerKey;
    expect(old.retiredAt).not.toBeNull();
    await expectError(await call("/api/keys/me/recovery", { cookie: ivy.cookie }), 404);

    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["keys.recovery_request", "keys.recovery_release", "keys.recovery_complete"]));
    // The server saw only envelopes: no private key anywhere in D1.
    const dump = JSON.stringify((await db.prepare("SELECT * FROM recovery_requests").all()).results) + JSON.stringify((await db.prepare("SELECT * FROM key_bundles").all()).results);
    expect(dump).not.toContain(before.encryption.privateJwk.d!);
    expect(dump).not.toContain(admin.recovery.privateJwk.d!);
  });

  it("refuses an escrow not wrapped to the organisation's recovery key, and a transfer not wrapped to the transport key", async () => {
    const admin = await setUpWithRecoveryKey();
    const stranger = await generateRecoveryKeyPair();
    const keys = await generateUserKeys();
    const body = {
      signing: keys.signing.publicJwk as PublicJwk,
      encryption: keys.encryption.publicJwk as PublicJwk,
      bundle: await sealBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "a long passphrase"),
      escrow: await escrowEncryptionKey(keys.encryption.privateJwk, stranger.publicJwk),
    };
    await expectError(await call("/api/keys/me", { method: "PUT", body, cookie: admin.cookie }), 400, "invalid_envelope");
    expect(await db.prepare("SELECT count(*) AS n FROM user_keys").first("n")).toBe(0);

    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await registerKeys(ivy.cookie, "ivy's passphrase, long");
    const transport = await generateRecoveryKeyPair();
    const request = (await (await call("/api/keys/me/recovery", { body: { transportKey: transport.publicJwk }, cookie: ivy.cookie })).json()) as MyRecoveryRequest;
    const pending = (await (await call("/api/keys/recovery-requests", { cookie: admin.cookie })).json()) as PendingRecoveryList;
    const recoveryKey = await importPrivateKey(admin.recovery.privateJwk, "enc");
    const misdirected = await releaseEscrowedKey(pending.requests[0]!.escrow, recoveryKey.privateKey, stranger.publicJwk);
    await expectError(await call(`/api/keys/recovery-requests/${request.id}/release`, { body: { transfer: misdirected }, cookie: admin.cookie }), 400, "invalid_envelope");
    expect(((await (await call("/api/keys/me/recovery", { cookie: ivy.cookie })).json()) as MyRecoveryRequest).status).toBe("pending");
  });

  it("does not let an administrator release their own request, and lets a user cancel theirs", async () => {
    const admin = await setUpWithRecoveryKey();
    await registerKeys(admin.cookie, "admin passphrase, long");
    const transport = await generateRecoveryKeyPair();
    const request = (await (await call("/api/keys/me/recovery", { body: { transportKey: transport.publicJwk }, cookie: admin.cookie })).json()) as MyRecoveryRequest;
    const pending = (await (await call("/api/keys/recovery-requests", { cookie: admin.cookie })).json()) as PendingRecoveryList;
    const recoveryKey = await importPrivateKey(admin.recovery.privateJwk, "enc");
    const transfer = await releaseEscrowedKey(pending.requests[0]!.escrow, recoveryKey.privateKey, transport.publicJwk);
    await expectError(await call(`/api/keys/recovery-requests/${request.id}/release`, { body: { transfer }, cookie: admin.cookie }), 403, "own_request");

    expect((await call("/api/keys/me/recovery", { method: "DELETE", cookie: admin.cookie })).status).toBe(204);
    await expectError(await call("/api/keys/me/recovery", { cookie: admin.cookie }), 404);
    expect(((await (await call("/api/keys/recovery-requests", { cookie: admin.cookie })).json()) as PendingRecoveryList).requests).toEqual([]);
  });
});
