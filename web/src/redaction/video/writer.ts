/**
 * The redacted copy of a video, written in a dedicated Worker (redact.worker.ts): mediabunny
 * reads the original through its per-view URL (each part checked by the service worker before a
 * byte is released), decodes it with WebCodecs, draws every region on each frame at the frame's
 * media time in the original (drawRedactions, the one effect implementation), replaces the
 * audio in the marked ranges, and encodes and muxes the result frame by frame into `writable`
 * (OPFS). Frames are decoded, drawn and encoded one after another: memory stays flat whatever
 * the length; only the file's index waits for the end.
 *
 * Output: MP4 with H.264 (and AAC, else Opus) where the browser can encode H.264; else WebM with
 * VP9 or VP8 and Opus. A browser that can encode none of them gets an error that says so. The
 * original's descriptive tags (which may hold a place or a device name) are not copied.
 */
// A static import: the Worker is its own bundle (Vite builds workers without code splitting), loaded only when a copy is made.
import * as mb from "mediabunny";
import type { StreamTargetChunk, VideoSample, AudioSample, VideoCodec } from "mediabunny";
import { activeAt, drawRedactions, type Redact } from "../regions";
import { applyAudioRanges, touchesRange } from "./audio";
import type { VideoEdit } from "./edit";

export interface CopyFormat {
  mediaType: "video/mp4" | "video/webm";
  extension: "mp4" | "webm";
  videoCodec: VideoCodec;
  /** Undefined when the original has no sound, or when this browser can encode none for the container (the copy then has none). */
  audioCodec?: string;
  /** True when the original had sound this browser could not encode: the copy is silent. */
  audioDropped: boolean;
}

export class CopyError extends Error {}

/** The regions to draw on a frame shown from `t` for `duration`: active at `t`, or starting while it is shown. */
function regionsForFrame(regions: readonly Redact[], t: number, duration: number): Redact[] {
  const out: Redact[] = [];
  for (const region of regions) {
    if (activeAt(region, t)) out.push(region);
    else if (region.from !== undefined && region.from > t && region.from < t + duration) out.push({ ...region, from: t });
  }
  return out;
}

/**
 * Writes the redacted copy of the video at `url` to `writable`. `onProgress` gets the fraction
 * done; `onCancel` gets the function that stops the copy (execute then throws "canceled").
 */
