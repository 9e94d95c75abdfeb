/** The packet log and checkpoint bookkeeping that lets a video redaction copy resume after a reload (web/src/redaction/video/packet-log.ts). */
import { describe, expect, it } from "vitest";
import { emptyEdit, newRegion } from "../../web/src/redaction/video/edit";
import {
  canResume,
  checkpointAt,
  checkpointFraction,
  decodeHeader,
  decoderConfigOf,
  editHash,
  encodeRecord,
  jobFiles,
  jobOfFile,
  parseCheckpoint,
  PHASE_1,
  verifyLog,
  RECORD_HEADER_BYTES,
  sameDecoderConfig,
  storeDecoderConfig,
  type Checkpoint,
  type CopyFormat,
  type LoggedPacket,
} from "../../web/src/redaction/video/packet-log";

const FORMAT: CopyFormat = { mediaType: "video/mp4", extension: "mp4", videoCodec: "avc", audioCodec: "aac", audioDropped: false };
const CONFIG = storeDecoderConfig({ codec: "avc1.64000c", codedWidth: 320, codedHeight: 240, description: new Uint8Array([1, 0x64, 0, 12, 0xff]) });
const SHA = "ab".repeat(64);

/** 30 fps packets, a key packet every 2 s (as the encoder is asked for). */
const packet = (i: number): LoggedPacket => ({ data: new Uint8Array([i & 0xff, (i >> 8) & 0xff, 7]), key: i % 60 === 0, timestamp: i / 30, duration: 1 / 30 });

/** Reads every record of an in-memory log. */
function readAll(log: Uint8Array): LoggedPacket[] {
  const out: LoggedPacket[] = [];
  for (let at = 0; at < log.length; ) {
    const { size, ...rest } = decodeHeader(log.subarray(at, at + RECORD_HEADER_BYTES));
    out.push({ ...rest, data: log.slice(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + size) });
    at += RECORD_HEADER_BYTES + size;
  }
  return out;
}

/** What the worker does: packets `from`..`to` appended at `offset`, a checkpoint at each key packet. Returns the log and the last checkpoint. */
function write(log: Uint8Array, from: number, to: number, offset: number, packets: number, hash: string): { log: Uint8Array; checkpoint?: Checkpoint } {
  const chunks: Uint8Array[] = [log.slice(0, offset)];
  let checkpoint: Checkpoint | undefined;
  for (let i = from; i < to; i++) {
    const p = packet(i);
    if (p.key) checkpoint = checkpointAt({ editHash: hash, format: FORMAT, decoderConfig: CONFIG, duration: 10 }, p, offset, packets);
    const record = encodeRecord(p);
    chunks.push(record);
    offset += record.length;
    packets++;
  }
  const out = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return { log: out, ...(checkpoint ? { checkpoint } : {}) };
}

