import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureTimeFields, readCaptureTime } from "../../web/src/upload/capture-time.ts";
import { exifSegment, withSegment } from "../support/exif.ts";

// Real files, made by Debian's ffmpeg at test time.
let dir: string;
const made: Record<string, Buffer> = {};

function ffmpeg(args: string[], name: string): Buffer {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args, join(dir, name)]);
  return readFileSync(join(dir, name));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "capture-time-"));
  const video = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1", "-c:v", "mpeg4"];
  const stamped = ["-metadata", "creation_time=2024-05-06T07:08:09Z"];
  made.mp4Last = ffmpeg([...video, ...stamped], "last.mp4");
  made.mp4First = ffmpeg([...video, ...stamped, "-movflags", "+faststart"], "first.mp4");
  made.mov = ffmpeg([...video, ...stamped], "clip.mov");
  made.mp4Unstamped = ffmpeg([...video, "-fflags", "+bitexact"], "unstamped.mp4");
  made.jpeg = ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1"], "x.jpg");
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The index of the first top-level box of `type` (walking by size). */
function boxAt(file: Buffer, type: string): number {
  for (let at = 0; at + 8 <= file.length; ) {
    if (file.toString("latin1", at + 4, at + 8) === type) return at;
    const size = file.readUInt32BE(at);
    at += size === 1 ? Number(file.readBigUInt64BE(at + 8)) : size;
  }
  return -1;
}

const blob = (b: Buffer) => new Blob([new Uint8Array(b)]);

describe("capture time from a video's movie header (moov/mvhd creation_time)", () => {
  it("reads an MP4 whose moov is after mdat (ffmpeg's default) and one with +faststart", async () => {
    expect(boxAt(made.mp4Last!, "moov")).toBeGreaterThan(boxAt(made.mp4Last!, "mdat"));
    expect(boxAt(made.mp4First!, "moov")).toBeLessThan(boxAt(made.mp4First!, "mdat"));
    for (const file of [made.mp4Last!, made.mp4First!]) {
      expect(await readCaptureTime(blob(file))).toEqual({ source: "mp4", capturedAt: "2024-05-06T07:08:09Z" });
    }
  });

  it("reads a QuickTime MOV", async () => {
    expect(await readCaptureTime(blob(made.mov!))).toEqual({ source: "mp4", capturedAt: "2024-05-06T07:08:09Z" });
  });

  it("reads a version 1 mvhd (64-bit times) and a 64-bit largesize box before moov", async () => {
    const file = made.mp4First!;
    const moov = boxAt(file, "moov");
    const mvhd = file.indexOf("mvhd", moov) - 4;
    const v0 = file.subarray(mvhd, mvhd + file.readUInt32BE(mvhd));
    // version 1: creation and modification 64-bit, timescale 32-bit, duration 64-bit (12 more bytes than version 0).
    const created = BigInt(Date.UTC(2031, 0, 2, 3, 4, 5) / 1000 + 2_082_844_800);
    const head = Buffer.alloc(8 + 4 + 28);
    head.writeUInt32BE(v0.length + 12, 0);
    head.write("mvhd", 4, "latin1");
    head.writeUInt32BE(0x01000000, 8);
    head.writeBigUInt64BE(created, 12);
    head.writeBigUInt64BE(created, 20);
    head.writeUInt32BE(v0.readUInt32BE(20), 28);
    head.writeBigUInt64BE(BigInt(v0.readUInt32BE(24)), 32);
    const v1 = Buffer.concat([head, v0.subarray(28)]);
    const rest = file.subarray(moov + 8).subarray(v0.length);
    const newMoov = Buffer.concat([Buffer.alloc(8), v1, rest.subarray(0, file.readUInt32BE(moov) - 8 - v0.length)]);
    newMoov.writeUInt32BE(newMoov.length, 0);
    newMoov.write("moov", 4, "latin1");
    const large = Buffer.alloc(16 + 100);
    large.writeUInt32BE(1, 0);
    large.write("free", 4, "latin1");
    large.writeBigUInt64BE(BigInt(large.length), 8);
    const built = Buffer.concat([file.subarray(0, moov), large, newMoov, file.subarray(moov + file.readUInt32BE(moov))]);
    expect(await readCaptureTime(blob(built))).toEqual({ source: "mp4", capturedAt: "2031-01-02T03:04:05Z" });
  });

  it("gives no time for creation_time 0 (unknown)", async () => {
    expect(await readCaptureTime(blob(made.mp4Unstamped!))).toBeNull();
  });

  it("never reads the media data: only small slices of the file", async () => {
    const file = blob(made.mp4Last!);
    const read: number[] = [];
    const spy = {
      size: file.size,
      slice: (start: number, end: number) => { read.push(end - start); return file.slice(start, end); },
    } as Blob;
    expect(await readCaptureTime(spy)).toEqual({ source: "mp4", capturedAt: "2024-05-06T07:08:09Z" });
    expect(Math.max(...read)).toBeLessThanOrEqual(16);
  });
});

