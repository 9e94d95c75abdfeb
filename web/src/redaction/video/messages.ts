/** Messages between the page and the redaction Worker (redact.worker.ts). */
import type { VideoEdit } from "./edit";
import type { CopyFormat } from "./writer";

export type RedactRequest =
  /** Write the copy of the video at `url` into OPFS `redactions/<jobId>`. */
  | { type: "start"; jobId: string; url: string; edit: VideoEdit }
  | { type: "cancel" };

export type RedactAnswer =
  | { type: "format"; format: CopyFormat }
  | { type: "progress"; fraction: number }
  | { type: "done"; format: CopyFormat; bytes: number }
  | { type: "canceled" }
  | { type: "error"; message: string };
