/**
 * Passkeys (WebAuthn) through @simplewebauthn/server. The relying party is the origin the API is
 * served from (its host name is the RP ID), so a passkey made here works only here. User
 * verification (biometrics or PIN) is required, which makes a passkey two factors in one: it
 * serves as the second factor after a password and on its own as passwordless sign-in
 * (discoverable credentials: the authenticator stores the user handle).
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import type { PasskeyRow } from "../db/identity";

export const CHALLENGE_LIFETIME_MS = 5 * 60 * 1000;
const RP_NAME = "Custody";

export function relyingParty(requestUrl: string): { id: string; origin: string } {
  const url = new URL(requestUrl);
  return { id: url.hostname, origin: url.origin };
}

/** The user handle stored on the authenticator: the user id's bytes (no personal data). */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(new TextEncoder().encode(userId));
}

export function registrationOptions(
  requestUrl: string,
  user: { id: string; email: string; name: string },
  existing: PasskeyRow[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: relyingParty(requestUrl).id,
    userID: userHandle(user.id),
    userName: user.email,
    userDisplayName: user.name,
    attestationType: "none",
    excludeCredentials: existing.map((key) => ({ id: key.id, transports: JSON.parse(key.transports) as string[] })),
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
    timeout: CHALLENGE_LIFETIME_MS,
  });
}

/** Verifies a new passkey; returns what to store, or null when it does not verify. */
export async function verifyRegistration(
  requestUrl: string,
  response: unknown,
  expectedChallenge: string,
): Promise<{ id: string; publicKey: string; counter: number; transports: string[] } | null> {
  const rp = relyingParty(requestUrl);
  try {
    const result = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    });
    if (!result.verified) return null;
    const { credential } = result.registrationInfo;
    return {
      id: credential.id,
      publicKey: isoBase64URL.fromBuffer(credential.publicKey),
      counter: credential.counter,
      transports: credential.transports ?? [],
    };
  } catch {
    return null;
  }
}

export function authenticationOptions(requestUrl: string, allow: PasskeyRow[] | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: relyingParty(requestUrl).id,
    // null: passwordless sign-in, the authenticator offers its discoverable credentials.
    ...(allow ? { allowCredentials: allow.map((key) => ({ id: key.id, transports: JSON.parse(key.transports) as string[] })) } : {}),
    userVerification: "required",
    timeout: CHALLENGE_LIFETIME_MS,
  });
}

/** Verifies an assertion by `passkey`; returns its new signature counter, or null. */
export async function verifyAuthentication(
  requestUrl: string,
  response: unknown,
  expectedChallenge: string,
  passkey: PasskeyRow,
): Promise<number | null> {
  const rp = relyingParty(requestUrl);
  const assertion = response as AuthenticationResponseJSON;
  if (assertion.id !== passkey.id) return null;
  // A discoverable credential names its user: it must be the passkey's owner.
  const handle = assertion.response?.userHandle;
  if (handle && handle !== isoBase64URL.fromBuffer(userHandle(passkey.user_id))) return null;
  try {
    const result = await verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: passkey.id,
        publicKey: isoBase64URL.toBuffer(passkey.public_key),
        counter: passkey.counter,
        transports: JSON.parse(passkey.transports) as string[],
      },
      requireUserVerification: true,
    });
    return result.verified ? result.authenticationInfo.newCounter : null;
  } catch {
    return null;
  }
}
