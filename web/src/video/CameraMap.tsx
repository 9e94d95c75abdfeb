/**
 * The Cameras screen's map (Leaflet, loaded only when the screen shows a map): the organisation's
 * tiles, a marker per located camera that points the way the camera faces, and the place the
 * list is sorted from. A marker is a button: clicking it (or Enter/Space) picks or unpicks that
 * camera for the request form (for a site operator, who can't request, markers are pictures).
 * Camera and site names reach the page only as attributes (never as HTML). If a whole view's
 * tiles fail to load, `onTilesFailed` tells the screen to hide the map.
 */
import * as L from "leaflet";
import "leaflet/dist/leaflet.css";
import { useEffect, useRef } from "preact/hooks";
import type { Camera } from "../../../shared/api/video";

export interface CameraMapProps {
  cameras: Camera[];
  tileUrl: string;
  attribution: string;
  selected: ReadonlySet<string>;
  /** Absent: markers only show (a site operator can't request). */
  onPick?: ((id: string) => void) | undefined;
  /** The place the list is sorted from, if any. */
  here: { latitude: number; longitude: number } | null;
  onTilesFailed: () => void;
}

function located(c: Camera): c is Camera & { latitude: number; longitude: number } {
  return c.latitude !== null && c.longitude !== null;
}

function markerIcon(direction: number | null): L.DivIcon {
  // Built as elements, the arrow turned through the CSSOM: the CSP allows no inline style attribute.
  const body = document.createElement("span");
  body.className = "camera-pin-body";
  if (direction !== null) {
    const arrow = body.appendChild(document.createElement("span"));
    arrow.className = "camera-pin-arrow";
    arrow.style.transform = `rotate(${Math.round(direction)}deg)`;
  }
  body.appendChild(document.createElement("span")).className = "camera-pin-dot";
  return L.divIcon({ className: "camera-pin", html: body, iconSize: [44, 44], iconAnchor: [22, 22] });
}

export default function CameraMap(props: CameraMapProps) {
  const box = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const layer = useRef<L.LayerGroup | null>(null);
  const latest = useRef(props);
  latest.current = props;

  // The map and its tiles, once per tile server.
  useEffect(() => {
    const m = L.map(box.current!, { zoomControl: true, attributionControl: true });
    m.attributionControl.setPrefix(false);
    const tiles = L.tileLayer(props.tileUrl, { attribution: escapeText(props.attribution), maxZoom: 19 });
    // A view whose tiles all failed (server down, offline): the map is no use; say so.
    let loaded = 0;
    let failed = 0;
    tiles.on("loading", () => {
      loaded = 0;
      failed = 0;
    });
    tiles.on("tileload", () => void loaded++);
    tiles.on("tileerror", () => void failed++);
    tiles.on("load", () => {
      if (failed > 0 && loaded === 0) latest.current.onTilesFailed();
    });
    tiles.addTo(m);
    layer.current = L.layerGroup().addTo(m);
    map.current = m;
    return () => {
      m.remove();
      map.current = null;
    };
  }, [props.tileUrl, props.attribution]);

  // Markers, and a view that fits them, whenever the cameras or the place change.
  useEffect(() => {
    const m = map.current;
    const group = layer.current;
    if (!m || !group) return;
    group.clearLayers();
    const cameras = props.cameras.filter(located);
    const pickable = props.onPick !== undefined;
    const points: L.LatLngExpression[] = cameras.map((c) => [c.latitude, c.longitude]);
    if (props.here) points.push([props.here.latitude, props.here.longitude]);
    // The view first: Leaflet adds layers to a map only once it has one.
    if (points.length === 1) m.setView(points[0]!, 16);
    else if (points.length > 1) m.fitBounds(L.latLngBounds(points), { padding: [32, 32], maxZoom: 17 });
    else m.setView([0, 0], 1);
    for (const camera of cameras) {
      const marker = L.marker([camera.latitude, camera.longitude], { icon: markerIcon(camera.direction), keyboard: pickable, interactive: pickable, title: camera.name, riseOnHover: pickable });
      marker.addTo(group);
      const el = marker.getElement()!;
      el.dataset.cameraId = camera.id;
      el.setAttribute("aria-label", `${camera.name}, ${camera.site.name}`);
      if (!pickable) {
        el.setAttribute("role", "img");
        continue;
      }
      const pick = () => latest.current.onPick?.(camera.id);
      marker.on("click", pick);
      el.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          pick();
        }
      });
    }
    if (props.here) L.circleMarker([props.here.latitude, props.here.longitude], { radius: 7, className: "map-here", interactive: false }).addTo(group);
  }, [props.cameras, props.here?.latitude, props.here?.longitude, props.tileUrl, props.onPick]);

  // Which markers are picked.
  useEffect(() => {
    for (const el of box.current?.querySelectorAll<HTMLElement>(".camera-pin") ?? []) {
      const on = props.selected.has(el.dataset.cameraId ?? "");
      el.classList.toggle("camera-pin-selected", on);
      if (props.onPick) el.setAttribute("aria-pressed", String(on));
    }
  }, [props.selected, props.cameras, props.tileUrl]);

  return <div ref={box} class="camera-map" role="region" aria-label="Map of cameras" />;
}

/** Leaflet shows attribution as HTML; the setting is plain text. */
function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
