/** What the page and the detection and tracking Workers say to each other (detect.ts, track.ts). */
import type { Box } from "./regions";
import type { Rect, TrackerSettings, TrackStep } from "./track-core";

/** A face the detector found: its box in fractions (0–1) of the picture's width and height, and how sure it is (0–1). */
export interface Detection {
  box: Box;
  score: number;
}

/**
 * The TensorFlow.js backend that runs the face model (docs/redaction-detection.md, "Backends"):
 * WebGL on a graphics processor, WebAssembly, or plain JavaScript.
 */
export type FaceBackend = "webgl" | "wasm" | "cpu";

/**
 * `parts`: a picture at least twice `inputSize` is also searched in four parts; `backend`: only
 * that one (the bench compares them), without it the fastest that works here.
 */
export type DetectRequest = { id: number; image: ImageBitmap; minScore: number; inputSize: number; parts: boolean; backend?: FaceBackend };
/** `backend`: the one that ran the model for this answer. */
export type DetectAnswer = { id: number; faces: Detection[]; backend: FaceBackend } | { id: number; error: string };

export type TrackRequest =
  | { type: "start"; frame: ImageBitmap; rect: Rect; settings: Partial<TrackerSettings> }
  | { type: "next"; frame: ImageBitmap };
export type TrackAnswer = { type: "ready" } | { type: "step"; step: TrackStep } | { type: "error"; error: string };
