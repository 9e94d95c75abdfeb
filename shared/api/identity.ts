/**
 * Identity API shapes: MFA (TOTP, recovery codes, passkeys), re-authentication, sessions,
 * organisation security settings, and user administration. Same rules as schemas.ts: request
 * schemas are strict, named schemas register for the OpenAPI document.
 */
import { z } from "zod";
import { NextCursor } from "./paging";
import { GeocoderUrl, MapAttribution, TileUrlTemplate } from "./map";
import { isLoopbackUrl } from "./oidc";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_FLOOR, SessionInfo, Id } from "./schemas";

export { PASSWORD_MIN_FLOOR };
/** The longest minimum password length an administrator may set. */
export const PASSWORD_MIN_CEILING = 64;

const Base64Url = z.string().max(4096).regex(/^[A-Za-z0-9_-]*$/, "Expected base64url.");

export const MfaMethod = z.enum(["totp", "recovery_code", "passkey"]).meta({ id: "MfaMethod" });
export type MfaMethod = z.infer<typeof MfaMethod>;

export const MfaRequired = z
  .object({
    mfaRequired: z.literal(true),
    methods: z.array(MfaMethod).meta({ description: "The second factors this account can use." }),
  })
  .meta({ id: "MfaRequired", description: "Password accepted; a second factor is needed to finish signing in." });
export type MfaRequired = z.infer<typeof MfaRequired>;

export const SignInResult = z.union([SessionInfo, MfaRequired]).meta({ id: "SignInResult" });
export type SignInResult = z.infer<typeof SignInResult>;

// ---- WebAuthn JSON (what @simplewebauthn/browser sends). Loosely typed inside: the library
// verifies the contents; these schemas only bound sizes and shapes.

const AuthenticatorResponseJson = z
  .object({
    clientDataJSON: Base64Url,
    authenticatorData: Base64Url.optional(),
    signature: Base64Url.optional(),
    userHandle: Base64Url.optional(),
    attestationObject: Base64Url.optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: Base64Url.optional(),
  })
  .loose();

export const PasskeyCredentialJson = z
  .object({
    id: Base64Url.min(1),
    rawId: Base64Url.min(1),
    type: z.literal("public-key"),
    response: AuthenticatorResponseJson,
    authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
    clientExtensionResults: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "PasskeyCredential", description: "A WebAuthn credential response as JSON (base64url fields)." });

export const PasskeyPurpose = z.enum(["sign_in", "second_factor", "reauth"]);

export const PasskeyOptionsRequest = z
  .strictObject({ purpose: PasskeyPurpose })
  .meta({ id: "PasskeyOptionsRequest", description: "sign_in: passwordless (discoverable credential); second_factor: after the password; reauth: before a sensitive action." });

export const PasskeyOptions = z
  .object({
    challengeId: Id.meta({ description: "Send it back with the response; single use, 5 minutes." }),
    options: z.record(z.string(), z.unknown()).meta({ description: "PublicKeyCredentialRequestOptionsJSON or CreationOptionsJSON." }),
  })
  .meta({ id: "PasskeyOptions" });
export type PasskeyOptions = z.infer<typeof PasskeyOptions>;

export const PasskeySignInRequest = z
  .strictObject({ challengeId: Id, credential: PasskeyCredentialJson })
  .meta({ id: "PasskeySignInRequest" });
export type PasskeySignInRequest = z.input<typeof PasskeySignInRequest>;

const TotpCode = z.string().trim().regex(/^\d{6}$/, "Enter the 6-digit code from your authenticator app.");
const RecoveryCode = z.string().trim().min(1, "Enter a recovery code.").max(64);

export const MfaVerifyRequest = z
  .discriminatedUnion("method", [
    z.strictObject({ method: z.literal("totp"), code: TotpCode }),
    z.strictObject({ method: z.literal("recovery_code"), code: RecoveryCode }),
    z.strictObject({ method: z.literal("passkey"), challengeId: Id, credential: PasskeyCredentialJson }),
  ])
  .meta({ id: "MfaVerifyRequest", description: "The second step of sign-in." });
export type MfaVerifyRequest = z.input<typeof MfaVerifyRequest>;

