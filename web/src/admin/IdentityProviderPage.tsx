/**
 * Admin → Sign-in: the organisation's OpenID Connect identity provider (AD FS, Entra ID,
 * Keycloak, Okta, …). The client secret is write-only: the server never sends it back, so the
 * field stays empty and an empty field keeps the stored secret.
 */
import type { TargetedFocusEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { DEFAULT_SCOPES, OidcProviderInput, type DiscoveryResult, type OidcProviderState } from "../../../shared/api/oidc";
import type { Role } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { oidcApi } from "../identity/oidc";
import { Field, FormAlert, SelectField, SubmitButton, useForm } from "../ui/forms";
import { ROLE_OPTIONS } from "../ui/labels";
import { PageHeading } from "../ui/layout";
import "./admin.css";
import { messageOf } from "../ui/messages";

export function IdentityProviderPage() {
  const [state, setState] = useState<OidcProviderState>();
  const [loadError, setLoadError] = useState<string>();
  const [status, setStatus] = useState("");

  async function load() {
    setLoadError(undefined);
    try {
      setState(await oidcApi.provider());
    } catch (error) {
      setLoadError(messageOf(error));
    }
  }

  useEffect(() => void load(), []);

  return (
    <>
      <PageHeading>Identity provider</PageHeading>
      <p class="muted">
        Let people sign in with your organisation's OpenID Connect provider (AD FS, Entra ID, Keycloak, Okta…). The provider then
        handles passwords and two-step verification for them.
      </p>
      {loadError && (
        <div class="stack">
          <p role="alert" class="alert">
            Couldn't load the identity provider settings. {loadError}
          </p>
          <button type="button" class="secondary" onClick={() => void load()}>
            Retry
          </button>
        </div>
      )}
      {!state && !loadError && <p class="muted">Loading settings…</p>}
      {state && (
        <>
          <RedirectUri uri={state.redirectUri} />
          <ProviderForm
            key={state.provider?.updatedAt ?? "new"}
            state={state}
            onSaved={(saved) => {
              setState(saved);
              setStatus(`Saved. The sign-in screen now offers “Sign in with ${saved.provider?.displayName}”.`);
            }}
          />
          {state.provider && (
            <RemoveProvider
              onRemoved={() => {
                setState({ ...state, provider: null });
                setStatus("Identity provider removed. People sign in with their email and password again.");
              }}
            />
          )}
          <p role="status" class="status">
            {status}
          </p>
        </>
      )}
    </>
  );
}

function RedirectUri(props: { uri: string }) {
  return (
    <div class="field">
      <label for="oidc-redirect-uri">Redirect URI</label>
      <p id="oidc-redirect-uri-hint" class="hint">
        Register this address with your identity provider as the client's redirect (reply) URI.
      </p>
      <input
        id="oidc-redirect-uri"
        type="text"
        readOnly
        value={props.uri}
        aria-describedby="oidc-redirect-uri-hint"
        onFocus={(event: TargetedFocusEvent<HTMLInputElement>) => event.currentTarget.select()}
      />
    </div>
  );
}

interface MappingRow {
  key: number;
  group: string;
  role: Role;
}

let nextRowKey = 1;

/** Turns the form's dotted values into the request body: rows into an array, the checkbox into a boolean. */
function toBody(values: Record<string, unknown>): unknown {
  const { roleMappings, provisionUsers, clientSecret, ...rest } = values as Record<string, unknown> & {
    roleMappings?: Record<string, { group: string; role: string }>;
  };
  return {
    ...rest,
    ...(typeof clientSecret === "string" && clientSecret !== "" ? { clientSecret } : {}),
    roleMappings: Object.keys(roleMappings ?? {})
      .sort((a, b) => Number(a) - Number(b))
      .map((index) => roleMappings![index]!),
    provisionUsers: provisionUsers === "on",
  };
}

function ProviderForm(props: { state: OidcProviderState; onSaved: (state: OidcProviderState) => void }) {
  const provider = props.state.provider;
  const [rows, setRows] = useState<MappingRow[]>(() => (provider?.roleMappings ?? []).map((mapping) => ({ key: nextRowKey++, ...mapping })));
  const [provision, setProvision] = useState(provider?.provisionUsers ?? false);
  const [discovery, setDiscovery] = useState<{ result?: DiscoveryResult; error?: string; busy: boolean }>({ busy: false });
  const issuerRef = useRef<HTMLDivElement>(null);
  const form = useForm({
    schema: OidcProviderInput,
    toBody,
    send: async (body) => props.onSaved(await oidcApi.saveProvider(body)),
  });

  async function testDiscovery() {
    const issuer = issuerRef.current?.querySelector("input")?.value.trim() ?? "";
    setDiscovery({ busy: true });
    try {
      setDiscovery({ busy: false, result: await oidcApi.testDiscovery({ issuer }) });
    } catch (error) {
      const message = error instanceof ApiError ? (error.fieldErrors["issuer"] ?? error.message) : messageOf(error);
      setDiscovery({ busy: false, error: message });
    }
  }

  const secretHint =
    provider?.secretSource === "binding"
      ? "Set on the server (the OIDC_CLIENT_SECRET secret), which takes precedence over anything entered here."
      : provider?.hasClientSecret
        ? "A secret is stored. It is never shown again; leave this empty to keep it."
        : "From your identity provider's client registration. It is stored on the server and never shown again.";

  return (
    <section aria-labelledby="oidc-settings-heading">
      <h2 id="oidc-settings-heading">{provider ? "Provider settings" : "Set up a provider"}</h2>
      <form ref={form.formRef} aria-labelledby="oidc-settings-heading" onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <div ref={issuerRef}>
          <Field
            name="issuer"
            label="Issuer URL"
            hint="For example https://login.microsoftonline.com/<tenant>/v2.0 or https://sso.example.org/realms/police."
            autoComplete="off"
            defaultValue={provider?.issuer}
            error={form.errors["issuer"]}
          />
        </div>
        <div class="actions">
          <button type="button" class="secondary" onClick={() => void testDiscovery()} disabled={discovery.busy} aria-busy={discovery.busy || undefined}>
            {discovery.busy ? "Testing discovery…" : "Test discovery"}
          </button>
        </div>
        <DiscoveryReport result={discovery.result} error={discovery.error} />
        <Field name="clientId" label="Client ID" autoComplete="off" defaultValue={provider?.clientId} error={form.errors["clientId"]} />
        <Field
          name="clientSecret"
          label="Client secret"
          type="password"
          autoComplete="new-password"
          required={!provider?.hasClientSecret}
          hint={secretHint}
          error={form.errors["clientSecret"]}
        />
        <Field
          name="displayName"
          label="Button name"
          hint="The sign-in screen shows “Sign in with” and this name."
          defaultValue={provider?.displayName}
          error={form.errors["displayName"]}
        />
        <Field
          name="scopes"
          label="Scopes"
          hint="Space-separated; must include openid. Add groups if your provider only sends groups for that scope (Okta)."
          autoComplete="off"
          defaultValue={provider?.scopes ?? DEFAULT_SCOPES}
          error={form.errors["scopes"]}
        />
        <Field name="emailClaim" label="Email claim" autoComplete="off" defaultValue={provider?.emailClaim ?? "email"} error={form.errors["emailClaim"]} />
        <Field
          name="groupsClaim"
          label="Groups claim"
          hint="AD FS often uses http://schemas.xmlsoap.org/claims/Group; Entra ID, Keycloak and Okta use groups."
          autoComplete="off"
          defaultValue={provider?.groupsClaim ?? "groups"}
          error={form.errors["groupsClaim"]}
        />

        <fieldset class="oidc-mappings">
          <legend>Groups to roles</legend>
          <p class="hint">At each sign-in, the first mapping whose group the person has sets their role. With no match, their role stays as it is.</p>
          {rows.length === 0 && <p class="muted">No mappings: roles are managed in Custody only.</p>}
          <ol class="oidc-mapping-list">
            {rows.map((row, index) => (
              <li key={row.key} class="oidc-mapping">
                <Field
                  name={`roleMappings.${index}.group`}
                  label={`Group ${index + 1}`}
                  autoComplete="off"
                  defaultValue={row.group}
                  error={form.errors[`roleMappings.${index}.group`]}
                />
                <SelectField
                  name={`roleMappings.${index}.role`}
                  label={`Role for group ${index + 1}`}
                  options={ROLE_OPTIONS}
                  defaultValue={row.role}
                  error={form.errors[`roleMappings.${index}.role`]}
                />
                <button type="button" class="secondary" onClick={() => setRows(rows.filter((other) => other.key !== row.key))}>
                  Remove mapping {index + 1}
                </button>
              </li>
            ))}
          </ol>
          <button type="button" class="secondary" onClick={() => setRows([...rows, { key: nextRowKey++, group: "", role: "investigator" }])}>
            Add mapping
          </button>
        </fieldset>

        <div class="check-field">
          <input
            id="field-provisionUsers"
            name="provisionUsers"
            type="checkbox"
            checked={provision}
            onChange={(event) => setProvision(event.currentTarget.checked)}
            aria-describedby="field-provisionUsers-hint"
          />
          <label for="field-provisionUsers">Create accounts for people Custody doesn't know yet</label>
        </div>
        <p id="field-provisionUsers-hint" class="hint">
          Off: only people whose email matches an existing user can sign in. On: anyone the provider signs in gets an account.
        </p>
        {/* Hidden, not removed, while provisioning is off: the stored choice is kept. */}
        <div hidden={!provision}>
          <SelectField
            name="defaultRole"
            label="Role for new accounts (when no group matches)"
            options={ROLE_OPTIONS}
            defaultValue={provider?.defaultRole ?? "investigator"}
            error={form.errors["defaultRole"]}
          />
        </div>
        <SubmitButton busy={form.busy} label="Save identity provider" busyLabel="Saving…" />
      </form>
    </section>
  );
}

function DiscoveryReport(props: { result: DiscoveryResult | undefined; error: string | undefined }) {
  if (props.error) {
    return (
      <p role="alert" class="alert">
        {props.error}
      </p>
    );
  }
  if (!props.result) return <p role="status" class="visually-hidden" />;
  const r = props.result;
  return (
    <div role="status" class="notice oidc-discovery">
      <p>
        <strong>Discovery works.</strong>
      </p>
      <dl>
        <dt>Issuer</dt>
        <dd>{r.issuer}</dd>
        <dt>Authorization endpoint</dt>
        <dd>{r.authorizationEndpoint}</dd>
        <dt>Token endpoint</dt>
        <dd>{r.tokenEndpoint}</dd>
        <dt>Keys (JWKS)</dt>
        <dd>{r.jwksUri}</dd>
        <dt>UserInfo endpoint</dt>
        <dd>{r.userinfoEndpoint ?? "none"}</dd>
        <dt>ID token algorithms</dt>
        <dd>{r.idTokenSigningAlgs.join(", ") || "not stated"}</dd>
      </dl>
    </div>
  );
}

function RemoveProvider(props: { onRemoved: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function remove() {
    setBusy(true);
    setError(undefined);
    try {
      await oidcApi.removeProvider();
      props.onRemoved();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="oidc-remove-heading">
      <h2 id="oidc-remove-heading">Remove provider</h2>
      <p class="muted">Sign-in with the provider stops at once. People who have a password can still use it.</p>
      {!confirming ? (
        <button type="button" class="secondary" onClick={() => setConfirming(true)}>
          Remove identity provider
        </button>
      ) : (
        <div class="actions">
          <button type="button" class="primary" onClick={() => void remove()} disabled={busy} aria-busy={busy || undefined}>
            {busy ? "Removing…" : "Yes, remove it"}
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)} disabled={busy}>
            Keep it
          </button>
        </div>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}