export async function writeRedactedCopy(
  url: string,
  edit: VideoEdit,
  writable: WritableStream<StreamTargetChunk>,
  onFormat: (format: CopyFormat) => void,
  onProgress: (fraction: number) => void,
  onCancel: (cancel: () => Promise<void>) => void,
): Promise<CopyFormat> {
  const input = new mb.Input({ source: new mb.UrlSource(url, { maxCacheSize: 16 * 1024 * 1024 }), formats: mb.ALL_FORMATS });
  try {
    const video = await input.getPrimaryVideoTrack();
    if (!video) throw new CopyError("this file has no video track");
    if (!(await video.canDecode())) throw new CopyError(`this browser can't decode this video's ${(await video.getCodec()) ?? "unknown"} codec: open the item in a current Chrome, Edge or Safari to make the copy`);
    const width = await video.getDisplayWidth();
    const height = await video.getDisplayHeight();
    const audio = await input.getPrimaryAudioTrack();
    const hasAudio = !!audio && (await audio.canDecode());

    // H.264 in MP4 where the browser can encode it; otherwise VP9, then VP8, in WebM.
    let format: CopyFormat | undefined;
    for (const [codec, container] of [["avc", "mp4"], ["vp9", "webm"], ["vp8", "webm"]] as const) {
      if (!(await mb.canEncodeVideo(codec, { width, height }))) continue;
      const audioCodecs = container === "mp4" ? (["aac", "opus"] as const) : (["opus"] as const);
      let audioCodec: string | undefined;
      if (hasAudio) {
        const channels = await audio.getNumberOfChannels();
        const sampleRate = await audio.getSampleRate();
        for (const candidate of audioCodecs) {
          if (await mb.canEncodeAudio(candidate, { numberOfChannels: channels, sampleRate })) {
            audioCodec = candidate;
            break;
          }
          // Opus needs 48 kHz: mediabunny resamples when asked to.
          if (candidate === "opus" && (await mb.canEncodeAudio(candidate, { numberOfChannels: Math.min(2, channels), sampleRate: 48000 }))) {
            audioCodec = candidate;
            break;
          }
        }
      }
      format = { mediaType: container === "mp4" ? "video/mp4" : "video/webm", extension: container, videoCodec: codec, ...(audioCodec ? { audioCodec } : {}), audioDropped: hasAudio && !audioCodec };
      break;
    }
    if (!format) throw new CopyError("this browser can't encode video with WebCodecs (neither H.264 nor VP9 nor VP8): make the copy in a current Chrome, Edge or Safari");
    onFormat(format);

    const start = edit.trim?.from ?? 0;
    const end = edit.trim?.to;
    const regions = edit.regions;
    const ranges = edit.audio;
    let canvas: OffscreenCanvas | undefined;
    let context: OffscreenCanvasRenderingContext2D | undefined;

    const output = new mb.Output({
      format: format.extension === "mp4" ? new mb.Mp4OutputFormat({ fastStart: false }) : new mb.WebMOutputFormat(),
      target: new mb.StreamTarget(writable, { chunked: true, chunkSize: 4 * 1024 * 1024 }),
    });
    const conversion = await mb.Conversion.init({
      input,
      output,
      tracks: "primary",
      // Re-encoded throughout: cut at exactly the trim, and timestamps stay the original's minus the trim start.
      copy: false,
      trim: { start, ...(end !== undefined ? { end } : {}) },
      tags: {},
      showWarnings: false,
      video: {
        codec: format.videoCodec,
        forceTranscode: true,
        keyFrameInterval: 2,
        // The sample's timestamp is the copy's; the original's media time is that plus the trim start.
        process: (sample: VideoSample) => {
          const t = sample.timestamp + start;
          const here = regionsForFrame(regions, t, sample.duration);
          if (here.length === 0) return sample;
          const w = sample.displayWidth;
          const h = sample.displayHeight;
          if (!canvas || canvas.width !== w || canvas.height !== h) {
            canvas = new OffscreenCanvas(w, h);
            context = canvas.getContext("2d", { alpha: false }) ?? undefined;
            if (!context) throw new CopyError("this browser cannot draw into an off-screen canvas");
          }
          sample.draw(context!, 0, 0, w, h);
          drawRedactions(context!, here, t, w, h);
          return canvas;
        },
      },
      audio: format.audioCodec
        ? {
            codec: format.audioCodec as "aac" | "opus",
            forceTranscode: true,
            ...(format.audioCodec === "opus" ? { sampleRate: 48000 } : {}),
            // Interleaved 32-bit float, so every block reaches the encoder in one format whether changed or not.
            sampleFormat: "f32",
            process: (sample: AudioSample) => {
              const t0 = sample.timestamp + start;
              if (!touchesRange(ranges, t0, t0 + sample.duration)) return sample;
              const channels = sample.numberOfChannels;
              const data = new Float32Array(sample.numberOfFrames * channels);
              sample.copyTo(data, { planeIndex: 0, format: "f32" });
              applyAudioRanges(data, channels, sample.sampleRate, t0, ranges);
              return new mb.AudioSample({ data, format: "f32", numberOfChannels: channels, sampleRate: sample.sampleRate, timestamp: sample.timestamp });
            },
          }
        : { discard: true },
    });
    if (!conversion.isValid || !conversion.utilizedTracks.some((track) => track.isVideoTrack())) {
      const why = conversion.discardedTracks.map((d) => d.reason).join(", ");
      throw new CopyError(`this video can't be re-encoded in this browser${why ? ` (${why})` : ""}`);
    }
    onCancel(() => conversion.cancel());
    conversion.onProgress = (fraction) => onProgress(fraction);
    await conversion.execute();
    return format;
  } finally {
    input.dispose();
  }
}
