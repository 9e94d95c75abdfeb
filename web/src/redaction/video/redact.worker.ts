/// <reference lib="webworker" />
/**
 * The redaction Worker: one copy at a time, written with a sync access handle straight into
 * OPFS (`redactions/<jobId>`), so the encoded file never sits in memory either.
 */
import type { StreamTargetChunk } from "mediabunny";
import { openSync, removeFile, type SyncAccessHandle } from "../../upload/opfs";
import type { RedactAnswer, RedactRequest } from "./messages";
import { CopyError, writeRedactedCopy } from "./writer";

declare const self: DedicatedWorkerGlobalScope;

let cancel: (() => Promise<void>) | undefined;
let canceled = false;
let lastProgress = 0;

const post = (answer: RedactAnswer) => self.postMessage(answer);

async function start(jobId: string, url: string, edit: Parameters<typeof writeRedactedCopy>[1]): Promise<void> {
  let handle: SyncAccessHandle | undefined = await openSync("redactions", jobId);
  handle.truncate(0);
  const writable = new WritableStream<StreamTargetChunk>({
    write(chunk) {
      let done = 0;
      while (done < chunk.data.byteLength) done += handle!.write(chunk.data.subarray(done), { at: chunk.position + done });
    },
  });
  try {
    const format = await writeRedactedCopy(
      url,
      edit,
      writable,
      (chosen) => post({ type: "format", format: chosen }),
      (fraction) => {
        // At most every 200 ms: the page re-renders on each.
        const now = performance.now();
        if (now - lastProgress < 200) return;
        lastProgress = now;
        post({ type: "progress", fraction });
      },
      (stop) => {
        cancel = stop;
        if (canceled) void stop();
      },
    );
    handle.flush();
    const bytes = handle.getSize();
    handle.close();
    handle = undefined;
    post({ type: "done", format, bytes });
  } catch (error) {
    handle?.close();
    handle = undefined;
    await removeFile("redactions", jobId);
    if (canceled) post({ type: "canceled" });
    else post({ type: "error", message: error instanceof CopyError ? error.message : `the copy failed while encoding (${error instanceof Error ? error.message : String(error)})` });
  } finally {
    cancel = undefined;
  }
}

self.onmessage = (event: MessageEvent<RedactRequest>) => {
  const request = event.data;
  if (request.type === "start") {
    canceled = false;
    void start(request.jobId, request.url, request.edit);
  } else {
    canceled = true;
    void cancel?.();
  }
};
