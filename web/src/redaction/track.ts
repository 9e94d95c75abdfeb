/**
 * "Track this region": follows a region through a video, forward or backward from where the
 * person placed it, and gives it keys (docs/evidence-format.md §6.3) every `step` seconds until
 * the end or until the region is lost (docs/redaction-detection.md, "Tracking"). The page only
 * fetches frames (the editor's decoder, `frameAt`) and shrinks them; the matching runs in a
 * Worker (track.worker.ts), which this starts for the run and ends after it.
 */
import type { RegionKey } from "../../../shared/crypto/manifest";
import { mediaSource } from "../evidence/opened-file";
import { detectFaces, type Detection } from "./detect";
import type { TrackAnswer, TrackRequest } from "./detection-messages";
import type { Box } from "./regions";
import { TEMPLATE_SIDE, type Rect, type TrackerSettings, type TrackStep } from "./track-core";

/** A picture of one frame: an ImageBitmap, a VideoFrame, a canvas, an ImageData… (closed by the tracker when it can be). */
export type FrameSource = ImageBitmapSource;

export interface TrackOptions {
  /** The frame shown at media time `t` (seconds). The tracker closes each ImageBitmap or VideoFrame it is given. */
  frameAt: (t: number) => Promise<FrameSource> | FrameSource;
  /** The region at `t0`, in fractions (0–1) of the frame. */
  box: Box;
  t0: number;
  /** Where to stop: after `t0` to track forward, before it to track backward. */
  until: number;
  /** Seconds between tracked frames (a frame's duration to follow every frame). */
  step: number;
  signal?: AbortSignal;
  onProgress?: (progress: TrackProgress) => void;
  settings?: Partial<TrackerSettings>;
  /**
   * The region is a face: every `every` steps (true: about every half second), and whenever the
   * match fails, the face finder looks in the frame and the region is centred again on the face
   * nearest to it (its size kept), the template taken afresh. Slower; keeps up with a face that turns.
   */
  faces?: boolean | { every: number };
  /**
   * Keys that the ones around them already give to within this fraction of the frame are left
   * out (0 keeps a key every step). Default 0.003: under 6 pixels of a 1920-pixel-wide frame.
   */
  tolerance?: number;
}

export interface TrackProgress {
  /** The media time just tracked. */
  t: number;
  /** How far the run is, 0–1. */
  fraction: number;
  box: Box;
  score: number;
}

export interface TrackResult {
  /** The region's keys, in increasing time, `t0`'s among them. */
  keys: RegionKey[];
  /** done: reached `until`; lost: the match became too poor at `lostAt` (the keys stop just before); cancelled: stopped by the signal. */
  end: "done" | "lost" | "cancelled";
  /** The last media time the region was followed to. */
  reached: number;
  lostAt?: number;
}

/** The grey frames' longer side stays within these bounds (pixels), whatever the region's size. */
const MIN_WORKING_SIDE = 96;
const MAX_WORKING_SIDE = 960;

