/// <reference lib="webworker" />
/**
 * The redaction Worker: one copy at a time. Its files in OPFS `redactions/` (packet-log.ts
 * `jobFiles`) are written with sync access handles, so nothing large sits in memory: the packet
 * log and its checkpoint (phase 1), the re-encoded audio and the copy itself (phase 2). Done: all
 * but the copy are deleted; canceled or failed: all are. A reload leaves the log and the
 * checkpoint, which a "resume" request goes on from.
 */
import type { StreamTargetChunk } from "mediabunny";
import { fileHandle, openSync, removeFile, type SyncAccessHandle } from "../../upload/opfs";
import type { RedactAnswer, RedactRequest } from "./messages";
import { canResume, jobFiles, parseCheckpoint, verifyLog, type Checkpoint } from "./packet-log";
import { CopyError, CopyStopped, writeRedactedCopy } from "./writer";

declare const self: DedicatedWorkerGlobalScope;

let cancel: (() => Promise<void>) | undefined;
let canceled = false;
let lastProgress = 0;

const post = (answer: RedactAnswer) => self.postMessage(answer);

/** A sync access handle; the worker of a page just reloaded may still hold it for a moment. */
async function open(name: string): Promise<SyncAccessHandle> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openSync("redactions", name);
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function writeAll(handle: SyncAccessHandle, bytes: Uint8Array, at: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += handle.write(bytes.subarray(done), { at: at + done });
}

const streamTo = (handle: SyncAccessHandle) =>
  new WritableStream<StreamTargetChunk>({
    write(chunk) {
      writeAll(handle, chunk.data, chunk.position);
    },
  });

function readText(handle: SyncAccessHandle): string {
  const bytes = new Uint8Array(handle.getSize());
  handle.read(bytes, { at: 0 });
  return new TextDecoder().decode(bytes);
}

async function start(request: Extract<RedactRequest, { type: "start" }>): Promise<void> {
  const names = jobFiles(request.jobId);
  const handles: SyncAccessHandle[] = [];
  const closeAll = () => {
    for (const handle of handles.splice(0)) handle.close();
  };
  try {
    const log = await open(names.log);
    handles.push(log);
    const checkpointFile = await open(names.checkpoint);
    handles.push(checkpointFile);
    let resume: Checkpoint | undefined;
    if (request.resume) {
      const kept = parseCheckpoint(readText(checkpointFile));
      const verdict = canResume(kept, request.editHash, log.getSize());
      if (!verdict.ok) throw new CopyError(verdict.why === "edit changed" ? "the edit has changed since the copy was started: start again" : "what was written before the reload is incomplete: start again");
      resume = kept!;
      if (!verifyLog((into, at) => log.read(into, { at }), resume)) throw new CopyError("what was written before the reload is damaged: start again");
      // Everything after the checkpoint is written again.
      log.truncate(resume.offset);
    } else {
      log.truncate(0);
      checkpointFile.truncate(0);
    }
    const audio = await open(names.audio);
    handles.push(audio);
    audio.truncate(0);
    const copy = await open(names.copy);
    handles.push(copy);
    copy.truncate(0);
    const encoder = new TextEncoder();
    const format = await writeRedactedCopy(
      request.url,
      request.edit,
      request.editHash,
      {
        log: {
          write: (bytes, at) => writeAll(log, bytes, at),
          read: (into, at) => log.read(into, { at }),
        },
        saveCheckpoint: (checkpoint) => {
          const bytes = encoder.encode(JSON.stringify(checkpoint));
          checkpointFile.truncate(0);
          writeAll(checkpointFile, bytes, 0);
        },
        audio: streamTo(audio),
        audioWritten: async () => {
          audio.flush();
          audio.close();
          handles.splice(handles.indexOf(audio), 1);
          return (await fileHandle("redactions", names.audio)).getFile();
        },
        copy: streamTo(copy),
      },
      {
        onFormat: (chosen) => post({ type: "format", format: chosen }),
        onProgress: (fraction) => {
          // At most every 200 ms: the page re-renders on each.
          const now = performance.now();
          if (now - lastProgress < 200) return;
          lastProgress = now;
          post({ type: "progress", fraction });
        },
        canceled: () => canceled,
        onCancel: (stop) => {
          cancel = stop;
          if (canceled) void stop();
        },
      },
      resume,
      request.file,
    );
    // A cancel that came as the last frame was written still wins: the person asked for no copy.
    if (canceled) throw new CopyStopped();
    copy.flush();
    const bytes = copy.getSize();
    closeAll();
    await Promise.all([removeFile("redactions", names.log), removeFile("redactions", names.checkpoint), removeFile("redactions", names.audio)]);
    post({ type: "done", format, bytes });
  } catch (error) {
    closeAll();
    await Promise.all(Object.values(names).map((name) => removeFile("redactions", name)));
    if (canceled || error instanceof CopyStopped) post({ type: "canceled" });
    else post({ type: "error", message: error instanceof CopyError ? error.message : `the copy failed while encoding (${error instanceof Error ? error.message : String(error)})` });
  } finally {
    cancel = undefined;
  }
}

self.onmessage = (event: MessageEvent<RedactRequest>) => {
  const request = event.data;
  if (request.type === "start") {
    canceled = false;
    void start(request);
  } else {
    canceled = true;
    void cancel?.();
  }
};
