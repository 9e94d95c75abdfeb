/**
 * The site's recording archive (docs/agent.md, "Recording archive"): one folder per camera,
 * named by the camera's archiveId, holding MP4 segments named by their start time in UTC,
 * `YYYYMMDDTHHMMSSZ.mp4` (e.g. `entrance/20260301T140000Z.mp4`). A clip is cut across
 * segment boundaries with ffmpeg's concat demuxer and stream copy (`-c copy`): no re-encoding,
 * the recorder's own frames. With stream copy a cut starts at the keyframe at or before the
 * requested start, so a clip may begin up to one keyframe interval early (recorders put one
 * every 1 to 2 seconds); it never begins late.
 */
import { fileSize, join, list, remove, run, writePrivateFile } from "./platform.ts";

const SEGMENT_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.mp4$/;

export interface Segment {
  path: string;
  /** Start, milliseconds since the epoch (from the name). */
  start: number;
  durationMs: number;
}

export interface Cut {
  /** The footage's range (clamped to what the archive holds) and the clip's measured duration. */
  footageStart: string;
  footageEnd: string;
  durationMs: number;
}

/** The start time a segment's file name gives, or null for a file that is not a segment. */
export function segmentStart(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? null : t;
}

export class Archive {
  /** Durations already measured, by path and size (a segment still being written grows). */
  private readonly durations = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly tools: { ffmpeg: string; ffprobe: string },
  ) {}

  /** A media file's duration in milliseconds, measured by ffprobe. */
  async probeDuration(path: string): Promise<number> {
    const out = await run(this.tools.ffprobe, ["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", path], { timeoutMs: 60_000 });
    const seconds = Number.parseFloat(out.stdout.trim());
    if (out.code !== 0 || !Number.isFinite(seconds)) throw new Error(`ffprobe could not read ${path}: ${out.stderr.trim() || "no duration"}`);
    return Math.round(seconds * 1000);
  }

  /** The camera's segments that overlap [from, to), in time order. */
  async segmentsFor(archiveId: string, from: number, to: number): Promise<Segment[]> {
    const folder = join(this.root, archiveId);
    const starts = (await list(folder)).map((name) => ({ name, start: segmentStart(name) })).filter((s): s is { name: string; start: number } => s.start !== null);
    starts.sort((a, b) => a.start - b.start);
    const found: Segment[] = [];
    for (const [i, { name, start }] of starts.entries()) {
      if (start >= to) break;
      // A segment cannot reach past the next one's start: skip those that end before `from` without probing.
      const next = starts[i + 1]?.start;
      if (next !== undefined && next <= from) continue;
      const path = join(folder, name);
      const key = `${path}:${await fileSize(path)}`;
      let durationMs = this.durations.get(key);
      if (durationMs === undefined) {
        durationMs = await this.probeDuration(path);
        this.durations.set(key, durationMs);
      }
      if (start + durationMs > from) found.push({ path, start, durationMs });
    }
    return found;
  }

  /**
   * Cuts [from, to) of the camera's footage into `out` (MP4, stream copy). Answers null when the
   * archive has no footage in the range.
   */
  async cut(archiveId: string, from: number, to: number, out: string): Promise<Cut | null> {
    const segments = await this.segmentsFor(archiveId, from, to);
    if (segments.length === 0) return null;
    const lines = ["ffconcat version 1.0"];
    for (const [i, segment] of segments.entries()) {
      lines.push(`file '${segment.path.replaceAll("'", "'\\''")}'`);
      if (i === 0 && from > segment.start) lines.push(`inpoint ${((from - segment.start) / 1000).toFixed(3)}`);
      if (i === segments.length - 1 && to < segment.start + segment.durationMs) lines.push(`outpoint ${((to - segment.start) / 1000).toFixed(3)}`);
    }
    const listPath = `${out}.ffconcat`;
    await writePrivateFile(listPath, `${lines.join("\n")}\n`);
    try {
      const result = await run(
        this.tools.ffmpeg,
        ["-hide_banner", "-nostdin", "-v", "error", "-f", "concat", "-safe", "0", "-i", listPath, "-map", "0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", "-y", out],
        { timeoutMs: 60 * 60_000 },
      );
      if (result.code !== 0) throw new Error(`ffmpeg failed to cut the clip (exit ${result.code}): ${result.stderr.trim().slice(-2000)}`);
    } finally {
      await remove(listPath);
    }
    const first = segments[0]!;
    const last = segments.at(-1)!;
    return {
      footageStart: new Date(Math.max(from, first.start)).toISOString(),
      footageEnd: new Date(Math.min(to, last.start + last.durationMs)).toISOString(),
      durationMs: await this.probeDuration(out),
    };
  }
}
