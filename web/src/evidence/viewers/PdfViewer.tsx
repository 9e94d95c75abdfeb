/**
 * A PDF, viewed in the app with pdf.js (docs/offline.md §2): the decrypted bytes are read from the
 * item's per-view URL (the same verified path the players stream from, every part checked before a
 * byte of it is released) into this page's memory, parsed in pdf.js's worker (the app's own file,
 * no network: no fonts, character maps or WebAssembly fetched) and drawn one page at a time on a
 * canvas, with a text layer so the page's words can be selected, searched and read aloud. Nothing
 * is written to storage; everything goes when the viewer closes.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { PDFDocumentProxy, RenderTask } from "pdfjs-dist";
import { readOpenedFile } from "../opened-file";

type Pdfjs = typeof import("pdfjs-dist");

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 4;

export function PdfViewer(props: { url: string; fileName: string }) {
  const [doc, setDoc] = useState<{ pdfjs: Pdfjs; pdf: PDFDocumentProxy }>();
  const [error, setError] = useState<string>();
  const [page, setPage] = useState(1);
  const [zoom, setZoom] = useState(1);
  const [rendered, setRendered] = useState(0);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const textRef = useRef<HTMLDivElement>(null);
  const frameRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let closed = false;
    let worker: Worker | undefined;
    let loading: ReturnType<Pdfjs["getDocument"]> | undefined;
    void (async () => {
      try {
        const [pdfjs, bytes] = await Promise.all([import("pdfjs-dist"), readOpenedFile(props.url).then((file) => file.arrayBuffer())]);
        if (closed) return;
        worker = new Worker(new URL("./pdf.worker.ts", import.meta.url), { type: "module", name: "pdf" });
        // One parsing worker per document, ended with the viewer.
        pdfjs.GlobalWorkerOptions.workerPort = worker;
        loading = pdfjs.getDocument({
          data: new Uint8Array(bytes),
          // Everything from the bytes in hand: nothing is fetched (fonts fall back to the system's).
          useSystemFonts: true,
          disableAutoFetch: true,
          disableStream: true,
          stopAtErrors: false,
        });
        const pdf = await loading.promise;
        if (closed) return;
        setDoc({ pdfjs, pdf });
      } catch (caught) {
        if (!closed) setError(caught instanceof Error ? caught.message : String(caught));
      }
    })();
    return () => {
      closed = true;
      void loading?.destroy().finally(() => worker?.terminate());
      if (!loading) worker?.terminate();
    };
  }, [props.url]);

  useEffect(() => {
    if (!doc || !canvasRef.current || !textRef.current || !frameRef.current) return;
    let task: RenderTask | undefined;
    let textLayer: InstanceType<Pdfjs["TextLayer"]> | undefined;
    let stale = false;
    void (async () => {
      try {
        const pdfPage = await doc.pdf.getPage(page);
        if (stale) return;
        // Fit the page's width to the viewer, times the zoom; drawn at the screen's pixel density.
        const natural = pdfPage.getViewport({ scale: 1 });
        const frame = frameRef.current!;
        const padding = parseFloat(getComputedStyle(frame).paddingLeft) + parseFloat(getComputedStyle(frame).paddingRight);
        const fit = Math.min(2, (frame.clientWidth - padding || natural.width) / natural.width);
        const viewport = pdfPage.getViewport({ scale: fit * zoom });
        const ratio = window.devicePixelRatio || 1;
        const canvas = canvasRef.current!;
        canvas.width = Math.floor(viewport.width * ratio);
        canvas.height = Math.floor(viewport.height * ratio);
        canvas.style.width = `${Math.floor(viewport.width)}px`;
        canvas.style.height = `${Math.floor(viewport.height)}px`;
        task = pdfPage.render({ canvas, canvasContext: canvas.getContext("2d")!, viewport, ...(ratio !== 1 ? { transform: [ratio, 0, 0, ratio, 0, 0] } : {}) });
        const text = textRef.current!;
        text.replaceChildren();
        text.style.setProperty("--scale-factor", String(viewport.scale));
        text.style.setProperty("--total-scale-factor", String(viewport.scale));
        textLayer = new doc.pdfjs.TextLayer({ textContentSource: pdfPage.streamTextContent(), container: text, viewport });
        await Promise.all([task.promise, textLayer.render()]);
        if (!stale) setRendered((n) => n + 1);
      } catch (caught) {
        if (!stale && !(caught instanceof Error && caught.name === "RenderingCancelledException")) setError(caught instanceof Error ? caught.message : String(caught));
      }
    })();
    return () => {
      stale = true;
      task?.cancel();
      textLayer?.cancel();
    };
  }, [doc, page, zoom]);

  if (error) {
    return (
      <p role="alert" class="alert">
        This PDF can't be shown in the app ({error}). Download the original to open it.
      </p>
    );
  }
  const pages = doc?.pdf.numPages ?? 0;
  return (
    <section class="pdf-viewer" aria-label={`PDF: ${props.fileName}`}>
      <div class="viewer-tools" role="toolbar" aria-label="PDF pages and zoom">
        <button type="button" class="small" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
          Previous page
        </button>
        <span aria-live="polite" class="viewer-status">
          {doc ? `Page ${page} of ${pages}` : "Opening the PDF…"}
        </span>
        <button type="button" class="small" disabled={!doc || page >= pages} onClick={() => setPage((p) => p + 1)}>
          Next page
        </button>
        <button type="button" class="small" disabled={zoom <= MIN_ZOOM} onClick={() => setZoom((z) => Math.max(MIN_ZOOM, z / 1.25))} aria-label="Zoom out">
          −
        </button>
        <span class="viewer-status">{Math.round(zoom * 100)} %</span>
        <button type="button" class="small" disabled={zoom >= MAX_ZOOM} onClick={() => setZoom((z) => Math.min(MAX_ZOOM, z * 1.25))} aria-label="Zoom in">
          +
        </button>
      </div>
      <div class="pdf-frame" ref={frameRef}>
        <div class="pdf-page" data-rendered={rendered > 0 ? "true" : undefined}>
          <canvas ref={canvasRef} aria-hidden="true" />
          <div class="textLayer" ref={textRef} aria-label={`Text of page ${page}`} />
        </div>
      </div>
    </section>
  );
}
