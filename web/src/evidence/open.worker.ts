/**
 * The evidence worker: one opened item's plaintext lives here, and only here (docs/offline.md).
 *
 * It downloads a member's ciphertext parts itself (`partUrl`: hashed and opened segment by
 * segment as they come, part 0 from the moment the item is opened), or asks the page for them by
 * number (`need`: a copy kept offline, a share, a submitted file). It checks each part's SHA-512
 * against the signed manifest and every segment's GCM tag before a byte of that part is released, and keeps a few decrypted parts (at most
 * `MAX_CACHED`, whatever the file's size) for the player. Three kinds of reader use them:
 *  - byte ranges for the player, through the service worker (view-sw.ts): the parts under the
 *    playhead first, a few ahead in parallel;
 *  - the background verification, in order: every part, the size and the whole-file SHA-512
 *    (only then is the item "Verified");
 *  - saves, downloads and court packages, in order, with the same whole-file checks.
 * Any integrity failure ends the session: the decrypted parts are dropped, every open stream is
 * cut, and the page is told what failed (which part or segment). Without a service worker the
 * whole file is decrypted into OPFS (`views/<id>`) first, as before streaming.
 */
import "../ui/zod-jitless";
import {
  IntegrityError,
  PART_SIZE,
  SEGMENT_SIZE,
  SEGMENTS_PER_PART,
  SEALED_SEGMENT_SIZE,
  TAG_SIZE,
  courtPackageChunks,
  openSegment,
  segmentCount,
  sha512Hex,
  type DecryptExpectations,
} from "../../../shared/crypto/index";
import { createSha512Wasm } from "../upload/sha512-wasm";
import { openSync } from "../upload/opfs";
import type { OpenEvent, OpenJob, ViewPortAnswer, ViewPortRequest } from "./messages";
import { mark } from "./marks";

const scope = self as unknown as { postMessage(message: OpenEvent, transfer?: Transferable[]): void; onmessage: ((event: MessageEvent<OpenJob>) => void) | null };

/** Plaintext bytes of every part but the last (8 segments). */
const PLAIN_PART = SEGMENTS_PER_PART * SEGMENT_SIZE;
/** Decrypted parts kept for the player (64 MiB at most, whatever the file's size). */
const MAX_CACHED = 8;
/** Part downloads the worker asks for at once. */
const MAX_FETCHING = 4;
/** Parts fetched ahead of the playhead, and ahead of an in-order reader (one download at a time). */
const AHEAD = 2;
/** How long after the player's last request the background check keeps to one download at a time. */
const PLAYER_QUIET_MS = 3_000;
/** Bytes handed to the service worker per pull. */
const CHUNK = 1_048_576;

/** Who waits for a part: the player now, the player soon, an in-order reader. Lower goes first. */
const enum Priority {
  Playhead = 0,
  Ahead = 1,
  Background = 2,
}

/**
 * A part's ciphertext as it came from the page. When it streamed in, its SHA-512 was computed and
 * its segments' opening started as the bytes came (`receive`); neither is trusted until `load`
 * has compared them.
 */
interface Ciphertext {
  bytes: Uint8Array;
  sha512?: string;
  segments?: Promise<Uint8Array>[];
}

/** A part could not be downloaded (not an integrity failure). */
class DownloadError extends Error {}

/**
 * A ciphertext part this worker downloads itself (`partUrl` of a member's online view): read and
 * hashed here chunk by chunk as it comes, with no hop through the page (whose main thread is busy
 * laying out the item while the first part downloads). Nothing read here is trusted: `load`
 * compares the SHA-512 with the signed manifest. The early one (part 0) starts before the
 * session, beside the signature check and the key release.
 */
class PartDownload {
  private readonly chunks: Uint8Array[] = [];
  private readonly controller = new AbortController();
  private bytes = 0;
  private finished = false;
  private failed: Error | undefined;
  private wake: (() => void) | undefined;
  /** The SHA-512 (hex) of what was read, once it has all been read. */
  sha512: string | undefined;

  constructor(
    private readonly url: string,
    private readonly n: number,
  ) {
    void this.run();
  }

