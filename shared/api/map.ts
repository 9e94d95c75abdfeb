/**
 * The Cameras screen's map: the organisation's tile server setting (a URL template and its
 * attribution text) and the Web Mercator tile maths the app uses to probe one tile before
 * showing the map. Pure: no DOM, usable by the worker and the web app.
 */
import { z } from "zod";
import { isLoopbackUrl } from "./oidc";

/**
 * The default tile server: OpenStreetMap's own, so the map works without configuration. Every
 * tile request tells the tile server which area an investigator looks at; an organisation that
 * must not disclose that sets its own tile server, or turns the map off (docs/agent.md).
 */
export const DEFAULT_MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
export const DEFAULT_MAP_ATTRIBUTION = "© OpenStreetMap contributors";

/** Placeholders a template may use: zoom, column, row, and Leaflet's subdomain and retina suffix. */
const PLACEHOLDERS = new Set(["z", "x", "y", "s", "r"]);

export const TileUrlTemplate = z
  .string()
  .trim()
  .min(1, "Enter the tile URL, or turn the map off.")
  .max(1000, "At most 1000 characters.")
  .superRefine((template, ctx) => {
    let url: URL;
    try {
      url = new URL(template);
    } catch {
      return void ctx.addIssue({ code: "custom", message: "Enter a full URL, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png." });
    }
    if (!(url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(template)))) {
      ctx.addIssue({ code: "custom", message: "The tile URL must start with https:// (http:// only for localhost)." });
    }
    if (url.username || url.password) ctx.addIssue({ code: "custom", message: "Put no user name or password in the tile URL." });
    const used = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
    const missing = ["z", "x", "y"].filter((p) => !used.includes(p));
    if (missing.length > 0) ctx.addIssue({ code: "custom", message: `The tile URL must contain ${missing.map((p) => `{${p}}`).join(", ")}.` });
    const unknown = used.filter((p) => !PLACEHOLDERS.has(p));
    if (unknown.length > 0) ctx.addIssue({ code: "custom", message: `Unknown placeholder ${unknown.map((p) => `{${p}}`).join(", ")}: use {z}, {x}, {y} (and {s}, {r}).` });
  })
  .meta({ id: "TileUrlTemplate", description: "A slippy-map tile URL with {z}, {x} and {y}; https only (http for localhost)." });

export const MapAttribution = z.string().trim().max(300, "At most 300 characters.").meta({ description: "Plain text shown in the map's corner, as the tile server's licence asks." });

/** What the Cameras screen needs; `tileUrl` null means the map is off. */
export const MapSettings = z
  .object({
    tileUrl: z.string().nullable(),
    attribution: z.string(),
    addressSearch: z.boolean().meta({ description: "An address search (geocoder) is configured: GET /api/settings/map/geocode answers." }),
  })
  .meta({ id: "MapSettings" });
export type MapSettings = z.infer<typeof MapSettings>;

// ---- Address search (a Nominatim-compatible geocoder, off by default)

/**
 * The geocoder's search URL (Nominatim's `/search`, or any service answering its JSON): https,
 * or http only for localhost. Every address typed in the Cameras screen's search is sent to it.
 */
export const GeocoderUrl = z
  .string()
  .trim()
  .min(1, "Enter the geocoder's search URL, or leave address search off.")
  .max(1000, "At most 1000 characters.")
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return void ctx.addIssue({ code: "custom", message: "Enter a full URL, e.g. https://nominatim.openstreetmap.org/search." });
    }
    if (!(url.protocol === "https:" || (url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1")))) {
      ctx.addIssue({ code: "custom", message: "The geocoder URL must start with https:// (http:// only for localhost)." });
    }
    if (url.username || url.password) ctx.addIssue({ code: "custom", message: "Put no user name or password in the geocoder URL." });
  })
  .meta({ id: "GeocoderUrl", description: "A Nominatim-compatible search URL; https only (http for localhost)." });

export const GeocodeQuery = z.strictObject({ q: z.string().trim().min(3, "Type at least 3 characters of the address.").max(200, "At most 200 characters.") }).meta({ id: "GeocodeQuery" });

export const GeocodeResults = z
  .object({ places: z.array(z.object({ label: z.string(), latitude: z.number(), longitude: z.number() })) })
  .meta({ id: "GeocodeResults", description: "Up to 5 places the geocoder found for the address, best first." });
export type GeocodeResults = z.infer<typeof GeocodeResults>;

/** One place in Nominatim's JSON answer (`format=jsonv2`): coordinates as decimal strings. */
const NominatimPlace = z.object({ display_name: z.string().max(1000), lat: z.string().regex(/^-?\d+(\.\d+)?$/), lon: z.string().regex(/^-?\d+(\.\d+)?$/) });

/** The places in a Nominatim answer, as the API gives them; null when the answer is not Nominatim's shape. */
export function placesFromNominatim(answer: unknown): GeocodeResults["places"] | null {
  const parsed = z.array(NominatimPlace).safeParse(answer);
  if (!parsed.success) return null;
  return parsed.data
    .map((p) => ({ label: p.display_name, latitude: Number(p.lat), longitude: Number(p.lon) }))
    .filter((p) => Math.abs(p.latitude) <= 90 && Math.abs(p.longitude) <= 180)
    .slice(0, 5);
}

/** The request URL for `address` at the configured search URL (its own query parameters kept). */
export function geocoderRequestUrl(searchUrl: string, address: string): string {
  const url = new URL(searchUrl);
  url.searchParams.set("q", address);
  url.searchParams.set("format", "jsonv2");
  url.searchParams.set("limit", "5");
  return url.toString();
}

// ---- Web Mercator tile maths (the scheme OpenStreetMap and most tile servers use)

/** The tile (column, row) that holds a point at a zoom level. */
export function tileFor(latitude: number, longitude: number, zoom: number): { x: number; y: number } {
  const n = 2 ** zoom;
  const lat = Math.max(-85.05112878, Math.min(85.05112878, latitude)) * (Math.PI / 180);
  const x = Math.floor(((longitude + 180) / 360) * n);
  const y = Math.floor(((1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2) * n);
  return { x: Math.min(n - 1, Math.max(0, x)), y: Math.min(n - 1, Math.max(0, y)) };
}

/** A template with its placeholders filled ({s} is the first subdomain, {r} no retina suffix). */
export function tileUrl(template: string, tile: { x: number; y: number; z: number }): string {
  const values: Record<string, string> = { z: String(tile.z), x: String(tile.x), y: String(tile.y), s: "a", r: "" };
  return template.replace(/\{([zxysr])\}/g, (_, p: string) => values[p]!);
}
