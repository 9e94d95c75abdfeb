import { Hono } from "hono";
import {
  KidParam,
  MyKeys,
  RecoveryKeyInfo,
  RegisterKeysRequest,
  ReplaceBundleRequest,
  SignerKey,
  UserIdParam,
  UserPublicKeys,
  type PublicJwk,
} from "../../../shared/api/schemas";
import { currentUserKeys, findSigningKey, getBundle, getRecoveryKey, registerKeys, replaceBundle } from "../db/keys";
import { findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { audit } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { checkBundle, checkPublicKey } from "../lib/keys";
import { describe } from "../lib/openapi";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validate";

async function myKeys(db: D1Database, userId: string): Promise<MyKeys | null> {
  const [{ signing, encryption }, bundle] = await Promise.all([currentUserKeys(db, userId), getBundle(db, userId)]);
  if (!signing || !encryption || !bundle) return null;
  return { signing, encryption, bundle: bundle.jwe, updatedAt: bundle.updated_at };
}

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
      const registered = await registerKeys(c.env.DB, { userId: user.id, signing, encryption, bundle: body.bundle, now: new Date().toISOString() });
      if (!registered) throw new ApiError(409, "keys_exist", "You already have keys. Unlock them with your key passphrase.");
      await audit(c, { action: "keys.register", target: { type: "user", id: user.id }, details: { signingKid: signing.kid, encryptionKid: encryption.kid } });
      const created = await myKeys(c.env.DB, user.id);
      if (!created) throw new Error("keys missing after registration");
      return c.json(created, 201);
    },
  )
  .put(
    "/me/bundle",
    describe({ summary: "Replace your key bundle: the same private keys sealed under a new key passphrase.", access: "session", responses: { 200: { description: "Replaced.", schema: MyKeys }, 404: { description: "No keys yet." } } }),
    validate("json", ReplaceBundleRequest),
    async (c) => {
      const { bundle } = c.req.valid("json");
      const user = c.get("user");
      checkBundle(bundle);
      if (!(await replaceBundle(c.env.DB, user.id, bundle, new Date().toISOString()))) throw noKeys();
      await audit(c, { action: "keys.passphrase_change", target: { type: "user", id: user.id } });
      const updated = await myKeys(c.env.DB, user.id);
      if (!updated) throw noKeys();
      return c.json(updated, 200);
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
      if (!row || row.org_id !== c.get("user").orgId) throw new ApiError(404, "not_found", "No signing key with this id.");
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
