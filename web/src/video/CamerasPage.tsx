/**
 * Cameras: the registry the sites' agents keep up to date, as a list sorted by distance from a
 * place (this device's location, or coordinates typed in), filtered by site. Choosing cameras
 * opens the request form: target case, start and end (at most 2 hours), reason. Cameras of
 * several sites become one request per site. Above the list, a map of the cameras (markers pick
 * cameras too) when the organisation's tile server answers: one tile is probed first, and the
 * map hides again if a whole view's tiles fail. The list never waits for the map, which is
 * loaded on demand (video/CameraMap.tsx, with Leaflet).
 */
import type { TargetedEvent } from "preact";
import { lazy, Suspense } from "preact/compat";
import { useEffect, useMemo, useState } from "preact/hooks";
import { tileFor, tileUrl, type GeocodeResults, type MapSettings } from "../../../shared/api/map";
import type { CaseSummary } from "../../../shared/api/cases";
import type { SessionInfo } from "../../../shared/api/schemas";
import { MAX_REQUEST_MS, type Camera, type Site } from "../../../shared/api/video";
import { ApiError } from "../api/client";
import { casesApi } from "../cases/api";
import { navigate, useSearch } from "../ui/router";
import { PageHeading } from "../ui/layout";
import { videoApi } from "./api";
import { distance, facing } from "./format";
import { messageOf } from "../ui/messages";
import "./video.css";
import { allPages, LoadMore } from "../ui/paging";

/** A `datetime-local` value for a time (the device's local time zone). */
function localInput(t: number): string {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

const CameraMap = lazy(() => import("./CameraMap"));

/** Resolves whether one tile of the template loads (the tile holding `at`, at street level). */
function probeTile(template: string, at: { latitude: number; longitude: number }): Promise<boolean> {
  const z = 15;
  const src = tileUrl(template, { ...tileFor(at.latitude, at.longitude, z), z });
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img.naturalWidth > 0);
    img.onerror = () => resolve(false);
    img.src = src;
  });
}

type MapState = "probing" | "shown" | "unavailable";

/** The map, when the tile server answers; otherwise a line saying the list is all there is. */
function MapPanel(props: { settings: MapSettings; cameras: Camera[]; selected: ReadonlySet<string>; onPick?: ((id: string) => void) | undefined; here: { latitude: number; longitude: number } | null }) {
  const [state, setState] = useState<MapState>("probing");
  const first = props.cameras.find((c) => c.latitude !== null && c.longitude !== null);
  const at = props.here ?? (first ? { latitude: first.latitude!, longitude: first.longitude! } : null);
  const template = props.settings.tileUrl;

  // Probed once per tile server (not again when the list is filtered or re-sorted).
  const hasPlace = at !== null;
  useEffect(() => {
    if (!template || !at) return;
    let live = true;
    setState("probing");
    void probeTile(template, at).then((ok) => live && setState(ok ? "shown" : "unavailable"));
    return () => {
      live = false;
    };
  }, [template, hasPlace]);

  if (!template || !at) return null;
  if (state === "unavailable") {
    return (
      <p class="muted map-unavailable" role="status">
        Map unavailable: its tiles couldn't be loaded. The list below has every camera.
      </p>
    );
  }
  if (state === "probing") return null;
  return (
    <Suspense fallback={<p class="muted">Loading the map…</p>}>
      <CameraMap cameras={props.cameras} tileUrl={template} attribution={props.settings.attribution} selected={props.selected} onPick={props.onPick} here={props.here} onTilesFailed={() => setState("unavailable")} />
    </Suspense>
  );
}

