/**
 * Sends one queued file's ciphertext to the server (ARCHITECTURE.md "Upload"): start the upload
 * (or ask where it stands), PUT the parts the server lacks to signed URLs, then complete it. Used
 * by the page's queue (queue.ts) and by the service worker's Background Sync (sw.ts), which pass
 * their own way to PUT a part.
 *
 * A dropped connection costs at most about one part:
 *  - Three part requests are in flight, but they take turns on the wire: a request starts
 *    sending its body only once the one before has sent all of its own, so at any moment at most
 *    one body is part-way through (the others are whole, waiting for the server's answer).
 *  - A request that fails at the network level marks the server unreachable (connectivity.ts):
 *    no part is started or retried until a probe, a request or the `online` event finds it again.
 *  - Back online, the server is asked which parts it has before anything is sent again (a part
 *    whose answer was lost in the drop is usually stored), and the upload goes on with one
 *    request in flight until a part succeeds, then three again.
 * Other failures: 5xx and 429 are retried with backoff (1 s, 2 s … 30 s), an expired or refused
 * URL is asked for again, a 401 stops the upload (`SessionEnded`) until the user signs in.
 */
import { decodeJwt } from "jose";
import type { CreateEvidenceRequest, UploadState } from "../../../shared/api/cases";
import { PART_SIZE, ciphertextSize, type Manifest } from "../../../shared/crypto/index";
import { ApiError } from "../api/client";
import { evidenceApi } from "../cases/api";
import { isReachable, reportReachable, reportUnreachable, whenReachable } from "../api/connectivity";
import { db, type UploadRow } from "../db";
import { readFile, removeFile, uploadFile } from "./opfs";

/** Part requests in flight at once for one file (their bodies take turns on the wire). */
export const PARALLEL_PARTS = 3;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** A signed URL with less than this left is asked for again rather than used. */
const URL_MARGIN_MS = 60_000;

export const WAITING_NOTE = "Waiting for a connection. The upload goes on by itself when the device is back online.";

/** The server answered 401: the session ended, and the upload waits for the user to sign in again. */
export class SessionEnded extends Error {}

/**
 * PUTs one part: calls `onProgress` with the body bytes sent so far and `onBodySent` once the
 * whole body is sent (before the answer); rejects with an `ApiError` (status 0 for a network
 * failure) or an AbortError.
 */
export type PutPart = (url: string, body: Blob, signal: AbortSignal, onProgress: (loaded: number) => void, onBodySent: () => void) => Promise<void>;

export interface UploadHost {
  /** Part requests in flight at most (1 when `put` cannot tell when a body has been sent). */
  parallel: number;
  put: PutPart;
  /** Ciphertext bytes the server has plus those on the wire now, and bytes per second (0 until measured). */
  onProgress(sentBytes: number, speed: number): void;
  /** What is happening when it is not plain progress (waiting, retrying); undefined clears it. */
  onNote(note: string | undefined): void;
  /** Called once every part is in, before the completion is sent (the page adds a thumbnail made meanwhile to `row.request`). */
  beforeComplete?(): Promise<void>;
}

export const isAbort = (error: unknown) => error instanceof DOMException && error.name === "AbortError";

/** A failure to reach the server at all (no answer), as opposed to an answer that is an error. */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof ApiError && error.status === 0 && error.code === "unreachable";
}

/** An answer worth trying again later: 5xx, 429, or something between us and the API that answered instead. */
function transient(error: unknown): boolean {
  return error instanceof ApiError && (error.status >= 500 || error.status === 429 || error.code === "unreachable");
}

const backoff = (failures: number) => Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_RETRY_MS);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(new DOMException("cancelled", "AbortError"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", aborted);
      resolve();
    }, ms);
    signal.addEventListener("abort", aborted, { once: true });
  });
}

/**
 * Runs `call` until it answers: while the server is unreachable it waits for it (nothing is
 * sent meanwhile); 5xx and 429 are retried with backoff; a 401 throws `SessionEnded`.
 */
async function withRetry<T>(host: UploadHost, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  let failures = 0;
  for (;;) {
    signal.throwIfAborted();
    if (!isReachable()) {
      host.onNote(WAITING_NOTE);
      await whenReachable(signal);
    }
    try {
      const result = await call();
      if (failures > 0) host.onNote(undefined);
      return result;
    } catch (error) {
      if (isAbort(error)) throw error;
      if (error instanceof ApiError && error.status === 401) throw new SessionEnded();
      await waitToRetry(error, ++failures, host, signal);
    }
  }
}

