/**
 * Redaction regions and their effects (docs/evidence-format.md §6.3), shared by the photo,
 * document and video editors and the Worker that writes a redacted copy. A region is a `redact`
 * operation: a box (rectangle or inscribed ellipse) in normalised frame coordinates that moves
 * along its keys. Drawing works on any 2D canvas context, on the page or in a Worker.
 */
import type { DerivationOperation, RegionKey } from "../../../shared/crypto/manifest";

export type Redact = Extract<DerivationOperation, { type: "redact" }>;
export type Box = Pick<RegionKey, "x" | "y" | "w" | "h">;
type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** The shapes and effects as the editors name them, in the order they offer them. */
export const SHAPE_NAMES: Record<Redact["shape"], string> = { rect: "Rectangle", ellipse: "Ellipse" };
export const EFFECT_NAMES: Record<Redact["effect"], string> = { blur: "Blur", pixelate: "Pixelate", fill: "Solid fill" };

/** Blocks of pixelate (and the grain blur starts from) are at least this fraction of the frame's larger side. */
export const BLOCK_FRACTION = 1 / 40;

/**
 * A found face's box with a margin (not yet kept inside the frame): a detection is tight round
 * eyes, nose and mouth, so it is widened by a quarter of its width on each side and heightened by
 * 40 % above (hair, forehead) and 20 % below (chin). The photo and the video editors both use it.
 */
export function faceMargin(box: Box): Box {
  return { x: box.x - box.w * 0.25, y: box.y - box.h * 0.4, w: box.w * 1.5, h: box.h * 1.6 };
}

/** True when the region covers media time `t` (a photo's or page's region always does). */
export function activeAt(region: Redact, t: number): boolean {
  return region.from === undefined || (t >= region.from && t <= region.to!);
}

/** The region's box at media time `t`: linear between keys, held before the first and after the last. */
export function boxAt(region: Pick<Redact, "keys">, t: number): Box {
  const keys = region.keys;
  const first = keys[0]!;
  if (t <= first.t || keys.length === 1) return pick(first);
  const last = keys[keys.length - 1]!;
  if (t >= last.t) return pick(last);
  // Binary search: the last key at or before t.
  let low = 0;
  let high = keys.length - 1;
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (keys[mid]!.t <= t) low = mid;
    else high = mid;
  }
  const a = keys[low]!;
  const b = keys[high]!;
  const f = (t - a.t) / (b.t - a.t);
  const mix = (p: number, q: number) => p + (q - p) * f;
  return { x: mix(a.x, b.x), y: mix(a.y, b.y), w: mix(a.w, b.w), h: mix(a.h, b.h) };
}

const pick = (k: Box): Box => ({ x: k.x, y: k.y, w: k.w, h: k.h });

/** The box in whole pixels of a `width` × `height` frame, widened outwards and kept inside the frame. */
export function pixelBox(box: Box, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const x0 = Math.max(0, Math.floor(box.x * width));
  const y0 = Math.max(0, Math.floor(box.y * height));
  const x1 = Math.min(width, Math.ceil((box.x + box.w) * width));
  const y1 = Math.min(height, Math.ceil((box.y + box.h) * height));
  return { x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) };
}

let scratch: OffscreenCanvas | undefined;
function scratchContext(width: number, height: number): OffscreenCanvasRenderingContext2D {
  scratch ??= new OffscreenCanvas(1, 1);
  if (scratch.width < width) scratch.width = width;
  if (scratch.height < height) scratch.height = height;
  const context = scratch.getContext("2d", { willReadFrequently: false });
  if (!context) throw new Error("this browser cannot draw into an off-screen canvas");
  context.clearRect(0, 0, scratch.width, scratch.height);
  return context;
}

/**
 * Applies every region active at `t` to the frame already drawn on `ctx` (its whole canvas,
 * `width` × `height` pixels). What is under a region is replaced, never layered over: fill paints
 * it black; pixelate keeps one colour per block; blur starts from those blocks and smooths them,
 * so no detail finer than a block survives either way.
 */
export function drawRedactions(ctx: Context2D, regions: readonly Redact[], t: number, width: number, height: number): void {
  const block = Math.max(2, Math.ceil(Math.max(width, height) * BLOCK_FRACTION));
  for (const region of regions) {
    if (!activeAt(region, t)) continue;
    const box = pixelBox(boxAt(region, t), width, height);
    ctx.save();
    ctx.beginPath();
    if (region.shape === "ellipse") ctx.ellipse(box.x + box.w / 2, box.y + box.h / 2, box.w / 2, box.h / 2, 0, 0, Math.PI * 2);
    else ctx.rect(box.x, box.y, box.w, box.h);
    ctx.clip();
    if (region.effect === "fill") {
      ctx.fillStyle = "#000";
      ctx.fillRect(box.x, box.y, box.w, box.h);
    } else {
      const cols = Math.max(1, Math.ceil(box.w / block));
      const rows = Math.max(1, Math.ceil(box.h / block));
      const small = scratchContext(cols, rows);
      small.imageSmoothingEnabled = true;
      small.imageSmoothingQuality = "high";
      small.drawImage(ctx.canvas, box.x, box.y, box.w, box.h, 0, 0, cols, rows);
      if (region.effect === "pixelate") {
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(small.canvas, 0, 0, cols, rows, box.x, box.y, box.w, box.h);
      } else {
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = "high";
        ctx.filter = `blur(${Math.round(block / 2)}px)`;
        // Drawn a block larger on every side, so the blur has colour to the region's edge.
        const pad = block;
        ctx.drawImage(small.canvas, 0, 0, cols, rows, box.x - pad, box.y - pad, box.w + 2 * pad, box.h + 2 * pad);
        ctx.filter = "none";
      }
    }
    ctx.restore();
  }
}
