/**
 * Audio ranges on decoded samples: in each range the sound is replaced, never mixed: `mute` by
 * silence, `bleep` by a 1 kHz tone (its phase from the media time, so it runs on smoothly across
 * sample blocks). Works on interleaved 32-bit float samples, in place.
 */
import type { AudioRange } from "./edit";

export const BLEEP_HZ = 1000;
/** The bleep's amplitude (full scale is 1): clearly heard, not painful. */
export const BLEEP_LEVEL = 0.25;

/** True when `[t0, t1)` (original media time) meets any range. */
export function touchesRange(ranges: readonly AudioRange[], t0: number, t1: number): boolean {
  return ranges.some((r) => r.from < t1 && r.to > t0);
}

/**
 * Replaces what falls in `ranges` of interleaved 32-bit float audio: `data` holds `channels`
 * samples per frame, the first frame at original media time `t0`, `sampleRate` frames per second.
 */
export function applyAudioRanges(data: Float32Array, channels: number, sampleRate: number, t0: number, ranges: readonly AudioRange[]): void {
  const frames = Math.floor(data.length / channels);
  for (const range of ranges) {
    const first = Math.max(0, Math.ceil((range.from - t0) * sampleRate - 1e-6));
    const last = Math.min(frames, Math.ceil((range.to - t0) * sampleRate - 1e-6));
    if (first >= last) continue;
    if (range.effect === "mute") {
      data.fill(0, first * channels, last * channels);
      continue;
    }
    for (let i = first; i < last; i++) {
      const value = BLEEP_LEVEL * Math.sin(2 * Math.PI * BLEEP_HZ * (t0 + i / sampleRate));
      for (let c = 0; c < channels; c++) data[i * channels + c] = value;
    }
  }
}
