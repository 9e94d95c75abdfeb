/**
 * The whole-video face pass, its arithmetic (docs/redaction-detection.md, "Faces in the whole
 * video"): the face finder's detections on frames sampled every `step` seconds are linked into
 * face tracks, one per face as it comes and goes, and a track becomes a region's keys. No
 * pictures here: boxes (fractions of the frame), scores and times only, so it is tested as is.
 *
 * Linking, sample after sample: each track still open predicts where its face is now (its last
 * box moved on at the speed between its last two sightings); the pairs of an open track and a
 * detection whose centres lie within `maxDistance` face sizes of each other (more for a track
 * unseen for a sample or two) and whose sizes are within a factor of two are taken nearest first,
 * each track and each detection at most once. A detection left over starts a new track. A track
 * unseen for more than `maxGap` samples in a row is closed: the face, if it comes back, is a new one.
 * A track's range reaches a step beyond its first and last sightings (`pad`), so the face is
 * covered from the sample before it was first seen to the sample after it was last seen.
 */
import type { RegionKey } from "../../../shared/crypto/manifest";
import type { Detection } from "./detection-messages";
import { faceMargin, type Box } from "./regions";
import { simplifyKeys } from "./track";

/** The faces found on the frame at media time `t`. */
export interface FaceSample {
  t: number;
  faces: readonly Detection[];
}

export interface Sighting {
  t: number;
  box: Box;
  score: number;
}

export interface FaceTrack {
  /** The linker's own number for the track, stable while samples are added (for thumbnails). */
  key: number;
  /** In increasing time. */
  sightings: Sighting[];
  /** The surest sighting (its frame is the one to show the face by). */
  best: Sighting;
  /** What the region covers: the first to the last sighting, widened by `pad` each side (within the pass's range). */
  from: number;
  to: number;
}

export interface LinkSettings {
  /** Seconds between samples. */
  step: number;
  /** The pass's range: tracks are not widened beyond it. */
  start: number;
  end: number;
  /** Samples in a row a face may be missed and its track still go on (default 2). */
  maxGap: number;
  /** How far (in face sizes) a detection's centre may be from where the track expects it (default 1). */
  maxDistance: number;
  /** A face seen on one sample only is kept when its score reaches this (default 0.6), else it is dropped as a blip. */
  minLoneScore: number;
  /**
   * How far a track's range reaches before its first sighting and after its last (seconds;
   * default a whole step). The face came in view at some time since the sample before and left
   * at some time before the sample after (or the finder missed it there): a whole step covers
   * all of that uncertainty, at the cost of blurring an empty place for a moment.
   */
  pad: number;
}

export const DEFAULT_LINK: Pick<LinkSettings, "maxGap" | "maxDistance" | "minLoneScore"> = { maxGap: 2, maxDistance: 1, minLoneScore: 0.6 };

interface Open {
  key: number;
  sightings: Sighting[];
  /** The index of the sample it was last seen on. */
  last: number;
}

const centre = (b: Box) => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });

/** The velocity (fractions of the frame per second) from sighting `a` to sighting `b`. */
function velocity(a: Sighting | undefined, b: Sighting): { x: number; y: number } {
  if (!a) return { x: 0, y: 0 };
  const dt = b.t - a.t;
  if (!(dt > 0)) return { x: 0, y: 0 };
  const ca = centre(a.box);
  const cb = centre(b.box);
  return { x: (cb.x - ca.x) / dt, y: (cb.y - ca.y) / dt };
}

/** Where a track expects its face at `t`: its last box moved on at its last speed. */
export function predictBox(sightings: readonly Sighting[], t: number): Box {
  const last = sightings[sightings.length - 1]!;
  return moved(last.box, velocity(sightings[sightings.length - 2], last), t - last.t);
}

function moved(box: Box, v: { x: number; y: number }, dt: number): Box {
  return { x: box.x + v.x * dt, y: box.y + v.y * dt, w: box.w, h: box.h };
}

/**
 * Links samples given in increasing time (`add`) into face tracks (`tracks`). Incremental, so a
 * pass under way can say how many faces it has so far and keep a picture of each face's best sighting.
 */
export class FaceLinker {
  readonly settings: LinkSettings;
  private open: Open[] = [];
  private closed: Open[] = [];
  private index = -1;
  private nextKey = 1;

  constructor(settings: Pick<LinkSettings, "step" | "start" | "end"> & Partial<LinkSettings>) {
    if (!(settings.step > 0)) throw new RangeError("the sampling step must be a positive number of seconds");
    this.settings = { ...DEFAULT_LINK, pad: settings.step, ...settings };
  }