/** Follows the region from `t0` towards `until`, a frame every `step` seconds. */
export async function trackRegion(options: TrackOptions): Promise<TrackResult> {
  const { box, t0, until, signal } = options;
  if (!(options.step > 0)) throw new RangeError("the tracking step must be a positive number of seconds");
  const direction = until >= t0 ? 1 : -1;
  const steps = Math.floor(Math.abs(until - t0) / options.step + 1e-9);
  const first = await toBitmap(await options.frameAt(t0));
  const { width, height } = first;
  // Frames are shrunk so the region is about TEMPLATE_SIDE pixels: enough detail to match, little work.
  const larger = Math.max(box.w * width, box.h * height, 1);
  const longSide = Math.max(width, height);
  const scale = Math.min(1, Math.max(MIN_WORKING_SIDE / longSide, Math.min(TEMPLATE_SIDE / larger, MAX_WORKING_SIDE / longSide)));
  const size = { resizeWidth: Math.max(8, Math.round(width * scale)), resizeHeight: Math.max(8, Math.round(height * scale)), resizeQuality: "medium" as const };
  const toRect = (b: Box): Rect => ({ x: b.x * size.resizeWidth, y: b.y * size.resizeHeight, w: b.w * size.resizeWidth, h: b.h * size.resizeHeight });
  const toBox = (r: Rect): Box => insideFrame({ x: r.x / size.resizeWidth, y: r.y / size.resizeHeight, w: r.w / size.resizeWidth, h: r.h / size.resizeHeight });

  const worker = new Worker(new URL("./track.worker.ts", import.meta.url), { type: "module", name: "redaction-tracking" });
  const ask = (request: TrackRequest, transfer: Transferable[]) =>
    new Promise<TrackAnswer>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<TrackAnswer>) => (event.data.type === "error" ? reject(new Error(event.data.error)) : resolve(event.data));
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error("the tracking worker stopped: " + (event.message || "unknown error")));
      };
      worker.postMessage(request, transfer);
    });

  const faceEvery = options.faces ? Math.max(1, Math.round(options.faces === true ? 0.5 / options.step : options.faces.every)) : 0;
  const keys: RegionKey[] = [{ t: t0, ...insideFrame(box) }];
  let end: TrackResult["end"] = "done";
  let lostAt: number | undefined;
  try {
    const start = await createImageBitmap(first, size);
    first.close();
    await ask({ type: "start", frame: start, rect: toRect(box), settings: options.settings ?? {} }, [start]);
    for (let i = 1; i <= steps; i++) {
      if (signal?.aborted) {
        end = "cancelled";
        break;
      }
      const t = roundTime(t0 + direction * i * options.step);
      const source = await options.frameAt(t);
      let now: Box | undefined;
      let score = 0;
      try {
        const frame = await createImageBitmap(source, size);
        const answer = await ask({ type: "next", frame }, [frame]);
        const step = (answer as { step: TrackStep }).step;
        const last = keys[keys.length - 1]!;
        if (step.found) {
          now = toBox(step.rect);
          score = step.score;
        }
        // A tracked face: now and then, and whenever the match fails, the face finder puts it back on the face.
        if (faceEvery > 0 && (!step.found || i % faceEvery === 0)) {
          const face = nearestFace(await detectFaces(source), now ?? last);
          if (face) {
            now = insideFrame({ x: face.x + face.w / 2 - last.w / 2, y: face.y + face.h / 2 - last.h / 2, w: last.w, h: last.h });
            score = Math.max(score, options.settings?.minScore ?? 0.5);
            const restart = await createImageBitmap(source, size);
            await ask({ type: "start", frame: restart, rect: toRect(now), settings: options.settings ?? {} }, [restart]);
          }
        }
      } finally {
        close(source);
      }
      if (!now) {
        end = "lost";
        lostAt = t;
        break;
      }
      keys.push({ t, ...now });
      options.onProgress?.({ t, fraction: i / steps, box: now, score });
    }
  } finally {
    worker.terminate();
  }
  if (direction < 0) keys.reverse();
  const reached = direction > 0 ? keys[keys.length - 1]!.t : keys[0]!.t;
  const simplified = simplifyKeys(keys, options.tolerance ?? 0.003);
  return lostAt === undefined ? { keys: simplified, end, reached } : { keys: simplified, end, reached, lostAt };
}

/**
 * Leaves out keys that linear movement between the keys kept already gives to within `tolerance`
 * (fraction of the frame, on x, y, w and h), first and last kept (Ramer–Douglas–Peucker over time).
 */
