/**
 * pdf.js's parsing worker, bundled into the app (served from its own origin, precached by the
 * service worker): importing it starts its message handler on this worker's port. It is given the
 * decrypted, verified bytes of one PDF by PdfViewer.tsx and fetches nothing.
 */
import "pdfjs-dist/build/pdf.worker.min.mjs";
