import { describe, expect, it } from "vitest";
import { FaceLinker, linkFaceTracks, predictBox, trackKeys, type FaceSample } from "../../web/src/redaction/face-tracks";
import { faceMargin, type Box } from "../../web/src/redaction/regions";
import { regionFromKeys } from "../../web/src/redaction/video/edit";
import { boxAt } from "../../web/src/redaction/regions";

const STEP = 0.5;
const face = (x: number, y: number, score = 0.9, w = 0.1, h = 0.15) => ({ box: { x, y, w, h }, score });
/** Samples every STEP seconds from 0, each with the faces `at(i)` gives. */
const samples = (count: number, at: (i: number) => ReturnType<typeof face>[]): FaceSample[] => Array.from({ length: count }, (_, i) => ({ t: i * STEP, faces: at(i) }));
const near = (a: Box, b: Box, within = 1e-9) => Math.max(Math.abs(a.x - b.x), Math.abs(a.y - b.y), Math.abs(a.w - b.w), Math.abs(a.h - b.h)) <= within;

describe("face tracks from sampled detections", () => {
  it("one face moving steadily is one track, its range widened by a step each side (within the pass)", () => {
    const tracks = linkFaceTracks(
      samples(10, (i) => [face(0.1 + 0.05 * i, 0.3)]),
      { step: STEP, start: 0, end: 4.6 },
    );
    expect(tracks).toHaveLength(1);
    const [track] = tracks;
    expect(track!.sightings.map((s) => s.t)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
    expect(track!.from).toBe(0); // not before the pass's start
    expect(track!.to).toBe(4.6); // 4.5 + 0.5, kept to the pass's end
    // Half a step instead, if asked.
    expect(linkFaceTracks(samples(10, (i) => [face(0.1 + 0.05 * i, 0.3)]), { step: STEP, start: 0, end: 10, pad: 0.25 }).map((t) => [t.from, t.to])).toEqual([[0, 4.75]]);
  });

  it("two faces side by side make two tracks, each with its own detections", () => {
    const tracks = linkFaceTracks(
      samples(6, (i) => [face(0.2, 0.3 + 0.01 * i), face(0.6, 0.3 - 0.01 * i, 0.8)]),
      { step: STEP, start: 0, end: 3 },
    );
    expect(tracks).toHaveLength(2);
    expect(tracks.every((t) => t.sightings.length === 6)).toBe(true);
    expect(tracks.map((t) => t.sightings.every((s) => s.box.x === t.sightings[0]!.box.x))).toEqual([true, true]);
  });

  it("a face missed for up to two samples stays one track; missed for three, it comes back as a new one", () => {
    const seen = (missing: number[]) => samples(10, (i) => (missing.includes(i) ? [] : [face(0.1 + 0.03 * i, 0.4)]));
    const bridged = linkFaceTracks(seen([4, 5]), { step: STEP, start: 0, end: 5 });
    expect(bridged).toHaveLength(1);
    expect(bridged[0]!.sightings).toHaveLength(8);
    const split = linkFaceTracks(seen([4, 5, 6]), { step: STEP, start: 0, end: 5 });
    expect(split.map((t) => [t.from, t.to, t.sightings.length])).toEqual([
      [0, 2, 4],
      [3, 5, 3],
    ]);
    // The gap tolerance is a setting.
    expect(linkFaceTracks(seen([4, 5]), { step: STEP, start: 0, end: 5, maxGap: 1 })).toHaveLength(2);
  });

  it("two faces crossing keep their own tracks: each is expected where its speed takes it", () => {
    // A goes right, B left, 0.1 a sample; they pass each other between samples 3 and 4 (A at 0.4 then 0.5, B at 0.55 then 0.45).
    const a = (i: number) => face(0.1 + 0.1 * i, 0.4);
    const b = (i: number) => face(0.85 - 0.1 * i, 0.42, 0.8);
    const tracks = linkFaceTracks(samples(8, (i) => [a(i), b(i)]), { step: STEP, start: 0, end: 4 });
    expect(tracks).toHaveLength(2);
    const [left, right] = tracks.sort((p, q) => p.sightings[0]!.box.x - q.sightings[0]!.box.x);
    expect(left!.sightings.map((s) => s.box.x)).toEqual(Array.from({ length: 8 }, (_, i) => a(i).box.x));
    expect(right!.sightings.map((s) => s.box.x)).toEqual(Array.from({ length: 8 }, (_, i) => b(i).box.x));

    // At the crossing one hides the other for a sample: the hidden one's track has a gap and goes on.
    const hidden = linkFaceTracks(samples(8, (i) => (i === 4 ? [a(i)] : [a(i), b(i)])), { step: STEP, start: 0, end: 4 });
    expect(hidden).toHaveLength(2);
    const [p, q] = hidden.sort((m, n) => m.sightings[0]!.box.x - n.sightings[0]!.box.x);
    expect(p!.sightings.map((s) => s.box.x)).toEqual(Array.from({ length: 8 }, (_, i) => a(i).box.x));
    expect(q!.sightings.map((s) => s.t)).toEqual([0, 0.5, 1, 1.5, 2.5, 3, 3.5]);
    expect(q!.sightings.map((s) => s.box.x)).toEqual([0, 1, 2, 3, 5, 6, 7].map((i) => b(i).box.x));
  });

  it("a weak detection seen once is dropped as a blip; a sure one seen once is kept; a weak one seen twice is kept", () => {
    const tracks = linkFaceTracks(
      samples(6, (i) => [face(0.1, 0.1), ...(i === 2 ? [face(0.7, 0.7, 0.45)] : []), ...(i === 3 ? [face(0.4, 0.6, 0.7)] : []), ...(i === 4 || i === 5 ? [face(0.75, 0.2, 0.42)] : [])]),
      { step: STEP, start: 0, end: 3 },
    );
    expect(tracks.map((t) => [t.sightings[0]!.box.x, t.sightings.length])).toEqual([
      [0.1, 6],
      [0.4, 1],
      [0.75, 2],
    ]);
    expect(tracks[1]!.best.score).toBe(0.7);
  });

  it("a size jump or a far detection starts another track rather than joining", () => {
    const tracks = linkFaceTracks(
      [
        { t: 0, faces: [face(0.1, 0.1)] },
        { t: 0.5, faces: [face(0.1, 0.1, 0.9, 0.3, 0.45)] },
      ],
      { step: STEP, start: 0, end: 1 },
    );
    expect(tracks).toHaveLength(2);
  });

  it("says, sample by sample, which track each face joined, and counts the faces so far", () => {
    const linker = new FaceLinker({ step: STEP, start: 0, end: 2 });
    expect(linker.add({ t: 0, faces: [face(0.1, 0.1), face(0.6, 0.1)] })).toEqual([1, 2]);
    expect(linker.add({ t: 0.5, faces: [face(0.62, 0.1), face(0.12, 0.1), face(0.3, 0.7)] })).toEqual([2, 1, 3]);
    expect(linker.count).toBe(3);
    // Stopped at 0.5 s: the tracks end a step later at most.
    expect(linker.tracks(0.5).map((t) => t.to)).toEqual([1, 1, 1]);
    expect(new FaceLinker({ step: STEP, start: 0, end: 0.8 }).settings.pad).toBe(STEP);
    expect(() => new FaceLinker({ step: 0, start: 0, end: 1 })).toThrow(RangeError);
  });

  it("predicts a track's box from its last two sightings", () => {
    const s = [
      { t: 0, box: { x: 0.1, y: 0.2, w: 0.1, h: 0.1 }, score: 1 },
      { t: 1, box: { x: 0.2, y: 0.1, w: 0.1, h: 0.1 }, score: 1 },
    ];
    expect(near(predictBox(s, 2), { x: 0.3, y: 0, w: 0.1, h: 0.1 }, 1e-12)).toBe(true);
    expect(predictBox(s.slice(0, 1), 5)).toEqual(s[0]!.box);
  });

  it("a track's keys: the face with its margin at each sighting, moved on to the range's ends; the region covers the face between samples", () => {
    // A face moving right at 0.1 a second, sampled every half second from 1 s to 3 s.
    const at = (t: number) => ({ x: 0.1 * t, y: 0.3, w: 0.1, h: 0.15 });
    const tracks = linkFaceTracks(
      [1, 1.5, 2, 2.5, 3].map((t) => ({ t, faces: [{ box: at(t), score: 0.9 }] })),
      { step: STEP, start: 0, end: 10 },
    );
    const keys = trackKeys(tracks[0]!);
    // A steady movement needs only its two ends.
    expect(keys.map((k) => k.t)).toEqual([0.5, 3.5]);
    expect(near(keys[0]!, faceMargin(at(0.5)), 1e-9)).toBe(true);
    expect(near(keys[1]!, faceMargin(at(3.5)), 1e-9)).toBe(true);
    const region = regionFromKeys("ellipse", "blur", keys, tracks[0]!);
    expect([region.from, region.to]).toEqual([0.5, 3.5]);
    for (const t of [0.6, 1.25, 2.1, 3.4]) {
      const box = boxAt(region, t);
      const faceNow = at(t);
      // The face's box lies inside the region's.
      expect(box.x).toBeLessThanOrEqual(faceNow.x + 1e-3);
      expect(box.x + box.w).toBeGreaterThanOrEqual(faceNow.x + faceNow.w - 1e-3);
      expect(box.y).toBeLessThanOrEqual(faceNow.y);
      expect(box.y + box.h).toBeGreaterThanOrEqual(faceNow.y + faceNow.h);
    }
    // A face seen once is held where it was for its whole range.
    const lone = trackKeys({ sightings: [{ t: 2, box: at(2), score: 0.9 }], from: 1.75, to: 2.25 });
    expect(lone.map((k) => k.t)).toEqual([1.75, 2.25]);
    expect(near(lone[0]!, faceMargin(at(2))) && near(lone[1]!, faceMargin(at(2)))).toBe(true);
  });
});
