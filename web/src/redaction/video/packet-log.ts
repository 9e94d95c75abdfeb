/**
 * The video packet log of a redacted copy being written, and its checkpoint: what lets a copy cut
 * short by a reload go on where it stopped (docs/redaction-video.md, "Resume after a reload").
 *
 * Phase 1 of a copy appends each encoded video packet to `redactions/<jobId>.log` (OPFS) as one
 * record: a 24-byte header (byte length, key flag, timestamp and duration in seconds of the copy)
 * and the packet's bytes. At every key packet, once the log before it is flushed to disk, the
 * worker rewrites `redactions/<jobId>.ckpt`: the copy's time of that key packet, the log's length
 * before it, the encoder's decoder config and a hash of the edit. Resuming truncates the log to
 * that length and encodes again from that time with a fresh encoder (its first frame is a key
 * frame anyway). Phase 2 muxes the log and the audio into the copy. Pure functions only: the
 * OPFS side is in redact.worker.ts and copy.ts.
 */
import type { VideoEdit } from "./edit";

/** The copy's container and codecs (chosen in writer.ts). */
export interface CopyFormat {
  mediaType: "video/mp4" | "video/webm";
  extension: "mp4" | "webm";
  videoCodec: "avc" | "vp9" | "vp8";
  /** Undefined when the original has no sound, or when this browser can encode none for the container (the copy then has none). */
  audioCodec?: string;
  /** True when the original had sound this browser could not encode: the copy is silent. */
  audioDropped: boolean;
}

export const RECORD_HEADER_BYTES = 24;

export interface LoggedPacket {
  data: Uint8Array;
  key: boolean;
  /** Seconds of the copy (0 = the trim start). */
  timestamp: number;
  duration: number;
}

/** One log record: u32 byte length, u8 key flag, 3 bytes padding, f64 timestamp, f64 duration (little-endian), then the bytes. */
export function encodeRecord(packet: LoggedPacket): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + packet.data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, packet.data.byteLength, true);
  view.setUint8(4, packet.key ? 1 : 0);
  view.setFloat64(8, packet.timestamp, true);
  view.setFloat64(16, packet.duration, true);
  out.set(packet.data, RECORD_HEADER_BYTES);
  return out;
}

/** A record header: how many bytes follow it, and the packet's timing. */
export function decodeHeader(header: Uint8Array): Omit<LoggedPacket, "data"> & { size: number } {
  if (header.byteLength < RECORD_HEADER_BYTES) throw new Error("the packet log is cut short");
  const view = new DataView(header.buffer, header.byteOffset, RECORD_HEADER_BYTES);
  const flag = view.getUint8(4);
  if (flag > 1) throw new Error("the packet log is damaged");
  return { size: view.getUint32(0, true), key: flag === 1, timestamp: view.getFloat64(8, true), duration: view.getFloat64(16, true) };
}

/** The decoder config of the logged packets, as JSON can hold it (the description in base64). */
export interface StoredDecoderConfig {
  codec: string;
  codedWidth?: number;
  codedHeight?: number;
  displayAspectWidth?: number;
  displayAspectHeight?: number;
  description?: string;
  colorSpace?: { primaries?: string | null; transfer?: string | null; matrix?: string | null; fullRange?: boolean | null };
}

const toBase64 = (bytes: Uint8Array) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function bytesOf(source: AllowSharedBufferSource): Uint8Array {
  return ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
}

export function storeDecoderConfig(config: VideoDecoderConfig): StoredDecoderConfig {
  const c = config.colorSpace;
  return {
    codec: config.codec,
    ...(config.codedWidth !== undefined ? { codedWidth: config.codedWidth } : {}),
    ...(config.codedHeight !== undefined ? { codedHeight: config.codedHeight } : {}),
    ...(config.displayAspectWidth !== undefined ? { displayAspectWidth: config.displayAspectWidth } : {}),
    ...(config.displayAspectHeight !== undefined ? { displayAspectHeight: config.displayAspectHeight } : {}),
    ...(config.description ? { description: toBase64(bytesOf(config.description)) } : {}),
    ...(c ? { colorSpace: { primaries: c.primaries ?? null, transfer: c.transfer ?? null, matrix: c.matrix ?? null, fullRange: c.fullRange ?? null } } : {}),
  };
}

export function decoderConfigOf(stored: StoredDecoderConfig): VideoDecoderConfig {
  const { description, colorSpace, ...rest } = stored;
  const space: VideoColorSpaceInit = {};
  if (colorSpace?.primaries) space.primaries = colorSpace.primaries as VideoColorPrimaries;
  if (colorSpace?.transfer) space.transfer = colorSpace.transfer as VideoTransferCharacteristics;
  if (colorSpace?.matrix) space.matrix = colorSpace.matrix as VideoMatrixCoefficients;
  if (typeof colorSpace?.fullRange === "boolean") space.fullRange = colorSpace.fullRange;
  return { ...rest, ...(description ? { description: fromBase64(description) } : {}), ...(colorSpace ? { colorSpace: space } : {}) };
}

