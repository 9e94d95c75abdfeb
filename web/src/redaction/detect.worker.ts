/**
 * The face detection Worker (detect.ts starts it once and keeps it): the Tiny Face Detector of
 * @vladmandic/face-api (MIT), run by the TensorFlow.js bundled in that package, its weights and
 * the WebAssembly of TensorFlow.js's wasm backend files of the app itself (imported below, so the
 * build serves them from the app's own origin: nothing is fetched from anywhere else, and no
 * picture leaves the device). Loaded on the first request. docs/redaction-detection.md says what
 * it finds and what it misses, and which backend runs it where.
 */
import * as faceapi from "@vladmandic/face-api";
import manifest from "@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json";
import weightsUrl from "@vladmandic/face-api/model/tiny_face_detector_model.bin?url";
// Only the binaries of @tensorflow/tfjs-backend-wasm (the same 4.22.0 as the TensorFlow.js in face-api,
// whose bundle has the backend's JavaScript): without SIMD for older browsers, with SIMD for the rest.
import wasmUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import wasmSimdUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import type { DetectAnswer, DetectRequest, Detection, FaceBackend } from "./detection-messages";

const scope = self as unknown as { postMessage(message: DetectAnswer): void; onmessage: ((event: MessageEvent<DetectRequest>) => void) | null };

/** The parts of TensorFlow.js used here that face-api's type declarations leave out. */
const tf = faceapi.tf as unknown as typeof faceapi.tf & {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  setWasmPaths(paths: Record<string, string>): void;
  env(): { set(flag: string, value: boolean): void };
};
/**
 * WebGL only when a graphics processor draws it: WebGL drawn in software (SwiftShader, llvmpipe:
 * a browser without a usable GPU) runs the network no faster than plain JavaScript, and compiles
 * its shaders first.
 */
function hardwareWebGl(): boolean {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext("webgl2") ?? new OffscreenCanvas(1, 1).getContext("webgl");
    if (!gl) return false;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return !/swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  } catch {
    return false;
  }
}

/**
 * face-api knows a page and Node, not a Worker: it is told what a Worker has. Only pixel tensors
 * are given to it, so nothing is ever an image or a video element here.
 */
class NoElement {}
faceapi.env.setEnv({
  Canvas: OffscreenCanvas,
  CanvasRenderingContext2D: OffscreenCanvasRenderingContext2D,
  Image: NoElement,
  Video: NoElement,
  ImageData,
  createCanvasElement: () => new OffscreenCanvas(1, 1),
  createImageElement: () => {
    throw new Error("no image elements in a Worker");
  },
  createVideoElement: () => {
    throw new Error("no video elements in a Worker");
  },
  fetch: (url: string, init?: RequestInit) => fetch(url, init),
  readFile: () => {
    throw new Error("no files in a Worker");
  },
} as unknown as Parameters<typeof faceapi.env.setEnv>[0]);

/*
 * TensorFlow.js's wasm backend, from the app's own files. Its threaded build needs
 * SharedArrayBuffer, which only a cross-origin isolated page has (the app is not): it is never
 * used, and the map names the SIMD file for it only because setWasmPaths wants all three.
 */
tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
tf.setWasmPaths({
  "tfjs-backend-wasm.wasm": wasmUrl,
  "tfjs-backend-wasm-simd.wasm": wasmSimdUrl,
  "tfjs-backend-wasm-threaded-simd.wasm": wasmSimdUrl,
});

/**
 * TensorFlow.js backends in order of preference: WebGL on a graphics processor, else WebAssembly
 * (SIMD where the browser has it), else plain JavaScript (always there). A backend that cannot
 * start here (no WebGL in this Worker, WebAssembly refused) is skipped.
 */
const PREFERENCE: readonly FaceBackend[] = hardwareWebGl() ? ["webgl", "wasm", "cpu"] : ["wasm", "cpu"];

/** The backends that failed to start in this Worker: not tried again. */
const failed = new Set<FaceBackend>();

/** Switches TensorFlow.js to the first of `names` that starts here (an already started one switches at once); returns it. */
async function useBackend(names: readonly FaceBackend[]): Promise<FaceBackend> {
  for (const name of names) {
    if (failed.has(name)) continue;
    if (tf.getBackend() === name) return name;
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // This backend cannot run here: try the next.
    }
    failed.add(name);
  }
  throw new Error(`face detection cannot run in this browser (no ${names.join(", ")} backend)`);
}

let loading: Promise<void> | undefined;

