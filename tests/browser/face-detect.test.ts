/// <reference types="vite/client" />
// The face finder of the redaction editors (web/src/redaction/detect.ts), in headless Chromium:
// the real model in the real Worker, on the sample photos @vladmandic/face-api ships with its demo.
import { describe, expect, it } from "vitest";
import sample1 from "@vladmandic/face-api/demo/sample1.jpg?url";
import sample6 from "@vladmandic/face-api/demo/sample6.jpg?url";
import { detectFaces, findFaces, type Detection } from "../../web/src/redaction/detect";
import { boxAt } from "../../web/src/redaction/regions";
import { trackRegion } from "../../web/src/redaction/track";

/** A sample photo, scaled to `width` pixels across (the size of a photo shown in an editor; one pass of the detector). */
async function picture(url: string, width = 960): Promise<ImageBitmap> {
  const response = await fetch(url);
  expect(response.ok).toBe(true);
  const full = await createImageBitmap(await response.blob());
  return createImageBitmap(full, { resizeWidth: width, resizeHeight: Math.round((full.height * width) / full.width), resizeQuality: "high" });
}

const centre = (d: Detection) => ({ x: d.box.x + d.box.w / 2, y: d.box.y + d.box.h / 2 });

/** Each face expected (its centre, read off the picture by eye, in fractions of it) is found within 5 % of the picture, left to right. */
function expectFacesAt(faces: Detection[], expected: { x: number; y: number }[]) {
  expect(faces).toHaveLength(expected.length);
  faces.forEach((face, i) => {
    const found = centre(face);
    expect(Math.abs(found.x - expected[i]!.x), `face ${i + 1} across`).toBeLessThan(0.05);
    expect(Math.abs(found.y - expected[i]!.y), `face ${i + 1} down`).toBeLessThan(0.05);
    // A face's box, not half the picture: between 2 % and 30 % of its width.
    expect(face.box.w).toBeGreaterThan(0.02);
    expect(face.box.w).toBeLessThan(0.3);
    expect(face.box.x).toBeGreaterThanOrEqual(0);
    expect(face.box.x + face.box.w).toBeLessThanOrEqual(1);
    expect(face.score).toBeGreaterThan(0.4);
    expect(face.score).toBeLessThanOrEqual(1);
  });
}

describe("detectFaces finds faces on the device", () => {
  it("three people at a party: three faces, where they are", { timeout: 120_000 }, async () => {
    const image = await picture(sample1);
    const faces = await detectFaces(image);
    expectFacesAt(faces, [
      { x: 0.26, y: 0.4 },
      { x: 0.485, y: 0.46 },
      { x: 0.81, y: 0.27 },
    ]);
    // The caller's picture is left whole (the Worker works on a copy).
    expect(image.width).toBe(960);
  });

  it("four people standing: four faces, where they are", { timeout: 120_000 }, async () => {
    const faces = await detectFaces(await picture(sample6));
    expectFacesAt(faces, [
      { x: 0.18, y: 0.43 },
      { x: 0.39, y: 0.34 },
      { x: 0.66, y: 0.31 },
      { x: 0.82, y: 0.29 },
    ]);
  });

  it("a picture without a face (a colour gradient with shapes): none", { timeout: 120_000 }, async () => {
    const canvas = new OffscreenCanvas(800, 600);
    const context = canvas.getContext("2d")!;
    const gradient = context.createLinearGradient(0, 0, 800, 600);
    gradient.addColorStop(0, "#1d3557");
    gradient.addColorStop(0.5, "#e9c46a");
    gradient.addColorStop(1, "#2a9d8f");
    context.fillStyle = gradient;
    context.fillRect(0, 0, 800, 600);
    context.fillStyle = "#ffffff";
    context.fillRect(100, 100, 150, 90);
    context.beginPath();
    context.arc(560, 380, 80, 0, Math.PI * 2);
    context.fillStyle = "#9b2226";
    context.fill();
    expect(await detectFaces(canvas.transferToImageBitmap())).toEqual([]);
  });
});

describe("the backend: WebAssembly in Chromium without a GPU", () => {
  it("runs the model on TensorFlow.js's wasm backend, at the photo size and at a video pass's 416", { timeout: 120_000 }, async () => {
    const image = await picture(sample1);
    const sample1Faces = [
      { x: 0.26, y: 0.4 },
      { x: 0.485, y: 0.46 },
      { x: 0.81, y: 0.27 },
    ];
    // The browser here is started with --disable-gpu, so no WebGL on a graphics processor: the
    // WebAssembly binaries must have loaded from the app's files, or this says "cpu".
    const found = await findFaces(image);
    expect(found.backend).toBe("wasm");
    expectFacesAt(found.faces, sample1Faces);
    const smaller = await findFaces(image, { inputSize: 416 });
    expect(smaller.backend).toBe("wasm");
    expectFacesAt(smaller.faces, sample1Faces);
    await expect(findFaces(image, { inputSize: 400 })).rejects.toThrow(RangeError);
  });
});

describe("trackRegion with faces: a face followed through a camera pan, put back on the face by the finder", () => {
  it("stays on the face", { timeout: 120_000 }, async () => {
    const photo = await picture(sample1, 1920);
    // The camera: a 960 × 640 window of the 1920 × 1280 photo, panning 200 pixels right and 60 down in 1 s, shown at 640 × 427.
    const pan = (t: number) => ({ x: 200 + 200 * t, y: 300 + 60 * t });
    const canvas = new OffscreenCanvas(640, 427);
    const context = canvas.getContext("2d")!;
    const frameAt = (t: number) => {
      context.drawImage(photo, pan(t).x, pan(t).y, 960, 640, 0, 0, 640, 427);
      return createImageBitmap(canvas);
    };
    const [first] = await detectFaces(await frameAt(0));
    expect(first).toBeDefined();
    const start = first!.box;
    // Where that face is at t: the same place in the photo, seen through the moved window.
    const centreAt = (t: number) => ({
      x: start.x + start.w / 2 - (pan(t).x - pan(0).x) / 960,
      y: start.y + start.h / 2 - (pan(t).y - pan(0).y) / 640,
    });
    const result = await trackRegion({ frameAt, box: start, t0: 0, until: 1, step: 1 / 15, faces: { every: 8 } });
    expect(result.end).toBe("done");
    for (let i = 0; i <= 15; i++) {
      const t = i / 15;
      const box = boxAt(result, t);
      expect(Math.abs(box.x + box.w / 2 - centreAt(t).x), `across at ${t.toFixed(2)} s`).toBeLessThan(0.03);
      expect(Math.abs(box.y + box.h / 2 - centreAt(t).y), `down at ${t.toFixed(2)} s`).toBeLessThan(0.03);
    }
  });
});
