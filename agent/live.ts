/**
 * The live connection to the site's Durable Object: a WebSocket (web standard, in Node 22+
 * and Deno) over which the server says "work" whenever a request arrives or is decided. It
 * reconnects by itself with exponential backoff (1 s doubling to 60 s, with jitter); while it
 * is down the agent polls (agent.ts), so nothing is missed either way.
 */
export interface LiveOptions {
  /** A freshly signed URL for each attempt (a signed URL is good for one connection only). */
  url: () => Promise<string>;
  onWork: () => void;
  onState: (connected: boolean) => void;
  log: (line: string) => void;
  /** Keep-alive ping interval (the Durable Object answers "pong" without waking). */
  pingMs?: number;
}

export class LiveConnection {
  private socket: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  connected = false;

  constructor(private readonly options: LiveOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.socket?.close(1000, "agent stopping");
    this.socket = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(await this.options.url());
    } catch (err) {
      this.options.log(`live connection could not start: ${err instanceof Error ? err.message : err}`);
      this.retry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.setConnected(true);
      this.pingTimer = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send("ping");
      }, this.options.pingMs ?? 30_000);
    });
    socket.addEventListener("message", (event) => {
      if (event.data === "pong") return;
      try {
        if ((JSON.parse(String(event.data)) as { type?: string }).type === "work") this.options.onWork();
      } catch {
        // not for us
      }
    });
    socket.addEventListener("close", () => {
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = null;
      if (this.socket === socket) this.socket = null;
      this.setConnected(false);
      this.retry();
    });
    socket.addEventListener("error", () => {
      // "close" follows and schedules the retry.
    });
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.options.log(connected ? "live connection open" : "live connection closed; polling until it is back");
    this.options.onState(connected);
  }

  private retry(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = Math.min(60_000, 1000 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }
}
