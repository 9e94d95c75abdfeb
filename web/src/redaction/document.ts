/**
 * A PDF opened for redaction: parsed by pdf.js in its own worker (the viewer's bundled
 * pdf.worker.ts: nothing is fetched), each page drawn on a canvas at a chosen resolution. Used by
 * the document editor for its preview and by the copy writer at 150 dpi (copy.ts).
 */
import type { PDFDocumentProxy, PDFWorker, RenderTask } from "pdfjs-dist";

export interface OpenedPdf {
  pdf: PDFDocumentProxy;
  /** Ends the parse and its worker. */
  close(): Promise<void>;
}

/** Parses the PDF bytes (the original's, decrypted and checked) in a pdf.js worker of its own. */
export async function openPdf(bytes: Uint8Array): Promise<OpenedPdf> {
  const pdfjs = await import("pdfjs-dist");
  const port = new Worker(new URL("../evidence/viewers/pdf.worker.ts", import.meta.url), { type: "module", name: "pdf-redaction" });
  // Its own worker, not the viewer's global one: both may be open on the item's page.
  let worker: PDFWorker | undefined;
  try {
    worker = pdfjs.PDFWorker.create({ port, name: "pdf-redaction" });
    const loading = pdfjs.getDocument({ data: bytes, worker, useSystemFonts: true, disableAutoFetch: true, disableStream: true, stopAtErrors: false });
    const pdf = await loading.promise;
    return {
      pdf,
      close: async () => {
        await loading.destroy().catch(() => undefined);
        worker?.destroy();
        port.terminate();
      },
    };
  } catch (error) {
    worker?.destroy();
    port.terminate();
    throw error;
  }
}

/** A page's size in points (1/72 inch), as shown (its rotation applied). */
export async function pageSize(pdf: PDFDocumentProxy, page: number): Promise<{ width: number; height: number }> {
  const viewport = (await pdf.getPage(page)).getViewport({ scale: 1 });
  return { width: viewport.width, height: viewport.height };
}

/**
 * Draws page `page` (1-based) on `canvas` at `scale` pixels per point, on white. `onTask` gets the
 * render task, so a caller can cancel it.
 */
export async function drawPage(pdf: PDFDocumentProxy, page: number, scale: number, canvas: HTMLCanvasElement, onTask?: (task: RenderTask) => void): Promise<void> {
  const pdfPage = await pdf.getPage(page);
  const viewport = pdfPage.getViewport({ scale });
  canvas.width = Math.max(1, Math.round(viewport.width));
  canvas.height = Math.max(1, Math.round(viewport.height));
  const context = canvas.getContext("2d");
  if (!context) throw new Error("this browser cannot draw on a canvas");
  const task = pdfPage.render({ canvas, canvasContext: context, viewport, background: "#ffffff" });
  onTask?.(task);
  await task.promise;
  pdfPage.cleanup();
}
