/**
 * Clip export: the original video's media from `from` to `to` seconds, cut in the browser on key
 * frames without re-encoding (mediabunny copies the encoded packets; nothing is decoded), read
 * through the item's per-view URL (each part checked by the service worker before a byte is
 * released). The clip is then added to the same case like any file, under a new file key, with
 * `derivedFrom` (original id, SHA-512, the operation) in its signed manifest
 * (docs/evidence-format.md §6.1). The original is never changed.
 */
import type { DerivedFrom } from "../../../shared/crypto/manifest";
import { mediaSource } from "./opened-file";

/** Frames per second of the item's first video track, from its sample table; undefined if unknown. */
export async function frameRateOf(url: string): Promise<number | undefined> {
  const mb = await import("mediabunny");
  const { ALL_FORMATS, Input } = mb;
  const input = new Input({ source: mediaSource(mb, url), formats: ALL_FORMATS });
  try {
    const track = await input.getPrimaryVideoTrack();
    if (!track) return undefined;
    const stats = await track.computePacketStats(120);
    const rate = stats.averagePacketRate;
    return Number.isFinite(rate) && rate >= 1 && rate <= 1000 ? rate : undefined;
  } finally {
    input.dispose();
  }
}

export interface Clip {
  file: File;
  derivedFrom: DerivedFrom;
}

/**
 * Cuts `[from, to]` (seconds) out of the video at `url` into a new file of the same container
 * (MP4 for MP4 and QuickTime, WebM for WebM). Packets are copied, never re-encoded: the clip
 * starts at the key frame at or before `from`, so it holds at least the chosen range.
 */
export async function cutClip(
  source: { url: string; evidenceId: string; sha512: string; fileName: string; mediaType: string },
  from: number,
  to: number,
  onProgress: (fraction: number) => void,
): Promise<Clip> {
  const mb = await import("mediabunny");
  const { ALL_FORMATS, BufferTarget, Conversion, Input, Mp4OutputFormat, Output, WebMOutputFormat } = mb;
  const webm = source.mediaType === "video/webm";
  const input = new Input({ source: mediaSource(mb, source.url), formats: ALL_FORMATS });
  try {
    const target = new BufferTarget();
    const output = new Output({ format: webm ? new WebMOutputFormat() : new Mp4OutputFormat({ fastStart: "in-memory" }), target });
    const conversion = await Conversion.init({
      input,
      output,
      trim: { start: from, end: to },
      // Forced copy: a track that could only be re-encoded is dropped rather than altered.
      copy: { mode: "forced", boundaryPolicy: "expand" },
    });
    if (!conversion.isValid || conversion.utilizedTracks.length === 0) {
      const why = conversion.discardedTracks.map((d) => d.reason).join(", ");
      throw new Error(`this video can't be cut without re-encoding${why ? ` (${why})` : ""}`);
    }
    conversion.onProgress = (progress) => onProgress(progress);
    await conversion.execute();
    if (!target.buffer) throw new Error("the clip came out empty");
    const base = source.fileName.replace(/\.[^.]*$/, "");
    const name = `${base} clip ${seconds(from)}-${seconds(to)}.${webm ? "webm" : "mp4"}`;
    const file = new File([target.buffer], name, { type: webm ? "video/webm" : "video/mp4" });
    return { file, derivedFrom: { evidenceId: source.evidenceId, sha512: source.sha512, operations: [{ type: "clip", from, to }] } };
  } finally {
    input.dispose();
  }
}

/** 12.5 → "12.5s", for file names. */
function seconds(value: number): string {
  return `${Math.round(value * 100) / 100}s`;
}
