/** Admin → Settings: the organisation's MFA requirement, password length, session limits, the Cameras map's tile server, the RFC 3161 time-stamping authority, and email (MailSettings.tsx). */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { PASSWORD_MIN_CEILING, PASSWORD_MIN_FLOOR, UpdateOrgSettingsRequest, type OrgSettings } from "../../../shared/api/identity";
import { DEFAULT_MAP_TILE_URL } from "../../../shared/api/map";
import { ApiError } from "../api/client";
import { identity } from "../identity/api";
import { issuesToFieldErrors, type FieldErrors } from "../ui/forms";
import { withReauth } from "../identity/reauth";
import { PageHeading } from "../ui/layout";
import { MailSettingsForm } from "./MailSettings";
import "./admin.css";

function NumberField(props: { name: keyof OrgSettings; label: string; hint: string; value: number; min: number; max: number; error?: string }) {
  const id = `setting-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <p id={`${id}-hint`} class="hint">
        {props.hint}
      </p>
      <input id={id} name={props.name} type="number" inputMode="numeric" min={props.min} max={props.max} defaultValue={String(props.value)} aria-describedby={`${id}-hint`} aria-invalid={props.error ? true : undefined} />
      {props.error && <p class="field-error">{props.error}</p>}
    </div>
  );
}

export function SettingsPage() {
  const [settings, setSettings] = useState<OrgSettings>();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    identity.settings().then(setSettings, (caught: unknown) => setError(caught instanceof ApiError ? caught.message : "Couldn't load the settings."));
  }, []);

  async function save(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const parsed = UpdateOrgSettingsRequest.safeParse({
      mfaRequired: data.get("mfaRequired") === "on",
      passwordMinLength: Number(data.get("passwordMinLength")),
      idleTimeoutMinutes: Number(data.get("idleTimeoutMinutes")),
      absoluteLifetimeMinutes: Number(data.get("absoluteLifetimeMinutes")),
      mapTileUrl: String(data.get("mapTileUrl") ?? "").trim() || null,
      mapAttribution: String(data.get("mapAttribution") ?? ""),
      tsaUrl: String(data.get("tsaUrl") ?? "").trim() || null,
      tsaCaPem: String(data.get("tsaCaPem") ?? "").trim() || null,
      geocoderUrl: String(data.get("geocoderUrl") ?? "").trim() || null,
    });
    setNote("");
    setError(undefined);
    if (!parsed.success) {
      setErrors(issuesToFieldErrors(parsed.error.issues));
      return setError("Check the fields marked below and try again.");
    }
    setErrors({});
    setBusy(true);
    try {
      setSettings(await withReauth(() => identity.updateSettings(parsed.data)));
      setNote("Settings saved. New session limits apply to everyone at once.");
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Couldn't save the settings.");
      if (caught instanceof ApiError) setErrors(caught.fieldErrors);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeading>Organisation settings</PageHeading>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {settings && (
        <form onSubmit={(event) => void save(event)} class="stack" aria-label="Organisation settings" noValidate>
          <label class="checkbox">
            <input type="checkbox" name="mfaRequired" defaultChecked={settings.mfaRequired} />
            Require two-step verification for local accounts
          </label>
          <NumberField name="passwordMinLength" label="Minimum password length" hint={`Between ${PASSWORD_MIN_FLOOR} and ${PASSWORD_MIN_CEILING} characters. NIST recommends at least 12 without a second factor.`} value={settings.passwordMinLength} min={PASSWORD_MIN_FLOOR} max={PASSWORD_MIN_CEILING} error={errors["passwordMinLength"]} />
          <NumberField name="idleTimeoutMinutes" label="Idle timeout (minutes)" hint="A session ends after this long without use." value={settings.idleTimeoutMinutes} min={5} max={1440} error={errors["idleTimeoutMinutes"]} />
          <NumberField name="absoluteLifetimeMinutes" label="Session lifetime (minutes)" hint="A session ends this long after sign-in, however active." value={settings.absoluteLifetimeMinutes} min={15} max={10080} error={errors["absoluteLifetimeMinutes"]} />
          <fieldset class="stack settings-group">
            <legend>Cameras map</legend>
            <div class="field">
              <label for="setting-mapTileUrl">Map tile URL</label>
              <p id="setting-mapTileUrl-hint" class="hint">
                A tile server's URL with {"{z}"}, {"{x}"} and {"{y}"}, e.g. {DEFAULT_MAP_TILE_URL}. Each investigator's browser asks it for the area they look at. Leave it empty to show no map (Cameras keeps its list).
              </p>
              <input id="setting-mapTileUrl" name="mapTileUrl" type="url" inputMode="url" defaultValue={settings.mapTileUrl ?? ""} aria-describedby="setting-mapTileUrl-hint" aria-invalid={errors["mapTileUrl"] ? true : undefined} />
              {errors["mapTileUrl"] && <p class="field-error">{errors["mapTileUrl"]}</p>}
            </div>
            <div class="field">
              <label for="setting-mapAttribution">Map attribution</label>
              <p id="setting-mapAttribution-hint" class="hint">
                Shown on the map, as the tile server's licence asks (plain text).
              </p>
              <input id="setting-mapAttribution" name="mapAttribution" defaultValue={settings.mapAttribution} aria-describedby="setting-mapAttribution-hint" aria-invalid={errors["mapAttribution"] ? true : undefined} />
              {errors["mapAttribution"] && <p class="field-error">{errors["mapAttribution"]}</p>}
            </div>
            <div class="field">
              <label for="setting-geocoderUrl">Address search (geocoder) URL</label>
              <p id="setting-geocoderUrl-hint" class="hint">
                Off unless filled in. A Nominatim-compatible search address, e.g. https://nominatim.openstreetmap.org/search (https; http only for localhost). Privacy cost: every address an investigator types to find cameras is sent by the server to this service, which learns the places your organisation is looking into. Use your own geocoder for sensitive work, or leave it empty (investigators then enter coordinates or use their location).
              </p>
              <input id="setting-geocoderUrl" name="geocoderUrl" type="url" inputMode="url" defaultValue={settings.geocoderUrl ?? ""} aria-describedby="setting-geocoderUrl-hint" aria-invalid={errors["geocoderUrl"] ? true : undefined} />
              {errors["geocoderUrl"] && <p class="field-error">{errors["geocoderUrl"]}</p>}
            </div>
          </fieldset>
          <fieldset class="stack settings-group">
            <legend>Trusted timestamps</legend>
            <p class="hint">
              An RFC 3161 time-stamping authority (TSA) vouches, by its own clock, for when each upload was signed and when each audit checkpoint was made. Court packages carry its token; a TSA that is down never blocks an upload (the item waits for its timestamp and is retried).
            </p>
            <div class="field">
              <label for="setting-tsaUrl">Time-stamping authority URL</label>
              <p id="setting-tsaUrl-hint" class="hint">
                The TSA's RFC 3161 address, e.g. https://freetsa.org/tsr (https; http only for localhost). Leave it empty for no trusted timestamps.
              </p>
              <input id="setting-tsaUrl" name="tsaUrl" type="url" inputMode="url" defaultValue={settings.tsaUrl ?? ""} aria-describedby="setting-tsaUrl-hint" aria-invalid={errors["tsaUrl"] ? true : undefined} />
              {errors["tsaUrl"] && <p class="field-error">{errors["tsaUrl"]}</p>}
            </div>
            <div class="field">
              <label for="setting-tsaCaPem">TSA CA certificate (PEM)</label>
              <p id="setting-tsaCaPem-hint" class="hint">
                The certificate of the CA that issued the TSA's certificate, as the TSA publishes it (-----BEGIN CERTIFICATE----- …). Tokens that do not chain to it are refused. Leave it empty to check only each token's own signature.
              </p>
              <textarea id="setting-tsaCaPem" name="tsaCaPem" rows={6} spellcheck={false} defaultValue={settings.tsaCaPem ?? ""} aria-describedby="setting-tsaCaPem-hint" aria-invalid={errors["tsaCaPem"] ? true : undefined} />
              {errors["tsaCaPem"] && <p class="field-error">{errors["tsaCaPem"]}</p>}
            </div>
          </fieldset>
          <button type="submit" class="primary" disabled={busy} aria-busy={busy || undefined}>
            {busy ? "Saving…" : "Save settings"}
          </button>
        </form>
      )}
      <p role="status" class="status">
        {note}
      </p>
      {settings && <MailSettingsForm />}
    </>
  );
}
