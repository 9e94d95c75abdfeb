/**
 * The sign-in screen's OpenID Connect part: "Sign in with {provider}" when an identity provider
 * is configured, and the reason when a provider sign-in was refused (`/signin?error=<code>`: the
 * message comes from the code, never from text in the URL).
 */
import { useEffect, useState } from "preact/hooks";
import { oidcErrorMessage, type OidcPublicConfig } from "../../../shared/api/oidc";
import { OIDC_START_PATH, oidcApi } from "./oidc";
import "./identity.css";

/** Reads (once) and removes `?error=` from the address, so a reload does not show it again. */
function takeErrorFromUrl(): string | undefined {
  const params = new URLSearchParams(location.search);
  const message = oidcErrorMessage(params.get("error"));
  if (params.has("error")) history.replaceState(null, "", location.pathname);
  return message;
}

export function OidcSignIn() {
  const [error] = useState(takeErrorFromUrl);
  const [config, setConfig] = useState<OidcPublicConfig>();
  const [leaving, setLeaving] = useState(false);

  useEffect(() => {
    // Without it the password form still works: no message for a failed look-up.
    oidcApi.publicConfig().then(setConfig, () => undefined);
  }, []);

  return (
    <>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {config?.enabled && (
        <>
          <button
            type="button"
            class="primary oidc-sign-in"
            disabled={leaving}
            aria-busy={leaving || undefined}
            onClick={() => {
              setLeaving(true);
              // A full page load: the provider's sign-in page is another site.
              location.assign(OIDC_START_PATH);
            }}
          >
            {leaving ? `Going to ${config.displayName}…` : `Sign in with ${config.displayName}`}
          </button>
          <p class="oidc-divider">or with your email and password</p>
        </>
      )}
    </>
  );
}
