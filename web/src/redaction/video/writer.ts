/**
 * The redacted copy of a video, written in a dedicated Worker (redact.worker.ts): mediabunny
 * reads the original through its per-view URL (each part checked by the service worker before a
 * byte is released), decodes it with WebCodecs, draws every region on each frame at the frame's
 * media time in the original (drawRedactions, the one effect implementation) and encodes it into
 * a packet log on disk, with a checkpoint at each key frame so a copy cut short by a reload can
 * go on from there (packet-log.ts); then it replaces the audio in the marked ranges and muxes
 * both into the copy (OPFS). Frames and packets go one after another: memory stays flat whatever
 * the length; only the file's index waits for the end.
 *
 * Output: MP4 with H.264 (and AAC, else Opus) where the browser can encode H.264; else WebM with
 * VP9 or VP8 and Opus. A browser that can encode none of them gets an error that says so. The
 * original's descriptive tags (which may hold a place or a device name) are not copied.
 */
// A static import: the Worker is its own bundle (Vite builds workers without code splitting), loaded only when a copy is made.
import * as mb from "mediabunny";
import type { StreamTargetChunk, VideoSample, AudioSample } from "mediabunny";
import { mediaSource } from "../../evidence/opened-file";
import { activeAt, drawRedactions, type Redact } from "../regions";
import { applyAudioRanges, touchesRange } from "./audio";
import type { VideoEdit } from "./edit";
import { checkpointAt, PHASE_1, decodeHeader, decoderConfigOf, encodeRecord, RECORD_HEADER_BYTES, sameDecoderConfig, storeDecoderConfig, type Checkpoint, type CopyFormat, type LoggedPacket, type StoredDecoderConfig } from "./packet-log";

export type { CopyFormat } from "./packet-log";

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


/** H.264 in MP4 where the browser can encode it; otherwise VP9, then VP8, in WebM; the audio codec to go with it. */
async function chooseFormat(audio: mb.InputAudioTrack | null, width: number, height: number): Promise<CopyFormat> {
  const hasAudio = !!audio && (await audio.canDecode());
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
    return { mediaType: container === "mp4" ? "video/mp4" : "video/webm", extension: container, videoCodec: codec, ...(audioCodec ? { audioCodec } : {}), audioDropped: hasAudio && !audioCodec };
  }
  throw new CopyError("this browser can't encode video with WebCodecs (neither H.264 nor VP9 nor VP8): make the copy in a current Chrome, Edge or Safari");
}

const outputFormat = (format: CopyFormat) => (format.extension === "mp4" ? new mb.Mp4OutputFormat({ fastStart: false }) : new mb.WebMOutputFormat());

/** Where a copy's files go (OPFS in redact.worker.ts): the packet log, its checkpoint, the audio, the copy. */
export interface CopyFiles {
  /** The packet log, already truncated to where this run starts (0, or the checkpoint's offset). */
  log: { write(bytes: Uint8Array, at: number): void; read(into: Uint8Array, at: number): number };
  saveCheckpoint(checkpoint: Checkpoint): void;
  /** The re-encoded audio of phase 2, and then the File written there. */
  audio: WritableStream<StreamTargetChunk>;
  audioWritten(): Promise<Blob>;
  copy: WritableStream<StreamTargetChunk>;
}

export class CopyStopped extends Error {
  constructor() {
    super("canceled");
  }
}

export interface CopyControl {
  onFormat(format: CopyFormat): void;
  onProgress(fraction: number): void;
  /** Polled between frames and packets: true once Cancel was pressed. */
  canceled(): boolean;
  /** Gets the function that stops a running audio conversion. */
  onCancel(cancel: () => Promise<void>): void;
}


/**
 * Writes the redacted copy of the video at `url`: phase 1 decodes, redacts and encodes the video
 * into the packet log (from `resume.t` when resuming, after the log was cut back to
 * `resume.offset`), taking a checkpoint at every key packet; phase 2 re-encodes the audio and
 * muxes both into `files.copy`. Throws CopyStopped when canceled.
 */