export function CamerasPage(props: { session: SessionInfo }) {
  const canRequest = props.session.user.role !== "site_operator";
  // Started from a case page ("/cameras?case=…"): the request form starts with that case chosen.
  const forCase = new URLSearchParams(useSearch()).get("case") ?? "";
  const [sites, setSites] = useState<Site[]>([]);
  const [siteId, setSiteId] = useState("");
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [cameras, setCameras] = useState<Camera[]>();
  const [error, setError] = useState<string>();
  const [locating, setLocating] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [mapSettings, setMapSettings] = useState<MapSettings>();
  const [sortedFrom, setSortedFrom] = useState<{ latitude: number; longitude: number } | null>(null);
  const [next, setNext] = useState<{ cursor: string; query: { siteId?: string; lat?: string; lon?: string } } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string>();

  async function load() {
    try {
      const near: { lat?: string; lon?: string } = lat.trim() && lon.trim() ? { lat: lat.trim(), lon: lon.trim() } : {};
      const query: { siteId?: string; lat?: string; lon?: string } = { ...(siteId ? { siteId } : {}), ...near };
      const page = await videoApi.cameras(query);
      setCameras(page.cameras);
      setNext(page.nextCursor ? { cursor: page.nextCursor, query } : null);
      setSortedFrom(near.lat !== undefined ? { latitude: Number(near.lat), longitude: Number(near.lon) } : null);
      setError(undefined);
      setMoreError(undefined);
    } catch (caught) {
      setError(messageOf(caught));
    }
  }

  /** The next page of the same search (same site, same place), below the cameras shown. */
  async function loadMore() {
    if (!next || loadingMore) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await videoApi.cameras({ ...next.query, cursor: next.cursor });
      setCameras((current) => [...(current ?? []), ...page.cameras]);
      setNext(page.nextCursor ? { cursor: page.nextCursor, query: next.query } : null);
    } catch (caught) {
      setMoreError(messageOf(caught));
    } finally {
      setLoadingMore(false);
    }
  }

  useEffect(() => {
    void allPages((cursor) => videoApi.sites({ limit: "200", ...(cursor ? { cursor } : {}) }).then((page) => ({ items: page.sites, nextCursor: page.nextCursor }))).then(setSites, () => undefined);
    // No map settings (offline, say): no map, the list as ever.
    void videoApi.mapSettings().then(setMapSettings, () => undefined);
  }, []);
  useEffect(() => {
    void load();
  }, [siteId]);

  function useMyLocation() {
    if (!("geolocation" in navigator)) return setError("This device can't tell its location. Type the coordinates instead.");
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setLat(position.coords.latitude.toFixed(5));
        setLon(position.coords.longitude.toFixed(5));
        setLocating(false);
      },
      () => {
        setLocating(false);
        setError("Couldn't get this device's location (permission refused or no signal). Type the coordinates instead.");
      },
      { enableHighAccuracy: true, timeout: 15_000 },
    );
  }

  useEffect(() => {
    if (lat && lon) void load();
  }, [lat, lon]);

  function toggle(id: string, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  }

  const chosen = (cameras ?? []).filter((c) => selected.has(c.id));
  // A marker is a toggle, like the camera's checkbox.
  const pick = useMemo(
    () =>
      canRequest
        ? (id: string) =>
            setSelected((now) => {
              const next = new Set(now);
              if (!next.delete(id)) next.add(id);
              return next;
            })
        : undefined,
    [canRequest],
  );

  return (
    <>
      <PageHeading>Cameras</PageHeading>
      <search class="camera-filters" aria-label="Find cameras">
        {mapSettings?.addressSearch && (
          <AddressSearch
            onPick={(place) => {
              setLat(place.latitude.toFixed(5));
              setLon(place.longitude.toFixed(5));
            }}
          />
        )}
        <div class="filter-row">
          <div class="field">
            <label for="camera-lat">Latitude</label>
            <input id="camera-lat" inputMode="decimal" value={lat} placeholder="51.50070" onInput={(e: TargetedEvent<HTMLInputElement>) => setLat(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="camera-lon">Longitude</label>
            <input id="camera-lon" inputMode="decimal" value={lon} placeholder="-0.12460" onInput={(e: TargetedEvent<HTMLInputElement>) => setLon(e.currentTarget.value)} />
          </div>
        </div>
        <div class="actions">
          <button type="button" onClick={useMyLocation} disabled={locating}>
            {locating ? "Locating…" : "Use my location"}
          </button>
          <button type="button" onClick={() => void load()}>
            Sort by distance
          </button>
        </div>
        <div class="field">
          <label for="camera-site">Site</label>
          <select id="camera-site" value={siteId} onChange={(e: TargetedEvent<HTMLSelectElement>) => setSiteId(e.currentTarget.value)}>
            <option value="">All sites</option>
            {sites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
      </search>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {!cameras && !error && <p class="muted">Loading cameras…</p>}
      {cameras && cameras.length === 0 && <p class="empty">No cameras yet. A site's agent lists its cameras here once it is enrolled.</p>}
      {cameras && cameras.length > 0 && mapSettings && <MapPanel settings={mapSettings} cameras={cameras} selected={selected} onPick={pick} here={sortedFrom} />}
      {cameras && cameras.length > 0 && (
        <fieldset class="camera-list">
          <legend>{canRequest ? "Choose cameras to request video from" : "Your site's cameras"}</legend>
          <ul>
            {cameras.map((c) => (
              <li key={c.id}>
                <label class="camera-item">
                  {canRequest && <input type="checkbox" checked={selected.has(c.id)} onChange={(e: TargetedEvent<HTMLInputElement>) => toggle(c.id, e.currentTarget.checked)} />}
                  <span>
                    <span class="camera-name">{c.name}</span>
                    <span class="camera-meta">{[c.site.name, distance(c.distanceMetres), facing(c.direction)].filter(Boolean).join(" · ")}</span>
                  </span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
      )}
      {cameras && <LoadMore hasMore={next !== null} loading={loadingMore} error={moreError} noun="cameras" onMore={() => void loadMore()} />}
      {canRequest && chosen.length > 0 && <RequestForm cameras={chosen} caseId={forCase} />}
    </>
  );
}

/** This device's time zone in words, e.g. "Europe/London (GMT+1)", for the times a person types. */
function timeZoneLabel(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const offset = new Intl.DateTimeFormat(undefined, { timeZoneName: "shortOffset" }).formatToParts(new Date()).find((p) => p.type === "timeZoneName")?.value;
  return offset ? `${zone} (${offset})` : zone;
}

function RequestForm(props: { cameras: Camera[]; caseId: string }) {
  const [cases, setCases] = useState<CaseSummary[]>();
  const now = Date.now();
  // No case is chosen for the investigator unless they came from one: a wrong default sends video to the wrong case.
  const [caseId, setCaseId] = useState(props.caseId);
  const [start, setStart] = useState(localInput(now - 60 * 60_000));
  const [end, setEnd] = useState(localInput(now - 30 * 60_000));
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  useEffect(() => {
    // The open cases you may add to, most recently changed first (up to 1,000).
    void allPages((cursor) => casesApi.list({ status: "open", limit: "200", ...(cursor ? { cursor } : {}) }).then((page) => ({ items: page.cases, nextCursor: page.nextCursor })), 5).then(
      (all) => {
        const mine = all.filter((c) => c.myRole !== "viewer");
        setCases(mine);
        setCaseId((chosen) => (mine.some((c) => c.id === chosen) ? chosen : ""));
      },
      (caught: unknown) => setError(messageOf(caught)),
    );
  }, []);

  const bySite = new Map<string, Camera[]>();
  for (const c of props.cameras) bySite.set(c.site.id, [...(bySite.get(c.site.id) ?? []), c]);

  async function send(event: Event) {
    event.preventDefault();
    const errors: Record<string, string> = {};
    const from = Date.parse(start);
    const to = Date.parse(end);
    if (!caseId) errors.caseId = "Choose the case the video is for.";
    if (Number.isNaN(from)) errors.start = "Enter the start.";
    if (Number.isNaN(to)) errors.end = "Enter the end.";
    else if (!(to > from)) errors.end = "The end must be after the start.";
    else if (to - from > MAX_REQUEST_MS) errors.end = "A request covers at most 2 hours. Split a longer range into several requests.";
    if (!reason.trim()) errors.reason = "Say why the video is needed.";
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    setError(undefined);
    try {
      for (const cameras of bySite.values()) {
        await videoApi.create({ caseId, cameraIds: cameras.map((c) => c.id), start: new Date(from).toISOString(), end: new Date(to).toISOString(), reason: reason.trim() });
      }
      navigate("/requests");
    } catch (caught) {
      if (caught instanceof ApiError) setFieldErrors(caught.fieldErrors);
      setError(messageOf(caught));
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="request-form-heading" class="card">
      <h2 id="request-form-heading">Request video</h2>
      <p>
        From {props.cameras.map((c) => c.name).join(", ")}
        {bySite.size > 1 ? ` (one request to each of ${bySite.size} sites)` : ""}.
      </p>
      <form aria-labelledby="request-form-heading" onSubmit={(e) => void send(e)} noValidate>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
        <Labelled id="request-case" label="Case" error={fieldErrors.caseId}>
          <select id="request-case" value={caseId} onChange={(e: TargetedEvent<HTMLSelectElement>) => setCaseId(e.currentTarget.value)}>
            <option value="">{cases?.length === 0 ? "No open case where you can add evidence" : "Choose a case"}</option>
            {cases?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.number}: {c.title}
              </option>
            ))}
          </select>
        </Labelled>
        <p class="hint" id="request-time-zone">
          Times are in this device's time zone: {timeZoneLabel()}.
        </p>
        <Labelled id="request-start" label="From" error={fieldErrors.start}>
          <input id="request-start" type="datetime-local" aria-describedby="request-time-zone" value={start} onInput={(e: TargetedEvent<HTMLInputElement>) => setStart(e.currentTarget.value)} />
        </Labelled>
        <Labelled id="request-end" label="To" error={fieldErrors.end} hint="At most 2 hours. Over 60 minutes arrives as 60-minute clips.">
          <input id="request-end" type="datetime-local" aria-describedby="request-time-zone" value={end} onInput={(e: TargetedEvent<HTMLInputElement>) => setEnd(e.currentTarget.value)} />
        </Labelled>
        <Labelled id="request-reason" label="Reason" error={fieldErrors.reason} hint="The site's operator reads this when deciding.">
          <textarea id="request-reason" rows={3} value={reason} onInput={(e: TargetedEvent<HTMLTextAreaElement>) => setReason(e.currentTarget.value)} />
        </Labelled>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Sending…" : "Send request"}
          </button>
        </div>
      </form>
    </section>
  );
}

/** Find a place by address through the organisation's geocoder; picking one sorts the cameras by distance from it. */
function AddressSearch(props: { onPick: (place: GeocodeResults["places"][number]) => void }) {
  const [address, setAddress] = useState("");
  const [places, setPlaces] = useState<GeocodeResults["places"]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function find(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setPlaces((await videoApi.geocode(address.trim())).places);
    } catch (caught) {
      setPlaces(undefined);
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="stack">
      <div class="field">
        <label for="camera-address">Address</label>
        <p id="camera-address-hint" class="hint">
          Sent to your organisation's address search service to find the place.
        </p>
        <input id="camera-address" value={address} aria-describedby="camera-address-hint" onInput={(e: TargetedEvent<HTMLInputElement>) => setAddress(e.currentTarget.value)} onKeyDown={(e) => e.key === "Enter" && void find(e)} />
      </div>
      <div class="actions">
        <button type="button" disabled={busy || address.trim().length < 3} onClick={(e) => void find(e)}>
          {busy ? "Finding…" : "Find address"}
        </button>
      </div>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {places && places.length === 0 && <p class="muted">No place found for that address. Try fewer words, or enter the coordinates.</p>}
      {places && places.length > 0 && (
        <ul aria-label="Places found" class="stack">
          {places.map((place) => (
            <li key={`${place.latitude},${place.longitude}`}>
              <button type="button" class="secondary" onClick={() => props.onPick(place)}>
                {place.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Labelled(props: { id: string; label: string; error?: string | undefined; hint?: string; children: preact.ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.hint && <p class="hint">{props.hint}</p>}
      {props.children}
      {props.error && <p class="field-error">{props.error}</p>}
    </div>
  );
}
