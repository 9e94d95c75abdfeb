/**
 * "Find faces in the whole video" (docs/redaction-detection.md, "Faces in the whole video"): the
 * video is decoded from the editor's URL (track.ts `videoFrameReader`, mediabunny), a frame every
 * `step` seconds is shrunk and handed to the face finder (detect.ts, its Worker), and the faces
 * found are linked into tracks as they come (face-tracks.ts). The page only decodes and shrinks;
 * the detection runs in the Worker, so the page stays usable. Nothing leaves the device.
 */
import { detectFaces } from "./detect";
import { FaceLinker, type FaceTrack } from "./face-tracks";
import { faceMargin, pixelBox } from "./regions";
import { videoFrameReader, type FrameSource } from "./track";

export interface FacePassOptions {
  /** The video the editor plays (a blob: URL or the service worker's per-view URL). */
  url: string;
  /** The media range to look in (the trim, or the whole video). */
  from: number;
  to: number;
  /** Seconds between the frames looked at. */
  step: number;
  /**
   * The longer side (pixels) frames are shrunk to before the finder sees them. 608: one pass of
   * the network a frame, faces down to about 1/30 of the frame. 1216: the finder also searches
   * four parts of the frame (docs/redaction-detection.md), finding faces half that size, about five times slower.
   */
  side?: number;
  signal?: AbortSignal;
  onProgress?: (progress: FacePassProgress) => void;
}

export interface FacePassProgress {
  /** The media time just looked at. */
  t: number;
  /** How far the pass is, 0–1. */
  fraction: number;
  /** Faces so far (some may yet be dropped as one-off blips). */
  faces: number;
}

export interface FacePassResult {
  tracks: FaceTrack[];
  /** A small picture of each track's face at its surest sighting, by the track's `key`. */
  thumbnails: Map<number, ImageBitmap>;
  /** done: looked through to the end of the range; stopped: the signal stopped it at `reached`. */
  end: "done" | "stopped";
  reached: number;
  /** Frames looked at. */
  samples: number;
}

export const DEFAULT_SIDE = 608;
const THUMBNAIL_SIDE = 64;

/** The media times looked at: `from`, then every `step` seconds up to `to`. */
export function sampleTimes(from: number, to: number, step: number): number[] {
  if (!(step > 0)) throw new RangeError("the sampling step must be a positive number of seconds");
  const times: number[] = [];
  for (let i = 0; ; i++) {
    const t = Math.round((from + i * step) * 1e6) / 1e6;
    if (t > to + 1e-6) break;
    times.push(t);
  }
  return times;
}

/** Looks for faces through the video and links them into tracks; stopping early keeps what was found. */
export async function findFaceTracks(options: FacePassOptions): Promise<FacePassResult> {
  const { from, to, step, signal } = options;
  const times = sampleTimes(from, to, step);
  const linker = new FaceLinker({ step, start: from, end: to });
  const thumbnails = new Map<number, ImageBitmap>();
  const bestScore = new Map<number, number>();
  const reader = await videoFrameReader(options.url);
  let reached = from;
  let samples = 0;
  let end: FacePassResult["end"] = "done";
  try {
    for (const [i, t] of times.entries()) {
      if (signal?.aborted) {
        end = "stopped";
        break;
      }
      const source = await reader.frameAt(t);
      const frame = await shrink(source, options.side ?? DEFAULT_SIDE);
      try {
        // Stopping does not wait for the frame being searched (seconds without a GPU): its faces are left out.
        const faces = await untilAborted(detectFaces(frame), signal);
        if (!faces) {
          end = "stopped";
          break;
        }
        const joined = linker.add({ t, faces });
        // The surest sighting of each face so far gives its picture in the list.
        for (const [j, key] of joined.entries()) {
          const face = faces[j]!;
          if (face.score <= (bestScore.get(key) ?? -1)) continue;
          bestScore.set(key, face.score);
          const box = pixelBox(faceMargin(face.box), frame.width, frame.height);
          const scale = THUMBNAIL_SIDE / Math.max(box.w, box.h);
          const picture = await createImageBitmap(frame, box.x, box.y, box.w, box.h, {
            resizeWidth: Math.max(1, Math.round(box.w * scale)),
            resizeHeight: Math.max(1, Math.round(box.h * scale)),
            resizeQuality: "medium",
          });
          thumbnails.get(key)?.close();
          thumbnails.set(key, picture);
        }
      } finally {
        frame.close();
      }
      reached = t;
      samples++;
      options.onProgress?.({ t, fraction: (i + 1) / times.length, faces: linker.count });
    }
  } finally {
    reader.close();
  }
  const tracks = linker.tracks(end === "stopped" ? reached : undefined);
  // Pictures of blips dropped are let go.
  const kept = new Set(tracks.map((track) => track.key));
  for (const [key, picture] of thumbnails) {
    if (kept.has(key)) continue;
    picture.close();
    thumbnails.delete(key);
  }
  return { tracks, thumbnails, end, reached: samples === 0 ? from : reached, samples };
}

/** The promise's value, or undefined as soon as the signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const stop = () => resolve(undefined);
    signal.addEventListener("abort", stop, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", stop);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", stop);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** The frame shrunk so its longer side is at most `side` pixels (never enlarged). */
async function shrink(source: FrameSource, side: number): Promise<ImageBitmap> {
  const { width, height } = source as { width?: unknown; height?: unknown };
  if (typeof width === "number" && typeof height === "number" && width > 0 && height > 0) {
    const scale = Math.min(1, side / Math.max(width, height));
    return createImageBitmap(source, { resizeWidth: Math.round(width * scale), resizeHeight: Math.round(height * scale), resizeQuality: "medium" });
  }
  const whole = await createImageBitmap(source);
  const scale = Math.min(1, side / Math.max(whole.width, whole.height));
  if (scale === 1) return whole;
  const small = await createImageBitmap(whole, { resizeWidth: Math.round(whole.width * scale), resizeHeight: Math.round(whole.height * scale), resizeQuality: "medium" });
  whole.close();
  return small;
}