export async function writeRedactedCopy(
  url: string,
  edit: VideoEdit,
  editHash: string,
  files: CopyFiles,
  control: CopyControl,
  resume?: Checkpoint,
  /** The verified file itself, when the item was opened without a service worker (then `url` is an object URL the page's CSP does not let a fetch read). */
  file?: Blob,
): Promise<CopyFormat> {
  const input = new mb.Input({ source: mediaSource(mb, url, file, { maxCacheSize: 16 * 1024 * 1024 }), formats: mb.ALL_FORMATS });
  try {
    const video = await input.getPrimaryVideoTrack();
    if (!video) throw new CopyError("this file has no video track");
    if (!(await video.canDecode())) throw new CopyError(`this browser can't decode this video's ${(await video.getCodec()) ?? "unknown"} codec: open the item in a current Chrome, Edge or Safari to make the copy`);
    const width = await video.getDisplayWidth();
    const height = await video.getDisplayHeight();
    const audio = await input.getPrimaryAudioTrack();
    const format = await chooseFormat(audio, width, height);
    if (resume && (resume.format.videoCodec !== format.videoCodec || resume.format.audioCodec !== format.audioCodec)) {
      throw new CopyError("this browser now chooses another format than when the copy was started: start again");
    }
    control.onFormat(format);

    const start = edit.trim?.from ?? 0;
    const end = Math.min(edit.trim?.to ?? Infinity, await input.computeDuration());
    const duration = Math.max(0, end - start);
    // The audio is re-encoded while the video is (it is redone on a resume: it is short work).
    const stopAudio: { cancel?: () => Promise<void>; stopped?: boolean } = {};
    const audioDone = writeAudio(input, format, edit, start, end, files, control, stopAudio);
    audioDone.catch(() => undefined);
    let logged: Logged;
    try {
      logged = await encodeVideo(video, format, edit, editHash, start, end, duration, files, control, resume);
    } catch (error) {
      stopAudio.stopped = true;
      await stopAudio.cancel?.();
      await audioDone.catch(() => undefined);
      throw error;
    }
    const audioFile = await audioDone;
    if (control.canceled()) throw new CopyStopped();
    await mux(format, duration, logged, audioFile, files, control);
    return format;
  } finally {
    input.dispose();
  }
}

