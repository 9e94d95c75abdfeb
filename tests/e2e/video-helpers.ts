/**
 * What the video redaction journeys share (redaction-video.test.ts, redaction-video-copies.test.ts):
 * the ffmpeg test video (a red square moving right on a plain background, a steady 440 Hz tone),
 * frames of a copy decoded by ffmpeg and their pixels, and driving the editor's video (drag a
 * region on the overlay, seek and wait for the frame).
 */
import { spawnSync } from "node:child_process";
import type { Locator, Page } from "playwright-core";
import { expect } from "vitest";

export const W = 320;
export const H = 240;
export const SIDE = 40;
/** The square's top left corner at time t (while it moves): 50 px a second to the right. */
export const squareAt = (t: number) => ({ x: 40 + 50 * t, y: 100 });
export const BACKGROUND = [0x30, 0x70, 0xb0] as const;

/** Writes the test video to `path`: `seconds` long, the square moving for the first `movingFor` seconds. */
export function makeSquareVideo(path: string, seconds: number, movingFor = seconds): void {
  const ffmpeg = spawnSync(
    "ffmpeg",
    [
      "-v", "error", "-y",
      "-f", "lavfi", "-i", `color=c=0x3070b0:s=${W}x${H}:r=30:d=${seconds}`,
      "-f", "lavfi", "-i", `color=c=red:s=${SIDE}x${SIDE}:r=30:d=${seconds}`,
      "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      "-filter_complex", `[0][1]overlay=x='40+50*min(t,${movingFor})':y=100[v]`,
      "-map", "[v]", "-map", "2",
      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
      "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", path,
    ],
    { encoding: "utf8" },
  );
  if (ffmpeg.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${ffmpeg.stderr}`);
}

/** One decoded frame of `file` at `t` seconds (RGB, or grey levels), checked to be `size` bytes. */
export function frameAt(file: string, t: number, format: "rgb24" | "gray" = "rgb24", size = W * H * 3): Buffer {
  const out = spawnSync("ffmpeg", ["-v", "error", "-ss", String(t), "-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", format, "-"], { maxBuffer: 16 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`ffmpeg could not decode a frame of ${file}: ${out.stderr.toString()}`);
  expect(out.stdout.length).toBe(size);
  return out.stdout;
}

/** The largest difference of any channel from `rgb` over the pixels of a box of a W × H RGB frame. */
export function maxDifference(frame: Buffer, box: { x: number; y: number; w: number; h: number }, rgb: readonly number[]): number {
  let worst = 0;
  for (let y = box.y; y < box.y + box.h; y++) {
    for (let x = box.x; x < box.x + box.w; x++) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(frame[(y * W + x) * 3 + c]! - rgb[c]!));
    }
  }
  return worst;
}

/** Drags with the mouse from one point of the frame to another (source pixels of the W × H video). */
export async function drag(overlay: Locator, page: Page, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  await overlay.scrollIntoViewIfNeeded();
  const box = (await overlay.boundingBox())!;
  const sx = box.width / W;
  const sy = box.height / H;
  await page.mouse.move(box.x + from.x * sx, box.y + from.y * sy);
  await page.mouse.down();
  await page.mouse.move(box.x + ((from.x + to.x) / 2) * sx, box.y + ((from.y + to.y) / 2) * sy, { steps: 4 });
  await page.mouse.move(box.x + to.x * sx, box.y + to.y * sy, { steps: 4 });
  await page.mouse.up();
}

/** Seeks the editor's video and waits for the frame. */
export async function seek(video: Locator, t: number): Promise<void> {
  await video.evaluate(async (element: HTMLVideoElement, to: number) => {
    element.pause();
    const seeked = new Promise((r) => element.addEventListener("seeked", r, { once: true }));
    element.currentTime = to;
    await seeked;
  }, t);
}
