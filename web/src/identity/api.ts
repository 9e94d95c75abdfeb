/** Identity calls: MFA, passkeys, re-authentication, sessions, settings, user administration. */
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";
import { z } from "zod";
import {
  MfaEnrolled,
  MfaStatus,
  OrgSettings,
  PasskeyOptions,
  PasswordPolicy,
  RecoveryCodes,
  ReauthResult,
  RevokedCount,
  SessionList,
  TotpSetup,
  UserSecurityList,
  type ChangePasswordRequest,
  type MfaVerifyRequest,
  type UpdateOrgSettingsRequest,
} from "../../../shared/api/identity";
import { SessionInfo, User } from "../../../shared/api/schemas";
import { apiFetch, ApiError } from "../api/client";
import { extractPrfOutput, holdPasskeySecret, prfExtension } from "../keys/passkey-secret";

const Empty = z.undefined().or(z.unknown());
const none = (path: string, method: string) => apiFetch(path, { method }, Empty).then(() => undefined);

/** Runs the browser's WebAuthn ceremony; a cancelled prompt becomes a clear ApiError. */
async function ceremony<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const name = (error as { name?: string }).name;
    if (name === "NotAllowedError" || name === "AbortError") {
      throw new ApiError(0, "passkey_cancelled", "The passkey prompt was closed or timed out. Try again when you're ready.");
    }
    throw new ApiError(0, "passkey_unavailable", "This device could not use a passkey. Try another method.");
  }
}

/**
 * Gets an assertion for `purpose`: returns what the server's verify routes take, and the
 * passkey's PRF output for the key bundle when its authenticator gave one (taken out of the
 * credential, so it is never sent). `only` limits the prompt to one passkey.
 */
async function passkeyAssertion(purpose: "sign_in" | "second_factor" | "reauth", only?: string) {
  const { challengeId, options } = await apiFetch("/api/auth/passkey/options", { method: "POST", json: { purpose } }, PasskeyOptions);
  const request = { ...options, extensions: { ...(options["extensions"] as object | undefined), ...(await prfExtension()) } } as Record<string, unknown>;
  if (only) request["allowCredentials"] = ((request["allowCredentials"] as { id: string }[] | undefined) ?? []).filter((c) => c.id === only);
  const credential = await ceremony(() => startAuthentication({ optionsJSON: request as never }));
  const prf = extractPrfOutput(credential.clientExtensionResults as Record<string, unknown>);
  return { challengeId, credential, prf };
}

/** Keeps a sign-in passkey's PRF output (or that it gave none) for the key gate, which unlocks the keys with it. */
function holdPrf(assertion: { credential: { id: string }; prf: Uint8Array | undefined }) {
  holdPasskeySecret(assertion.credential.id, assertion.prf);
}

export const identity = {
  passwordPolicy: () => apiFetch("/api/settings/password-policy", {}, PasswordPolicy),
  /** The second step of sign-in. */
  verifyMfa: (json: MfaVerifyRequest) => apiFetch("/api/auth/mfa", { method: "POST", json }, SessionInfo),
  verifyMfaWithPasskey: async () => {
    const assertion = await passkeyAssertion("second_factor");
    const { challengeId, credential } = assertion;
    const session = await apiFetch("/api/auth/mfa", { method: "POST", json: { method: "passkey", challengeId, credential } }, SessionInfo);
    holdPrf(assertion);
    return session;
  },
  signInWithPasskey: async () => {
    const assertion = await passkeyAssertion("sign_in");
    const { challengeId, credential } = assertion;
    const session = await apiFetch("/api/auth/passkey", { method: "POST", json: { challengeId, credential } }, SessionInfo);
    holdPrf(assertion);
    return session;
  },
  /**
   * Confirms it's you with the passkey `passkeyId` only, and answers its PRF output (undefined
   * when its authenticator has no PRF): one gesture to turn on passkey unlock.
   */
  reauthWithPasskeyPrf: async (passkeyId: string) => {
    const { challengeId, credential, prf } = await passkeyAssertion("reauth", passkeyId);
    if (credential.id !== passkeyId) throw new ApiError(0, "wrong_passkey", "That was another passkey. Use the one you are turning on.");
    await apiFetch("/api/auth/reauth", { method: "POST", json: { method: "passkey", challengeId, credential } }, ReauthResult);
    return prf;
  },
  reauthWithPassword: (password: string) => apiFetch("/api/auth/reauth", { method: "POST", json: { method: "password", password } }, ReauthResult),
  reauthWithPasskey: async () => {
    const { challengeId, credential } = await passkeyAssertion("reauth");
    return apiFetch("/api/auth/reauth", { method: "POST", json: { method: "passkey", challengeId, credential } }, ReauthResult);
  },
  changePassword: (json: ChangePasswordRequest) => none2("/api/auth/password", json),

  mfaStatus: () => apiFetch("/api/mfa", {}, MfaStatus),
  startTotp: () => apiFetch("/api/mfa/totp", { method: "POST" }, TotpSetup),
  confirmTotp: (code: string) => apiFetch("/api/mfa/totp/confirm", { method: "POST", json: { code } }, MfaEnrolled),
  removeTotp: () => none("/api/mfa/totp", "DELETE"),
  replaceRecoveryCodes: () => apiFetch("/api/mfa/recovery-codes", { method: "POST" }, RecoveryCodes),
  addPasskey: async (name: string) => {
    const { challengeId, options } = await apiFetch("/api/mfa/passkeys/options", { method: "POST" }, PasskeyOptions);
    // Ask for PRF at creation: a security key turns on its hmac-secret only when asked here.
    const credential = await ceremony(() => startRegistration({ optionsJSON: { ...options, extensions: { ...(options["extensions"] as object | undefined), prf: {} } } as never }));
    delete (credential.clientExtensionResults as Record<string, unknown>)["prf"];
    return apiFetch("/api/mfa/passkeys", { method: "POST", json: { challengeId, name, credential } }, MfaEnrolled);
  },
  removePasskey: (id: string) => none(`/api/mfa/passkeys/${encodeURIComponent(id)}`, "DELETE"),

  sessions: () => apiFetch("/api/sessions", {}, SessionList),
  revokeSession: (id: string) => none(`/api/sessions/${id}`, "DELETE"),

  settings: () => apiFetch("/api/settings", {}, OrgSettings),
  updateSettings: (json: UpdateOrgSettingsRequest) => apiFetch("/api/settings", { method: "PUT", json }, OrgSettings),

  /** A page of the users' security facts, in the user list's order (the same cursors). */
  userSecurity: (cursor?: string) => apiFetch(`/api/users/security${cursor ? `?${new URLSearchParams({ cursor })}` : ""}`, {}, UserSecurityList),
  disableUser: (id: string) => apiFetch(`/api/users/${id}/disable`, { method: "POST" }, User),
  enableUser: (id: string) => apiFetch(`/api/users/${id}/enable`, { method: "POST" }, User),
  unlockUser: (id: string) => none(`/api/users/${id}/unlock`, "POST"),
  resetMfa: (id: string) => none(`/api/users/${id}/mfa/reset`, "POST"),
  revokeUserSessions: (id: string) => apiFetch(`/api/users/${id}/sessions`, { method: "DELETE" }, RevokedCount),
};

function none2(path: string, json: unknown): Promise<void> {
  return apiFetch(path, { method: "POST", json }, Empty).then(() => undefined);
}
