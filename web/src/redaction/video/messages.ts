/** Messages between the page and the redaction Worker (redact.worker.ts). */
import type { VideoEdit } from "./edit";
import type { CopyFormat } from "./writer";

export type RedactRequest =
  /**
   * Write the copy of the video at `url` into OPFS `redactions/<jobId>`; with `resume`, go on from
   * the job's checkpoint (packet-log.ts), which must be of the edit hashing to `editHash`.
   */
  | { type: "start"; jobId: string; url: string; edit: VideoEdit; editHash: string; resume: boolean; file?: Blob }
  | { type: "cancel" };

export type RedactAnswer =
  | { type: "format"; format: CopyFormat }
  | { type: "progress"; fraction: number }
  | { type: "done"; format: CopyFormat; bytes: number }
  | { type: "canceled" }
  | { type: "error"; message: string };
