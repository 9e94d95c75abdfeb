/**
 * The verified files opened without a service worker (evidence/open.ts keeps the whole file,
 * checked, and shows it through an object URL), by that URL. The page's Content-Security-Policy
 * (`connect-src 'self'`, docs/security.md) does not let `fetch` read a `blob:` URL, so the
 * readers that need the bytes (the PDF viewer, redaction) ask here; a `/view/…` URL the service
 * worker answers is fetched as usual.
 */
const files = new Map<string, Blob>();

/** An object URL for a verified file, readable through `readOpenedFile` until `dropOpenedFile`. */
export function keepOpenedFile(file: Blob): string {
  const url = URL.createObjectURL(file);
  files.set(url, file);
  return url;
}

export function dropOpenedFile(url: string): void {
  files.delete(url);
  URL.revokeObjectURL(url);
}

/** The verified file behind an object URL from `keepOpenedFile`; undefined for any other URL. */
export function keptFile(url: string): Blob | undefined {
  return files.get(url);
}

/**
 * A mediabunny source for an opened item's URL: its verified file when it was opened without a
 * service worker, else the URL (read by ranges through the service worker).
 */
export function mediaSource(mb: Pick<typeof import("mediabunny"), "BlobSource" | "UrlSource">, url: string, file = keptFile(url), options: { maxCacheSize?: number } = {}) {
  return file ? new mb.BlobSource(file, options) : new mb.UrlSource(url, options);
}

/** The bytes behind an opened item's URL. */
export async function readOpenedFile(url: string): Promise<Blob> {
  const kept = files.get(url);
  if (kept) return kept;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the file could not be read (${response.status})`);
  return response.blob();
}
