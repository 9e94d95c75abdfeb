// Tracking a redaction region through a video (web/src/redaction/track.ts), in headless Chromium,
// the real Worker: frames drawn here, a textured patch moving along a known path beside a
// distractor (another patch moving with it), on a textured background.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { boxAt } from "../../web/src/redaction/regions";
import { videoFrameReader, simplifyKeys, trackRegion } from "../../web/src/redaction/track";
import movingPatch from "./fixtures/moving-patch.webm?url";

const WIDTH = 640;
const HEIGHT = 360;
const SIDE = 60;
const STEP = 1 / 15;

/** A small deterministic random number generator (mulberry32), so every run draws the same frames. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A canvas of random blocks: `block` pixels each, grey levels in [low, high]. */
function texture(width: number, height: number, block: number, low: number, high: number, seed: number): OffscreenCanvas {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d")!;
  const next = random(seed);
  for (let y = 0; y < height; y += block)
    for (let x = 0; x < width; x += block) {
      const r = Math.round(low + next() * (high - low));
      const g = Math.round(low + next() * (high - low));
      const b = Math.round(low + next() * (high - low));
      context.fillStyle = `rgb(${r},${g},${b})`;
      context.fillRect(x, y, block, block);
    }
  return canvas;
}

const background = texture(WIDTH, HEIGHT, 12, 90, 150, 1);
const target = texture(SIDE, SIDE, 6, 0, 255, 2);
const distractor = texture(SIDE, SIDE, 6, 0, 255, 3);

/** Where the target's top left corner is at time t (pixels): across the frame, up and down. */
const path = (t: number) => ({ x: 60 + 200 * t, y: 110 + 60 * Math.sin(Math.PI * t) });
/** The target's box at t in fractions of the frame: what the tracker should give. */
const truth = (t: number) => ({ x: path(t).x / WIDTH, y: path(t).y / HEIGHT, w: SIDE / WIDTH, h: SIDE / HEIGHT });

/** The frame at t; the target is gone after `vanishAt`. The distractor moves with it, just below it. */
function frames(vanishAt = Infinity) {
  const canvas = new OffscreenCanvas(WIDTH, HEIGHT);
  const context = canvas.getContext("2d")!;
  return (t: number) => {
    const { x, y } = path(t);
    context.drawImage(background, 0, 0);
    context.drawImage(distractor, x + 8, y + SIDE + 6);
    if (t <= vanishAt) context.drawImage(target, x, y);
    return createImageBitmap(canvas);
  };
}

function expectOnPath(keys: { t: number; x: number; y: number; w: number; h: number }[], from: number, to: number) {
  for (let t = from; t <= to + 1e-9; t += STEP) {
    const got = boxAt({ keys }, t);
    const want = truth(t);
    expect(Math.abs(got.x - want.x), `across at ${t.toFixed(2)} s`).toBeLessThan(0.02);
    expect(Math.abs(got.y - want.y), `down at ${t.toFixed(2)} s`).toBeLessThan(0.02);
    expect(Math.abs(got.w / want.w - 1), `width at ${t.toFixed(2)} s`).toBeLessThan(0.15);
    expect(Math.abs(got.h / want.h - 1), `height at ${t.toFixed(2)} s`).toBeLessThan(0.15);
  }
}

