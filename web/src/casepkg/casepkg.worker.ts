/**
 * The case package worker: builds the package (shared/disclosure/case-package.ts) from the
 * items the page prepared, decrypting each original from the ciphertext parts the page sends
 * (in order, a few at a time) and writing the ZIP straight to its destination: the file the
 * person picked, or OPFS (`views/<name>`). Nothing is held whole, whatever the case's size. On
 * any failure the output is discarded: no half-written package looks complete.
 */
import "../ui/zod-jitless";
import { decryptParts, importFileKey, IntegrityError } from "../../../shared/crypto/index";
import { planCasePackage } from "../../../shared/disclosure/case-package";
import { createSha512WasmFactory } from "../upload/sha512-wasm";
import { openSync } from "../upload/opfs";
import type { PackageEvent, PackageJob } from "./messages";

const scope = self as unknown as { postMessage(message: PackageEvent): void; onmessage: ((event: MessageEvent<PackageJob>) => void) | null };

/** Parts of the current item as they arrive; `null` ends the item. */
const inbox: (Uint8Array | null)[] = [];
let waiting: (() => void) | undefined;

async function* incomingParts(index: number): AsyncGenerator<Uint8Array> {
  scope.postMessage({ type: "need", index });
  for (;;) {
    while (inbox.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
    const part = inbox.shift()!;
    if (part === null) return;
    scope.postMessage({ type: "ack" }); // the page may send another
    yield part;
  }
}

interface Sink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

async function sinkOf(output: Extract<PackageJob, { type: "start" }>["output"]): Promise<Sink> {
  if (output.kind === "file") {
    // Chromium writes to a temporary file and swaps it in on close: an aborted package leaves the picked file empty.
    const writable = await output.handle.createWritable();
    return { write: (chunk) => writable.write(chunk as Uint8Array<ArrayBuffer>), close: () => writable.close(), abort: () => writable.abort() };
  }
  const handle = await openSync("views", output.name);
  handle.truncate(0);
  let at = 0;
  return {
    write: async (chunk) => {
      handle.write(chunk, { at });
      at += chunk.length;
    },
    close: async () => {
      handle.flush();
      handle.close();
    },
    abort: async () => {
      handle.truncate(0);
      handle.close();
    },
  };
}

async function build(job: Extract<PackageJob, { type: "start" }>): Promise<void> {
  let sink: Sink | undefined;
  try {
    sink = await sinkOf(job.output);
    const keys = await Promise.all(job.items.map((item) => importFileKey(item.fileKey)));
    // Two hashes run side by side (decryption's and the package's own check), each one item after another.
    const decryptHasher = await createSha512WasmFactory();
    const packageHasher = await createSha512WasmFactory();
    const plan = await planCasePackage({
      case: job.case,
      exportedAt: job.exportedAt,
      exportedBy: job.exportedBy,
      items: job.items,
      original: (i) => decryptParts(incomingParts(i), keys[i]!, job.items[i]!.expect, { createHasher: decryptHasher }),
      createHasher: packageHasher,
    });
    for (const item of job.items) item.fileKey.fill(0); // the package has its copy; the rest is not needed
    scope.postMessage({ type: "planned", contentBytes: plan.contentBytes });
    let bytes = 0;
    let told = 0;
    for await (const chunk of plan.chunks()) {
      await sink.write(chunk);
      bytes += chunk.length;
      if (bytes - told >= 1024 * 1024) {
        scope.postMessage({ type: "progress", bytes });
        told = bytes;
      }
    }
    await sink.close();
    scope.postMessage({ type: "done", bytes });
  } catch (error) {
    await sink?.abort().catch(() => undefined);
    scope.postMessage({
      type: "failed",
      integrity: error instanceof IntegrityError,
      what: error instanceof IntegrityError ? error.what : "case package",
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

scope.onmessage = (event) => {
  const job = event.data;
  if (job.type === "start") void build(job);
  else {
    inbox.push(job.type === "part" ? job.bytes : null);
    waiting?.();
    waiting = undefined;
  }
};
