import { describe, expect, it } from "vitest";
import { DerivedFrom } from "../../shared/crypto/manifest";
import { applyAudioRanges, BLEEP_LEVEL } from "../../web/src/redaction/video/audio";
import { newRegion, operationsOf, regionFromKeys, removeKeyAt, setKeyAt, withTrackedKeys } from "../../web/src/redaction/video/edit";

const SHA = "ab".repeat(64);

describe("video redaction edit (evidence-format §6.3)", () => {
  it("adds a key where a region is moved, replaces the key at the same time, keeps keys in order and widens the range", () => {
    let region = newRegion("rect", "fill", 1, { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }, 5);
    region = setKeyAt(region, 3, { x: 0.5, y: 0.1, w: 0.2, h: 0.2 });
    region = setKeyAt(region, 2, { x: 0.3, y: 0.1, w: 0.2, h: 0.2 });
    region = setKeyAt(region, 3.0004, { x: 0.6, y: 0.1, w: 0.2, h: 0.2 });
    expect(region.keys.map((k) => [k.t, k.x])).toEqual([[1, 0.1], [2, 0.3], [3, 0.6]]);
    region = setKeyAt(region, 7, { x: 0.95, y: 0.95, w: 0.2, h: 0.2 });
    // Kept inside the frame; the range now reaches the new key.
    expect(region.keys.at(-1)).toEqual({ t: 7, x: 0.8, y: 0.8, w: 0.2, h: 0.2 });
    expect([region.from, region.to]).toEqual([1, 7]);
    expect(removeKeyAt(region, 2).keys.map((k) => k.t)).toEqual([1, 3, 7]);
  });

  it("takes a tracker's keys as a region: sorted, one per time, range from the first to the last", () => {
    const region = regionFromKeys("ellipse", "blur", [{ t: 2, x: 0.2, y: 0.2, w: 0.1, h: 0.1 }, { t: 1, x: 0.1, y: 0.2, w: 0.1, h: 0.1 }, { t: 2, x: 0.3, y: 0.2, w: 0.1, h: 0.1 }]);
    expect(region.keys.map((k) => k.t)).toEqual([1, 2]);
    expect([region.from, region.to]).toEqual([1, 2]);
  });

  it("replaces a region's keys from the playhead on with a tracker's, keeping the earlier ones and the range", () => {
    let region = newRegion("rect", "fill", 1, { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }, 6);
    region = setKeyAt(region, 2, { x: 0.2, y: 0.1, w: 0.2, h: 0.2 });
    region = setKeyAt(region, 4, { x: 0.9, y: 0.9, w: 0.2, h: 0.2 });
    const tracked = [{ t: 3, x: 0.3, y: 0.1, w: 0.2, h: 0.2 }, { t: 5.0004, x: 0.5, y: 0.1, w: 0.2, h: 0.2 }];
    const next = withTrackedKeys(region, 3, tracked);
    expect(next.keys.map((k) => [k.t, k.x])).toEqual([[1, 0.1], [2, 0.2], [3, 0.3], [5, 0.5]]);
    expect([next.from, next.to, next.shape, next.effect]).toEqual([1, 6, "rect", "fill"]);
    // Nothing tracked: the region as it was.
    expect(withTrackedKeys(region, 3, [])).toBe(region);
  });

  it("makes operations the manifest accepts: trim first, regions outside the trim left out, bad ranges refused", () => {
    const inside = newRegion("rect", "pixelate", 2, { x: 0, y: 0, w: 0.5, h: 0.5 }, 4);
    const outside = newRegion("rect", "fill", 9, { x: 0, y: 0, w: 0.5, h: 0.5 }, 9.5);
    const ops = operationsOf({ regions: [inside, outside], audio: [{ type: "audio", effect: "bleep", from: 3, to: 3.5 }], trim: { from: 1, to: 8 } }, 10);
    expect(ops.map((o) => o.type)).toEqual(["trim", "redact", "audio"]);
    expect(DerivedFrom.safeParse({ evidenceId: "e1", sha512: SHA, operations: ops }).success).toBe(true);
    expect(() => operationsOf({ regions: [], audio: [] }, 10)).toThrow(/mark a region/);
    expect(() => operationsOf({ regions: [], audio: [], trim: { from: 5, to: 5 } }, 10)).toThrow(/trim/);
  });
});

describe("audio ranges on decoded samples", () => {
  it("mutes exactly the frames in the range and bleeps with a 1 kHz tone, on every channel", () => {
    const rate = 1000;
    const data = new Float32Array(2 * 1000).fill(0.5); // 1 s of stereo from t0 = 10 s
    applyAudioRanges(data, 2, rate, 10, [
      { type: "audio", effect: "mute", from: 10.1, to: 10.2 },
      { type: "audio", effect: "mute", from: 20, to: 21 },
    ]);
    const frame = (i: number) => [data[i * 2], data[i * 2 + 1]];
    expect(frame(99)).toEqual([0.5, 0.5]);
    expect(frame(100)).toEqual([0, 0]);
    expect(frame(199)).toEqual([0, 0]);
    expect(frame(200)).toEqual([0.5, 0.5]);
    expect(frame(999)).toEqual([0.5, 0.5]);
    // A bleep at 8 kHz sampling: the tone replaces the sound, at its level, the same on both channels.
    const fine = new Float32Array(2 * 8000).fill(0.5);
    applyAudioRanges(fine, 2, 8000, 0, [{ type: "audio", effect: "bleep", from: 0.5, to: 0.6 }]);
    const bleep = Array.from({ length: 800 }, (_, k) => fine[(4000 + k) * 2]!);
    expect(Math.max(...bleep)).toBeCloseTo(BLEEP_LEVEL, 3);
    expect(Array.from({ length: 800 }, (_, k) => fine[(4000 + k) * 2 + 1])).toEqual(bleep);
    // Eight samples a period: crossing zero twice every 8 samples, 1000 times a second.
    expect(bleep.slice(0, 8).map((v) => Math.round((v / BLEEP_LEVEL) * 1000) / 1000 + 0)).toEqual([0, 0.707, 1, 0.707, 0, -0.707, -1, -0.707]);
    expect(fine[3999 * 2]).toBe(0.5);
    expect(fine[4800 * 2]).toBe(0.5);
  });
});
