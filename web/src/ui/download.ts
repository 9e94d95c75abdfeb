/**
 * Hands a Blob to the browser as a download named `fileName`, through a temporary link. The
 * object URL is revoked a minute later: revoking it at once can cancel the download in some
 * browsers, and a large file may take a moment to start.
 */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.rel = "noopener";
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