/**
 * After the `failures`-th failure in a row of a call: a network failure marks the server
 * unreachable (the caller's loop then waits for it) and, when repeated while the probe gets
 * through, backs off; 5xx and 429 back off; anything else is thrown, not worth retrying.
 */
async function waitToRetry(error: unknown, failures: number, host: UploadHost, signal: AbortSignal): Promise<void> {
  if (isNetworkFailure(error)) {
    reportUnreachable();
    host.onNote(WAITING_NOTE);
    if (failures > 1) await sleep(backoff(failures - 1), signal);
    return;
  }
  if (!transient(error)) throw error;
  const delay = backoff(failures);
  host.onNote(`Connection problem. Retrying in ${Math.round(delay / 1000)} s…`);
  await sleep(delay, signal);
}

function partBytes(row: UploadRow, n: number): number {
  return Math.min(PART_SIZE, ciphertextSize(row.byteSize) - n * PART_SIZE);
}

async function setPartsDone(row: UploadRow, parts: Iterable<number>): Promise<void> {
  row.partsDone = [...new Set([...row.partsDone, ...parts])].sort((a, b) => a - b);
  await db.uploads.update(row.evidenceId, { partsDone: row.partsDone });
}

/**
 * Starts the upload; if the server holds an unfinished upload of this id under another file key
 * (an encryption interrupted by a reload after its upload had started, before the device noted
 * it), that one is cancelled first: its parts can never match this ciphertext's manifest.
 */
export async function startReplacingStale(caseId: string, request: CreateEvidenceRequest): Promise<UploadState> {
  try {
    return await evidenceApi.start(caseId, request);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "evidence_exists")) throw error;
    try {
      await evidenceApi.cancel(request.evidenceId); // only the uploader's own unfinished upload can be cancelled
    } catch {
      throw error;
    }
    return evidenceApi.start(caseId, request);
  }
}

/** Where the upload stands on the server, starting it there first if needed. */
async function serverState(row: UploadRow, host: UploadHost, signal: AbortSignal): Promise<UploadState> {
  const id = row.evidenceId;
  let state: UploadState | undefined;
  if (row.started) {
    try {
      state = await withRetry(host, signal, () => evidenceApi.uploadState(id));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      // The server does not know it (cancelled elsewhere, or its storage reset): start again.
    }
  }
  if (!state) {
    state = await withRetry(host, signal, () => startReplacingStale(row.caseId, row.request!));
    row.started = true;
    await db.uploads.update(id, { started: true });
  }
  row.partsDone = [...state.received].sort((a, b) => a - b);
  await db.uploads.update(id, { partsDone: row.partsDone });
  host.onProgress(state.received.reduce((sum, n) => sum + partBytes(row, n), 0), 0);
  return state;
}

/** One request's body on the wire at a time: `take` resolves to the function that gives the turn back. */
export class Turns {
  private tail: Promise<void> = Promise.resolve();

  take(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = this.tail;
    this.tail = before.then(() => mine);
    let given = false;
    return before.then(() => () => {
      if (!given) {
        given = true;
        release();
      }
    });
  }
}

