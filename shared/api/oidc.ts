/**
 * OpenID Connect sign-in: the administrator's provider settings, the public "is it on?"
 * answer for the sign-in screen, and the error codes the callback sends back to the app
 * (`/signin?error=<code>`; the app shows the message for the code, never text from the URL).
 */
import { z } from "zod";
import { Role } from "./schemas";

/** Hosts where an `http://` issuer is accepted: a provider on the same machine (development, tests). */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK_HOSTS.includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

export const IssuerUrl = z
  .string()
  .trim()
  .min(1, "Enter the issuer URL.")
  .max(2048)
  .pipe(z.url({ message: "Enter the issuer URL, e.g. https://login.example.org/realms/police." }))
  .refine((url) => {
    // Refinements run even when z.url() above has refused the value: what does not parse fails here too, never throws.
    if (!URL.canParse(url)) return false;
    const { protocol, search, hash } = new URL(url);
    return (protocol === "https:" || (protocol === "http:" && isLoopbackUrl(url))) && !search && !hash;
  }, "The issuer URL must start with https:// (http:// only for localhost) and have no ?query or #fragment.")
  .meta({ id: "IssuerUrl", description: "The provider's issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`." });

/** A claim name: printable ASCII without spaces (AD FS uses URIs such as http://schemas.xmlsoap.org/claims/Group). */
const ClaimName = z
  .string()
  .trim()
  .min(1, "Enter a claim name.")
  .max(200)
  .regex(/^[!-~]+$/, "A claim name has no spaces.");

export const RoleMapping = z
  .strictObject({
    group: z.string().trim().min(1, "Enter the group value.").max(256),
    role: Role,
  })
  .meta({ id: "OidcRoleMapping", description: "Users whose groups claim contains `group` get `role`." });
export type RoleMapping = z.infer<typeof RoleMapping>;

export const DEFAULT_SCOPES = "openid email profile";

const Scopes = z
  .string()
  .trim()
  .max(500)
  .regex(/^[!#-[\]-~]+( [!#-[\]-~]+)*$/, "Scopes are words separated by single spaces.")
  .refine((scopes) => scopes.split(" ").includes("openid"), "The scopes must include openid.");

export const OidcProviderInput = z
  .strictObject({
    issuer: IssuerUrl,
    clientId: z.string().trim().min(1, "Enter the client id.").max(256),
    clientSecret: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .meta({ description: "Write-only. Omit to keep the stored secret." }),
    displayName: z.string().trim().min(1, "Enter the name shown on the sign-in button.").max(60),
    scopes: Scopes.default(DEFAULT_SCOPES),
    emailClaim: ClaimName.default("email"),
    groupsClaim: ClaimName.default("groups"),
    roleMappings: z.array(RoleMapping).max(50).default([]),
    provisionUsers: z.boolean().default(false),
    defaultRole: Role.default("investigator"),
  })
  .meta({ id: "OidcProviderInput", description: "The identity provider's settings. The first matching mapping (in this order) sets the role." });
export type OidcProviderInput = z.input<typeof OidcProviderInput>;

export const OidcProviderSettings = z
  .object({
    issuer: z.string(),
    clientId: z.string(),
    hasClientSecret: z.boolean(),
    secretSource: z.enum(["database", "binding", "none"]).meta({
      description: "Where the client secret comes from: D1, the OIDC_CLIENT_SECRET Workers secret binding (which wins), or nowhere yet.",
    }),
    displayName: z.string(),
    scopes: z.string(),
    emailClaim: z.string(),
    groupsClaim: z.string(),
    roleMappings: z.array(RoleMapping),
    provisionUsers: z.boolean(),
    defaultRole: Role,
    updatedAt: z.string(),
  })
  .meta({ id: "OidcProviderSettings", description: "The provider's settings as stored. The client secret is never returned." });
export type OidcProviderSettings = z.infer<typeof OidcProviderSettings>;

export const OidcProviderState = z
  .object({
    provider: OidcProviderSettings.nullable(),
    redirectUri: z.string().meta({ description: "Register this redirect URI with the provider." }),
  })
  .meta({ id: "OidcProviderState" });
export type OidcProviderState = z.infer<typeof OidcProviderState>;

export const OidcPublicConfig = z
  .object({ enabled: z.boolean(), displayName: z.string().nullable() })
  .meta({ id: "OidcPublicConfig", description: "Whether the sign-in screen offers \"Sign in with {displayName}\"." });
export type OidcPublicConfig = z.infer<typeof OidcPublicConfig>;

export const DiscoveryRequest = z.strictObject({ issuer: IssuerUrl }).meta({ id: "OidcDiscoveryRequest" });
export type DiscoveryRequest = z.input<typeof DiscoveryRequest>;

export const DiscoveryResult = z
  .object({
    issuer: z.string(),
    authorizationEndpoint: z.string(),
    tokenEndpoint: z.string(),
    jwksUri: z.string(),
    userinfoEndpoint: z.string().nullable(),
    idTokenSigningAlgs: z.array(z.string()),
    scopesSupported: z.array(z.string()),
    claimsSupported: z.array(z.string()),
  })
  .meta({ id: "OidcDiscoveryResult", description: "What the provider's discovery document says." });
export type DiscoveryResult = z.infer<typeof DiscoveryResult>;

/** Why an OIDC sign-in was refused: the code travels in `/signin?error=`, the message is looked up here. */
export const OIDC_ERRORS = {
  not_configured: "Sign-in with an identity provider is not set up. Sign in with your email and password.",
  state_invalid: "This sign-in attempt is not valid or was already used. Start again with the sign-in button.",
  state_expired: "The sign-in took too long and expired. Start again with the sign-in button.",
  browser_mismatch: "This sign-in was started in another browser or tab. Start again from this one.",
  provider_refused: "Your identity provider did not sign you in. Try again, or ask your administrator.",
  provider_unreachable: "Custody can't reach your identity provider. Try again in a minute; if it keeps happening, tell your administrator.",
  token_invalid: "Your identity provider's answer could not be verified, so you were not signed in. Tell your administrator.",
  no_email: "Your identity provider did not send an email address, so Custody can't find your account. Tell your administrator.",
  email_unverified: "Your identity provider says your email address is not verified. Verify it there, then try again.",
  no_account: "There is no Custody account for you. Ask your administrator to invite you.",
  account_disabled: "Your Custody account is disabled. Ask your administrator.",
  account_conflict: "Your Custody account is linked to a different identity at this provider. Ask your administrator.",
  wrong_address: "Sign-in with your identity provider works only at Custody's own address. Open Custody from its usual link and try again.",
  too_many_attempts: "Too many sign-in attempts from your network. Wait 10 minutes and try again.",
} as const;
export type OidcErrorCode = keyof typeof OIDC_ERRORS;

export function oidcErrorMessage(code: string | null): string | undefined {
  if (!code) return undefined;
  return (OIDC_ERRORS as Record<string, string>)[code] ?? OIDC_ERRORS.provider_refused;
}
