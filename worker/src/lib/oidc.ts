/**
 * The OpenID Connect relying party, on `oauth4webapi` (web-standard APIs only, so it runs on
 * Workers and Deno): discovery, the authorization request (code flow, PKCE S256, state, nonce)
 * and the callback (state, issuer, code exchange, ID token issuer/audience/expiry/nonce checks and
 * its signature against the provider's JWKS). Everything here throws `OidcFailure` with a code
 * from `OIDC_ERRORS`, so the route can refuse with a clear message and audit the reason.
 */
import * as oauth from "oauth4webapi";
import { isLoopbackUrl, type DiscoveryResult, type OidcErrorCode, type RoleMapping } from "../../../shared/api/oidc";
import type { Role } from "../../../shared/api/schemas";
import type { OidcProvider } from "../db/oidc";
import { cachedJwksFetch, refreshJwksForKeyId } from "./jwks-cache";
import { outboundRefusal } from "./outbound";

/** How long a started sign-in may take before its callback is refused. */
export const OIDC_STATE_LIFETIME_MS = 10 * 60 * 1000;

/** A refused sign-in: `code` is shown to the user (via OIDC_ERRORS), `detail` goes to the audit trail only. */
export class OidcFailure extends Error {
  constructor(
    readonly code: OidcErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** What the worker may fetch from the provider: `allowLoopback` is the development setting (OIDC_ALLOW_LOOPBACK). */
export interface OutboundPolicy {
  allowLoopback: boolean;
}

/** The development setting OIDC_ALLOW_LOOPBACK=1: an identity provider on this machine may be used (`npm start` and the tests set it; never on by default). */
export function outboundPolicy(env: Env): OutboundPolicy {
  const value = (env as unknown as { OIDC_ALLOW_LOOPBACK?: unknown }).OIDC_ALLOW_LOOPBACK;
  return { allowLoopback: value === "1" || value === "true" };
}

type HttpOptions = { [oauth.allowInsecureRequests]?: boolean; [oauth.customFetch]: NonNullable<oauth.HttpRequestOptions<string, unknown>[typeof oauth.customFetch]>; signal: AbortSignal };

/**
 * Request options for every fetch to the provider (discovery, JWKS, token, UserInfo): each URL is
 * checked first (no private, link-local or, without the development setting, loopback address;
 * worker/src/lib/outbound.ts), redirects are not followed (oauth4webapi asks for `manual`), plain
 * http only to this machine, and the JWKS comes from the cache while its headers allow.
 */
function httpOptions(issuer: string, policy: OutboundPolicy, as?: oauth.AuthorizationServer): HttpOptions {
  return {
    ...(isLoopbackUrl(issuer) && policy.allowLoopback ? { [oauth.allowInsecureRequests]: true } : {}),
    signal: AbortSignal.timeout(10_000),
    [oauth.customFetch]: async (url, init) => {
      const refusal = outboundRefusal(url, policy);
      if (refusal) throw new Error(`not fetched: ${refusal}`);
      const send = () => fetch(url, init as RequestInit);
      return as?.jwks_uri === url && init.method === "GET" ? cachedJwksFetch(url, send) : send();
    },
  };
}

function describeError(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError) return `${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  if (error instanceof oauth.AuthorizationResponseError) return `${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  if (error instanceof Error) return error.message.slice(0, 300);
  return String(error).slice(0, 300);
}

/**
 * Says in words what failed when the provider could not be fetched at all: the name (DNS), the
 * connection, the secure connection (TLS) or the time. Runtimes word this differently (workerd
 * often says only "internal error"), so an unknown failure names all the likely causes instead.
 */
export function describeFetchFailure(error: unknown, url: URL): string {
  const host = url.host;
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : String(error);
  if (name === "TimeoutError" || name === "AbortError" || /timed? ?out/i.test(message)) return `${host} did not answer within 10 seconds`;
  if (/dns|ENOTFOUND|EAI_AGAIN|getaddrinfo|name resolution|lookup address|not known|no such host/i.test(message)) {
    return `the name ${url.hostname} was not found (DNS): check the issuer address`;
  }
  if (/certificate|tls|ssl|handshake|UnknownIssuer/i.test(message)) return `the secure connection (TLS) to ${host} failed: its certificate was not accepted`;
  if (/refused|ECONNREFUSED/i.test(message)) return `${host} refused the connection: nothing answers at that address and port`;
  return `${host} could not be reached: the name was not found (DNS), the connection was refused or the secure connection (TLS) failed`;
}

/** Fetches and checks `<issuer>/.well-known/openid-configuration` (its `issuer` must equal the configured one). */
export async function discover(issuer: string, policy: OutboundPolicy): Promise<oauth.AuthorizationServer> {
  const issuerUrl = new URL(issuer);
  const refused = outboundRefusal(issuer, policy);
  if (refused) throw new OidcFailure("provider_unreachable", `the issuer is not fetched: ${refused}`);
  let response: Response;
  try {
    response = await oauth.discoveryRequest(issuerUrl, { algorithm: "oidc", ...httpOptions(issuer, policy) });
  } catch (error) {
    throw new OidcFailure("provider_unreachable", describeFetchFailure(error, issuerUrl));
  }
  const documentUrl = response.url || `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  if (response.status !== 200) {
    throw new OidcFailure("provider_unreachable", `the issuer answered HTTP ${response.status} for ${documentUrl} (expected its discovery document)`);
  }
  const text = await response.clone().text();
  try {
    JSON.parse(text);
  } catch {
    const type = response.headers.get("Content-Type")?.split(";")[0] || "no content type";
    throw new OidcFailure("provider_unreachable", `the answer at ${documentUrl} is not JSON (${type}); check the issuer address`);
  }
  let as: oauth.AuthorizationServer;
  try {
    as = await oauth.processDiscoveryResponse(issuerUrl, response);
  } catch (error) {
    throw new OidcFailure("provider_unreachable", `discovery document refused: ${describeError(error)}`);
  }
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    if (typeof as[field] !== "string") throw new OidcFailure("provider_unreachable", `discovery document has no ${field}`);
  }
  // The endpoints the worker will fetch are checked now, so "Test discovery" shows a refusal at once
  // (each fetch is checked again when it is made).
  for (const field of ["token_endpoint", "jwks_uri", "userinfo_endpoint"] as const) {
    const refusal = as[field] === undefined ? null : outboundRefusal(as[field], policy);
    if (refusal) throw new OidcFailure("provider_unreachable", `discovery document's ${field} is not fetched: ${refusal}`);
  }
  return as;
}

export function summariseDiscovery(as: oauth.AuthorizationServer): DiscoveryResult {
  return {
    issuer: as.issuer,
    authorizationEndpoint: as.authorization_endpoint!,
    tokenEndpoint: as.token_endpoint!,
    jwksUri: as.jwks_uri!,
    userinfoEndpoint: as.userinfo_endpoint ?? null,
    idTokenSigningAlgs: as.id_token_signing_alg_values_supported ?? [],
    scopesSupported: as.scopes_supported ?? [],
    claimsSupported: as.claims_supported ?? [],
  };
}

function clientOf(provider: OidcProvider): oauth.Client {
  // Only asymmetric signatures are accepted for ID tokens: `none` and HS* are refused below too.
  return { client_id: provider.clientId };
}

function clientAuth(as: oauth.AuthorizationServer, secret: string): oauth.ClientAuth {
  const methods = as.token_endpoint_auth_methods_supported;
  // client_secret_basic is the default in the spec; use post only where the provider offers nothing else.
  if (methods && !methods.includes("client_secret_basic") && methods.includes("client_secret_post")) return oauth.ClientSecretPost(secret);
  return oauth.ClientSecretBasic(secret);
}

export interface AuthorizationStart {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The authorization request: response_type=code, PKCE S256, a fresh state and nonce. */
export async function startAuthorization(
  as: oauth.AuthorizationServer,
  provider: OidcProvider,
  redirectUri: string,
  options: { reauthenticate?: boolean } = {},
): Promise<AuthorizationStart> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("scope", provider.scopes);
  url.searchParams.set("state", state);
  url.searchParams.set("nonce", nonce);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set("code_challenge_method", "S256");
  if (options.reauthenticate) {
    // Re-authentication before a sensitive action: the provider must ask again, not reuse its SSO session.
    url.searchParams.set("prompt", "login");
    url.searchParams.set("max_age", "0");
  }
  return { url, state, nonce, codeVerifier };
}

export type Claims = Record<string, unknown> & { sub: string; iss: string };

/**
 * Completes the code flow: checks the authorization response (state, `iss` when the provider
 * sends it, error), redeems the code with the PKCE verifier and the client secret, and checks
 * the ID token: issuer, audience (and azp), expiry, nonce, and its signature with a key from
 * the provider's JWKS (asymmetric algorithms only: `alg: none` and HMAC are refused). Claims
 * missing from the ID token are filled from the UserInfo endpoint (its `sub` must match).
 */
export async function completeAuthorization(
  as: oauth.AuthorizationServer,
  provider: OidcProvider,
  secret: string,
  input: { callbackUrl: URL; state: string; nonce: string; codeVerifier: string; redirectUri: string; wanted: string[]; policy: OutboundPolicy },
): Promise<Claims> {
  const client = clientOf(provider);
  const options = httpOptions(provider.issuer, input.policy, as);
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, input.callbackUrl, input.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) throw new OidcFailure("provider_refused", describeError(error));
    throw new OidcFailure("token_invalid", `authorization response: ${describeError(error)}`);
  }

  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth(as, secret), params, input.redirectUri, input.codeVerifier, options);
  } catch (error) {
    throw new OidcFailure("provider_unreachable", `token request failed: ${describeError(error)}`);
  }

  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: input.nonce, requireIdToken: true });
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) throw new OidcFailure("provider_refused", `token endpoint: ${describeError(error)}`);
    throw new OidcFailure("token_invalid", `ID token: ${describeError(error)}`);
  }

  // The signature, checked even though the token came straight from the token endpoint over
  // TLS: the JWKS is the provider's published key set, so a token no key of it signed is refused.
  const header = JSON.parse(new TextDecoder().decode(base64UrlDecode(result.id_token!.split(".")[0]!))) as { alg?: unknown; kid?: unknown };
  if (typeof header.alg !== "string" || header.alg === "none" || header.alg.startsWith("HS")) {
    throw new OidcFailure("token_invalid", `ID token: signing algorithm ${JSON.stringify(header.alg)} is not accepted`);
  }
  // A key the cached JWKS lacks: the provider may have rotated its keys, so the set is fetched again (at most once a minute).
  refreshJwksForKeyId(as.jwks_uri!, typeof header.kid === "string" ? header.kid : undefined);
  try {
    await oauth.validateApplicationLevelSignature(as, response, options);
  } catch (error) {
    throw new OidcFailure("token_invalid", `ID token signature: ${describeError(error)}`);
  }

  const claims = oauth.getValidatedIdTokenClaims(result);
  if (!claims) throw new OidcFailure("token_invalid", "no ID token");
  const merged: Claims = { ...(claims as Record<string, unknown>), sub: claims.sub, iss: claims.iss };

  if (input.wanted.some((name) => merged[name] === undefined) && as.userinfo_endpoint) {
    try {
      const userinfo = await oauth.processUserInfoResponse(
        as,
        client,
        claims.sub,
        await oauth.userInfoRequest(as, client, result.access_token, options),
      );
      for (const [name, value] of Object.entries(userinfo)) {
        if (merged[name] === undefined) merged[name] = value;
      }
    } catch (error) {
      throw new OidcFailure("token_invalid", `userinfo: ${describeError(error)}`);
    }
  }
  return merged;
}

function base64UrlDecode(text: string): Uint8Array {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** The groups in a claim: an array of strings, or a single string (AD FS sends one group as a string). */
export function groupsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return [];
}

/** The role of the first mapping (in the administrator's order) whose group the user has. */
export function mappedRole(groups: readonly string[], mappings: readonly RoleMapping[]): Role | null {
  return mappings.find((mapping) => groups.includes(mapping.group))?.role ?? null;
}

