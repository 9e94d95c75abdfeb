/**
 * Finding faces on the device (docs/redaction-detection.md): the picture goes to one Worker
 * (detect.worker.ts), started on the first call and kept for the next ones, which loads the
 * face model once. Only the browser holds the decrypted picture; it never leaves it.
 */
import type { DetectAnswer, DetectRequest, Detection } from "./detection-messages";

export type { Detection } from "./detection-messages";

/** Faces scoring less are not reported. Low on purpose: a missed face is worse than one to reject. */
export const DEFAULT_MIN_SCORE = 0.4;

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (faces: Detection[]) => void; reject: (error: Error) => void }>();

function detector(): Worker {
  if (worker) return worker;
  const started = new Worker(new URL("./detect.worker.ts", import.meta.url), { type: "module", name: "face-detection" });
  started.onmessage = (event: MessageEvent<DetectAnswer>) => {
    const answer = event.data;
    const pending = waiting.get(answer.id);
    if (!pending) return;
    waiting.delete(answer.id);
    if ("faces" in answer) pending.resolve(answer.faces);
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

/**
 * The faces in a picture (a photo, a page, a video frame: anything createImageBitmap takes),
 * each with its box in fractions (0–1) of the picture's width and height and its score (0–1),
 * left to right. The caller keeps its picture: the Worker gets a copy.
 */
export async function detectFaces(image: ImageBitmapSource, options: { minScore?: number } = {}): Promise<Detection[]> {
  const copy = await createImageBitmap(image);
  const id = nextId++;
  const target = detector();
  return new Promise<Detection[]>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    const request: DetectRequest = { id, image: copy, minScore: options.minScore ?? DEFAULT_MIN_SCORE };
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
