/** What the page and the detection and tracking Workers say to each other (detect.ts, track.ts). */
import type { Box } from "./regions";
import type { Rect, TrackerSettings, TrackStep } from "./track-core";

/** A face the detector found: its box in fractions (0–1) of the picture's width and height, and how sure it is (0–1). */
export interface Detection {
  box: Box;
  score: number;
}

export type DetectRequest = { id: number; image: ImageBitmap; minScore: number };
export type DetectAnswer = { id: number; faces: Detection[] } | { id: number; error: string };

export type TrackRequest =
  | { type: "start"; frame: ImageBitmap; rect: Rect; settings: Partial<TrackerSettings> }
  | { type: "next"; frame: ImageBitmap };
export type TrackAnswer = { type: "ready" } | { type: "step"; step: TrackStep } | { type: "error"; error: string };