describe("capture time from a JPEG's EXIF (DateTimeOriginal, OffsetTimeOriginal)", () => {
  it("reads both byte orders, with the offset as an RFC 3339 instant", async () => {
    for (const little of [true, false]) {
      const jpeg = withSegment(made.jpeg!, exifSegment(little, "2024:05:06 09:08:09", "+02:00"));
      expect(await readCaptureTime(blob(jpeg))).toEqual({ source: "exif", capturedAt: "2024-05-06T09:08:09+02:00" });
      execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "image2pipe", "-i", "-", "-f", "null", "-"], { input: jpeg }); // still a JPEG ffmpeg decodes
    }
  });

  it("keeps a time without offset as the camera's local time, marked so", async () => {
    const jpeg = withSegment(made.jpeg!, exifSegment(false, "2024:05:06 09:08:09"));
    expect(await readCaptureTime(blob(jpeg))).toEqual({ source: "exif-local", localTime: "2024-05-06T09:08:09" });
    expect(await captureTimeFields(new File([new Uint8Array(jpeg)], "x.jpg", { lastModified: Date.UTC(2025, 0, 1) }))).toEqual({
      device: { captureTimeSource: "exif-local", capturedAtLocal: "2024-05-06T09:08:09" },
    });
  });

  it("gives no time for a JPEG without EXIF, or with an impossible date", async () => {
    expect(await readCaptureTime(blob(made.jpeg!))).toBeNull();
    expect(await readCaptureTime(blob(withSegment(made.jpeg!, exifSegment(true, "0000:00:00 00:00:00", "+02:00"))))).toBeNull();
    expect(await readCaptureTime(blob(withSegment(made.jpeg!, exifSegment(true, "2024:02:30 10:00:00"))))).toBeNull();
  });
});

describe("a file it cannot read has no embedded time, and never throws", () => {
  it("truncated files and garbage", async () => {
    const jpeg = withSegment(made.jpeg!, exifSegment(true, "2024:05:06 09:08:09", "+02:00"));
    for (const cut of [1, 3, 10, 30, 60]) expect(await readCaptureTime(blob(jpeg.subarray(0, cut)))).toBeNull();
    const mp4 = made.mp4Last!;
    expect(await readCaptureTime(blob(mp4.subarray(0, boxAt(mp4, "moov") + 40)))).toBeNull();
    expect(await readCaptureTime(blob(mp4.subarray(0, mp4.length - 1)))).toBeNull();
    expect(await readCaptureTime(blob(Buffer.from("hello world, not a media file at all")))).toBeNull();
    expect(await readCaptureTime(blob(Buffer.alloc(0)))).toBeNull();
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
    expect(await readCaptureTime(blob(random))).toBeNull();
    expect(await readCaptureTime(blob(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff]), random])))).toBeNull();
  });

  it("falls back to the file's modification time, then the device clock, saying which", async () => {
    const garbage = new Uint8Array([1, 2, 3]);
    expect(await captureTimeFields(new File([garbage], "a.bin", { lastModified: Date.UTC(2025, 0, 1, 12) }))).toEqual({
      capturedAt: "2025-01-01T12:00:00.000Z", device: { captureTimeSource: "file-modified" },
    });
    expect(await captureTimeFields(new File([garbage], "a.bin", { lastModified: 0 }), () => new Date(Date.UTC(2026, 1, 2)))).toEqual({
      capturedAt: "2026-02-02T00:00:00.000Z", device: { captureTimeSource: "device-clock" },
    });
    expect(await captureTimeFields(new File([new Uint8Array(made.mov!)], "clip.mov", { lastModified: Date.UTC(2025, 0, 1) }))).toEqual({
      capturedAt: "2024-05-06T07:08:09Z", device: { captureTimeSource: "mp4" },
    });
  });
});
