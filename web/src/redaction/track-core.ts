/**
 * Following a region from frame to frame (docs/redaction-detection.md, "Tracking"): normalised
 * cross-correlation of a small grey template, searched in a window around where the region is
 * expected next, at three sizes. Pure arithmetic on grey pixels, no DOM: the tracking Worker
 * (track.worker.ts) feeds it frames it has turned grey.
 */

/** A grey picture: one luminance value (0–255) a pixel, row by row. */
export interface Grey {
  width: number;
  height: number;
  data: Float32Array;
}

/** A rectangle in pixels of the grey frames (fractions of a pixel allowed): top left corner, width, height. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TrackerSettings {
  /** Below this match score (−1…1) the region counts as lost. */
  minScore: number;
  /** How far from where it is expected the region is looked for, as a fraction of its larger side. */
  searchRadius: number;
  /** How much of each new match flows into the template (0 keeps the first picture for ever). */
  learnRate: number;
  /** The template is refreshed only from matches at least this good, so an occluder is not learnt. */
  learnAbove: number;
  /** Size steps tried each frame (the region may grow or shrink by this factor a frame). */
  scaleStep: number;
}

export const DEFAULT_TRACKER_SETTINGS: TrackerSettings = {
  minScore: 0.5,
  searchRadius: 0.5,
  learnRate: 0.08,
  learnAbove: 0.8,
  scaleStep: 1.04,
};

/** The larger side of the template in grey pixels: the frames are scaled so the region is about this big. */
export const TEMPLATE_SIDE = 32;

export type TrackStep = { found: true; rect: Rect; score: number } | { found: false; reason: "lost" | "left-frame"; score: number };

export class TemplateTracker {
  private readonly settings: TrackerSettings;
  /** The template at its own fixed size (tw × th), refreshed slowly. */
  private template: Float32Array;
  private readonly tw: number;
  private readonly th: number;
  private rect: Rect;
  private vx = 0;
  private vy = 0;

  constructor(frame: Grey, rect: Rect, settings: Partial<TrackerSettings> = {}) {
    this.settings = { ...DEFAULT_TRACKER_SETTINGS, ...settings };
    this.rect = clampRect(rect, frame);
    this.tw = Math.max(4, Math.round(this.rect.w));
    this.th = Math.max(4, Math.round(this.rect.h));
    this.template = sample(frame, this.rect, this.tw, this.th);
  }

  /** Where the region is now (grey-frame pixels). */
  get current(): Rect {
    return { ...this.rect };
  }

  /** Finds the region in the next frame (same size as the first). */
  update(frame: Grey): TrackStep {
    const s = this.settings;
    const { w, h } = this.rect;
    const cx = this.rect.x + w / 2 + this.vx;
    const cy = this.rect.y + h / 2 + this.vy;
    const radius = Math.max(4, Math.ceil(s.searchRadius * Math.max(w, h) + Math.hypot(this.vx, this.vy) * 0.5));
    const integral = integrate(frame);
    let best: { rect: Rect; score: number; rank: number } | undefined;
    for (const factor of [1, s.scaleStep, 1 / s.scaleStep]) {
      const sw = Math.max(4, Math.round(w * factor));
      const sh = Math.max(4, Math.round(h * factor));
      if (sw > frame.width || sh > frame.height) continue;
      const match = search(frame, integral, zeroMean(resize(this.template, this.tw, this.th, sw, sh)), sw, sh, cx - sw / 2, cy - sh / 2, radius);
      if (!match) continue;
      // A size change must earn its place: noise alone should not make the box breathe.
      const rank = factor === 1 ? match.score : match.score - 0.01;
      if (best && rank <= best.rank) continue;
      const centreX = match.x + sw / 2;
      const centreY = match.y + sh / 2;
      best = { rect: { x: centreX - (w * factor) / 2, y: centreY - (h * factor) / 2, w: w * factor, h: h * factor }, score: match.score, rank };
    }
    if (!best) return { found: false, reason: "left-frame", score: 0 };
    const score = best.score;
    if (score < s.minScore) return { found: false, reason: "lost", score };
    const next = best.rect;
    const centreX = next.x + next.w / 2;
    const centreY = next.y + next.h / 2;
    // Velocity smoothed over a few frames: the search window follows steady motion.
    this.vx = 0.5 * this.vx + 0.5 * (centreX - (this.rect.x + w / 2));
    this.vy = 0.5 * this.vy + 0.5 * (centreY - (this.rect.y + h / 2));
    this.rect = next;
    if (score >= s.learnAbove && s.learnRate > 0) {
      const fresh = sample(frame, next, this.tw, this.th);
      for (let i = 0; i < fresh.length; i++) this.template[i] = this.template[i]! * (1 - s.learnRate) + fresh[i]! * s.learnRate;
    }
    return { found: true, rect: { ...next }, score };
  }
}

/** Keeps a rectangle's size (at most the frame's) and moves it inside the frame. */
export function clampRect(r: Rect, frame: { width: number; height: number }): Rect {
  const w = Math.min(r.w, frame.width);
  const h = Math.min(r.h, frame.height);
  return { x: Math.min(Math.max(0, r.x), frame.width - w), y: Math.min(Math.max(0, r.y), frame.height - h), w, h };
}