  /** Adds the next sample; says which track (its `key`) each of its faces joined, in the faces' order. */
  add(sample: FaceSample): number[] {
    const index = ++this.index;
    const { maxGap, maxDistance } = this.settings;
    // Tracks unseen for too long are closed.
    const still: Open[] = [];
    for (const track of this.open) (index - track.last - 1 > maxGap ? this.closed : still).push(track);
    this.open = still;

    const pairs: { track: Open; face: number; cost: number }[] = [];
    for (const track of this.open) {
      const missed = index - track.last - 1;
      const expected = predictBox(track.sightings, sample.t);
      const c = centre(expected);
      sample.faces.forEach((face, i) => {
        const ratio = face.box.w / expected.w;
        if (!(ratio >= 0.5 && ratio <= 2)) return;
        const d = centre(face.box);
        // Distance in face sizes, across and down separately (a box's w and h are fractions of different sides).
        const cost = Math.hypot((d.x - c.x) / Math.max(expected.w, face.box.w), (d.y - c.y) / Math.max(expected.h, face.box.h));
        if (cost <= maxDistance * (1 + 0.5 * missed)) pairs.push({ track, face: i, cost });
      });
    }
    pairs.sort((a, b) => a.cost - b.cost);
    const joined: (number | undefined)[] = sample.faces.map(() => undefined);
    const taken = new Set<Open>();
    for (const { track, face } of pairs) {
      if (taken.has(track) || joined[face] !== undefined) continue;
      taken.add(track);
      joined[face] = track.key;
      const found = sample.faces[face]!;
      track.sightings.push({ t: sample.t, box: { ...found.box }, score: found.score });
      track.last = index;
    }
    return sample.faces.map((face, i) => {
      const key = joined[i];
      if (key !== undefined) return key;
      const track: Open = { key: this.nextKey++, sightings: [{ t: sample.t, box: { ...face.box }, score: face.score }], last: index };
      this.open.push(track);
      return track.key;
    });
  }

  /** The number of faces so far (blips included: they may yet be seen again). */
  get count(): number {
    return this.open.length + this.closed.length;
  }

  /**
   * The tracks so far, in order of first sighting, blips left out. `reached`: the last media time
   * looked at, when the pass stopped early (tracks are not widened past it).
   */
  tracks(reached?: number): FaceTrack[] {
    const { pad, start, minLoneScore } = this.settings;
    const end = Math.min(this.settings.end, reached === undefined ? Infinity : reached + pad);
    return [...this.closed, ...this.open]
      .filter((track) => track.sightings.length > 1 || track.sightings[0]!.score >= minLoneScore)
      .map((track) => {
        const sightings = track.sightings.slice();
        const best = sightings.reduce((a, b) => (b.score > a.score ? b : a));
        const from = Math.max(start, sightings[0]!.t - pad);
        const to = Math.max(from, Math.min(end, sightings[sightings.length - 1]!.t + pad));
        return { key: track.key, sightings, best, from, to };
      })
      .sort((a, b) => a.from - b.from || a.sightings[0]!.box.x - b.sightings[0]!.box.x);
  }
}

/** Links a whole list of samples (in increasing time) at once. */
export function linkFaceTracks(samples: readonly FaceSample[], settings: Pick<LinkSettings, "step" | "start" | "end"> & Partial<LinkSettings>): FaceTrack[] {
  const linker = new FaceLinker(settings);
  for (const sample of samples) linker.add(sample);
  return linker.tracks();
}

/**
 * A track's region keys: the face's box with the editors' margin (regions.ts `faceMargin`) at
 * each sighting, and at the ends of its range (before the first sighting and after the last)
 * the box moved on at the face's speed there, so a moving face stays covered between
 * samples. Keys that straight-line movement already gives to within `tolerance` of the frame
 * are left out (default 0.004). Not yet kept inside the frame: edit.ts `regionFromKeys` does that.
 */
export function trackKeys(track: Pick<FaceTrack, "sightings" | "from" | "to">, tolerance = 0.004): RegionKey[] {
  const s = track.sightings;
  const keys: RegionKey[] = s.map((sighting) => ({ t: sighting.t, ...faceMargin(sighting.box) }));
  const first = s[0]!;
  const last = s[s.length - 1]!;
  if (track.from < first.t) keys.unshift({ t: track.from, ...faceMargin(moved(first.box, s[1] ? velocity(first, s[1]) : { x: 0, y: 0 }, track.from - first.t)) });
  if (track.to > last.t) keys.push({ t: track.to, ...faceMargin(predictBox(s, track.to)) });
  return simplifyKeys(keys, tolerance);
}