  abort(): void {
    this.controller.abort();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async run(): Promise<void> {
    try {
      const hasher = createSha512Wasm();
      const response = await partResponse(this.url, this.n, this.controller.signal);
      mark(`w-response:${this.n}`);
      if (!response.body) throw new DownloadError(`Couldn't download part ${this.n}: the response had no body.`);
      const reader = response.body.getReader();
      const hash = await hasher;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.bytes += value.length;
        // No part is longer than PART_SIZE: a longer answer is cut here (and fails its check).
        if (this.bytes > PART_SIZE) {
          await reader.cancel().catch(() => undefined);
          throw new IntegrityError(`part ${this.n}`, "its length does not match the signed size");
        }
        hash.update(value);
        this.chunks.push(value);
        this.notify();
      }
      this.sha512 = hash.digestHex();
      this.finished = true;
    } catch (error) {
      this.failed =
        error instanceof IntegrityError || error instanceof DownloadError
          ? error
          : new DownloadError(this.controller.signal.aborted ? "the download was stopped" : `Couldn't download part ${this.n}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.notify();
  }

  /** The chunks from the first, as they come; throws what stopped the download. */
  async *read(): AsyncGenerator<Uint8Array> {
    for (let i = 0; ; ) {
      if (i < this.chunks.length) {
        yield this.chunks[i++]!;
        continue;
      }
      if (this.failed) throw this.failed;
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** The response for ciphertext part `n`, retrying network errors and 5xx a few times (as the page's `fetchPart` does), until `signal` aborts. */
async function partResponse(url: string, n: number, signal: AbortSignal): Promise<Response> {
  let delay = 1000;
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    let response: Response | undefined;
    try {
      response = await fetch(url, { headers: { Accept: "application/octet-stream" }, credentials: "same-origin", signal });
    } catch (error) {
      if (signal.aborted || attempt >= 3) throw error;
    }
    if (response?.ok) return response;
    if (response && (response.status < 500 || attempt >= 3)) throw new DownloadError(`Couldn't download part ${n} (HTTP ${response.status}). Try opening it again.`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay *= 2;
  }
}

/** Part 0, asked for as the item is opened (`early`), waiting for the session that will read it. */
let early: { partUrl: string; download: PartDownload } | undefined;

type Failure = Extract<OpenEvent, { type: "failed" }>;

function failureOf(error: unknown, scope: Failure["scope"]): Failure {
  if (error instanceof IntegrityError) return { type: "failed", scope, integrity: true, what: error.what, message: error.message };
  return { type: "failed", scope, integrity: false, what: error instanceof DownloadError ? "download" : "decryption", message: error instanceof Error ? error.message : String(error) };
}

class Session {
  readonly segments: number;
  readonly parts: number;
  failure: Failure | undefined;
  private readonly cache = new Map<number, Promise<Uint8Array>>();
  private readonly waiters = new Map<number, { resolve(part: Ciphertext): void; reject(error: Error): void }[]>();
  private readonly queued = new Map<number, Priority>();
  /** Parts being downloaded: the request's number, the priority it counts at, and the download when this worker makes it. */
  private readonly fetching = new Map<number, { request: number; priority: Priority; download?: PartDownload }>();
  private requests = 0;
  private playerAt = -Infinity;
  /** Cuts the streams that are open now (on a failure). */
  readonly streams = new Set<(message: string) => void>();

  constructor(
    readonly evidenceId: string,
    readonly fileKey: CryptoKey,
    readonly expect: DecryptExpectations,
    readonly mediaType: string,
    /** Where this worker downloads parts itself (`<partUrl><n>`); without it, the page is asked for them. */
    readonly partUrl?: string,
  ) {
    this.segments = segmentCount(expect.byteSize);
    // The player asks within moments of opening: until then the check starts with one download.
    this.playerAt = performance.now();
    this.parts = expect.partSha512.length;
  }

  /** Ciphertext part `n`, asked of the page when its turn comes (`priority` first). */
  private ciphertext(n: number, priority: Priority): Promise<Ciphertext> {
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(n) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(n, list);
      const fetching = this.fetching.get(n);
      if (fetching === undefined) this.queued.set(n, Math.min(priority, this.queued.get(n) ?? Priority.Background));
      else fetching.priority = Math.min(priority, fetching.priority); // now awaited by the player: it counts as the player's
      this.pump();
    });
  }