export const ReauthRequest = z
  .discriminatedUnion("method", [
    z.strictObject({ method: z.literal("password"), password: z.string().min(1, "Enter your password.").max(PASSWORD_MAX_LENGTH) }),
    z.strictObject({ method: z.literal("passkey"), challengeId: Id, credential: PasskeyCredentialJson }),
  ])
  .meta({ id: "ReauthRequest", description: "Prove it is still you before a sensitive action." });
export type ReauthRequest = z.input<typeof ReauthRequest>;

export const ReauthResult = z
  .object({ reauthenticatedAt: z.string(), validUntil: z.string() })
  .meta({ id: "ReauthResult" });
export type ReauthResult = z.infer<typeof ReauthResult>;

export const ChangePasswordRequest = z
  .strictObject({
    currentPassword: z.string().min(1, "Enter your current password.").max(PASSWORD_MAX_LENGTH),
    newPassword: z
      .string()
      .min(PASSWORD_MIN_FLOOR, `Use at least ${PASSWORD_MIN_FLOOR} characters.`)
      .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters.`),
  })
  .meta({ id: "ChangePasswordRequest" });
export type ChangePasswordRequest = z.input<typeof ChangePasswordRequest>;

export const PasswordPolicy = z
  .object({ minLength: z.number().int(), maxLength: z.number().int() })
  .meta({ id: "PasswordPolicy", description: "Length limits; common and breached passwords are refused too." });
export type PasswordPolicy = z.infer<typeof PasswordPolicy>;

// ---- MFA management

export const PasskeyInfo = z
  .object({ id: z.string(), name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() })
  .meta({ id: "PasskeyInfo" });
export type PasskeyInfo = z.infer<typeof PasskeyInfo>;

export const MfaStatus = z
  .object({
    required: z.boolean().meta({ description: "Does the organisation require MFA for local accounts?" }),
    totp: z.boolean(),
    recoveryCodesLeft: z.number().int(),
    passkeys: z.array(PasskeyInfo),
  })
  .meta({ id: "MfaStatus" });
export type MfaStatus = z.infer<typeof MfaStatus>;

export const TotpSetup = z
  .object({
    secret: z.string().meta({ description: "The shared secret, base32, to type in if the QR code cannot be scanned." }),
    uri: z.string().meta({ description: "otpauth:// URI (what the QR code holds)." }),
    qrSvg: z.string().meta({ description: "The URI as a QR code, SVG markup." }),
  })
  .meta({ id: "TotpSetup" });
export type TotpSetup = z.infer<typeof TotpSetup>;

export const TotpConfirmRequest = z.strictObject({ code: TotpCode }).meta({ id: "TotpConfirmRequest" });
export type TotpConfirmRequest = z.input<typeof TotpConfirmRequest>;

export const MfaEnrolled = z
  .object({
    recoveryCodes: z.array(z.string()).nullable().meta({ description: "New one-time recovery codes, shown once (null when you already had some)." }),
    session: SessionInfo,
  })
  .meta({ id: "MfaEnrolled" });
export type MfaEnrolled = z.infer<typeof MfaEnrolled>;

export const RecoveryCodes = z.object({ recoveryCodes: z.array(z.string()) }).meta({ id: "RecoveryCodes" });
export type RecoveryCodes = z.infer<typeof RecoveryCodes>;

export const PasskeyRegisterRequest = z
  .strictObject({ challengeId: Id, name: z.string().trim().min(1, "Name this passkey.").max(60), credential: PasskeyCredentialJson })
  .meta({ id: "PasskeyRegisterRequest" });
export type PasskeyRegisterRequest = z.input<typeof PasskeyRegisterRequest>;

export const PasskeyIdParam = z.strictObject({ id: Base64Url.min(1).max(1400) });

// ---- Sessions

export const SessionSummary = z
  .object({
    id: Id,
    createdAt: z.string(),
    lastSeenAt: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    method: z.string().nullable().meta({ description: "How it signed in: password, password+totp, passkey…" }),
    current: z.boolean(),
  })
  .meta({ id: "SessionSummary" });
export type SessionSummary = z.infer<typeof SessionSummary>;

export const SessionList = z.object({ sessions: z.array(SessionSummary) }).meta({ id: "SessionList" });
export type SessionList = z.infer<typeof SessionList>;

export const SessionIdParam = z.strictObject({ id: Id });

export const RevokedCount = z.object({ revoked: z.number().int() }).meta({ id: "RevokedCount" });
export type RevokedCount = z.infer<typeof RevokedCount>;

// ---- Organisation settings (security, the Cameras map's tile server, the time-stamping authority)

/** A time-stamping authority's URL: https, or http only for localhost / 127.0.0.1 (development). */
export const TsaUrl = z
  .string()
  .trim()
  .min(1, "Enter the TSA's URL, or turn timestamps off.")
  .max(1000, "At most 1000 characters.")
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return void ctx.addIssue({ code: "custom", message: "Enter a full URL, e.g. https://freetsa.org/tsr." });
    }
    if (!(url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(value)))) {
      ctx.addIssue({ code: "custom", message: "The TSA URL must start with https:// (http:// only for localhost)." });
    }
    if (url.username || url.password) ctx.addIssue({ code: "custom", message: "No user name or password in the URL." });
  })
  .meta({ id: "TsaUrl", description: "An RFC 3161 time-stamping authority; https only (http for localhost)." });

/** One or more PEM certificates (the CA the TSA's tokens must chain to). */
export const TsaCaPem = z
  .string()
  .trim()
  .max(64 * 1024, "At most 64 KiB of certificates.")
  .regex(/^(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/, "Paste PEM certificates (-----BEGIN CERTIFICATE----- …).")
  .transform((pem) => `${pem.replace(/\r\n/g, "\n")}\n`)
  .meta({ id: "TsaCaPem", description: "PEM certificate(s) of the CA that issued the TSA's certificate." });

export const OrgSettings = z
  .object({
    mfaRequired: z.boolean().meta({ description: "Local accounts must enrol a second factor before anything else." }),
    passwordMinLength: z.number().int().min(PASSWORD_MIN_FLOOR).max(PASSWORD_MIN_CEILING),
    idleTimeoutMinutes: z.number().int().min(5).max(1440),
    absoluteLifetimeMinutes: z.number().int().min(15).max(10080),
    mapTileUrl: z.string().nullable().meta({ description: "The Cameras map's tile URL template; null: no map (the list only)." }),
    mapAttribution: z.string().meta({ description: "The tile server's attribution, shown on the map." }),
    tsaUrl: z.string().nullable().meta({ description: "The RFC 3161 time-stamping authority's URL; null: no trusted timestamps." }),
    tsaCaPem: z.string().nullable().meta({ description: "PEM certificate(s) the TSA's tokens must chain to; null: tokens are checked for their signature only." }),
    geocoderUrl: z.string().nullable().meta({ description: "The Cameras screen's address search (a Nominatim-compatible search URL); null, the default: off. Each address typed is sent to it." }),
  })
  .meta({ id: "OrgSettings" });
export type OrgSettings = z.infer<typeof OrgSettings>;

export const UpdateOrgSettingsRequest = z
  .strictObject({
    mfaRequired: z.boolean().optional(),
    passwordMinLength: z.number().int().min(PASSWORD_MIN_FLOOR, `At least ${PASSWORD_MIN_FLOOR}.`).max(PASSWORD_MIN_CEILING, `At most ${PASSWORD_MIN_CEILING}.`).optional(),
    idleTimeoutMinutes: z.number().int().min(5, "At least 5 minutes.").max(1440, "At most 1440 minutes (a day).").optional(),
    absoluteLifetimeMinutes: z.number().int().min(15, "At least 15 minutes.").max(10080, "At most 10080 minutes (a week).").optional(),
    mapTileUrl: TileUrlTemplate.nullable().optional(),
    mapAttribution: MapAttribution.optional(),
    tsaUrl: TsaUrl.nullable().optional(),
    tsaCaPem: TsaCaPem.nullable().optional(),
    geocoderUrl: GeocoderUrl.nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "Nothing to change.")
  .meta({ id: "UpdateOrgSettingsRequest" });
export type UpdateOrgSettingsRequest = z.input<typeof UpdateOrgSettingsRequest>;

// ---- User administration

export const UserSecurity = z
  .object({
    id: Id,
    mfa: z.object({ totp: z.boolean(), passkeys: z.number().int(), recoveryCodesLeft: z.number().int() }),
    lockedUntil: z.string().nullable(),
    activeSessions: z.number().int(),
  })
  .meta({ id: "UserSecurity" });
export type UserSecurity = z.infer<typeof UserSecurity>;

export const UserSecurityList = z.object({ users: z.array(UserSecurity), nextCursor: NextCursor }).meta({ id: "UserSecurityList" });
export type UserSecurityList = z.infer<typeof UserSecurityList>;