/** Sends the parts the server lacks (see the file comment for how a drop is handled). */
async function sendParts(row: UploadRow, file: File, received: Set<number>, host: UploadHost, outer: AbortSignal): Promise<void> {
  const id = row.evidenceId;
  const controller = new AbortController();
  const stop = () => controller.abort();
  outer.addEventListener("abort", stop, { once: true });
  const signal = controller.signal;
  const queue = Array.from({ length: row.partCount }, (_, n) => n).filter((n) => !received.has(n));
  const urls = new Map<number, { url: string; expires: number }>();
  const partHashes = (decodeJwt(row.request!.manifest!) as unknown as Manifest).parts;
  const inFlight = new Map<number, number>();
  const turns = new Turns();
  let sessionBytes = 0;
  const sessionStart = performance.now();
  /** Part requests allowed at once: 1 after a network failure, until a part succeeds. */
  let open = host.parallel;
  const laneWakers: (() => void)[] = [];
  let refreshing: Promise<void> | undefined;

  const report = () => {
    const flying = [...inFlight.values()].reduce((a, b) => a + b, 0);
    const base = row.partsDone.reduce((sum, n) => sum + partBytes(row, n), 0);
    const seconds = (performance.now() - sessionStart) / 1000;
    host.onProgress(base + flying, seconds > 0.5 ? (sessionBytes + flying) / seconds : 0);
  };

  /** A request slot: at most `open` part requests at once (1 after a drop, until a part succeeds). */
  let active = 0;
  const wakeLanes = () => {
    for (const wake of laneWakers.splice(0)) wake();
  };
  async function slot(): Promise<() => void> {
    while (active >= open) {
      signal.throwIfAborted();
      await new Promise<void>((wake) => laneWakers.push(wake));
    }
    signal.throwIfAborted();
    active++;
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      active--;
      wakeLanes();
    };
  }

  const setOpen = (lanes: number) => {
    open = lanes;
    wakeLanes();
  };

  /** After a drop: which parts does the server have now? One question shared by the lanes that ask. */
  const refreshReceived = async () => {
    refreshing ??= withRetry(host, signal, () => evidenceApi.uploadState(id))
      .then((state) => setPartsDone(row, state.received))
      .finally(() => (refreshing = undefined));
    await refreshing;
    report();
  };

  let asking: Promise<unknown> | undefined;
  async function urlFor(n: number): Promise<string> {
    for (;;) {
      const cached = urls.get(n);
      if (cached && cached.expires - Date.now() > URL_MARGIN_MS) return cached.url;
      if (asking) {
        // Another lane is asking already (likely for this part too): wait for its answer.
        await asking.catch(() => undefined);
        if (urls.has(n)) continue;
      }
      // Ask for this part and the next few still missing in one call.
      const batch = [n, ...queue.filter((m) => m > n && !row.partsDone.includes(m) && !urls.has(m)).slice(0, 15)];
      // Each part's SHA-512 from the signed manifest: an upload started before its manifest needs them.
      const request = withRetry(host, signal, () => evidenceApi.partUrls(id, batch, batch.map((m) => partHashes[m]!))).then((answer) => {
        const expires = Date.parse(answer.expiresAt);
        for (const entry of answer.urls) urls.set(entry.part, { url: entry.url, expires });
      });
      asking = request;
      try {
        await request;
      } finally {
        if (asking === request) asking = undefined;
      }
    }
  }

  async function sendOne(n: number): Promise<void> {
    let failures = 0;
    let refused = 0;
    let dropped = false;
    for (;;) {
      signal.throwIfAborted();
      if (!isReachable()) {
        host.onNote(WAITING_NOTE);
        await whenReachable(signal);
      }
      if (dropped) {
        // The answer may have been lost while the part itself arrived: ask before sending it again.
        await refreshReceived();
        if (row.partsDone.includes(n)) return;
      }
      const url = await urlFor(n);
      const start = n * PART_SIZE;
      // A slice of the OPFS file: a disk-backed Blob the browser streams, never copied into page memory.
      const bytes = file.slice(start, start + partBytes(row, n));
      const free = await slot();
      const giveTurn = await turns.take();
      if (!isReachable()) {
        // The connection went while this request waited for its turn: wait again, sending nothing.
        giveTurn();
        free();
        continue;
      }
      try {
        signal.throwIfAborted();
        await host.put(url, bytes, signal, (loaded) => {
          inFlight.set(n, loaded);
          report();
        }, giveTurn);
        giveTurn();
        free();
        inFlight.delete(n);
        sessionBytes += bytes.size;
        if (failures > 0 || dropped) host.onNote(undefined);
        await setPartsDone(row, [n]);
        if (open < host.parallel) setOpen(host.parallel);
        report();
        return;
      } catch (error) {
        giveTurn();
        free();
        inFlight.delete(n);
        report();
        if (isAbort(error)) throw error;
        if (error instanceof ApiError && error.status === 403 && refused++ < 3) {
          urls.delete(n); // expired (or signed before a server restart): ask for a new URL
          continue;
        }
        if (isNetworkFailure(error)) {
          // Back online, one request goes first; the others wait for a slot (see `slot`).
          setOpen(1);
          dropped = true;
        }
        await waitToRetry(error, ++failures, host, signal);
      }
    }
  }

  let next = 0;
  const lane = async () => {
    try {
      for (;;) {
        signal.throwIfAborted();
        while (next < queue.length && row.partsDone.includes(queue[next]!)) next++;
        if (next >= queue.length) return;
        await sendOne(queue[next++]!);
      }
    } catch (error) {
      controller.abort(); // stop the other lanes' requests
      throw error;
    } finally {
      wakeLanes();
    }
  };
  try {
    const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(host.parallel, queue.length)) }, lane));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected" && !isAbort(r.reason))
      ?? results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  } finally {
    outer.removeEventListener("abort", stop);
  }
}

