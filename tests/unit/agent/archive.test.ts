/**
 * The agent's recording archive with real ffmpeg: segments found by their names, a cut across
 * segment boundaries by stream copy, partial coverage and gaps, and no footage.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Archive, segmentStart } from "../../../agent/archive.ts";

const T0 = Date.UTC(2026, 2, 1, 14, 0, 0);
const name = (t: number) => `${new Date(t).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}.mp4`;

function segment(dir: string, start: number, seconds: number): void {
  const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", join(dir, name(start))], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
}

describe("recording archive", () => {
  let root: string;
  let archive: Archive;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "custody-archive-"));
    const cam = join(root, "entrance");
    mkdirSync(cam);
    // 14:00:00-14:00:30 in three segments, then a gap, then 14:01:00-14:01:10.
    for (const offset of [0, 10, 20]) segment(cam, T0 + offset * 1000, 10);
    segment(cam, T0 + 60_000, 10);
    writeFileSync(join(cam, "notes.txt"), "not a segment");
    archive = new Archive(root, { ffmpeg: "ffmpeg", ffprobe: "ffprobe" });
  }, 60_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("reads a segment's start from its name and ignores other files", () => {
    expect(segmentStart("20260301T140000Z.mp4")).toBe(T0);
    expect(segmentStart("20260301T140000Z.mkv")).toBeNull();
    expect(segmentStart("notes.txt")).toBeNull();
    expect(segmentStart("20261301T140000Z.mp4")).not.toBe(T0);
  });

  it("finds only the segments that overlap the range", async () => {
    const found = await archive.segmentsFor("entrance", T0 + 12_000, T0 + 25_000);
    expect(found.map((s) => s.start)).toEqual([T0 + 10_000, T0 + 20_000]);
    expect(found.every((s) => Math.abs(s.durationMs - 10_000) < 100)).toBe(true);
    expect(await archive.segmentsFor("entrance", T0 + 30_500, T0 + 59_000)).toEqual([]);
    expect(await archive.segmentsFor("no-such-camera", T0, T0 + 10_000)).toEqual([]);
  });

  it("cuts across segment boundaries without re-encoding, to the requested duration", async () => {
    const out = join(root, "cut.mp4");
    const cut = await archive.cut("entrance", T0 + 5_000, T0 + 27_000, out);
    expect(cut).toEqual({ footageStart: new Date(T0 + 5_000).toISOString(), footageEnd: new Date(T0 + 27_000).toISOString(), durationMs: expect.any(Number) });
    expect(Math.abs(cut!.durationMs - 22_000)).toBeLessThanOrEqual(1000);
    // Stream copy: the codec and size are the recorder's.
    const probe = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", out], { encoding: "utf8" });
    expect(probe.stdout.trim()).toBe("h264,160,120");
    // The concat list it used is gone.
    expect(readdirSync(root).filter((f) => f.endsWith(".ffconcat"))).toEqual([]);
  });

  it("gives what exists when the footage covers part of the range, and nothing when it covers none", async () => {
    const partial = await archive.cut("entrance", T0 + 25_000, T0 + 45_000, join(root, "partial.mp4"));
    expect(partial!.footageEnd).toBe(new Date(T0 + 30_000).toISOString());
    expect(Math.abs(partial!.durationMs - 5_000)).toBeLessThanOrEqual(1000);
    expect(await archive.cut("entrance", T0 + 31_000, T0 + 59_000, join(root, "none.mp4"))).toBeNull();
  });
});