export function simplifyKeys(keys: readonly RegionKey[], tolerance: number): RegionKey[] {
  if (keys.length <= 2 || tolerance <= 0) return keys.slice();
  const keep = new Uint8Array(keys.length);
  keep[0] = 1;
  keep[keys.length - 1] = 1;
  const pending: [number, number][] = [[0, keys.length - 1]];
  while (pending.length > 0) {
    const [a, b] = pending.pop()!;
    const ka = keys[a]!;
    const kb = keys[b]!;
    let worst = -1;
    let worstError = tolerance;
    for (let i = a + 1; i < b; i++) {
      const k = keys[i]!;
      const f = (k.t - ka.t) / (kb.t - ka.t);
      const error = Math.max(
        Math.abs(ka.x + (kb.x - ka.x) * f - k.x),
        Math.abs(ka.y + (kb.y - ka.y) * f - k.y),
        Math.abs(ka.w + (kb.w - ka.w) * f - k.w),
        Math.abs(ka.h + (kb.h - ka.h) * f - k.h),
      );
      if (error > worstError) {
        worstError = error;
        worst = i;
      }
    }
    if (worst < 0) continue;
    keep[worst] = 1;
    pending.push([a, worst], [worst, b]);
  }
  return keys.filter((_, i) => keep[i] === 1);
}

/** The box moved (and if need be shrunk) to lie inside the frame, as a region key must (§6.3). */
export function insideFrame(b: Box): Box {
  const w = Math.min(1, Math.max(1e-4, b.w));
  const h = Math.min(1, Math.max(1e-4, b.h));
  return { x: Math.min(Math.max(0, b.x), 1 - w), y: Math.min(Math.max(0, b.y), 1 - h), w, h };
}

/** The detected face whose centre is nearest the region's, if within the region's larger side of it. */
function nearestFace(faces: readonly Detection[], region: Box): Box | undefined {
  const cx = region.x + region.w / 2;
  const cy = region.y + region.h / 2;
  let best: Box | undefined;
  let bestDistance = Math.max(region.w, region.h);
  for (const { box } of faces) {
    const distance = Math.hypot(box.x + box.w / 2 - cx, box.y + box.h / 2 - cy);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = box;
    }
  }
  return best;
}

const roundTime = (t: number) => Math.round(t * 1e6) / 1e6;

async function toBitmap(source: FrameSource): Promise<ImageBitmap> {
  if (source instanceof ImageBitmap) return source;
  const bitmap = await createImageBitmap(source);
  close(source);
  return bitmap;
}

function close(source: FrameSource): void {
  if (typeof (source as { close?: unknown }).close === "function") (source as { close(): void }).close();
}

/**
 * Frames of a video for `trackRegion`, decoded with mediabunny (WebCodecs) from `url`, the one the
 * editor plays (a blob: URL or the service worker's per-view URL): exactly the frame shown at each
 * time asked, never the on-screen player's. Times asked in increasing order are decoded in one
 * pass; a step back (tracking backward) or a jump starts decoding again a little before it.
 */
export async function videoFrameReader(url: string): Promise<{ frameAt: (t: number) => Promise<FrameSource>; close: () => void }> {
  const mb = await import("mediabunny");
  const { ALL_FORMATS, CanvasSink, Input } = mb;
  const input = new Input({ source: mediaSource(mb, url), formats: ALL_FORMATS });
  const track = await input.getPrimaryVideoTrack();
  if (!track) throw new Error("this file has no video to track in");
  const sink = new CanvasSink(track);
  type Decoded = { canvas: FrameSource; timestamp: number };
  let frames: AsyncGenerator<Decoded, void, unknown> | null = null;
  let current: Decoded | null = null;
  let ahead: Decoded | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const restart = async (t: number) => {
    await frames?.return();
    // From half a second earlier: the frame on screen at t may have started before it.
    frames = sink.canvases(Math.max(0, t - 0.5)) as AsyncGenerator<Decoded, void, unknown>;
    current = null;
    ahead = null;
  };
  const frameAt = (t: number): Promise<FrameSource> => {
    // One request at a time: they share the decoder's position.
    const next = queue.then(async () => {
      if (!frames || (current && t < current.timestamp) || (current && t > current.timestamp + 2)) await restart(t);
      for (;;) {
        if (!ahead) {
          const step = await frames!.next();
          if (step.done) break;
          ahead = step.value;
        }
        if (ahead.timestamp > t + 1e-6 && current) break;
        current = ahead;
        ahead = null;
      }
      if (!current) throw new Error(`the video has no frame at ${t.toFixed(2)} s`);
      return current.canvas;
    });
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    frameAt,
    close: () => {
      void frames?.return();
      input.dispose();
    },
  };
}