/** Bilinear sample of `rect` of the frame into a `tw` × `th` grid (pixel centres). */
function sample(frame: Grey, rect: Rect, tw: number, th: number): Float32Array {
  const out = new Float32Array(tw * th);
  const sx = rect.w / tw;
  const sy = rect.h / th;
  for (let j = 0; j < th; j++) {
    const fy = rect.y + (j + 0.5) * sy - 0.5;
    for (let i = 0; i < tw; i++) out[j * tw + i] = bilinear(frame.data, frame.width, frame.height, rect.x + (i + 0.5) * sx - 0.5, fy);
  }
  return out;
}

function bilinear(data: Float32Array, width: number, height: number, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), width - 1);
  const cy = Math.min(Math.max(y, 0), height - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const top = data[y0 * width + x0]! * (1 - fx) + data[y0 * width + x1]! * fx;
  const bottom = data[y1 * width + x0]! * (1 - fx) + data[y1 * width + x1]! * fx;
  return top * (1 - fy) + bottom * fy;
}

function resize(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  if (sw === dw && sh === dh) return src.slice();
  return sample({ width: sw, height: sh, data: src }, { x: 0, y: 0, w: sw, h: sh }, dw, dh);
}

/** The template less its mean, with its energy (sum of squares): the fixed half of the correlation. */
function zeroMean(t: Float32Array): { data: Float32Array; energy: number } {
  let mean = 0;
  for (const v of t) mean += v;
  mean /= t.length;
  let energy = 0;
  const data = new Float32Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const v = t[i]! - mean;
    data[i] = v;
    energy += v * v;
  }
  return { data, energy };
}

/** Summed-area tables of the frame and of its squares ((width + 1) × (height + 1)), for each window's mean and spread in four reads. */
function integrate(frame: Grey): { sum: Float64Array; squares: Float64Array } {
  const W = frame.width + 1;
  const sum = new Float64Array(W * (frame.height + 1));
  const squares = new Float64Array(W * (frame.height + 1));
  for (let y = 0; y < frame.height; y++) {
    let row = 0;
    let rowSquares = 0;
    for (let x = 0; x < frame.width; x++) {
      const v = frame.data[y * frame.width + x]!;
      row += v;
      rowSquares += v * v;
      sum[(y + 1) * W + x + 1] = sum[y * W + x + 1]! + row;
      squares[(y + 1) * W + x + 1] = squares[y * W + x + 1]! + rowSquares;
    }
  }
  return { sum, squares };
}

/**
 * Zero-mean normalised cross-correlation of the template at every whole-pixel position whose top
 * left corner is within `radius` of (x, y) and inside the frame; the best one refined to a fraction
 * of a pixel by a parabola through its neighbours. Null when no position fits in the frame.
 */
function search(
  frame: Grey,
  integral: { sum: Float64Array; squares: Float64Array },
  template: { data: Float32Array; energy: number },
  tw: number,
  th: number,
  x: number,
  y: number,
  radius: number,
): { x: number; y: number; score: number } | null {
  const x0 = Math.max(0, Math.floor(x - radius));
  const y0 = Math.max(0, Math.floor(y - radius));
  const x1 = Math.min(frame.width - tw, Math.ceil(x + radius));
  const y1 = Math.min(frame.height - th, Math.ceil(y + radius));
  if (x1 < x0 || y1 < y0) return null;
  const cols = x1 - x0 + 1;
  const rows = y1 - y0 + 1;
  const scores = new Float32Array(cols * rows);
  const n = tw * th;
  const W = frame.width + 1;
  const { sum, squares } = integral;
  const t = template.data;
  const img = frame.data;
  let bestIndex = 0;
  let bestScore = -Infinity;
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      const a = py * W + px;
      const b = py * W + px + tw;
      const c = (py + th) * W + px;
      const d = (py + th) * W + px + tw;
      const s = sum[d]! - sum[b]! - sum[c]! + sum[a]!;
      const q = squares[d]! - squares[b]! - squares[c]! + squares[a]!;
      const spread = q - (s * s) / n;
      let score = 0;
      // A flat window (or a flat template) matches nothing.
      if (spread > 1e-3 * n && template.energy > 1e-3 * n) {
        let cross = 0;
        for (let j = 0; j < th; j++) {
          const row = (py + j) * frame.width + px;
          const trow = j * tw;
          for (let i = 0; i < tw; i++) cross += t[trow + i]! * img[row + i]!;
        }
        score = cross / Math.sqrt(spread * template.energy);
      }
      const index = (py - y0) * cols + (px - x0);
      scores[index] = score;
      if (score > bestScore) {
        bestScore = score;
        bestIndex = index;
      }
    }
  }
  const bx = bestIndex % cols;
  const by = Math.floor(bestIndex / cols);
  const at = (i: number, j: number) => scores[j * cols + i]!;
  const dx = bx > 0 && bx < cols - 1 ? peak(at(bx - 1, by), bestScore, at(bx + 1, by)) : 0;
  const dy = by > 0 && by < rows - 1 ? peak(at(bx, by - 1), bestScore, at(bx, by + 1)) : 0;
  return { x: x0 + bx + dx, y: y0 + by + dy, score: bestScore };
}

/** Offset (−0.5…0.5) of the top of the parabola through three equally spaced values, the middle one the largest. */
function peak(left: number, middle: number, right: number): number {
  const curve = left - 2 * middle + right;
  if (curve >= 0) return 0;
  return Math.max(-0.5, Math.min(0.5, (0.5 * (left - right)) / curve));
}
