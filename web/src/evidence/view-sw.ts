/// <reference lib="webworker" />
/**
 * The service worker's side of streaming playback (ARCHITECTURE.md "Viewing at speed"). The
 * player (and the redaction worker) reads `/view/<viewId>` (a random id per opening); `/view/<viewId>/download?name=…` is the
 * original as a download. The service worker holds no key and no plaintext: it asks the page that
 * holds the view (the requesting page first, then any other) over a fresh MessageChannel, and the
 * page hands the port to its evidence worker, which answers with the item's size and type, then a
 * chunk per pull of checked plaintext (open.worker.ts). Range requests get 206 with
 * Content-Range, so the player seeks; a failure in the worker errors the stream, which stops the
 * player. Responses are never cached.
 */
import type { ViewPortAnswer, ViewPortRequest, ViewRequestMessage } from "./messages";
import { mark } from "./marks";

declare const self: ServiceWorkerGlobalScope;

export const VIEW_PATH = /^\/view\/([0-9a-f]{32})(\/download)?$/;
/** How long a page has to say whether it holds a view (pages on a busy phone can be slow). */
const ASK_TIMEOUT_MS = 15_000;

/** Answers `event` if it is a view request; returns false for anything else. */
export function handleViewFetch(event: FetchEvent): boolean {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return false;
  const match = VIEW_PATH.exec(url.pathname);
  if (!match || event.request.method !== "GET") return false;
  mark(`sw-fetch:${event.request.headers.get("Range") ?? "whole"}`);
  let ended!: () => void;
  const streaming = new Promise<void>((resolve) => (ended = resolve));
  event.respondWith(
    answer(event, match[1]!, match[2] ? (url.searchParams.get("name") ?? "original") : undefined, ended).catch((error: unknown) => {
      ended();
      return new Response(`Couldn't read this view: ${error instanceof Error ? error.message : String(error)}`, { status: 500 });
    }),
  );
  // Keep the service worker alive while the body streams.
  event.waitUntil(streaming);
  return true;
}

function nextAnswer(port: MessagePort, timeoutMs?: number): Promise<ViewPortAnswer | undefined> {
  return new Promise((resolve) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => resolve(undefined), timeoutMs);
    port.onmessage = (event: MessageEvent<ViewPortAnswer>) => {
      clearTimeout(timer);
      resolve(event.data);
    };
  });
}

/** A port to the evidence worker holding `viewId`, with its head answer; undefined if no page holds it. */
async function connect(event: FetchEvent, viewId: string): Promise<{ port: MessagePort; head: ViewPortAnswer } | undefined> {
  const requester = event.clientId ? await self.clients.get(event.clientId) : undefined;
  // A Worker reading the view (the redaction worker) holds none itself: only pages are asked.
  const first = requester?.type === "window" ? requester : undefined;
  const ask = async (client: Client) => {
    const channel = new MessageChannel();
    const head = nextAnswer(channel.port1, ASK_TIMEOUT_MS);
    client.postMessage({ type: "custody-view", viewId } satisfies ViewRequestMessage, [channel.port2]);
    const answer = await head;
    if (answer && answer.type !== "unknown") return { port: channel.port1, head: answer };
    channel.port1.close();
    return undefined;
  };
  // The requesting page nearly always holds the view: it is asked before the others are listed.
  const answered = first ? await ask(first) : undefined;
  if (answered) return answered;
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
    if (client.id === first?.id) continue;
    const other = await ask(client);
    if (other) return other;
  }
  return undefined;
}

/** The body: one chunk per pull from the worker (backpressure from the player), cut on an error. */
function body(port: MessagePort, ended: () => void): ReadableStream<Uint8Array> {
  const send = (request: ViewPortRequest) => port.postMessage(request);
  const finish = () => {
    port.close();
    ended();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const reply = nextAnswer(port);
        send({ type: "pull" });
        const answer = await reply;
        if (answer?.type === "chunk") return controller.enqueue(answer.bytes);
        finish();
        if (answer?.type === "done") controller.close();
        else controller.error(new Error(answer?.type === "error" ? answer.message : "the view ended"));
      },
      cancel() {
        send({ type: "cancel" });
        finish();
      },
    },
    { highWaterMark: 2 },
  );
}

/** Parses a single `bytes=` range against `size`: [start, end] inclusive, "unsatisfiable", or undefined (no range: the whole). */
export function parseRange(header: string | null, size: number): [number, number] | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined; // not one we understand: the whole file (RFC 9110 allows ignoring Range)
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || end < start) return "unsatisfiable";
  return [start, end];
}

async function answer(event: FetchEvent, viewId: string, downloadName: string | undefined, ended: () => void): Promise<Response> {
  const connection = await connect(event, viewId);
  if (!connection) {
    ended();
    return new Response("This view has ended. Open the item again in Custody.", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }
  const { port, head } = connection;
  mark(`sw-head:${event.request.headers.get("Range") ?? "whole"}`);
  if (head.type !== "head") {
    port.close();
    ended();
    return new Response(`This item failed its integrity check: ${head.type === "error" ? head.message : "unknown"}`, { status: 422, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }
  const headers = new Headers({ "Accept-Ranges": "bytes", "Cache-Control": "no-store", "Content-Type": head.mediaType });
  if (downloadName !== undefined) {
    port.postMessage({ type: "download" } satisfies ViewPortRequest);
    headers.set("Content-Type", "application/octet-stream");
    headers.set("Content-Length", String(head.size));
    headers.set("Content-Disposition", `attachment; filename*=UTF-8''${encodeURIComponent(downloadName)}`);
    return new Response(body(port, ended), { status: 200, headers });
  }
  const range = parseRange(event.request.headers.get("Range"), head.size);
  if (range === "unsatisfiable") {
    port.close();
    ended();
    headers.set("Content-Range", `bytes */${head.size}`);
    return new Response(null, { status: 416, headers });
  }
  if (head.size === 0) {
    port.close();
    ended();
    headers.set("Content-Length", "0");
    return new Response(null, { status: 200, headers });
  }
  const [start, end] = range ?? [0, head.size - 1];
  port.postMessage({ type: "read", start, end } satisfies ViewPortRequest);
  headers.set("Content-Length", String(end - start + 1));
  if (range) headers.set("Content-Range", `bytes ${start}-${end}/${head.size}`);
  return new Response(body(port, ended), { status: range ? 206 : 200, headers });
}
