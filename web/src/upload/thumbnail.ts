/**
 * The thumbnail of a photo or video (docs/evidence-format.md §5.2), made on this device when the
 * file is added, before it is queued (so an offline capture has one too): a photo scaled down with
 * createImageBitmap and an OffscreenCanvas, a video's poster frame from a <video> element (the
 * browser's own decoder). The picture is encrypted to the case key at once, like the label; the
 * plaintext thumbnail never leaves this function. Null for other types, and for a file the browser
 * cannot decode (a HEIC photo in a browser without HEIC, an unsupported codec): lists then show the
 * type icon.
 */
import type { JWK } from "jose";
import { encryptThumbnail, THUMBNAIL_MAX_BYTES, type EvidenceThumbnail } from "../../../shared/crypto/thumbnail";

/** Longer side of a thumbnail, in CSS pixels at 2× (lists show it at up to 120 px). */
const MAX_SIDE = 240;
/** A video that gives no frame within this time gets a type icon instead: adding the file never waits long. */
const VIDEO_FRAME_TIMEOUT_MS = 8000;

/** The encrypted thumbnail of `file` (a compact JWE to the case key), or null when it has none. */
export async function encryptedThumbnail(file: Blob, mediaType: string, casePublicJwk: JWK): Promise<string | null> {
  try {
    const picture = await makeThumbnail(file, mediaType);
    return picture ? await encryptThumbnail(picture, casePublicJwk) : null;
  } catch {
    return null; // a preview only: the evidence is added all the same
  }
}

/** The plaintext thumbnail (JPEG bytes and size) of a photo or video, or null for other types. */
export async function makeThumbnail(file: Blob, mediaType: string): Promise<EvidenceThumbnail | null> {
  if (mediaType.startsWith("image/")) {
    const bitmap = await createImageBitmap(file); // EXIF orientation applied ("from-image" is the default)
    try {
      return await encode(bitmap, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  }
  if (mediaType.startsWith("video/")) return posterFrame(file);
  return null;
}

/** Scales `source` into at most MAX_SIDE px and encodes it as JPEG, lowering quality, then size, until it fits THUMBNAIL_MAX_BYTES. */
async function encode(source: CanvasImageSource, width: number, height: number): Promise<EvidenceThumbnail | null> {
  if (width <= 0 || height <= 0) return null;
  for (let side = MAX_SIDE; side >= 60; side = Math.floor(side * 0.7)) {
    const scale = Math.min(1, side / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const context = canvas.getContext("2d");
    if (!context) return null;
    context.fillStyle = "#fff"; // transparent PNG areas would turn black in a JPEG
    context.fillRect(0, 0, w, h);
    context.drawImage(source, 0, 0, w, h);
    for (const quality of [0.8, 0.6, 0.4]) {
      const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
      if (blob.size <= THUMBNAIL_MAX_BYTES) return { mediaType: "image/jpeg", width: w, height: h, bytes: new Uint8Array(await blob.arrayBuffer()) };
    }
  }
  return null;
}

/** A frame a little way into the video (past a black first frame), drawn from a muted, unattached <video>. */
async function posterFrame(file: Blob): Promise<EvidenceThumbnail | null> {
  const url = URL.createObjectURL(file);
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  try {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), VIDEO_FRAME_TIMEOUT_MS);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        resolve(ok);
      };
      video.onerror = () => done(false);
      video.onloadedmetadata = () => {
        const at = Number.isFinite(video.duration) && video.duration > 0 ? Math.min(1, video.duration / 4) : 0;
        video.onseeked = () => done(true);
        if (at === 0) video.onloadeddata = () => done(true);
        else video.currentTime = at;
      };
      video.src = url;
    });
    if (!ready || video.videoWidth === 0) return null;
    return await encode(video, video.videoWidth, video.videoHeight);
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}
