/**
 * The tracking Worker (track.ts starts one per tracking run): turns each frame it is given grey
 * and follows the region in it with the template tracker (track-core.ts), off the UI thread.
 */
import type { TrackAnswer, TrackRequest } from "./detection-messages";
import { TemplateTracker, type Grey } from "./track-core";

const scope = self as unknown as { postMessage(message: TrackAnswer): void; onmessage: ((event: MessageEvent<TrackRequest>) => void) | null };

let tracker: TemplateTracker | undefined;
let canvas: OffscreenCanvas | undefined;

/** Luminance (Rec. 601 weights) of every pixel of the frame, which is closed after. */
function grey(frame: ImageBitmap): Grey {
  const { width, height } = frame;
  if (!canvas || canvas.width !== width || canvas.height !== height) canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) throw new Error("this browser cannot draw into an off-screen canvas");
  context.drawImage(frame, 0, 0);
  frame.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Float32Array(width * height);
  for (let i = 0, p = 0; i < data.length; i++, p += 4) data[i] = 0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!;
  return { width, height, data };
}

scope.onmessage = (event) => {
  const request = event.data;
  try {
    if (request.type === "start") {
      tracker = new TemplateTracker(grey(request.frame), request.rect, request.settings);
      scope.postMessage({ type: "ready" });
    } else {
      if (!tracker) throw new Error("the tracker was not started");
      scope.postMessage({ type: "step", step: tracker.update(grey(request.frame)) });
    }
  } catch (error) {
    scope.postMessage({ type: "error", error: error instanceof Error ? error.message : String(error) });
  }
};
