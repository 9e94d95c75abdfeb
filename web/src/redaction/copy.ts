/**
 * Writing a redacted copy (docs/redaction.md, docs/evidence-format.md §6.3): the original's
 * pixels redrawn with every region's effect applied by drawRedactions (the same code as the
 * editor's preview), encoded into a new file, and the `derivedFrom` that names the original by id
 * and SHA-512 and lists the operations. The caller adds the file to the case (upload/queue.ts),
 * where it gets a new file key and a manifest signed by the redactor. The original is never changed.
 *
 * - A photo: decoded at full resolution (its EXIF orientation applied, as it is shown), drawn on a
 *   canvas, redacted, encoded as PNG (JPEG at quality 0.95 for a JPEG original). A canvas encodes
 *   pixels only: no EXIF, location, thumbnail or other metadata of the original is carried.
 * - A document: every page drawn by pdf.js at 150 dpi, redacted, encoded as JPEG, and written as
 *   a new PDF with one image per page (pdf-writer.ts): no text, fonts, links, forms or metadata of
 *   the original are left, and nothing under a box survives in any form.
 */
import { readOpenedFile } from "../evidence/opened-file";
import { DerivedFrom, type DerivationOperation } from "../../../shared/crypto/manifest";
import { drawPage, pageSize, type OpenedPdf } from "./document";
import { ImagePdfWriter } from "./pdf-writer";
import { drawRedactions, type Box, type Redact } from "./regions";

/** The resolution every page of a redacted document is redrawn at (the `rasterize` operation's `dpi`). */
export const DOCUMENT_DPI = 150;
/** JPEG quality of a redacted photo made from a JPEG, and of a document's pages. */
const PHOTO_JPEG_QUALITY = 0.95;
const PAGE_JPEG_QUALITY = 0.9;
/** A page larger than this many pixels at 150 dpi (about 1.7 × 1.7 m) is refused rather than redrawn smaller. */
const MAX_PAGE_PIXELS = 120_000_000;

/** A region as the editors keep it: where, in what shape, hidden how, and (in a document) on which page. */
export interface Region {
  id: number;
  shape: Redact["shape"];
  effect: Redact["effect"];
  /** 1-based page of a document; undefined on a photo. */
  page?: number;
  box: Box;
}

/** The original a copy is made from. */
export interface Source {
  evidenceId: string;
  /** The original manifest's whole-plaintext SHA-512 (lowercase hex). */
  sha512: string;
  fileName: string;
  mediaType: string;
}

export interface Copy {
  file: File;
  derivedFrom: DerivedFrom;
}

/** A region as its `redact` operation: one key at `t` 0 (a photo's or a page's region does not move). */
export function toOperation(region: Region): Redact {
  return {
    type: "redact",
    shape: region.shape,
    effect: region.effect,
    ...(region.page !== undefined ? { page: region.page } : {}),
    keys: [{ t: 0, ...clampBox(region.box) }],
  };
}

/** The box kept inside the frame (0–1), with a width and height of at least one ten-thousandth. */
export function clampBox(box: Box): Box {
  const w = Math.min(1, Math.max(0.0001, box.w));
  const h = Math.min(1, Math.max(0.0001, box.h));
  return { x: Math.min(1 - w, Math.max(0, box.x)), y: Math.min(1 - h, Math.max(0, box.y)), w, h };
}

/** "Redacted copy of <name>", with the extension of what the copy is. */
export function copyName(fileName: string, extension: string): string {
  const base = fileName.replace(/\.[^./\\]{1,8}$/, "");
  return `Redacted copy of ${base}.${extension}`;
}

function derivedFrom(source: Source, operations: DerivationOperation[]): DerivedFrom {
  // Checked here, so a copy the server would refuse (too many regions) is never encrypted.
  return DerivedFrom.parse({ evidenceId: source.evidenceId, sha512: source.sha512, operations });
}