/** Whether a fresh encoder's packets can follow the logged ones in one track: same codec string and same parameter sets. */
export function sameDecoderConfig(a: StoredDecoderConfig, b: StoredDecoderConfig): boolean {
  return a.codec === b.codec && a.codedWidth === b.codedWidth && a.codedHeight === b.codedHeight && (a.description ?? "") === (b.description ?? "");
}

export const CHECKPOINT_VERSION = 1;

/** What `redactions/<jobId>.ckpt` holds. */
export interface Checkpoint {
  v: typeof CHECKPOINT_VERSION;
  /** editHash of the edit (and original) being copied. */
  editHash: string;
  format: CopyFormat;
  decoderConfig: StoredDecoderConfig;
  /** The copy's time (seconds from the trim start) of the key packet the log resumes at. */
  t: number;
  /** The log's length in bytes before that packet's record. */
  offset: number;
  /** Records before it. */
  packets: number;
  /** The copy's length in seconds. */
  duration: number;
}

/** The checkpoint at key packet `packet`, about to be logged at byte `offset` after `packets` records. */
export function checkpointAt(base: Pick<Checkpoint, "editHash" | "format" | "decoderConfig" | "duration">, packet: Pick<LoggedPacket, "timestamp" | "key">, offset: number, packets: number): Checkpoint {
  if (!packet.key) throw new Error("a checkpoint is only taken at a key packet");
  return { v: CHECKPOINT_VERSION, editHash: base.editHash, format: base.format, decoderConfig: base.decoderConfig, t: packet.timestamp, offset, packets, duration: base.duration };
}

/** The checkpoint in `text`, or undefined when it is missing, damaged or of another version. */
export function parseCheckpoint(text: string | undefined): Checkpoint | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Checkpoint>;
    if (value.v !== CHECKPOINT_VERSION || typeof value.editHash !== "string" || !value.format || !value.decoderConfig?.codec) return undefined;
    for (const n of [value.t, value.offset, value.packets, value.duration]) if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return undefined;
    return value as Checkpoint;
  } catch {
    return undefined;
  }
}

/** Share of the progress bar for phase 1 (decode, redact, encode); the rest is the audio and the mux. */
export const PHASE_1 = 0.95;

/** How far a checkpoint had got, 0 to 1, on the scale of the copy's progress bar. */
export const checkpointFraction = (checkpoint: Checkpoint) => PHASE_1 * (checkpoint.duration > 0 ? Math.min(1, checkpoint.t / checkpoint.duration) : 0);

/**
 * Whether the copy can go on from `checkpoint`: the edit is the same one (same hash), and the log
 * on disk holds every byte before the checkpoint. Otherwise the reason, for "start again".
 */
export function canResume(checkpoint: Checkpoint | undefined, editHash: string, logBytes: number): { ok: true } | { ok: false; why: "none" | "edit changed" | "log short" } {
  if (!checkpoint || checkpoint.t <= 0) return { ok: false, why: "none" };
  if (checkpoint.editHash !== editHash) return { ok: false, why: "edit changed" };
  if (logBytes < checkpoint.offset) return { ok: false, why: "log short" };
  return { ok: true };
}

/**
 * Whether the log before the checkpoint reads as whole records: exactly `packets` of them ending
 * at `offset`, none empty, the first a key packet. The log is not flushed to the
 * disk at each checkpoint (its writes outlive a reload, not a system crash), so a resume checks it
 * first; reading the headers only is cheap.
 */
export function verifyLog(read: (into: Uint8Array, at: number) => number, checkpoint: Pick<Checkpoint, "offset" | "packets">): boolean {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  let at = 0;
  for (let i = 0; i < checkpoint.packets; i++) {
    if (at + RECORD_HEADER_BYTES > checkpoint.offset || read(header, at) !== RECORD_HEADER_BYTES) return false;
    let record;
    try {
      record = decodeHeader(header);
    } catch {
      return false;
    }
    if (record.size === 0 || !Number.isFinite(record.timestamp) || !Number.isFinite(record.duration) || (i === 0 && !record.key)) return false;
    at += RECORD_HEADER_BYTES + record.size;
  }
  return at === checkpoint.offset;
}

/** JSON with object keys sorted, so equal edits give equal text whatever order their keys were set in. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => stableJson(v === undefined ? null : v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
}

/** SHA-256 (hex) of the original's SHA-512 and the edit: a checkpoint only resumes the copy of this very edit of this very file. */
export async function editHash(sha512: string, edit: VideoEdit): Promise<string> {
  const text = stableJson({ sha512, regions: edit.regions, audio: edit.audio, trim: edit.trim ?? null });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The OPFS `redactions/` names of a job: the copy, the packet log, its checkpoint, the audio written in phase 2. */
export const jobFiles = (jobId: string) => ({ copy: jobId, log: `${jobId}.log`, checkpoint: `${jobId}.ckpt`, audio: `${jobId}.audio` });

/** The job a `redactions/` file belongs to. */
export const jobOfFile = (name: string) => name.split(".")[0]!;
