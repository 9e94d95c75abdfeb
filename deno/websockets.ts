/**
 * WebSockets as the worker and its Durable Objects use them on Cloudflare, on the Deno host:
 * `new WebSocketPair()`, `new Response(null, { status: 101, webSocket: client })`, `accept()`,
 * and the hibernation API (`ctx.acceptWebSocket`, `webSocketMessage`/`webSocketClose` on the
 * object, tags, attachments, auto-responses). When a 101 response with a pair's client end
 * reaches the host, it upgrades the real connection and joins it to that end.
 */

const OPEN = 1;
const CLOSED = 3;

/** What a Durable Object that accepted a socket (hibernation API) is told. */
export interface SocketOwner {
  message(ws: PairedWebSocket, data: string | ArrayBuffer): void;
  close(ws: PairedWebSocket, code: number, reason: string, wasClean: boolean): void;
}

type Data = string | ArrayBuffer | ArrayBufferView;

function copy(data: Data): string | ArrayBuffer {
  if (typeof data === "string") return data;
  const view = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return view.slice().buffer;
}

function closeEvent(code: number, reason: string, wasClean: boolean): Event {
  return Object.assign(new Event("close"), { code, reason, wasClean });
}

/** One end of a WebSocketPair, with the Workers WebSocket API. */
export class PairedWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = OPEN;
  static readonly CLOSING = 2;
  static readonly CLOSED = CLOSED;
  readyState = OPEN;
  readonly url = null;
  readonly protocol = "";
  readonly extensions = "";
  peer!: PairedWebSocket;
  /** Set by `ctx.acceptWebSocket`: the object gets the messages instead of event listeners. */
  owner: SocketOwner | null = null;
  tags: string[] = [];
  private accepted = false;
  private pending: (() => void)[] = [];
  private attachment: unknown = null;

  /** Starts delivering events (those that arrived before are delivered now, in order). */
  accept(): void {
    if (this.accepted) return;
    this.accepted = true;
    for (const deliver of this.pending.splice(0)) deliver();
  }

  send(data: Data): void {
    if (!this.accepted) throw new TypeError("You must call accept() on this WebSocket before sending messages.");
    if (this.readyState !== OPEN) throw new TypeError("Can't call WebSocket send() after close().");
    const message = copy(data);
    this.peer.receive(() => this.peer.deliverMessage(message));
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.peer.receive(() => this.peer.deliverClose(code, reason));
  }

  serializeAttachment(value: unknown): void {
    this.attachment = structuredClone(value);
  }

  deserializeAttachment(): unknown {
    return structuredClone(this.attachment);
  }

  private receive(deliver: () => void): void {
    if (this.accepted) deliver();
    else this.pending.push(deliver);
  }

  private deliverMessage(data: string | ArrayBuffer): void {
    if (this.readyState !== OPEN) return;
    if (this.owner) this.owner.message(this, data);
    else this.dispatch(Object.assign(new Event("message"), { data }));
  }

  private deliverClose(code: number, reason: string): void {
    const wasOpen = this.readyState === OPEN;
    this.readyState = CLOSED;
    if (this.owner) this.owner.close(this, code, reason, wasOpen);
    else this.dispatch(closeEvent(code, reason, wasOpen));
  }

  private dispatch(event: Event): void {
    this.dispatchEvent(event);
    const handler = (this as unknown as Record<string, unknown>)[`on${event.type}`];
    if (typeof handler === "function") handler.call(this, event);
  }
}

/** `new WebSocketPair()`: two joined ends, 0 for the client, 1 for the server. */
export class WebSocketPair {
  0: PairedWebSocket;
  1: PairedWebSocket;

  constructor() {
    this[0] = new PairedWebSocket();
    this[1] = new PairedWebSocket();
    this[0].peer = this[1];
    this[1].peer = this[0];
  }
}

/**
 * Makes `WebSocketPair` (and `WebSocketRequestResponsePair`) globals and lets `Response` carry a WebSocket with status 101, as on
 * Workers (Deno's own Response refuses a status under 200). Every response stays an
 * `instanceof Response`, whoever made it.
 */
export function installWorkersWebSockets(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  if (g.WebSocketPair) return;
  const NativeResponse = globalThis.Response;
  class WorkersResponse extends NativeResponse {
    readonly #webSocket: PairedWebSocket | null;

    constructor(body?: BodyInit | null, init?: ResponseInit & { webSocket?: PairedWebSocket | null }) {
      const webSocket = init?.webSocket ?? null;
      if (init?.status === 101 && webSocket) super(body, { headers: init.headers, status: 200, statusText: "Switching Protocols" });
      else super(body, init);
      this.#webSocket = init?.status === 101 ? webSocket : null;
    }

    override get status(): number {
      return this.#webSocket ? 101 : super.status;
    }

    override get webSocket(): WebSocket | null {
      return this.#webSocket as unknown as WebSocket | null;
    }

    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof NativeResponse;
    }
  }
  g.Response = WorkersResponse;
  g.WebSocketPair = WebSocketPair;
  g.WebSocketRequestResponsePair = class WebSocketRequestResponsePair {
    constructor(
      readonly request: string,
      readonly response: string,
    ) {}
  };
}

/** The pair's client end a worker answered with, if its response is a WebSocket upgrade. */
export function upgradeOf(response: Response): PairedWebSocket | null {
  const webSocket = (response as { webSocket?: unknown }).webSocket;
  return response.status === 101 && webSocket instanceof PairedWebSocket ? webSocket : null;
}

/** Joins a real socket (the browser's or the agent's) to a pair's client end, both ways. */
export function join(socket: Deno.ServerWebSocket, client: PairedWebSocket): void {
  const outbox: (string | ArrayBuffer)[] = [];
  let open = false;
  client.addEventListener("message", (event) => {
    const data = (event as unknown as { data: string | ArrayBuffer }).data;
    if (open) socket.send(data);
    else outbox.push(data);
  });
  client.addEventListener("close", (event) => {
    const { code, reason } = event as unknown as { code: number; reason: string };
    // 1005 and 1006 describe a close, they cannot be sent in one.
    if (socket.readyState <= OPEN) socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  });
  client.accept();
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    open = true;
    for (const data of outbox.splice(0)) socket.send(data);
  };
  socket.onmessage = (event) => {
    if (client.readyState === OPEN) client.send(event.data);
  };
  socket.onclose = (event) => client.close(event.code, event.reason);
  socket.onerror = () => client.close(1006, "connection error");
}
