/**
 * The Cameras map's tile maths (Web Mercator, the OpenStreetMap scheme) and tile URL template
 * filling, which the app uses to probe one tile before it shows the map.
 */
import { describe, expect, it } from "vitest";
import { tileFor, tileUrl, TileUrlTemplate } from "../../shared/api/map";

describe("tile maths", () => {
  it("finds the tile holding a point, as the slippy-map scheme numbers them", () => {
    expect(tileFor(51.5007, -0.1246, 0)).toEqual({ x: 0, y: 0 });
    // Quadrants at zoom 1: north-west is (0, 0), south-east is (1, 1).
    expect(tileFor(10, -10, 1)).toEqual({ x: 0, y: 0 });
    expect(tileFor(-10, 10, 1)).toEqual({ x: 1, y: 1 });
    // Westminster at zoom 15 and 16, as the other form of the formula gives them
    // (x = ⌊(lon + 180) / 360 · 2^z⌋, y = ⌊(1 − asinh(tan lat) / π) / 2 · 2^z⌋, worked out apart).
    expect(tileFor(51.5007, -0.1246, 15)).toEqual({ x: 16372, y: 10897 });
    expect(tileFor(51.5007, -0.1246, 16)).toEqual({ x: 32745, y: 21794 });
    // The edges stay on the map: the poles and the antimeridian clamp to the last tile.
    expect(tileFor(90, 180, 3)).toEqual({ x: 7, y: 0 });
    expect(tileFor(-90, -180, 3)).toEqual({ x: 0, y: 7 });
  });

  it("fills a template's placeholders", () => {
    expect(tileUrl("https://tile.openstreetmap.org/{z}/{x}/{y}.png", { z: 15, x: 16372, y: 10895 })).toBe("https://tile.openstreetmap.org/15/16372/10895.png");
    expect(tileUrl("https://{s}.tiles.example.org/{z}/{y}/{x}{r}.png?v={z}", { z: 2, x: 1, y: 3 })).toBe("https://a.tiles.example.org/2/3/1.png?v=2");
  });

  it("accepts https templates and localhost ones, and refuses the rest", () => {
    for (const ok of ["https://tile.openstreetmap.org/{z}/{x}/{y}.png", "http://localhost:8080/{z}/{x}/{y}.png", "http://127.0.0.1/{z}/{x}/{y}", "https://{s}.example.org/{z}/{x}/{y}{r}.png?key=abc"]) {
      expect(TileUrlTemplate.safeParse(ok).success, ok).toBe(true);
    }
    for (const bad of ["http://example.org/{z}/{x}/{y}.png", "http://localhost.example.org/{z}/{x}/{y}.png", "https://example.org/{z}/{x}.png", "https://example.org/{z}/{x}/{y}/{q}.png", "https://a:b@example.org/{z}/{x}/{y}", "/{z}/{x}/{y}.png", "data:image/png,{z}{x}{y}"]) {
      expect(TileUrlTemplate.safeParse(bad).success, bad).toBe(false);
    }
  });
});
