/**
 * A video redaction edit as the editor keeps it and the copy writer reads it: regions (`redact`
 * operations with keys, in the original's media time and normalised frame coordinates), audio
 * ranges and an optional trim. The operations of the copy's manifest (docs/evidence-format.md
 * §6.3) come straight from it, so what is signed is exactly what was drawn. A tracker can hand
 * over a region as a list of keys (`regionFromKeys`), no other change needed.
 */
import type { DerivationOperation, RegionKey } from "../../../../shared/crypto/manifest";
import { MAX_REGION_KEYS } from "../../../../shared/crypto/manifest";
import { boxAt, type Box, type Redact } from "../regions";

export type AudioRange = Extract<DerivationOperation, { type: "audio" }>;
export type Trim = { from: number; to: number };
export type Shape = Redact["shape"];
export type Effect = Redact["effect"];

export interface VideoEdit {
  regions: Redact[];
  audio: AudioRange[];
  trim?: Trim;
}

export const emptyEdit = (): VideoEdit => ({ regions: [], audio: [] });

/** Key times are kept to the millisecond, so a key set at the playhead and a key found again compare equal. */
export const ms = (t: number) => Math.round(t * 1000) / 1000;
const unit = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;

/** 65.25 → "1:05.25": media times as the video editor shows them. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00.00";
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - m * 60).toFixed(2).padStart(5, "0")}`;
}

/** The box kept inside the frame, with at least a small size, its numbers rounded for the manifest. */
export function clampBox(box: Box): Box {
  const w = Math.max(0.005, Math.min(1, box.w));
  const h = Math.max(0.005, Math.min(1, box.h));
  const x = Math.min(Math.max(0, box.x), 1 - w);
  const y = Math.min(Math.max(0, box.y), 1 - h);
  const out = { x: unit(x), y: unit(y), w: unit(w), h: unit(h) };
  // Rounding must not push the far edge out of the frame.
  if (out.x + out.w > 1) out.w = unit(1 - out.x);
  if (out.y + out.h > 1) out.h = unit(1 - out.y);
  return out;
}

/** A new region at time `t`, covering `from` to `to` (default: from `t` to the end of the video). */
export function newRegion(shape: Shape, effect: Effect, t: number, box: Box, to: number): Redact {
  const at = ms(t);
  return { type: "redact", shape, effect, from: at, to: Math.max(at, ms(to)), keys: [{ t: at, ...clampBox(box) }] };
}

/** A region from a tracker's keys (any order; the range is the keys' span unless given). */
export function regionFromKeys(shape: Shape, effect: Effect, keys: readonly RegionKey[], range?: Trim): Redact {
  const sorted = [...keys].sort((a, b) => a.t - b.t).filter((k, i, all) => i === 0 || ms(k.t) > ms(all[i - 1]!.t));
  const clean = sorted.map((k) => ({ t: ms(k.t), ...clampBox(k) }));
  return { type: "redact", shape, effect, from: range ? ms(range.from) : clean[0]!.t, to: range ? ms(range.to) : clean[clean.length - 1]!.t, keys: clean };
}

/** The region with its box at `t` set to `box`: the key at `t` is replaced, or a new key is added there. */
export function setKeyAt(region: Redact, t: number, box: Box): Redact {
  const at = ms(t);
  const key = { t: at, ...clampBox(box) };
  const keys = region.keys.filter((k) => k.t !== at);
  keys.push(key);
  keys.sort((a, b) => a.t - b.t);
  // Moving a region outside its range widens the range to the new key.
  const from = region.from === undefined ? undefined : Math.min(region.from, at);
  const to = region.to === undefined ? undefined : Math.max(region.to, at);
  return { ...region, keys, ...(from !== undefined ? { from, to } : {}) };
}

/**
 * The region with a tracker's keys from `t0` on (tracked forward from the playhead): its keys
 * before `t0` are kept, those at or after it replaced by `tracked`; its shape, effect and range stay.
 */
export function withTrackedKeys(region: Redact, t0: number, tracked: readonly RegionKey[]): Redact {
  const at = ms(t0);
  const before = region.keys.filter((k) => k.t < at);
  const fresh = tracked.filter((k) => ms(k.t) >= at);
  if (fresh.length === 0) return region;
  const after = regionFromKeys(region.shape, region.effect, fresh).keys;
  return { ...region, keys: [...before, ...after] };
}

/** The region without its key at `t` (the last key is never removed). */
export function removeKeyAt(region: Redact, t: number): Redact {
  if (region.keys.length < 2) return region;
  return { ...region, keys: region.keys.filter((k) => k.t !== ms(t)) };
}

/** The region's box at `t`, for the overlay: the same interpolation the copy writer uses. */
export const regionBoxAt = (region: Redact, t: number): Box => boxAt(region, t);

/**
 * The operations signed into the copy's manifest, in order: the trim, the regions, the audio
 * ranges. Regions and ranges entirely outside the trim are left out (they change nothing); an
 * error names what is wrong with the edit.
 */
export function operationsOf(edit: VideoEdit, duration: number): DerivationOperation[] {
  const end = duration > 0 ? duration : Infinity;
  const trim = edit.trim;
  if (trim && !(trim.to > trim.from)) throw new Error("the trim's end must be after its start");
  const from = trim?.from ?? 0;
  const to = Math.min(trim?.to ?? end, end);
  const ops: DerivationOperation[] = [];
  if (trim) ops.push({ type: "trim", from: ms(trim.from), to: ms(Math.min(trim.to, end)) });
  let keyCount = 0;
  for (const region of edit.regions) {
    if (region.from !== undefined && (region.to! < from || region.from > to)) continue;
    keyCount += region.keys.length;
    ops.push(region);
  }
  if (keyCount > MAX_REGION_KEYS) throw new Error(`a copy holds at most ${MAX_REGION_KEYS} region keys in all (this edit has ${keyCount})`);
  for (const range of edit.audio) {
    if (!(range.to > range.from)) throw new Error("an audio range's end must be after its start");
    if (range.to < from || range.from > to) continue;
    ops.push({ type: "audio", effect: range.effect, from: ms(range.from), to: ms(range.to) });
  }
  if (ops.length === 0) throw new Error("mark a region, an audio range or a trim first");
  return ops;
}