describe("trackRegion follows a region through the frames", () => {
  it("forward, then backward, staying on the moving patch and not the one beside it", { timeout: 60_000 }, async () => {
    const progress: number[] = [];
    const forward = await trackRegion({ frameAt: frames(), box: truth(0), t0: 0, until: 2, step: STEP, onProgress: (p) => progress.push(p.fraction) });
    expect(forward.end).toBe("done");
    expect(forward.reached).toBeCloseTo(2, 6);
    expect(forward.keys[0]!.t).toBe(0);
    expect(forward.keys.every((k, i) => i === 0 || k.t > forward.keys[i - 1]!.t)).toBe(true);
    // Fewer keys than frames (steady movement needs few), yet the region stays on the patch.
    expect(forward.keys.length).toBeLessThan(31);
    expectOnPath(forward.keys, 0, 2);
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((f, i) => i === 0 || f > progress[i - 1]!)).toBe(true);

    const backward = await trackRegion({ frameAt: frames(), box: truth(1.5), t0: 1.5, until: 0.5, step: STEP });
    expect(backward.end).toBe("done");
    expect(backward.keys[0]!.t).toBeCloseTo(0.5, 6);
    expect(backward.keys.at(-1)!.t).toBe(1.5);
    expectOnPath(backward.keys, 0.5, 1.5);
  });

  it("stops with 'lost' when the patch disappears, its keys right up to then", { timeout: 60_000 }, async () => {
    const result = await trackRegion({ frameAt: frames(1), box: truth(0), t0: 0, until: 2, step: STEP });
    expect(result.end).toBe("lost");
    expect(result.lostAt).toBeGreaterThan(1);
    expect(result.lostAt).toBeLessThan(1 + 2 * STEP);
    expect(result.reached).toBeLessThanOrEqual(1 + 1e-9);
    expect(result.reached).toBeGreaterThan(1 - 2 * STEP);
    expectOnPath(result.keys, 0, result.reached);
  });

  it("stops when cancelled, keeping the keys so far", { timeout: 60_000 }, async () => {
    const controller = new AbortController();
    const result = await trackRegion({
      frameAt: frames(),
      box: truth(0),
      t0: 0,
      until: 2,
      step: STEP,
      signal: controller.signal,
      onProgress: (p) => p.t >= 0.5 && controller.abort(),
    });
    expect(result.end).toBe("cancelled");
    expect(result.reached).toBeCloseTo(0.533333, 5);
    expectOnPath(result.keys, 0, result.reached);
  });
});

describe("simplifyKeys", () => {
  it("drops keys that steady movement gives, keeps the turns", () => {
    const keys = [0, 1, 2, 3, 4, 5, 6].map((t) => ({ t, x: t <= 3 ? 0.1 * t : 0.3 - 0.05 * (t - 3), y: 0.2, w: 0.1, h: 0.1 }));
    expect(simplifyKeys(keys, 0.001).map((k) => k.t)).toEqual([0, 3, 6]);
    expect(simplifyKeys(keys, 0)).toHaveLength(7);
  });
});

describe("videoFrameReader gives trackRegion the frames of a real video", () => {
  // 2 s, 25 frames a second, 320 × 180 VP9: a 40-pixel test pattern on grey, its top left corner at
  // (40 + 100 t, 70 + 20 sin(π t)) pixels. Made with ffmpeg:
  //   ffmpeg -f lavfi -i "color=c=0x808080:s=320x180:d=2:r=25" -f lavfi -i "testsrc2=s=40x40:r=25:d=2" -filter_complex
  //     "[1]trim=end_frame=1,loop=loop=-1:size=1,setpts=N/25/TB[p];[0][p]overlay=x='40+100*t':y='70+20*sin(PI*t)':eval=frame:shortest=1,format=yuv420p"
  //     -c:v libvpx-vp9 -b:v 300k moving-patch.webm
  it("follows the pattern frame by frame", { timeout: 60_000 }, async () => {
    const reader = await videoFrameReader(movingPatch);
    const shown = (t: number) => Math.floor(t * 25 + 1e-6) / 25; // the frame on screen at t started then
    const where = (t: number) => ({ x: (40 + 100 * shown(t)) / 320, y: (70 + 20 * Math.sin(Math.PI * shown(t))) / 180, w: 40 / 320, h: 40 / 180 });
    try {
      // Mid-frame times, so each time falls inside one frame without doubt.
      const result = await trackRegion({ frameAt: reader.frameAt, box: where(0.02), t0: 0.02, until: 1.9, step: 1 / 25 });
      expect(result.end).toBe("done");
      for (let t = 0.02; t <= 1.9; t += 1 / 25) {
        const got = boxAt(result, t);
        expect(Math.abs(got.x - where(t).x), `across at ${t.toFixed(2)} s`).toBeLessThan(0.02);
        expect(Math.abs(got.y - where(t).y), `down at ${t.toFixed(2)} s`).toBeLessThan(0.02);
      }
    } finally {
      reader.close();
    }
  });
});