describe("video redaction: the packet log and its checkpoint", () => {
  it("writes records that read back with their bytes, key flag and timing, and refuses a damaged header", () => {
    const records = [packet(0), packet(1), packet(60)];
    const log = new Uint8Array(records.reduce((n, p) => n + RECORD_HEADER_BYTES + p.data.length, 0));
    let at = 0;
    for (const p of records) {
      log.set(encodeRecord(p), at);
      at += RECORD_HEADER_BYTES + p.data.length;
    }
    expect(readAll(log)).toEqual(records);
    const damaged = encodeRecord(packet(1));
    damaged[4] = 9;
    expect(() => decodeHeader(damaged)).toThrow("damaged");
    expect(() => decodeHeader(damaged.subarray(0, 10))).toThrow("cut short");
  });

  it("a copy cut short after its last checkpoint resumes to the same packets, each once, as a run never interrupted", () => {
    const hash = "h1";
    const whole = write(new Uint8Array(0), 0, 300, 0, 0, hash).log;
    // Cut short at packet 200: the last checkpoint is the key packet at 180 (6 s); the bytes after it may be lost or half-written.
    const cut = write(new Uint8Array(0), 0, 200, 0, 0, hash);
    const checkpoint = parseCheckpoint(JSON.stringify(cut.checkpoint))!;
    expect([checkpoint.t, checkpoint.packets]).toEqual([6, 180]);
    const torn = cut.log.slice(0, cut.log.length - 2);
    expect(canResume(checkpoint, hash, torn.length)).toEqual({ ok: true });
    const reader = (log: Uint8Array) => (into: Uint8Array, at: number) => {
      const part = log.subarray(at, at + into.length);
      into.set(part);
      return part.length;
    };
    expect(verifyLog(reader(torn), checkpoint)).toBe(true);
    // A log the system lost part of (zeros where records were, or shorter) is not resumed.
    const zeroed = torn.slice();
    zeroed.fill(0, 1000, 1100);
    expect(verifyLog(reader(zeroed), checkpoint)).toBe(false);
    expect(verifyLog(reader(torn.subarray(0, checkpoint.offset - 10)), checkpoint)).toBe(false);
    expect(verifyLog(reader(torn), { ...checkpoint, packets: checkpoint.packets - 1 })).toBe(false);
    // Resumed: the log cut back to the checkpoint, encoding again from its time.
    const resumed = write(torn, Math.round(checkpoint.t * 30), 300, checkpoint.offset, checkpoint.packets, hash).log;
    expect(resumed).toEqual(whole);
    expect(readAll(resumed).map((p) => Math.round(p.timestamp * 30))).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it("resumes only the same edit of the same original, from a checkpoint past the start, with its log on disk", () => {
    const checkpoint = checkpointAt({ editHash: "h1", format: FORMAT, decoderConfig: CONFIG, duration: 10 }, { timestamp: 4, key: true }, 5000, 120);
    expect(canResume(checkpoint, "h1", 5000)).toEqual({ ok: true });
    expect(canResume(checkpoint, "h2", 5000)).toEqual({ ok: false, why: "edit changed" });
    expect(canResume(checkpoint, "h1", 4999)).toEqual({ ok: false, why: "log short" });
    expect(canResume(undefined, "h1", 5000)).toEqual({ ok: false, why: "none" });
    expect(canResume({ ...checkpoint, t: 0, offset: 0 }, "h1", 0)).toEqual({ ok: false, why: "none" });
    expect(() => checkpointAt(checkpoint, { timestamp: 4.5, key: false }, 6000, 130)).toThrow("key packet");
    // On the copy's progress scale: phase 1 is the first 95 %.
    expect(checkpointFraction(checkpoint)).toBeCloseTo(0.4 * PHASE_1, 10);
  });

  it("reads back only a whole checkpoint of this version", () => {
    const checkpoint = checkpointAt({ editHash: "h1", format: FORMAT, decoderConfig: CONFIG, duration: 10 }, { timestamp: 2, key: true }, 100, 60);
    const text = JSON.stringify(checkpoint);
    expect(parseCheckpoint(text)).toEqual(checkpoint);
    expect(parseCheckpoint(text.slice(0, -5))).toBeUndefined();
    expect(parseCheckpoint("")).toBeUndefined();
    expect(parseCheckpoint(undefined)).toBeUndefined();
    expect(parseCheckpoint(JSON.stringify({ ...checkpoint, v: 2 }))).toBeUndefined();
    expect(parseCheckpoint(JSON.stringify({ ...checkpoint, offset: -1 }))).toBeUndefined();
    expect(parseCheckpoint(JSON.stringify({ ...checkpoint, t: "2" }))).toBeUndefined();
  });

  it("keeps the encoder's decoder config through JSON, and tells parameter sets apart (a canvas frame's colour description differs)", () => {
    const config = storeDecoderConfig({
      codec: "avc1.64000c",
      codedWidth: 320,
      codedHeight: 240,
      description: new Uint8Array([1, 0x64, 0, 12, 0xff, 0xe1, 0, 4]).buffer,
      colorSpace: { primaries: "bt709", transfer: "bt709", matrix: "bt709", fullRange: false },
    });
    const back = decoderConfigOf(JSON.parse(JSON.stringify(config)) as typeof config);
    expect(Array.from(back.description as Uint8Array)).toEqual([1, 0x64, 0, 12, 0xff, 0xe1, 0, 4]);
    expect(back.colorSpace).toEqual({ primaries: "bt709", transfer: "bt709", matrix: "bt709", fullRange: false });
    expect(sameDecoderConfig(config, storeDecoderConfig(back))).toBe(true);
    const other = storeDecoderConfig({ ...back, description: new Uint8Array([1, 0x64, 0, 12, 0xff, 0xe1, 0, 5]) });
    expect(sameDecoderConfig(config, other)).toBe(false);
    expect(sameDecoderConfig(config, { ...config, codec: "avc1.42001f" })).toBe(false);
    // VP9 and VP8 have no description.
    expect(decoderConfigOf(storeDecoderConfig({ codec: "vp09.00.10.08" })).description).toBeUndefined();
  });

  it("hashes the edit whatever the order its keys were set in, and tells edits and originals apart", async () => {
    const region = newRegion("rect", "fill", 1, { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }, 5);
    const reordered = Object.fromEntries(Object.entries(region).reverse()) as typeof region;
    const edit = { ...emptyEdit(), regions: [region], trim: { from: 1, to: 4 } };
    const hash = await editHash(SHA, edit);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await editHash(SHA, { trim: { to: 4, from: 1 }, audio: [], regions: [reordered] })).toBe(hash);
    expect(await editHash(SHA, { ...edit, regions: [{ ...region, effect: "blur" }] })).not.toBe(hash);
    expect(await editHash(SHA, { ...edit, trim: { from: 1, to: 3.5 } })).not.toBe(hash);
    expect(await editHash("cd".repeat(64), edit)).not.toBe(hash);
  });

  it("names a job's files so the sweep keeps or removes them together", () => {
    const files = jobFiles("0a1b");
    expect(files).toEqual({ copy: "0a1b", log: "0a1b.log", checkpoint: "0a1b.ckpt", audio: "0a1b.audio" });
    expect(new Set(Object.values(files).map(jobOfFile))).toEqual(new Set(["0a1b"]));
  });
});