  /**
   * Asks the page for the next parts. The network is shared, so the player's parts go first:
   * while one under the playhead is awaited nothing else starts; parts ahead of it come next;
   * the background check takes one request at a time while the player is active (the last
   * `PLAYER_QUIET_MS`), the whole pool once it is not.
   */
  private pump(): void {
    const playerActive = performance.now() - this.playerAt < PLAYER_QUIET_MS;
    const best = () => [...this.queued].sort((a, b) => a[1] - b[1] || a[0] - b[0])[0];
    // A part under the playhead takes the whole link: downloads of other parts are stopped (and asked again later).
    if (best()?.[1] === Priority.Playhead || [...this.fetching.values()].some((f) => f.priority === Priority.Playhead)) {
      for (const [n, fetching] of this.fetching) {
        if (fetching.priority === Priority.Playhead) continue;
        this.fetching.delete(n);
        if (fetching.download) fetching.download.abort();
        else scope.postMessage({ type: "drop", request: fetching.request });
        if (this.waiters.has(n)) this.queued.set(n, fetching.priority);
      }
    }
    for (let next = best(); next && this.fetching.size < MAX_FETCHING; next = best()) {
      const [n, priority] = next;
      const inFlight = [...this.fetching.values()].map((f) => f.priority);
      if (priority > Priority.Playhead && inFlight.includes(Priority.Playhead)) return;
      if (priority === Priority.Ahead && inFlight.includes(Priority.Ahead)) return; // one part ahead at a time
      if (priority === Priority.Background && playerActive && inFlight.length > 0) return;
      this.queued.delete(n);
      const request = ++this.requests;
      mark(`w-need:${n}:${priority}`);
      if (this.partUrl === undefined) {
        this.fetching.set(n, { request, priority });
        scope.postMessage({ type: "need", request, n });
        continue;
      }
      let download: PartDownload;
      if (n === 0 && early?.partUrl === this.partUrl) {
        download = early.download;
        early = undefined;
      } else download = new PartDownload(`${this.partUrl}${n}`, n);
      this.fetching.set(n, { request, priority, download });
      void this.receive(request, n, download);
    }
  }

  private releasedOnce = false;

  /** Checked bytes went to the player: the page is told the first time (it then loads what the first frame did not need). */
  released(): void {
    if (this.releasedOnce) return;
    this.releasedOnce = true;
    scope.postMessage({ type: "released" });
  }

  /** The player asked for something: the background check steps aside for a while. */
  playerAsked(): void {
    this.playerAt = performance.now();
  }

  /** The page's answer to request `request` for part `n`: its bytes, or why it could not be had. */
  arrived(request: number, n: number, bytes: Uint8Array | Error): void {
    this.settle(request, n, bytes instanceof Error ? bytes : { bytes });
  }

  private settle(request: number, n: number, part: Ciphertext | Error): void {
    if (this.fetching.get(n)?.request !== request) return; // dropped meanwhile
    this.fetching.delete(n);
    mark(`w-arrived:${n}`);
    const list = this.waiters.get(n) ?? [];
    this.waiters.delete(n);
    for (const waiter of list) part instanceof Error ? waiter.reject(part) : waiter.resolve(part);
    this.pump();
  }

  /** Ciphertext bytes of part `n` as the signed size says (every part but the last: 8 sealed segments). */
  private sealedSize(n: number): number {
    const first = n * SEGMENTS_PER_PART;
    const last = Math.min(first + SEGMENTS_PER_PART, this.segments) - 1;
    const plainSize = n === this.parts - 1 ? this.expect.byteSize - n * PLAIN_PART : PLAIN_PART;
    return plainSize + (last - first + 1) * TAG_SIZE;
  }