/** Phase 1: the video decoded, redacted and encoded into the packet log. Returns the encoder's decoder config. */
async function encodeVideo(
  video: mb.InputVideoTrack,
  format: CopyFormat,
  edit: VideoEdit,
  editHash: string,
  start: number,
  end: number,
  duration: number,
  files: CopyFiles,
  control: CopyControl,
  resume: Checkpoint | undefined,
): Promise<Logged> {
  const width = await video.getDisplayWidth();
  const height = await video.getDisplayHeight();
  const rotation = await video.getRotation();
  const regions = edit.regions;
  let canvas: OffscreenCanvas | undefined;
  let context: OffscreenCanvasRenderingContext2D | undefined;
  /** True while the copy's first frame primes a resumed run's encoder (see below). */
  let priming = false;
  // The sample's timestamp is the copy's; the original's media time is that plus the trim start.
  const process = (sample: VideoSample) => {
    const t = (priming ? 0 : sample.timestamp) + start;
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
  };
  // As mediabunny's own conversion does: a rotated or non-square-pixel original is redrawn upright at its display size.
  const [upright, uprightH] = rotation % 180 === 0 ? [await video.getCodedWidth(), await video.getCodedHeight()] : [await video.getCodedHeight(), await video.getCodedWidth()];
  const rerender = rotation !== 0 || upright !== width || uprightH !== height;

  let offset = resume?.offset ?? 0;
  let packets = resume?.packets ?? 0;
  let decoderConfig: StoredDecoderConfig | undefined;
  let failure: Error | undefined;
  let lastCheckpoint = -Infinity;
  const source = new mb.VideoSampleSource({
    codec: format.videoCodec,
    quality: new mb.Quality("high"),
    // A key frame every 2 s of the copy, by the frame's timestamp: the same frames whether the copy ran at once or was resumed.
    keyFrameInterval: 2,
    sizeChangeBehavior: "passThrough",
    transform: rerender ? { width, height, fit: "fill", process } : { process },
    onEncodedPacket: (packet, meta) => {
      if (failure) return;
      try {
        // The primer's packet: the log has the copy's first frame already.
        if (resume && packet.timestamp < resume.t - 0.0005) {
          if (meta?.decoderConfig) decoderConfig ??= storeDecoderConfig(meta.decoderConfig);
          return;
        }
        if (meta?.decoderConfig && !decoderConfig) {
          decoderConfig = storeDecoderConfig(meta.decoderConfig);
          if (resume && !sameDecoderConfig(resume.decoderConfig, decoderConfig)) throw new CopyError("the encoder's settings differ from those the copy was started with, so it can't go on: start again");
        }
        decoderConfig ??= resume?.decoderConfig;
        if (!decoderConfig) throw new CopyError("the video encoder gave no decoder configuration");
        const key = packet.type === "key";
        // At a key packet, what is logged before it is complete, and the checkpoint says so (at most every second of the copy).
        // The writes reach the file at once, so they outlive a reload or a closed tab; no flush to the disk
        // (an fsync each time made the copy 40 % slower): a log the system lost part of in a crash is caught by verifyLog.
        if (key && packet.timestamp - lastCheckpoint >= 1) {
          files.saveCheckpoint(checkpointAt({ editHash, format, decoderConfig, duration }, { timestamp: packet.timestamp, key }, offset, packets));
          lastCheckpoint = packet.timestamp;
        }
        const record = encodeRecord({ data: packet.data, key, timestamp: packet.timestamp, duration: packet.duration });
        files.log.write(record, offset);
        offset += record.byteLength;
        packets++;
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
    },
  });
  // The packets are taken from the encoder above; the muxer behind this output writes nowhere.
  const output = new mb.Output({ format: outputFormat(format), target: new mb.NullTarget() });
  output.addVideoTrack(source);
  await output.start();
  try {
    const from = resume?.t ?? 0;
    const sink = new mb.VideoSampleSink(video);
    if (resume) {
      // The encoder takes its colour description (in the H.264 parameter sets) from the first frame
      // it gets: a decoded frame, or a canvas where a region is drawn. A resumed run is first given
      // the copy's first frame, drawn as it was, so its parameter sets are those of the log; that
      // frame's packet is dropped, and the checkpoint's frame is made a key frame.
      const first = await sink.getSample(start);
      if (first) {
        try {
          priming = true;
          first.setTimestamp(Math.max(0, resume.t - 0.001));
          first.setDuration(0.001);
          await source.add(first);
        } finally {
          priming = false;
          first.close();
        }
      }
    }
    let forceKey = !!resume;
    for await (const sample of sink.samples(start + from, end)) {
      let reached = 0;
      try {
        if (control.canceled()) throw new CopyStopped();
        // Cut exactly at the trim, as mediabunny's conversion does; timestamps are the copy's.
        const s = Math.max(start, sample.timestamp);
        const e = Math.min(end, sample.timestamp + sample.duration);
        if (s >= e) continue;
        // Resuming: the frames before the checkpoint's key frame are in the log already.
        if (resume && s - start < resume.t - 0.0005) continue;
        sample.setTimestamp(s - start);
        sample.setDuration(e - s);
        reached = e - start;
        await source.add(sample, forceKey ? { keyFrame: true } : undefined);
        forceKey = false;
      } finally {
        sample.close();
      }
      if (failure) throw failure;
      if (duration > 0 && reached > 0) control.onProgress(PHASE_1 * Math.min(1, reached / duration));
    }
    source.close();
    await output.finalize();
  } catch (error) {
    await output.cancel().catch(() => undefined);
    throw error;
  }
  if (failure) throw failure;
  if (!decoderConfig || packets === 0) throw new CopyError("no video frame was encoded (is the trim inside the video?)");
  return { decoderConfig, packets };
}

/** What phase 1 left in the log: read back in phase 2. */
interface Logged {
  decoderConfig: StoredDecoderConfig;
  packets: number;
}

/** The packets of the log in order, read one at a time (never the whole log in memory). */
function* readLog(files: CopyFiles, packets: number): Generator<LoggedPacket> {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  let at = 0;
  for (let i = 0; i < packets; i++) {
    if (files.log.read(header, at) !== RECORD_HEADER_BYTES) throw new CopyError("the packet log is cut short");
    const { size, key, timestamp, duration } = decodeHeader(header);
    const data = new Uint8Array(size);
    if (files.log.read(data, at + RECORD_HEADER_BYTES) !== size) throw new CopyError("the packet log is cut short");
    at += RECORD_HEADER_BYTES + size;
    yield { data, key, timestamp, duration };
  }
}

/**
 * The audio re-encoded with its ranges (a conversion of its own, into `files.audio`), alongside
 * phase 1 (the other core); `stop` ends it early. Resolves to the file written, if there is sound.
 */
async function writeAudio(input: mb.Input, format: CopyFormat, edit: VideoEdit, start: number, end: number, files: CopyFiles, control: CopyControl, stop: { cancel?: () => Promise<void>; stopped?: boolean }): Promise<Blob | undefined> {
  if (!format.audioCodec) return undefined;
  const ranges = edit.audio;
  const audioOutput = new mb.Output({ format: outputFormat(format), target: new mb.StreamTarget(files.audio, { chunked: true, chunkSize: 1024 * 1024 }) });
  const conversion = await mb.Conversion.init({
    input,
    output: audioOutput,
    tracks: "primary",
    copy: false,
    trim: { start, ...(Number.isFinite(end) ? { end } : {}) },
    tags: {},
    showWarnings: false,
    video: { discard: true },
    audio: {
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
    },
  });
  if (!conversion.isValid || !conversion.utilizedTracks.some((track) => track.isAudioTrack())) {
    const why = conversion.discardedTracks.map((d) => d.reason).join(", ");
    throw new CopyError(`this video's sound can't be re-encoded in this browser${why ? ` (${why})` : ""}`);
  }
  stop.cancel = () => conversion.cancel();
  control.onCancel(stop.cancel);
  if (stop.stopped) void stop.cancel();
  await conversion.execute();
  if (control.canceled() || stop.stopped) throw new CopyStopped();
  return files.audioWritten();
}

/** Phase 2: the logged video packets and the written audio muxed into the copy, interleaved by time. */
async function mux(format: CopyFormat, duration: number, logged: Logged, audioFile: Blob | undefined, files: CopyFiles, control: CopyControl): Promise<void> {
  let audioInput: mb.Input | undefined;
  try {
    let audioTrack: mb.InputAudioTrack | null = null;
    if (audioFile) {
      audioInput = new mb.Input({ source: new mb.BlobSource(audioFile), formats: mb.ALL_FORMATS });
      audioTrack = await audioInput.getPrimaryAudioTrack();
      if (!audioTrack) throw new CopyError("the re-encoded sound could not be read back");
    }

    const output = new mb.Output({ format: outputFormat(format), target: new mb.StreamTarget(files.copy, { chunked: true, chunkSize: 4 * 1024 * 1024 }) });
    const videoSource = new mb.EncodedVideoPacketSource(format.videoCodec);
    output.addVideoTrack(videoSource);
    const audioSource = audioTrack ? new mb.EncodedAudioPacketSource((await audioTrack.getCodec())!) : undefined;
    if (audioSource) output.addAudioTrack(audioSource);
    await output.start();
    try {
      const audioPackets = audioTrack ? new mb.EncodedPacketSink(audioTrack).packets()[Symbol.asyncIterator]() : undefined;
      const audioMeta: EncodedAudioChunkMetadata | undefined = audioTrack ? { decoderConfig: (await audioTrack.getDecoderConfig()) ?? undefined } : undefined;
      let nextAudio = audioPackets ? await audioPackets.next() : undefined;
      let firstAudio = true;
      const addAudioUntil = async (t: number) => {
        while (audioPackets && nextAudio && !nextAudio.done && nextAudio.value.timestamp <= t) {
          await audioSource!.add(nextAudio.value, firstAudio ? audioMeta : undefined);
          firstAudio = false;
          nextAudio = await audioPackets.next();
        }
      };
      let first = true;
      for (const packet of readLog(files, logged.packets)) {
        if (control.canceled()) throw new CopyStopped();
        // Interleaved by time, so the muxer never holds more than a packet or two.
        await addAudioUntil(packet.timestamp);
        await videoSource.add(new mb.EncodedPacket(packet.data, packet.key ? "key" : "delta", packet.timestamp, packet.duration), first ? { decoderConfig: decoderConfigOf(logged.decoderConfig) } : undefined);
        first = false;
        if (duration > 0) control.onProgress(PHASE_1 + (1 - PHASE_1) * Math.min(1, packet.timestamp / duration));
      }
      await addAudioUntil(Infinity);
      videoSource.close();
      audioSource?.close();
      await output.finalize();
    } catch (error) {
      await output.cancel().catch(() => undefined);
      throw error;
    }
  } finally {
    audioInput?.dispose();
  }
}
