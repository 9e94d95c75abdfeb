import { Hono } from "hono";
import {
  CompleteRecoveryRequest,
  CreateRecoveryRequest,
  KidParam,
  MyRecoveryRequest,
  PendingRecoveryList,
  RecoveryIdParam,
  ReleaseRecoveryRequest,
  MyKeys,
  PasskeyBundle,
  PasskeyBundleParam,
  PutPasskeyBundleRequest,
  RecoveryKeyInfo,
  RegisterKeysRequest,
  ReplaceBundleRequest,
  SignerKey,
  UserIdParam,
  UserPublicKeys,
  type PublicJwk,
} from "../../../shared/api/schemas";
import { TYP } from "../../../shared/crypto";
import {
  bundleReplace,
  currentUserKeys,
  findRecoveryRequest,
  findSigningKey,
  getBundle,
  getRecoveryKey,
  listPasskeyBundles,
  passkeyBundleDelete,
  passkeyBundlePut,
  passkeyBundlesDeleteAll,
  keysRegister,
  openRecoveryRequest,
  pendingRecoveryRequests,
  recoveryComplete,
  recoveryRequestCancel,
  recoveryRequestInsert,
  recoveryRequestRelease,
  type RecoveryRow,
} from "../db/keys";
import { findUserById } from "../db/users";
import { listPasskeys } from "../db/identity";
import type { AppEnv } from "../env";
import { audit, auditStatement, auditStatementIfChanged, auditStatementIfRecorded, flushAudit, markAudited } from "../lib/audit";
import { signerRegistered, signerRetired } from "../lib/signers";
import { findSubmitterKey } from "../db/submission-intake";
import { ApiError } from "../lib/errors";
import { checkBundle, checkPublicKey, checkWrappedTo } from "../lib/keys";
import { describe } from "../lib/openapi";
import { newId } from "../lib/secrets";
import { requireAdmin, requireRecentAuth, requireSession } from "../lib/session";
import { validate } from "../lib/validate";
import { findAgentSigningKey } from "../db/video";

async function myKeys(db: D1Database, userId: string): Promise<MyKeys | null> {
  const [{ signing, encryption }, bundle, passkeyBundles] = await Promise.all([currentUserKeys(db, userId), getBundle(db, userId), listPasskeyBundles(db, userId)]);
  if (!signing || !encryption || !bundle) return null;
  return {
    signing,
    encryption,
    bundle: bundle.jwe,
    updatedAt: bundle.updated_at,
    passkeyBundles: passkeyBundles.map((row) => ({ passkeyId: row.passkey_id, bundle: row.jwe, updatedAt: row.updated_at })),
  };
}

/** The escrow must be wrapped to this organisation's recovery key. */
async function checkEscrow(db: D1Database, orgId: string, escrow: string): Promise<void> {
  const recovery = await getRecoveryKey(db, orgId);
  if (!recovery) throw new ApiError(409, "no_recovery_key", "This organisation has no recovery key.");
  checkWrappedTo(escrow, TYP.escrow, recovery.kid, "escrow");
}

function toMyRecovery(row: RecoveryRow): MyRecoveryRequest {
  return {
    id: row.id,
    status: row.status,
    transportKid: (JSON.parse(row.transport_jwk) as PublicJwk).kid ?? "",
    transfer: row.transfer,
    createdAt: row.created_at,
  };
}

/** A batch refused by a unique index (not any other failure, such as the outbox being down). */
const isUniqueViolation = (err: unknown) => /UNIQUE constraint failed/i.test(String(err));

const noKeys = () => new ApiError(404, "no_keys", "You have no keys yet. Create your key passphrase first.");

