/** Calls for OpenID Connect sign-in and its settings (Admin → Identity provider). */
import {
  DiscoveryResult,
  OidcProviderState,
  OidcPublicConfig,
  type DiscoveryRequest,
  type OidcProviderInput,
} from "../../../shared/api/oidc";
import { client, readResponse } from "../api/client";

/** Where the browser goes (a full page load, not fetch) to sign in with the identity provider. */
export const OIDC_START_PATH = "/api/oidc/start";

export const oidcApi = {
  /** Is "Sign in with …" offered? Public. */
  publicConfig: () => readResponse(client.api.oidc.$get(), OidcPublicConfig),
  /** Admin: the settings (never the client secret) and the redirect URI to register. */
  provider: () => readResponse(client.api.oidc.provider.$get(), OidcProviderState),
  saveProvider: (json: OidcProviderInput) => readResponse(client.api.oidc.provider.$put({ json }), OidcProviderState),
  removeProvider: () => readResponse(client.api.oidc.provider.$delete()),
  testDiscovery: (json: DiscoveryRequest) => readResponse(client.api.oidc.provider.discovery.$post({ json }), DiscoveryResult),
};
