/**
 * The API's request and response shapes. The worker validates with these, the web app
 * types its calls with them, and the OpenAPI document is generated from them.
 * Request schemas are strict: an unknown field is a 400, not silently dropped.
 */
import { z } from "zod";
import { NextCursor } from "./paging";

export const ROLES = ["admin", "investigator", "site_operator"] as const;
export const Role = z.enum(ROLES).meta({ id: "Role", description: "What a user may do in the organisation." });
export type Role = z.infer<typeof Role>;
/** A user's role as the API reports it: an organisation role, or `guest` (an outside recipient of shares, docs/disclosure.md). */
export const UserRole = z.enum([...ROLES, "guest"]).meta({ id: "UserRole", description: "An organisation role, or guest: an outside recipient who sees only what is shared with them." });
export type UserRole = z.infer<typeof UserRole>;

/** Largest JSON body any route accepts, in bytes. Larger bodies get 413. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

/** The default minimum password length (an administrator may lower it to PASSWORD_MIN_FLOOR). */
export const PASSWORD_MIN_LENGTH = 12;
/** The shortest any minimum may be (NIST SP 800-63B); the organisation's own minimum is checked by the server. */
export const PASSWORD_MIN_FLOOR = 8;
export const PASSWORD_MAX_LENGTH = 256;

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "Enter a valid email address." }));
export const PersonName = z.string().trim().min(1, "Enter a name.").max(120);
const Password = z
  .string()
  .min(PASSWORD_MIN_FLOOR, `Use at least ${PASSWORD_MIN_FLOOR} characters.`)
  .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters.`);
/** A 128-bit random id as 32 lowercase hex characters: every id in the API. */
export const Id = z.string().regex(/^[0-9a-f]{32}$/, "Not a valid id.");

const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/, "Expected base64url.");
/** A P-521 coordinate: 66 bytes, so 88 base64url characters. */
const P521Coordinate = Base64Url.length(88, "Expected a P-521 coordinate (66 bytes, base64url).");

export const PublicJwk = z
  .object({
    kty: z.literal("EC"),
    crv: z.literal("P-521"),
    x: P521Coordinate,
    y: P521Coordinate,
    kid: Base64Url.max(64).optional(),
    alg: z.enum(["ES512", "ECDH-ES+A256KW"]).optional(),
    use: z.enum(["sig", "enc"]).optional(),
  })
  .strict()
  .meta({ id: "PublicJwk", description: "A public EC P-521 key as a JWK. Never has a `d`." });
export type PublicJwk = z.infer<typeof PublicJwk>;

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ description: "Stable machine-readable code, e.g. validation_failed." }),
      message: z.string().meta({ description: "What went wrong and what to do next, for people." }),
      issues: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .meta({ description: "Per-field problems, for validation errors." }),
    }),
  })
  .meta({ id: "Error" });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Health = z
  .object({
    status: z.literal("ok"),
    version: z.string().meta({ description: "The app's version (package.json)." }),
    schemaVersion: z.number().int().meta({ description: "Number of D1 migrations applied." }),
  })
  .meta({ id: "Health" });
export type Health = z.infer<typeof Health>;

export const Organisation = z
  .object({ id: Id, name: z.string(), createdAt: z.string() })
  .meta({ id: "Organisation" });
export type Organisation = z.infer<typeof Organisation>;

export const User = z
  .object({
    id: Id,
    email: z.string(),
    name: z.string(),
    role: UserRole,
    status: z.enum(["active", "invited", "disabled"]),
    supervisor: z.boolean().meta({ description: "A supervisor of the organisation: every new case key is also wrapped to them, so they open every case they oversee (docs/security.md, Supervisor oversight)." }),
    createdAt: z.string(),
  })
  .meta({ id: "User" });
export type User = z.infer<typeof User>;

export const SetupStatus = z.object({ needed: z.boolean() }).meta({ id: "SetupStatus" });
export type SetupStatus = z.infer<typeof SetupStatus>;

export const SetupRequest = z
  .strictObject({
    organisation: z.strictObject({ name: z.string().trim().min(1, "Enter the organisation's name.").max(200) }),
    admin: z.strictObject({ email: Email, name: PersonName, password: Password }),
    /** The public half of the recovery key pair the browser just made; the private half never leaves it. */
    recoveryKey: PublicJwk,
  })
  .meta({ id: "SetupRequest" });
export type SetupRequest = z.input<typeof SetupRequest>;

export const SessionInfo = z
  .object({
    user: User,
    organisation: Organisation,
    expiresAt: z.string(),
    /** active: signed in; mfa_pending: password accepted, second factor awaited; mfa_enrolment: may only enrol MFA. */
    stage: z.enum(["active", "mfa_pending", "mfa_enrolment"]),
    /** While mfa_pending: the second factors this account can use. */
    mfaMethods: z.array(z.enum(["totp", "recovery_code", "passkey"])).optional(),
    /**
     * The session's two limits (GET /api/auth/session only): the organisation's idle timeout,
     * and when it ends however it is used. `expiresAt` is the sooner of the two as of now; a
     * device that opens the app offline applies both itself (docs/offline.md).
     */
    limits: z.object({ idleMinutes: z.number().int(), endsBy: z.string() }).optional(),
  })
  .meta({ id: "SessionInfo" });
export type SessionInfo = z.infer<typeof SessionInfo>;

export const SignInRequest = z
  .strictObject({
    email: Email,
    // Sign-in accepts any length up to the maximum: the policy applies when a password is set.
    password: z.string().min(1, "Enter your password.").max(PASSWORD_MAX_LENGTH),
  })
  .meta({ id: "SignInRequest" });
export type SignInRequest = z.input<typeof SignInRequest>;

export const UserList = z.object({ users: z.array(User), nextCursor: NextCursor }).meta({ id: "UserList" });
export type UserList = z.infer<typeof UserList>;

export const CreateUserRequest = z
  .strictObject({ email: Email, name: PersonName, role: Role })
  .meta({ id: "CreateUserRequest" });
export type CreateUserRequest = z.input<typeof CreateUserRequest>;

export const Invitation = z
  .object({
    user: User,
    token: z.string().meta({ description: "One-time secret: give it to the user, it is shown once." }),
    expiresAt: z.string(),
    emailed: z.boolean().meta({ description: "The invitation link went to the user by email (mail is configured and the server accepted it); otherwise give them the link." }),
  })
  .meta({ id: "Invitation" });
export type Invitation = z.infer<typeof Invitation>;

export const AcceptInvitationRequest = z
  .strictObject({ token: z.string().min(1).max(200), password: Password })
  .meta({ id: "AcceptInvitationRequest" });
export type AcceptInvitationRequest = z.input<typeof AcceptInvitationRequest>;

export const UpdateUserRequest = z
  .strictObject({ name: PersonName.optional(), role: Role.optional() })
  .refine((body) => body.name !== undefined || body.role !== undefined, "Nothing to change.")
  .meta({ id: "UpdateUserRequest" });
export type UpdateUserRequest = z.input<typeof UpdateUserRequest>;

export const SupervisorRequest = z
  .strictObject({ supervisor: z.boolean() })
  .meta({ id: "SupervisorRequest", description: "Make the user a supervisor of the organisation (true) or take the role away (false)." });

export const UserIdParam = z.strictObject({ id: Id });

// ---- Keys (docs/evidence-format.md, "Key hierarchy"). The server stores public keys and
// sealed key bundles only; it can open neither a bundle nor any wrapped key.

/** A compact JWE (five base64url parts; the second is empty for `dir` and ECDH-ES direct). */
export const CompactJwe = z
  .string()
  .max(32 * 1024)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "Expected a compact JWE.")
  .meta({ id: "CompactJwe" });

export const PublicKeyInfo = z
  .object({ kid: z.string(), publicJwk: PublicJwk })
  .meta({ id: "PublicKeyInfo" });
export type PublicKeyInfo = z.infer<typeof PublicKeyInfo>;

export const RecoveryKeyInfo = PublicKeyInfo.meta({ id: "RecoveryKeyInfo", description: "The organisation recovery key's public half." });

export const PasskeyBundle = z
  .object({
    passkeyId: z.string().meta({ description: "The passkey (WebAuthn credential id) whose PRF output opens this envelope." }),
    bundle: z.string().meta({ description: "The same private keys sealed under a key derived from that passkey's PRF output (docs/evidence-format.md §3.1.2)." }),
    updatedAt: z.string(),
  })
  .meta({ id: "PasskeyBundle" });
export type PasskeyBundle = z.infer<typeof PasskeyBundle>;

export const MyKeys = z
  .object({
    signing: PublicKeyInfo,
    encryption: PublicKeyInfo,
    bundle: z.string().meta({ description: "The key bundle: private keys sealed with the user's key passphrase (version 2: Argon2id; docs/evidence-format.md §3.1)." }),
    updatedAt: z.string(),
    passkeyBundles: z.array(PasskeyBundle).meta({ description: "Envelopes of the same keys for the passkeys the user turned passkey unlock on for." }),
  })
  .meta({ id: "MyKeys" });
export type MyKeys = z.infer<typeof MyKeys>;

export const RegisterKeysRequest = z
  .strictObject({
    signing: PublicJwk,
    encryption: PublicJwk,
    bundle: CompactJwe,
    escrow: CompactJwe.meta({ description: "The encryption private key wrapped to the organisation recovery key." }),
  })
  .meta({ id: "RegisterKeysRequest" });
export type RegisterKeysRequest = z.input<typeof RegisterKeysRequest>;

export const ReplaceBundleRequest = z
  .strictObject({
    bundle: CompactJwe,
    reason: z
      .enum(["passphrase_change", "reseal"])
      .optional()
      .meta({ description: "`reseal`: an older bundle re-sealed under the same passphrase at unlock (docs/evidence-format.md §3.1.3). Default `passphrase_change`." }),
  })
  .meta({ id: "ReplaceBundleRequest", description: "The same private keys sealed under a new passphrase, or re-sealed as version 2." });
export type ReplaceBundleRequest = z.input<typeof ReplaceBundleRequest>;

export const PutPasskeyBundleRequest = z
  .strictObject({ bundle: CompactJwe })
  .meta({ id: "PutPasskeyBundleRequest", description: "Your private keys sealed under this passkey's PRF output (its `kdf.cred` must name the passkey)." });
export type PutPasskeyBundleRequest = z.input<typeof PutPasskeyBundleRequest>;

export const PasskeyBundleParam = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]+$/, "Expected base64url.").min(1).max(1400) });

export const UserPublicKeys = z
  .object({ userId: Id, signing: PublicKeyInfo.nullable(), encryption: PublicKeyInfo.nullable() })
  .meta({ id: "UserPublicKeys" });
export type UserPublicKeys = z.infer<typeof UserPublicKeys>;

export const SignerKey = z
  .object({
    kid: z.string(),
    publicJwk: PublicJwk,
    owner: z.object({ type: z.enum(["user", "agent", "submitter"]).meta({ description: "A person, a site's agent (id: the site), or a submitter with no account (id: the submission)." }), id: z.string(), name: z.string() }),
    createdAt: z.string(),
    retiredAt: z.string().nullable(),
  })
  .meta({ id: "SignerKey", description: "A signing key by id, current or retired, to verify what it signed." });
export type SignerKey = z.infer<typeof SignerKey>;

export const KidParam = z.strictObject({ kid: Base64Url.min(43).max(43) });

// ---- Recovery after a lost key passphrase (docs/evidence-format.md, "Recovery").

export const RecoveryStatus = z.enum(["pending", "released", "completed", "cancelled"]);

export const MyRecoveryRequest = z
  .object({
    id: Id,
    status: RecoveryStatus,
    transportKid: z.string(),
    transfer: z.string().nullable().meta({ description: "Once released: the encryption key wrapped to the transport key." }),
    createdAt: z.string(),
  })
  .meta({ id: "MyRecoveryRequest" });
export type MyRecoveryRequest = z.infer<typeof MyRecoveryRequest>;

export const CreateRecoveryRequest = z
  .strictObject({ transportKey: PublicJwk })
  .meta({ id: "CreateRecoveryRequest", description: "A one-time ECDH public key the released key is wrapped to." });
export type CreateRecoveryRequest = z.input<typeof CreateRecoveryRequest>;

export const PendingRecovery = z
  .object({
    id: Id,
    user: z.object({ id: Id, name: z.string(), email: z.string() }),
    transportKey: PublicJwk,
    escrow: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: "PendingRecovery" });
export type PendingRecovery = z.infer<typeof PendingRecovery>;

export const PendingRecoveryList = z.object({ requests: z.array(PendingRecovery) }).meta({ id: "PendingRecoveryList" });
export type PendingRecoveryList = z.infer<typeof PendingRecoveryList>;

export const ReleaseRecoveryRequest = z
  .strictObject({ transfer: CompactJwe })
  .meta({ id: "ReleaseRecoveryRequest" });
export type ReleaseRecoveryRequest = z.input<typeof ReleaseRecoveryRequest>;

export const CompleteRecoveryRequest = z
  .strictObject({ signing: PublicJwk, bundle: CompactJwe, escrow: CompactJwe })
  .meta({ id: "CompleteRecoveryRequest", description: "A new signing key, and the recovered encryption key sealed under a new passphrase." });
export type CompleteRecoveryRequest = z.input<typeof CompleteRecoveryRequest>;

export const RecoveryIdParam = z.strictObject({ id: Id });