  /**
   * Reads part `n` as it downloads (hashed as it comes, see `PartDownload`), opening each sealed
   * segment as soon as its last byte is in, so little is left to do when the part's last byte
   * arrives. Nothing of it is released here: `load` checks the SHA-512 against the signed
   * manifest, the length and every tag before a byte leaves the worker.
   */
  private async receive(request: number, n: number, download: PartDownload): Promise<void> {
    try {
      const size = this.sealedSize(n);
      const count = Math.ceil(size / SEALED_SEGMENT_SIZE);
      const bytes = new Uint8Array(size);
      const segments: Promise<Uint8Array>[] = [];
      let got = 0;
      for await (const value of download.read()) {
        if (this.fetching.get(n)?.request !== request) return; // dropped (and aborted)
        if (got + value.length > size) throw new IntegrityError(`part ${n}`, "its length does not match the signed size");
        bytes.set(value, got);
        got += value.length;
        for (let k = segments.length; k < count && got >= Math.min((k + 1) * SEALED_SEGMENT_SIZE, size); k = segments.length) {
          const s = n * SEGMENTS_PER_PART + k;
          const opened = openSegment(this.fileKey, this.expect.noncePrefix, s, s === this.segments - 1, bytes.subarray(k * SEALED_SEGMENT_SIZE, Math.min((k + 1) * SEALED_SEGMENT_SIZE, size)));
          opened.catch(() => undefined); // read (and reported) in `load`, after the SHA-512
          segments.push(opened);
        }
      }
      this.settle(request, n, { bytes: bytes.subarray(0, got), sha512: download.sha512!, segments });
    } catch (error) {
      download.abort();
      this.settle(request, n, error instanceof IntegrityError || error instanceof DownloadError ? error : new DownloadError(`Couldn't download part ${n}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  /** Plaintext of part `n`, checked (part SHA-512, every segment's tag) before it is returned. */
  plain(n: number, priority: Priority): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(new Error(this.failure.message));
    let part = this.cache.get(n);
    if (part) {
      this.cache.delete(n); // most recently used last
    } else {
      part = this.load(n, priority);
      part.catch(() => this.cache.get(n) === part && this.cache.delete(n));
    }
    this.cache.set(n, part);
    for (const key of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHED) break;
      if (key !== n) this.cache.delete(key);
    }
    return part;
  }

  /** Starts fetching parts after `n` (errors surface when they are read). */
  prefetch(n: number, priority: Priority): void {
    for (let k = n + 1; k <= n + AHEAD && k < this.parts; k++) if (!this.cache.has(k)) this.plain(k, priority).catch(() => undefined);
  }

  private async load(n: number, priority: Priority): Promise<Uint8Array> {
    try {
      const { bytes, sha512, segments } = await this.ciphertext(n, priority);
      if ((sha512 ?? (await sha512Hex(bytes))) !== this.expect.partSha512[n]) throw new IntegrityError(`part ${n}`, "its SHA-512 does not match the signed manifest");
      mark(`w-hashed:${n}`);
      const first = n * SEGMENTS_PER_PART;
      const last = Math.min(first + SEGMENTS_PER_PART, this.segments) - 1;
      const plainSize = n === this.parts - 1 ? this.expect.byteSize - n * PLAIN_PART : PLAIN_PART;
      if (plainSize < 0 || bytes.length !== plainSize + (last - first + 1) * TAG_SIZE) throw new IntegrityError(`part ${n}`, "its length does not match the signed size");
      const out = new Uint8Array(plainSize);
      // Segments are sealed independently (IV = prefix || index || final flag): open them in parallel.
      await Promise.all(
        Array.from({ length: last - first + 1 }, async (_, k) => {
          const s = first + k;
          const sealed = bytes.subarray(k * SEALED_SEGMENT_SIZE, Math.min((k + 1) * SEALED_SEGMENT_SIZE, bytes.length));
          out.set(await (segments?.[k] ?? openSegment(this.fileKey, this.expect.noncePrefix, s, s === this.segments - 1, sealed)), k * SEGMENT_SIZE);
        }),
      );
      mark(`w-decrypted:${n}`);
      return out;
    } catch (error) {
      if (error instanceof IntegrityError) this.fail(error);
      throw error;
    }
  }

  /** Ends the session: plaintext dropped, streams cut, the page told. */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = failureOf(error, "view");
    this.cache.clear();
    for (const [, list] of this.waiters) for (const waiter of list) waiter.reject(new Error(this.failure.message));
    this.waiters.clear();
    this.queued.clear();
    for (const cut of this.streams) cut(`${this.failure.what}: ${this.failure.message}`);
    this.streams.clear();
    scope.postMessage(this.failure);
  }

  /**
   * The plaintext in order, a part at a time, each checked; after the last part, the size and
   * the whole-file SHA-512 (a mismatch throws there, so a reader keeps nothing before that).
   */
  async *inOrder(priority: Priority, onPart?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
    const hasher = await createSha512Wasm();
    let size = 0;
    for (let n = 0; n < this.parts; n++) {
      const part = this.plain(n, priority);
      this.prefetch(n, priority);
      const plain = await part;
      if (priority === Priority.Background) {
        // A segment at a time, each in its own task: the player's requests (a seek, the next
        // chunk of a part just checked) are answered between them, not after tens of ms of hashing.
        for (let at = 0; at < plain.length; at += SEGMENT_SIZE) {
          await nextTask();
          hasher.update(plain.subarray(at, at + SEGMENT_SIZE));
        }
      } else hasher.update(plain);
      size += plain.length;
      onPart?.(size);
      yield plain;
    }
    if (size !== this.expect.byteSize) throw new IntegrityError("file size", `decrypted ${size} bytes, the signed manifest says ${this.expect.byteSize}`);
    if (hasher.digestHex() !== this.expect.sha512) throw new IntegrityError("file sha512", "the decrypted file's SHA-512 does not match the signed manifest");
  }
}

let session: Session | undefined;

/** Resolves in a later task (a message to itself: not clamped like nested timers), so queued messages are handled first. */
const tasks: (() => void)[] = [];
const taskChannel = new MessageChannel();
taskChannel.port1.onmessage = () => tasks.shift()?.();
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    tasks.push(resolve);
    taskChannel.port2.postMessage(null);
  });
}

/** Every part, the size and the whole-file SHA-512, in the background: the item is "Verified" only after this. */
async function verify(current: Session): Promise<void> {
  try {
    let last = 0;
    for await (const _ of current.inOrder(Priority.Background, (bytes) => {
      // Progress at most every part; the page shows "checking… N %".
      if (bytes !== last) scope.postMessage({ type: "progress", verifiedBytes: (last = bytes) });
    }));
    scope.postMessage({ type: "verified" });
  } catch (error) {
    current.fail(error);
  }
}

/** Without a service worker: the whole file, verified, into OPFS; shown only after. */
async function whole(current: Session): Promise<void> {
  const out = await openSync("views", current.evidenceId);
  let offset = 0;
  try {
    out.truncate(0);
    for await (const plain of current.inOrder(Priority.Playhead, (bytes) => scope.postMessage({ type: "progress", verifiedBytes: bytes }))) {
      out.write(plain, { at: offset });
      offset += plain.length;
    }
    out.flush();
    out.close();
    scope.postMessage({ type: "whole" });
  } catch (error) {
    out.truncate(0); // show nothing that did not verify
    out.close();
    current.fail(error);
  }
}

/** Answers one service-worker request on `port`: a byte range for the player, or the whole file as a download. */
function serve(current: Session | undefined, port: MessagePort): void {
  const post = (answer: ViewPortAnswer, transfer: Transferable[] = []) => port.postMessage(answer, transfer);
  if (!current) return post({ type: "unknown" });
  if (current.failure) return post({ type: "error", message: `${current.failure.what}: ${current.failure.message}` });
  let closed = false;
  let range: { pos: number; end: number; first?: string } | undefined;
  let ordered: AsyncGenerator<Uint8Array> | undefined;
  let pending: Uint8Array | undefined;
  const close = () => {
    closed = true;
    current.streams.delete(cut);
    void ordered?.return(undefined);
    port.close();
  };
  const cut = (message: string) => {
    if (closed) return;
    post({ type: "error", message });
    close();
  };
  current.streams.add(cut);

  const next = async (): Promise<void> => {
    if (range) {
      if (range.pos > range.end) return post({ type: "done" });
      const n = Math.floor(range.pos / PLAIN_PART);
      current.playerAsked();
      const part = current.plain(n, Priority.Playhead); // asked first: the part under the playhead goes out before those ahead
      // Read from its last segment on (a seek often lands there: the key frame before the target),
      // the next part is wanted within moments: both download at once rather than one after the other.
      if (range.pos >= (n + 1) * PLAIN_PART - SEGMENT_SIZE && range.end >= (n + 1) * PLAIN_PART && n + 1 < current.parts) current.plain(n + 1, Priority.Playhead).catch(() => undefined);
      current.prefetch(n, Priority.Ahead);
      const plain = await part;
      const offset = range.pos - n * PLAIN_PART;
      const length = Math.min(CHUNK, plain.length - offset, range.end + 1 - range.pos);
      if (length <= 0) throw new Error("the range is past the end of the file");
      const bytes = plain.slice(offset, offset + length); // a copy: the cached part stays whole
      if (range.first) mark(`w-released:${range.first}`);
      current.released();
      range.first = undefined;
      range.pos += length;
      return post({ type: "chunk", bytes }, [bytes.buffer]);
    }
    if (ordered) {
      if (!pending || pending.length === 0) {
        const step = await ordered.next();
        if (step.done) return post({ type: "done" });
        pending = step.value;
      }
      const bytes = pending.slice(0, CHUNK);
      pending = pending.subarray(bytes.length);
      return post({ type: "chunk", bytes }, [bytes.buffer]);
    }
    throw new Error("pull before read");
  };

  let chain = Promise.resolve();
  port.onmessage = (event: MessageEvent<ViewPortRequest>) => {
    const request = event.data;
    chain = chain.then(async () => {
      if (closed) return;
      try {
        if (request.type === "read") {
          range = { pos: request.start, end: request.end, first: `${request.start}-${request.end}` };
          mark(`w-read:${range.first}`);
        }
        else if (request.type === "download") ordered = current.inOrder(Priority.Ahead);
        else if (request.type === "cancel") close();
        else await next();
      } catch (error) {
        cut(error instanceof IntegrityError ? `${error.what}: ${error.message}` : error instanceof Error ? error.message : String(error));
      }
    });
  };
  post({ type: "head", size: current.expect.byteSize, mediaType: current.mediaType });
}

/** Writes the verified original to the picked file; the browser keeps it aside until `close`, so a failure leaves nothing. */
async function save(current: Session, handle: FileSystemFileHandle): Promise<void> {
  const out = await handle.createWritable();
  let bytes = 0;
  try {
    for await (const plain of current.inOrder(Priority.Ahead)) {
      await out.write(plain as Uint8Array<ArrayBuffer>);
      bytes += plain.length;
    }
    await out.close();
    scope.postMessage({ type: "saved", bytes });
  } catch (error) {
    await out.abort().catch(() => undefined);
    if (error instanceof IntegrityError) current.fail(error);
    scope.postMessage(failureOf(error, "task"));
  }
}

async function exportPackage(current: Session, job: Extract<OpenJob, { type: "export" }>): Promise<void> {
  const out = await openSync("views", `${job.evidenceId}.zip`);
  let offset = 0;
  try {
    out.truncate(0);
    const ordered = current.inOrder(Priority.Ahead);
    const original = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const step = await ordered.next();
        if (step.done) controller.close();
        else controller.enqueue(step.value);
      },
    });
    const hasher = await createSha512Wasm();
    const chunks = courtPackageChunks({
      original, manifestJws: job.manifestJws, signerPublicJwk: job.signerPublicJwk, signerRegister: job.signerRegister, metadata: job.metadata,
      ...(job.fileKey ? { fileKey: job.fileKey } : {}), ...(job.timestamp ? { timestamp: job.timestamp } : {}), createHasher: () => hasher,
    });
    for await (const chunk of chunks) {
      out.write(chunk, { at: offset });
      offset += chunk.length;
    }
    out.flush();
    out.close();
    job.fileKey?.fill(0);
    scope.postMessage({ type: "exported", bytes: offset });
  } catch (error) {
    out.truncate(0);
    out.close();
    if (error instanceof IntegrityError) current.fail(error);
    scope.postMessage({ ...failureOf(error, "task"), ...(error instanceof IntegrityError ? {} : { what: "court package" }) });
  }
}

scope.onmessage = (event) => {
  const job = event.data;
  switch (job.type) {
    case "early":
      early = { partUrl: job.partUrl, download: new PartDownload(`${job.partUrl}0`, 0) };
      return;
    case "session":
      session = new Session(job.evidenceId, job.fileKey, job.expect, job.mediaType, job.partUrl);
      return;
    case "part":
      return session?.arrived(job.request, job.n, job.bytes);
    case "partError":
      return session?.arrived(job.request, job.n, new DownloadError(job.message));
    case "port":
      return serve(session, job.port);
    case "verify":
      if (session) void verify(session);
      return;
    case "whole":
      if (session) void whole(session);
      return;
    case "save":
      if (session) void save(session, job.handle);
      return;
    case "export":
      if (session) void exportPackage(session, job);
      return;
  }
};