/**
 * Uploads `row` (state "uploading", ciphertext in OPFS) until the server has completed it, then
 * marks it done in IndexedDB and deletes the ciphertext from the device. Throws `SessionEnded`
 * on a 401, an AbortError when `signal` aborts, an `ApiError` the user must act on otherwise.
 */
export async function uploadToServer(row: UploadRow, host: UploadHost, signal: AbortSignal): Promise<void> {
  const id = row.evidenceId;
  const file = await readFile("uploads", uploadFile(id));
  if (!file || file.size !== ciphertextSize(row.byteSize)) {
    throw new ApiError(0, "missing_ciphertext", "The encrypted copy of this file is no longer on this device (the browser may have cleared its storage). Cancel this item and add the file again.");
  }
  let state = await serverState(row, host, signal);
  while (state.status !== "complete") {
    await sendParts(row, file, new Set(state.received), host, signal);
    await host.beforeComplete?.();
    try {
      // The manifest goes with the completion: the server checks it against every stored part. So
      // does the thumbnail, made while the first parts went out (the server keeps one it has).
      await withRetry(host, signal, () => evidenceApi.complete(id, row.request!.manifest, row.request!.thumbnail));
      break;
    } catch (error) {
      // Some part did not land after all (e.g. the server restarted mid-write): ask again and send it.
      if (error instanceof ApiError && error.code === "parts_missing") state = await serverState(row, host, signal);
      else throw error;
    }
  }
  row.state = "done";
  row.partsDone = Array.from({ length: row.partCount }, (_, n) => n);
  row.error = undefined;
  await db.uploads.update(id, { state: "done", partsDone: row.partsDone, error: undefined });
  host.onProgress(ciphertextSize(row.byteSize), 0);
  await removeFile("uploads", uploadFile(id));
}

/**
 * PUT with XMLHttpRequest, which reports upload progress and when the body is sent (fetch does
 * neither). `headers`: extra request headers (a submission's bearer token, docs/submissions.md).
 */
export const putWithXhr = (url: string, body: Blob, signal: AbortSignal, onProgress: (loaded: number) => void, onBodySent: () => void, headers: Record<string, string> = {}): Promise<void> =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    // The upload's signal outlives this part: once the request ends, let go of it (and so of the
    // part's bytes, which the listener's closure would otherwise keep for the whole upload).
    const settle = (outcome: () => void) => {
      signal.removeEventListener("abort", abort);
      xhr.upload.onprogress = xhr.upload.onload = xhr.onload = xhr.onerror = xhr.ontimeout = xhr.onabort = null;
      onBodySent();
      outcome();
    };
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.upload.onload = () => onBodySent();
    xhr.onload = () =>
      settle(() => {
        reportReachable();
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        let code = "unexpected_response";
        let message = `The server refused a part (HTTP ${xhr.status}).`;
        try {
          const parsed = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
          code = parsed.error?.code ?? code;
          message = parsed.error?.message ?? message;
        } catch {
          if (xhr.status >= 500) code = "unreachable";
        }
        reject(new ApiError(xhr.status, code, message));
      });
    xhr.onerror = () => settle(() => reject(new ApiError(0, "unreachable", "Can't reach the Custody server.")));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => settle(() => reject(new DOMException("cancelled", "AbortError")));
    signal.addEventListener("abort", abort, { once: true });
    xhr.send(body);
  });

/** PUT with fetch (the service worker has no XMLHttpRequest): no progress, so one request at a time. */
export const putWithFetch: PutPart = async (url, body, signal, onProgress, onBodySent) => {
  let response: Response;
  try {
    response = await fetch(url, { method: "PUT", body, signal, headers: { "Content-Type": "application/octet-stream" }, credentials: "omit" });
  } catch (error) {
    if (signal.aborted) throw new DOMException("cancelled", "AbortError");
    throw new ApiError(0, "unreachable", `Can't reach the Custody server (${error instanceof Error ? error.message : String(error)}).`);
  } finally {
    onBodySent();
  }
  reportReachable();
  if (response.ok) return onProgress(body.size);
  const parsed = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  throw new ApiError(response.status, parsed?.error?.code ?? (response.status >= 500 ? "unreachable" : "unexpected_response"), parsed?.error?.message ?? `The server refused a part (HTTP ${response.status}).`);
};
