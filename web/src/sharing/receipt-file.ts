import { tokenToResponse } from "../../../shared/timestamp/rfc3161";
import { saveBlob } from "../ui/download";

/** Downloads a receipt as `<name>.jws`, with `<name>.jws.tsr` (its RFC 3161 timestamp) beside it once stamped: `npm run verify -- <name>.jws`. */
export function saveReceipt(download: { jws: string; token: string | null }, name: string): void {
  saveBlob(new Blob([download.jws], { type: "application/jose" }), `${name}.jws`);
  if (download.token) saveBlob(new Blob([tokenToResponse(Uint8Array.from(atob(download.token), (c) => c.charCodeAt(0))) as Uint8Array<ArrayBuffer>], { type: "application/timestamp-reply" }), `${name}.jws.tsr`);
}
