import { describe, expect, it } from "vitest";
import { activeAt, boxAt, pixelBox, type Redact } from "../../web/src/redaction/regions";

const region: Redact = {
  type: "redact",
  shape: "rect",
  effect: "fill",
  from: 2,
  to: 10,
  keys: [
    { t: 2, x: 0.1, y: 0.2, w: 0.2, h: 0.2 },
    { t: 4, x: 0.3, y: 0.2, w: 0.4, h: 0.2 },
    { t: 8, x: 0.3, y: 0.6, w: 0.4, h: 0.2 },
  ],
};

describe("redaction regions (evidence-format §6.3)", () => {
  it("moves linearly between keys and holds before the first and after the last", () => {
    expect(boxAt(region, 0)).toEqual({ x: 0.1, y: 0.2, w: 0.2, h: 0.2 });
    expect(boxAt(region, 2)).toEqual({ x: 0.1, y: 0.2, w: 0.2, h: 0.2 });
    const mid = boxAt(region, 3);
    expect(mid.x).toBeCloseTo(0.2);
    expect(mid.w).toBeCloseTo(0.3);
    expect(boxAt(region, 4)).toEqual({ x: 0.3, y: 0.2, w: 0.4, h: 0.2 });
    expect(boxAt(region, 7).y).toBeCloseTo(0.5);
    expect(boxAt(region, 9)).toEqual({ x: 0.3, y: 0.6, w: 0.4, h: 0.2 });
  });

  it("covers its range inclusive; a region without a range (a photo's) always", () => {
    expect([1.99, 2, 6, 10, 10.01].map((t) => activeAt(region, t))).toEqual([false, true, true, true, false]);
    expect(activeAt({ ...region, from: undefined, to: undefined }, 1e6)).toBe(true);
  });

  it("rounds a box outwards to whole pixels inside the frame", () => {
    expect(pixelBox({ x: 0.101, y: 0.2, w: 0.2, h: 0.299 }, 1000, 100)).toEqual({ x: 101, y: 20, w: 201, h: 30 });
    expect(pixelBox({ x: 0.9, y: 0.9, w: 0.1001, h: 0.1001 }, 10, 10)).toEqual({ x: 9, y: 9, w: 1, h: 1 });
  });
});
