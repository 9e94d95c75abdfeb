/**
 * Finding faces on the device (docs/redaction-detection.md): the picture goes to one Worker
 * (detect.worker.ts), started on the first call and kept for the next ones, which loads the
 * face model once. Only the browser holds the decrypted picture; it never leaves it.
 */
import type { DetectAnswer, DetectRequest, Detection, FaceBackend } from "./detection-messages";

export type { Detection, FaceBackend } from "./detection-messages";

/** Faces scoring less are not reported. Low on purpose: a missed face is worse than one to reject. */
export const DEFAULT_MIN_SCORE = 0.4;

/**
 * The side (pixels) each picture or part of one is scaled to for the network, unless the caller
 * asks for another multiple of 32. Faces smaller than about 20 of these pixels (1/30 of 608) are
 * missed, so a picture at least twice as big is also searched in four parts (five runs of the
 * network in all, unless `parts: false`). 608 for photos and pages; a pass over a video's frames
 * may take 416 with `parts: false`: one run of about half the work, small faces missed sooner.
 */
export const DEFAULT_INPUT_SIZE = 608;

export interface DetectOptions {
  /** Faces scoring less (0–1) are left out; DEFAULT_MIN_SCORE unless given. */
  minScore?: number;
  /** The network's input side, a multiple of 32 from 128 to 1024; DEFAULT_INPUT_SIZE unless given. */
  inputSize?: number;
  /**
   * Also search four overlapping quarters of a picture at least twice `inputSize` (smaller faces
   * found, five times the work); true unless given. False: the whole picture only, one run.
   */
  parts?: boolean;
  /** Only this TensorFlow.js backend (to compare them); unless given, the fastest that works here. */
  backend?: FaceBackend;
}

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (found: FoundFaces) => void; reject: (error: Error) => void }>();

function detector(): Worker {
  if (worker) return worker;
  const started = new Worker(new URL("./detect.worker.ts", import.meta.url), { type: "module", name: "face-detection" });
  started.onmessage = (event: MessageEvent<DetectAnswer>) => {
    const answer = event.data;
    const pending = waiting.get(answer.id);
    if (!pending) return;
    waiting.delete(answer.id);
    if ("faces" in answer) pending.resolve({ faces: answer.faces, backend: answer.backend });
    else pending.reject(new Error(answer.error));
  };
  started.onerror = (event) => {
    event.preventDefault();
    const error = new Error("face detection stopped (" + (event.message || "the detector could not start") + "): reload the page and try again");
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
    started.terminate();
    if (worker === started) worker = undefined;
  };
  worker = started;
  return started;
}

/** The faces found in a picture, and the backend that ran the model for them. */
export interface FoundFaces {
  faces: Detection[];
  backend: FaceBackend;
}

/**
 * The faces in a picture (a photo, a page, a video frame: anything createImageBitmap takes),
 * each with its box in fractions (0–1) of the picture's width and height and its score (0–1),
 * left to right. The caller keeps its picture: the Worker gets a copy.
 */
export async function detectFaces(image: ImageBitmapSource, options: DetectOptions = {}): Promise<Detection[]> {
  return (await findFaces(image, options)).faces;
}

/** detectFaces, also saying which TensorFlow.js backend answered (the bench and the tests check it). */
export async function findFaces(image: ImageBitmapSource, options: DetectOptions = {}): Promise<FoundFaces> {
  const inputSize = options.inputSize ?? DEFAULT_INPUT_SIZE;
  if (!Number.isInteger(inputSize) || inputSize % 32 !== 0 || inputSize < 128 || inputSize > 1024) {
    throw new RangeError(`inputSize must be a multiple of 32 from 128 to 1024, not ${inputSize}`);
  }
  const copy = await createImageBitmap(image);
  const id = nextId++;
  const target = detector();
  return new Promise<FoundFaces>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    const request: DetectRequest = { id, image: copy, minScore: options.minScore ?? DEFAULT_MIN_SCORE, inputSize, parts: options.parts ?? true, ...(options.backend ? { backend: options.backend } : {}) };
    target.postMessage(request, [copy]);
  });
}

/** Ends the detection Worker and frees its model (an editor closing); the next call starts a new one. */
export function releaseFaceDetector(): void {
  worker?.terminate();
  worker = undefined;
  for (const pending of waiting.values()) pending.reject(new Error("face detection was stopped"));
  waiting.clear();
}
