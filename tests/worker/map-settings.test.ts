/**
 * The Cameras map's tile server setting: OpenStreetMap by default, changed or turned off by an
 * administrator only (audited), validated (https or localhost, {z} {x} {y}), and readable by
 * every signed-in user, whose browser fetches the tiles.
 */
import { db } from "./backend";
import { describe, expect, inject, it } from "vitest";
import type { OrgSettings } from "../../shared/api/identity";
import type { GeocodeResults, MapSettings } from "../../shared/api/map";
import { auditEvents } from "./audit-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";

declare module "vitest" {
  export interface ProvidedContext {
    /** The stand-in Nominatim geocoder's search URL (tests/support/geocoder-global-setup.ts). */
    geocoderUrl: string;
  }
}

const OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

async function mapSettings(cookie: string): Promise<MapSettings> {
  const response = await call("/api/settings/map", { cookie });
  expect(response.status).toBe(200);
  return (await response.json()) as MapSettings;
}

const storedRow = () => db.prepare("SELECT map_tile_url, map_attribution FROM org_settings").all();

describe("map tile settings", () => {
  it("defaults to OpenStreetMap, and every signed-in user reads the map's part", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const olive = await addUser(admin.cookie, { email: "olive@example.org", name: "Olive", role: "site_operator" });
    for (const person of [admin, ivy, olive]) expect(await mapSettings(person.cookie)).toEqual({ tileUrl: OSM, attribution: "© OpenStreetMap contributors", addressSearch: false });
    expect(((await (await call("/api/settings", { cookie: admin.cookie })).json()) as OrgSettings).mapTileUrl).toBe(OSM);
    // Not signed in: nothing.
    await expectError(await call("/api/settings/map"), 401);
  });

  it("lets an administrator set their own tile server (audited), then turn the map off", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const own = "https://tiles.example.org/osm/{z}/{x}/{y}.png?key=abc";
    const saved = await call("/api/settings", { method: "PUT", body: { mapTileUrl: `  ${own} `, mapAttribution: "© Example Maps" }, cookie: admin.cookie });
    expect(saved.status).toBe(200);
    expect((await saved.json()) as OrgSettings).toMatchObject({ mapTileUrl: own, mapAttribution: "© Example Maps", idleTimeoutMinutes: 30, mfaRequired: true });
    expect(await mapSettings(ivy.cookie)).toEqual({ tileUrl: own, attribution: "© Example Maps", addressSearch: false });

    // Local tile servers over http are fine (development, an on-site tile server).
    const local = "http://localhost:8080/tiles/{z}/{x}/{y}.png";
    expect((await call("/api/settings", { method: "PUT", body: { mapTileUrl: local }, cookie: admin.cookie })).status).toBe(200);
    expect((await mapSettings(ivy.cookie)).tileUrl).toBe(local);

    // Off: the map's part says so, and the other settings are untouched.
    const off = await call("/api/settings", { method: "PUT", body: { mapTileUrl: null }, cookie: admin.cookie });
    expect((await off.json()) as OrgSettings).toMatchObject({ mapTileUrl: null, mapAttribution: "© Example Maps", idleTimeoutMinutes: 30 });
    expect(await mapSettings(ivy.cookie)).toEqual({ tileUrl: null, attribution: "© Example Maps", addressSearch: false });

    const changes = (await auditEvents()).filter((e) => e.action === "settings.change").map((e) => e.details);
    expect(changes).toEqual([
      { changed: { mapTileUrl: { from: OSM, to: own }, mapAttribution: { from: "© OpenStreetMap contributors", to: "© Example Maps" } } },
      { changed: { mapTileUrl: { from: own, to: local } } },
      { changed: { mapTileUrl: { from: local, to: null } } },
    ]);
  });

  it("refuses tile URLs that are not https (except localhost), lack {z} {x} {y}, or are not URLs, changing nothing", async () => {
    const admin = await setUpOrganisation();
    const bad: [unknown, RegExp][] = [
      ["http://tiles.example.org/{z}/{x}/{y}.png", /https/],
      ["ftp://localhost/{z}/{x}/{y}.png", /https/],
      ["https://tiles.example.org/{z}/{x}.png", /\{y\}/],
      ["https://tiles.example.org/tile.png", /\{z\}, \{x\}, \{y\}/],
      ["https://tiles.example.org/{z}/{x}/{y}.png?key={apikey}", /Unknown placeholder \{apikey\}/],
      ["https://user:secret@tiles.example.org/{z}/{x}/{y}.png", /user name or password/],
      ["tiles.example.org/{z}/{x}/{y}.png", /full URL/],
      ["javascript:alert(1)//{z}/{x}/{y}", /https/],
      ["", /turn the map off/],
      [`https://tiles.example.org/${"a".repeat(1000)}/{z}/{x}/{y}.png`, /1000/],
      [42, /./],
    ];
    for (const [mapTileUrl, message] of bad) {
      const error = await expectError(await call("/api/settings", { method: "PUT", body: { mapTileUrl }, cookie: admin.cookie }), 400, "validation_failed");
      expect(error.error.issues?.find((i) => i.path === "mapTileUrl")?.message, String(mapTileUrl)).toMatch(message);
    }
    await expectError(await call("/api/settings", { method: "PUT", body: { mapAttribution: "x".repeat(301) }, cookie: admin.cookie }), 400, "validation_failed");
    expect((await storedRow()).results).toEqual([]);
    expect((await auditEvents()).filter((e) => e.action === "settings.change")).toEqual([]);
    expect((await mapSettings(admin.cookie)).tileUrl).toBe(OSM);
  });

  it("lets no one but an administrator change it", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const olive = await addUser(admin.cookie, { email: "olive@example.org", name: "Olive", role: "site_operator" });
    const body = { mapTileUrl: "https://evil.example.net/{z}/{x}/{y}.png" };
    for (const person of [ivy, olive]) {
      await expectError(await call("/api/settings", { method: "PUT", body, cookie: person.cookie }), 403, "forbidden");
      await expectError(await call("/api/settings", { cookie: person.cookie }), 403, "forbidden");
    }
    await expectError(await call("/api/settings", { method: "PUT", body }), 401);
    expect((await storedRow()).results).toEqual([]);
    expect((await mapSettings(ivy.cookie)).tileUrl).toBe(OSM);
  });

  it("finds places by address through the geocoder an administrator sets (off by default), sending only the address typed", async () => {
    const geocoderUrl = inject("geocoderUrl");
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    const search = (q: string) => call(`/api/settings/map/geocode?${new URLSearchParams({ q })}`, { cookie: ivy.cookie });
    await expectError(await search("1 Quay Street"), 404, "address_search_off");
    expect(((await (await call("/api/settings", { cookie: admin.cookie })).json()) as OrgSettings).geocoderUrl).toBeNull();

    await expectError(await call("/api/settings", { method: "PUT", body: { geocoderUrl: "http://geocoder.example.org/search" }, cookie: admin.cookie }), 400);
    expect((await call("/api/settings", { method: "PUT", body: { geocoderUrl }, cookie: admin.cookie })).status).toBe(200);
    expect((await mapSettings(ivy.cookie)).addressSearch).toBe(true);
    const changed = (await auditEvents()).filter((e) => e.action === "settings.change").at(-1)!;
    expect((changed.details as { changed: Record<string, unknown> }).changed).toEqual({ geocoderUrl: { from: null, to: geocoderUrl } });

    const found = await search("1 Quay Street");
    expect(found.status, await found.clone().text()).toBe(200);
    expect((await found.json()) as GeocodeResults).toEqual({ places: [{ label: "Quay Street, Harbourside, Northshire", latitude: 51.4545, longitude: -2.5879 }] });
    expect(((await search("Nowhere Lane").then((r) => r.json())) as GeocodeResults).places).toEqual([]);
    const failed = await expectError(await search("unavailable"), 502, "geocoder_failed");
    expect(failed.error.message).toContain("HTTP 503");
    await expectError(await search("ab"), 400);
    const asked = (await (await fetch(new URL("/asked", geocoderUrl))).json()) as { q: string; format: string; userAgent: string }[];
    expect(asked.at(-3)).toEqual({ q: "1 Quay Street", format: "jsonv2", userAgent: "Custody evidence system (address search)" });

    expect((await call("/api/settings", { method: "PUT", body: { geocoderUrl: null }, cookie: admin.cookie })).status).toBe(200);
    await expectError(await search("1 Quay Street"), 404, "address_search_off");
  });
});