async function canvasBytes(canvas: HTMLCanvasElement | OffscreenCanvas, type: string, quality?: number): Promise<Blob> {
  if (canvas instanceof OffscreenCanvas) return canvas.convertToBlob({ type, ...(quality !== undefined ? { quality } : {}) });
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the browser could not encode the image"))), type, quality));
}

/** Decodes a photo (its EXIF orientation applied, as the viewer shows it). */
export async function decodePhoto(url: string): Promise<ImageBitmap> {
  const blob = await readOpenedFile(url);
  try {
    return await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch {
    throw new Error("this browser can't decode this photo's format, so it can't be redacted here");
  }
}

/** The redacted photo at full resolution, and its derivation. */
export async function makePhotoCopy(source: Source, image: ImageBitmap, regions: readonly Region[], onStep: (step: "drawing" | "encoding") => void): Promise<Copy> {
  if (regions.length === 0) throw new Error("add at least one region to hide");
  const operations = regions.map(toOperation);
  const result = derivedFrom(source, operations);
  onStep("drawing");
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext("2d");
  if (!context) throw new Error("this browser cannot draw on an off-screen canvas");
  context.drawImage(image, 0, 0);
  drawRedactions(context, operations, 0, image.width, image.height);
  onStep("encoding");
  const jpeg = source.mediaType === "image/jpeg";
  const blob = await canvasBytes(canvas, jpeg ? "image/jpeg" : "image/png", jpeg ? PHOTO_JPEG_QUALITY : undefined);
  const file = new File([blob], copyName(source.fileName, jpeg ? "jpg" : "png"), { type: jpeg ? "image/jpeg" : "image/png" });
  return { file, derivedFrom: result };
}

/** Thrown by makeDocumentCopy when `signal` is aborted. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

/**
 * The redacted document: every page redrawn at 150 dpi with its regions applied, in a new PDF of
 * images. `onPage(done, total)` after each page; `signal` cancels between pages and mid-page.
 */
export async function makeDocumentCopy(source: Source, doc: OpenedPdf, regions: readonly Region[], onPage: (done: number, total: number) => void, signal: AbortSignal): Promise<Copy> {
  const operations: DerivationOperation[] = [{ type: "rasterize", dpi: DOCUMENT_DPI }, ...regions.map(toOperation)];
  const result = derivedFrom(source, operations);
  const total = doc.pdf.numPages;
  const writer = new ImagePdfWriter();
  const canvas = document.createElement("canvas");
  const scale = DOCUMENT_DPI / 72;
  try {
    for (let page = 1; page <= total; page++) {
      if (signal.aborted) throw new Cancelled();
      const size = await pageSize(doc.pdf, page);
      if (size.width * scale * size.height * scale > MAX_PAGE_PIXELS) throw new Error(`page ${page} is too large to redraw at ${DOCUMENT_DPI} dpi`);
      let cancelTask: (() => void) | undefined;
      const stop = () => cancelTask?.();
      signal.addEventListener("abort", stop);
      try {
        await drawPage(doc.pdf, page, scale, canvas, (task) => (cancelTask = () => task.cancel()));
      } catch (error) {
        if (signal.aborted) throw new Cancelled();
        throw error;
      } finally {
        signal.removeEventListener("abort", stop);
      }
      const context = canvas.getContext("2d")!;
      drawRedactions(
        context,
        operations.filter((o): o is Redact => o.type === "redact" && o.page === page),
        0,
        canvas.width,
        canvas.height,
      );
      const jpeg = new Uint8Array(await (await canvasBytes(canvas, "image/jpeg", PAGE_JPEG_QUALITY)).arrayBuffer());
      writer.addPage(jpeg, size.width, size.height);
      onPage(page, total);
    }
  } finally {
    // The last page's pixels go with the canvas.
    canvas.width = 0;
    canvas.height = 0;
  }
  const file = new File(writer.finish() as BlobPart[], copyName(source.fileName, "pdf"), { type: "application/pdf" });
  return { file, derivedFrom: result };
}