export const keys = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/recovery",
    describe({ summary: "The organisation recovery key's public half (every case key is also wrapped to it).", access: "session", responses: { 200: { description: "The recovery public key.", schema: RecoveryKeyInfo } } }),
    async (c) => {
      const key = await getRecoveryKey(c.env.DB, c.get("user").orgId);
      if (!key) throw new ApiError(404, "no_recovery_key", "This organisation has no recovery key.");
      return c.json(key, 200);
    },
  )
  .get(
    "/me",
    describe({ summary: "Your public keys and your sealed key bundle, to unlock on this device.", access: "session", responses: { 200: { description: "Your keys.", schema: MyKeys }, 404: { description: "No keys yet." } } }),
    async (c) => {
      const found = await myKeys(c.env.DB, c.get("user").id);
      if (!found) throw noKeys();
      return c.json(found, 200);
    },
  )
  .put(
    "/me",
    describe({
      summary: "Register your first keys: the public halves and the bundle sealing the private halves with your key passphrase.",
      access: "session",
      responses: { 201: { description: "Registered.", schema: MyKeys }, 409: { description: "You already have keys; nothing changed." } },
    }),
    validate("json", RegisterKeysRequest),
    async (c) => {
      const body = c.req.valid("json");
      const user = c.get("user");
      const signing = await checkPublicKey(body.signing, "sig", "signing");
      const encryption = await checkPublicKey(body.encryption, "enc", "encryption");
      checkBundle(body.bundle);
      await checkEscrow(c.env.DB, user.orgId, body.escrow);
      const now = new Date().toISOString();
      const holder = { type: "user" as const, id: user.id, name: user.name, email: user.email };
      try {
        await c.env.DB.batch([
          ...keysRegister(c.env.DB, { userId: user.id, signing, encryption, bundle: body.bundle, escrow: body.escrow, now }),
          auditStatement(c, user.orgId, { action: "keys.register", target: { type: "user", id: user.id }, details: { signingKid: signing.kid, encryptionKid: encryption.kid } }),
          auditStatement(c, user.orgId, signerRegistered(holder, { kid: signing.kid, publicJwk: signing.publicJwk }, now, null)),
        ]);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        c.set("audited", false); // nothing was written: the refusal is recorded as any other
        throw new ApiError(409, "keys_exist", "You already have keys. Unlock them with your key passphrase.");
      }
      await flushAudit(c.env, user.orgId);
      const created = await myKeys(c.env.DB, user.id);
      if (!created) throw new Error("keys missing after registration");
      return c.json(created, 201);
    },
  )
  .put(
    "/me/bundle",
    describe({
      summary: "Replace your key bundle: the same private keys sealed under a new key passphrase, or an older bundle re-sealed as version 2 (needs a recent authentication).",
      access: "session",
      responses: { 200: { description: "Replaced.", schema: MyKeys }, 404: { description: "No keys yet." } },
    }),
    validate("json", ReplaceBundleRequest),
    requireRecentAuth,
    async (c) => {
      const { bundle, reason } = c.req.valid("json");
      const user = c.get("user");
      checkBundle(bundle);
      const action = reason === "reseal" ? "keys.bundle_reseal" : "keys.passphrase_change";
      const results = await c.env.DB.batch([
        bundleReplace(c.env.DB, user.id, bundle, new Date().toISOString()),
        auditStatementIfChanged(c, user.orgId, { action, target: { type: "user", id: user.id } }).statement,
      ]);
      if (!markAudited(c, results[1])) throw noKeys();
      await flushAudit(c.env, user.orgId);
      const updated = await myKeys(c.env.DB, user.id);
      if (!updated) throw noKeys();
      return c.json(updated, 200);
    },
  )
  .put(
    "/me/passkeys/:id",
    describe({
      summary: "Turn on passkey unlock for one of your passkeys: store your keys sealed under its PRF output (needs a recent authentication).",
      access: "session",
      responses: {
        200: { description: "Stored (replacing any earlier envelope of this passkey).", schema: PasskeyBundle },
        404: { description: "No such passkey of yours, or no keys yet." },
      },
    }),
    validate("param", PasskeyBundleParam),
    validate("json", PutPasskeyBundleRequest),
    requireRecentAuth,
    async (c) => {
      const { id } = c.req.valid("param");
      const { bundle } = c.req.valid("json");
      const user = c.get("user");
      const passkeys = await listPasskeys(c.env.DB, user.id);
      if (!passkeys.some((key) => key.id === id)) throw new ApiError(404, "not_found", "You have no such passkey.");
      if (!(await getBundle(c.env.DB, user.id))) throw noKeys();
      checkBundle(bundle, id);
      const results = await c.env.DB.batch([
        passkeyBundlePut(c.env.DB, { userId: user.id, passkeyId: id, jwe: bundle, now: new Date().toISOString() }),
        auditStatementIfChanged(c, user.orgId, { action: "keys.passkey_unlock_on", target: { type: "user", id: user.id }, details: { passkey: id } }).statement,
      ]);
      // The passkey was removed meanwhile: nothing was written.
      if (!markAudited(c, results[1])) throw new ApiError(404, "not_found", "You have no such passkey.");
      await flushAudit(c.env, user.orgId);
      const stored = (await listPasskeyBundles(c.env.DB, user.id)).find((row) => row.passkey_id === id);
      if (!stored) throw new ApiError(404, "not_found", "You have no such passkey.");
      return c.json({ passkeyId: id, bundle: stored.jwe, updatedAt: stored.updated_at } satisfies PasskeyBundle, 200);
    },
  )
  .delete(
    "/me/passkeys/:id",
    describe({
      summary: "Turn off passkey unlock for one of your passkeys: its envelope of your keys is deleted (the passkey stays).",
      access: "session",
      responses: { 204: { description: "Turned off (or it was not on)." } },
    }),
    validate("param", PasskeyBundleParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const user = c.get("user");
      const results = await c.env.DB.batch([
        passkeyBundleDelete(c.env.DB, user.id, id),
        auditStatementIfChanged(c, user.orgId, { action: "keys.passkey_unlock_off", target: { type: "user", id: user.id }, details: { passkey: id } }).statement,
      ]);
      if (markAudited(c, results[1])) await flushAudit(c.env, user.orgId);
      return c.body(null, 204);
    },
  )
  .post(
    "/me/recovery",
    describe({
      summary: "Lost key passphrase: ask an administrator holding the recovery key to release your encryption key to a one-time transport key.",
      access: "session",
      responses: { 201: { description: "Requested.", schema: MyRecoveryRequest }, 409: { description: "A request is already open." } },
    }),
    validate("json", CreateRecoveryRequest),
    async (c) => {
      const user = c.get("user");
      if (!(await myKeys(c.env.DB, user.id))) throw noKeys();
      const transport = await checkPublicKey(c.req.valid("json").transportKey, "enc", "transportKey");
      const id = newId();
      try {
        await c.env.DB.batch([
          recoveryRequestInsert(c.env.DB, { id, userId: user.id, transportJwk: transport.publicJwk, now: new Date().toISOString() }),
          auditStatement(c, user.orgId, { action: "keys.recovery_request", target: { type: "user", id: user.id }, details: { requestId: id, transportKid: transport.kid } }),
        ]);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        c.set("audited", false); // nothing was written: the refusal is recorded as any other
        throw new ApiError(409, "recovery_open", "You already have an open recovery request.");
      }
      await flushAudit(c.env, user.orgId);
      const row = await findRecoveryRequest(c.env.DB, id);
      if (!row) throw new Error("recovery request missing after insert");
      return c.json(toMyRecovery(row), 201);
    },
  )
  .get(
    "/me/recovery",
    describe({ summary: "Your open recovery request and, once released, the transferred key.", access: "session", responses: { 200: { description: "Your open request.", schema: MyRecoveryRequest }, 404: { description: "No open request." } } }),
    async (c) => {
      const row = await openRecoveryRequest(c.env.DB, c.get("user").id);
      if (!row) throw new ApiError(404, "no_recovery", "You have no open recovery request.");
      return c.json(toMyRecovery(row), 200);
    },
  )
  .delete(
    "/me/recovery",
    describe({ summary: "Cancel your open recovery request (for example, you remembered the passphrase).", access: "session", responses: { 204: { description: "Cancelled (or there was none)." } } }),
    async (c) => {
      const user = c.get("user");
      const row = await openRecoveryRequest(c.env.DB, user.id);
      if (row) {
        const results = await c.env.DB.batch([
          recoveryRequestCancel(c.env.DB, row.id),
          auditStatementIfChanged(c, user.orgId, { action: "keys.recovery_cancel", target: { type: "user", id: user.id }, details: { requestId: row.id } }).statement,
        ]);
        if (markAudited(c, results[1])) await flushAudit(c.env, user.orgId);
      }
      return c.body(null, 204);
    },
  )
  .post(
    "/me/recovery/complete",
    describe({
      summary: "Finish recovery: register a new signing key and the recovered encryption key sealed under a new passphrase.",
      access: "session",
      responses: { 200: { description: "Recovered.", schema: MyKeys }, 409: { description: "No released request to complete." } },
    }),
    validate("json", CompleteRecoveryRequest),
    async (c) => {
      const user = c.get("user");
      const body = c.req.valid("json");
      const row = await openRecoveryRequest(c.env.DB, user.id);
      if (!row || row.status !== "released") throw new ApiError(409, "recovery_not_released", "Your recovery request has not been released by an administrator yet.");
      const signing = await checkPublicKey(body.signing, "sig", "signing");
      checkBundle(body.bundle);
      await checkEscrow(c.env.DB, user.orgId, body.escrow);
      // One transaction: the request completed (only while released), its event, and only then the keys.
      const now = new Date().toISOString();
      const previous = (await currentUserKeys(c.env.DB, user.id)).signing;
      const holder = { type: "user" as const, id: user.id, name: user.name, email: user.email };
      const completion = recoveryComplete(c.env.DB, { requestId: row.id, userId: user.id, signing, bundle: body.bundle, escrow: body.escrow, now });
      const completed = auditStatementIfChanged(c, user.orgId, { action: "keys.recovery_complete", target: { type: "user", id: user.id }, details: { requestId: row.id, signingKid: signing.kid } });
      // The key register (docs/audit.md §9): the new key from now, the old one retired now; only with the completion.
      const register = [
        auditStatementIfRecorded(c, user.orgId, signerRegistered(holder, { kid: signing.kid, publicJwk: signing.publicJwk }, now, previous?.kid ?? null), completed.eventId),
        ...(previous ? [auditStatementIfRecorded(c, user.orgId, signerRetired(holder, previous.kid, now, signing.kid), completed.eventId)] : []),
      ];
      // Passkey envelopes hold the old signing key: gone with it (turned on again from Security).
      const envelopes = passkeyBundlesDeleteAll(c.env.DB, user.id, completed.eventId);
      const results = await c.env.DB.batch([completion.guard, completed.statement, ...completion.rest(completed.eventId), ...register, envelopes]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "recovery_not_released", "Your recovery request is no longer open.");
      await flushAudit(c.env, user.orgId);
      const keysNow = await myKeys(c.env.DB, user.id);
      if (!keysNow) throw noKeys();
      return c.json(keysNow, 200);
    },
  )
  .get(
    "/recovery-requests",
    describe({ summary: "Pending recovery requests, with each user's escrow, for an administrator holding the recovery key.", access: "admin", responses: { 200: { description: "Pending requests.", schema: PendingRecoveryList } } }),
    requireAdmin,
    async (c) => {
      const rows = await pendingRecoveryRequests(c.env.DB, c.get("user").orgId);
      const requests = rows
        .filter((row) => row.escrow !== null)
        .map((row) => ({
          id: row.id,
          user: { id: row.user_id, name: row.name, email: row.email },
          transportKey: JSON.parse(row.transport_jwk) as PublicJwk,
          escrow: row.escrow!,
          createdAt: row.created_at,
        }));
      return c.json({ requests } satisfies PendingRecoveryList, 200);
    },
  )
  .post(
    "/recovery-requests/:id/release",
    describe({
      summary: "Release a user's encryption key: the escrow opened with the recovery key in your browser and re-wrapped to their transport key.",
      access: "admin",
      responses: { 200: { description: "Released.", schema: MyRecoveryRequest }, 403: { description: "Your own request: another administrator must release it." }, 409: { description: "Not pending any more." } },
    }),
    requireAdmin,
    validate("param", RecoveryIdParam),
    validate("json", ReleaseRecoveryRequest),
    async (c) => {
      const { id } = c.req.valid("param");
      const admin = c.get("user");
      const row = await findRecoveryRequest(c.env.DB, id);
      const owner = row ? await findUserById(c.env.DB, row.user_id) : null;
      if (!row || !owner || owner.org_id !== admin.orgId) throw new ApiError(404, "not_found", "No such recovery request.");
      if (row.user_id === admin.id) {
        await audit(c, { action: "keys.recovery_release", target: { type: "user", id: row.user_id }, outcome: "denied", details: { requestId: id, reason: "own request" } });
        throw new ApiError(403, "own_request", "Another administrator must release your own recovery request.");
      }
      const { transfer } = c.req.valid("json");
      const transportKid = (JSON.parse(row.transport_jwk) as PublicJwk).kid ?? "";
      checkWrappedTo(transfer, TYP.transfer, transportKid, "transfer");
      const results = await c.env.DB.batch([
        recoveryRequestRelease(c.env.DB, id, { transfer, by: admin.id, now: new Date().toISOString() }),
        auditStatementIfChanged(c, admin.orgId, { action: "keys.recovery_release", target: { type: "user", id: row.user_id }, details: { requestId: id } }).statement,
      ]);
      if (!markAudited(c, results[1])) throw new ApiError(409, "recovery_not_pending", "This recovery request is no longer pending.");
      await flushAudit(c.env, admin.orgId);
      const updated = await findRecoveryRequest(c.env.DB, id);
      if (!updated) throw new Error("recovery request vanished");
      return c.json(toMyRecovery(updated), 200);
    },
  )
  .get(
    "/users/:id",
    describe({ summary: "A user's current public keys, to wrap a case key to them or check their signatures.", access: "session", responses: { 200: { description: "Their public keys (null where none).", schema: UserPublicKeys }, 404: { description: "No such user." } } }),
    validate("param", UserIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const target = await findUserById(c.env.DB, id);
      if (!target || target.org_id !== c.get("user").orgId) throw new ApiError(404, "not_found", "No such user.");
      const { signing, encryption } = await currentUserKeys(c.env.DB, id);
      return c.json({ userId: id, signing, encryption } satisfies UserPublicKeys, 200);
    },
  )
  .get(
    "/signers/:kid",
    describe({ summary: "A signing key by key id, current or retired, with its owner: to verify a manifest.", access: "session", responses: { 200: { description: "The key.", schema: SignerKey }, 404: { description: "No such signing key." } } }),
    validate("param", KidParam),
    async (c) => {
      const { kid } = c.req.valid("param");
      const row = await findSigningKey(c.env.DB, kid);
      if (!row || row.org_id !== c.get("user").orgId) {
        // Not a person's key: a site agent's (it signs the video it delivers into cases).
        const agentKey = await findAgentSigningKey(c.env.DB, kid);
        if (!agentKey || agentKey.org_id !== c.get("user").orgId) {
          // Nor a site's: a submitter's, made in their browser for one submission (docs/submissions.md §5).
          const submitter = await findSubmitterKey(c.env.DB, kid);
          if (!submitter || submitter.org_id !== c.get("user").orgId) throw new ApiError(404, "not_found", "No signing key with this id.");
          const body: SignerKey = {
            kid: submitter.kid,
            publicJwk: JSON.parse(submitter.public_jwk) as PublicJwk,
            owner: { type: "submitter", id: submitter.submission_id, name: `the submitter through “${submitter.link_label}” (submission key ${submitter.kid.slice(0, 8)})` },
            createdAt: submitter.valid_from,
            retiredAt: null,
          };
          return c.json(body, 200);
        }
        const body: SignerKey = {
          kid: agentKey.kid,
          publicJwk: JSON.parse(agentKey.public_jwk) as PublicJwk,
          owner: { type: "agent", id: agentKey.site_id, name: `${agentKey.site_name} (site agent)` },
          createdAt: agentKey.created_at,
          retiredAt: agentKey.retired_at,
        };
        return c.json(body, 200);
      }
      const body: SignerKey = {
        kid: row.kid,
        publicJwk: JSON.parse(row.public_jwk) as PublicJwk,
        owner: { type: "user", id: row.user_id, name: row.owner_name },
        createdAt: row.created_at,
        retiredAt: row.retired_at,
      };
      return c.json(body, 200);
    },
  );