/** The model's weights, once (TensorFlow.js moves them to another backend when one is switched to). */
function loadModel(): Promise<void> {
  loading ??= (async () => {
    const response = await fetch(weightsUrl);
    if (!response.ok) throw new Error(`the face detection model could not be loaded (HTTP ${response.status}): reload the page and try again`);
    const weights = tf.io.decodeWeights(await response.arrayBuffer(), manifest[0]!.weights as Parameters<typeof tf.io.decodeWeights>[1]);
    faceapi.nets.tinyFaceDetector.loadFromWeightMap(weights);
  })().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

let canvas: OffscreenCanvas | undefined;

/** Faces in the part `crop` (pixels) of the picture, their boxes in fractions of the whole picture. */
async function detectIn(image: ImageBitmap, crop: { x: number; y: number; w: number; h: number }, minScore: number, inputSize: number): Promise<Detection[]> {
  const scale = Math.min(1, inputSize / Math.max(crop.w, crop.h));
  const width = Math.max(1, Math.round(crop.w * scale));
  const height = Math.max(1, Math.round(crop.h * scale));
  canvas ??= new OffscreenCanvas(width, height);
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) throw new Error("this browser cannot draw into an off-screen canvas");
  context.drawImage(image, crop.x, crop.y, crop.w, crop.h, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0, p = 0; p < rgba.length; p += 4) {
    rgb[i++] = rgba[p]!;
    rgb[i++] = rgba[p + 1]!;
    rgb[i++] = rgba[p + 2]!;
  }
  const tensor = tf.tensor3d(rgb, [height, width, 3], "float32");
  try {
    const found = await faceapi.nets.tinyFaceDetector.locateFaces(tensor, new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: minScore }));
    return found.map((face) => {
      const r = face.relativeBox;
      const x0 = Math.max(0, r.x);
      const y0 = Math.max(0, r.y);
      const x1 = Math.min(1, r.x + r.width);
      const y1 = Math.min(1, r.y + r.height);
      return {
        score: face.score,
        box: {
          x: (crop.x + x0 * crop.w) / image.width,
          y: (crop.y + y0 * crop.h) / image.height,
          w: ((x1 - x0) * crop.w) / image.width,
          h: ((y1 - y0) * crop.h) / image.height,
        },
      };
    });
  } finally {
    tensor.dispose();
  }
}

/**
 * The whole picture, and for a picture at least twice the network's input (unless `parts` is
 * off) also four overlapping quarters (small faces, a crowd in the background), then one box per
 * face. The quarters make it five runs of the network instead of one.
 */
async function detect(image: ImageBitmap, minScore: number, inputSize: number, parts: boolean): Promise<Detection[]> {
  const { width, height } = image;
  const crops = [{ x: 0, y: 0, w: width, h: height }];
  if (parts && Math.max(width, height) >= 2 * inputSize) {
    const w = Math.round(width * 0.6);
    const h = Math.round(height * 0.6);
    for (const x of [0, width - w]) for (const y of [0, height - h]) crops.push({ x, y, w, h });
  }
  const all: Detection[] = [];
  for (const crop of crops) all.push(...(await detectIn(image, crop, minScore, inputSize)));
  return mergeDetections(all);
}

/** One detection per face: of boxes that overlap much (or one mostly inside another), the surest is kept. */
export function mergeDetections(found: readonly Detection[]): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...found].sort((a, b) => b.score - a.score)) {
    const same = kept.some((k) => {
      const ix = Math.max(0, Math.min(k.box.x + k.box.w, d.box.x + d.box.w) - Math.max(k.box.x, d.box.x));
      const iy = Math.max(0, Math.min(k.box.y + k.box.h, d.box.y + d.box.h) - Math.max(k.box.y, d.box.y));
      const inter = ix * iy;
      const smaller = Math.min(k.box.w * k.box.h, d.box.w * d.box.h);
      return inter / smaller > 0.5;
    });
    if (!same) kept.push(d);
  }
  // Left to right, so "Face 1" is the one a reader sees first.
  return kept.sort((a, b) => a.box.x + a.box.w / 2 - (b.box.x + b.box.w / 2));
}

let queue: Promise<unknown> = Promise.resolve();

scope.onmessage = (event) => {
  const { id, image, minScore, inputSize, parts, backend } = event.data;
  queue = queue.then(async () => {
    try {
      const used = await useBackend(backend ? [backend] : PREFERENCE);
      await loadModel();
      scope.postMessage({ id, faces: await detect(image, minScore, inputSize, parts), backend: used });
    } catch (error) {
      scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
    } finally {
      image.close();
    }
  });
};
