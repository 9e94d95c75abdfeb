/**
 * The face detection bench page (tests/bench/detection.ts drives it): the app's own finder
 * (web/src/redaction/detect.ts and its Worker) on the sample photos @vladmandic/face-api ships
 * with its demo, each scaled to 960 pixels across as an editor shows a photo.
 */
import { findFaces, type FaceBackend } from "../../../web/src/redaction/detect";

const samples = Object.values(import.meta.glob("../../../node_modules/@vladmandic/face-api/demo/*.jpg", { query: "?url", import: "default", eager: true })) as string[];
const photos: ImageBitmap[] = [];

const bench = {
  /** Loads and scales the photos; returns how many. */
  async prepare(): Promise<number> {
    for (const url of samples.sort()) {
      const full = await createImageBitmap(await (await fetch(url)).blob());
      photos.push(await createImageBitmap(full, { resizeWidth: 960, resizeHeight: Math.round((full.height * 960) / full.width), resizeQuality: "high" }));
      full.close();
    }
    return photos.length;
  },
  /** One call of the finder on photo `index`, on `backend` only, whole picture only: milliseconds, faces found, the backend that answered. */
  async pass(index: number, backend: FaceBackend, inputSize: number): Promise<{ ms: number; faces: number; backend: FaceBackend }> {
    const started = performance.now();
    const found = await findFaces(photos[index]!, { backend, inputSize, parts: false });
    return { ms: performance.now() - started, faces: found.faces.length, backend: found.backend };
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
document.title = "bench ready";
