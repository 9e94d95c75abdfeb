/**
 * A plain HTTP proxy in front of the local server, for the bench's connection drop (upload.ts,
 * section b). It stands where the network would be, so it counts what actually reached the
 * server: every byte of every part upload body it forwarded, whether that request ended well
 * or was cut. `drop()` does what a phone losing its signal does to the app: every connection
 * from the browser dies at once and new ones are refused, while the device itself still says it
 * is online (no `offline` event). The server side is not told: requests whose whole body had
 * already been forwarded are answered by the server as usual (the answer is lost with the
 * connection); a body cut half-way is left hanging until the proxy gives up on it
 * (`restore()`), as a server would time it out, and the server stores nothing of it.
 */
import { request as httpRequest, createServer, Agent, type ClientRequest, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";

/** One part upload (PUT /api/uploads/<evidenceId>/<part>) as the server saw it. */
export interface ForwardedPart {
  evidenceId: string;
  part: number;
  /** Body bytes forwarded to the server. */
  bytes: number;
  /** The whole body reached the server. */
  whole: boolean;
  /** The server's status, when its answer came (it may come after the browser's connection died). */
  status?: number;
  startedAt: number;
  /** The browser's connection died before the server's answer reached it. */
  cut: boolean;
}

const PART_PATH = /^\/api\/uploads\/([0-9a-f]{32})\/(\d+)(?:\?|$)/;

export class DropProxy {
  readonly parts: ForwardedPart[] = [];
  /** Called as part upload body bytes are forwarded to the server. */
  onForwarded?: (part: ForwardedPart) => void;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ClientRequest>();
  private readonly agent = new Agent({ keepAlive: true });
  private down = false;
  port = 0;

  constructor(private readonly target: number) {}

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.forward(req, res));
    server.on("connection", (socket: Socket) => {
      if (this.down) return void socket.destroy();
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    this.server = server;
  }

  private forward(req: IncomingMessage, res: import("node:http").ServerResponse): void {
    const match = PART_PATH.exec(req.url ?? "");
    const part: ForwardedPart | undefined =
      req.method === "PUT" && match ? { evidenceId: match[1]!, part: Number(match[2]), bytes: 0, whole: false, startedAt: Date.now(), cut: false } : undefined;
    if (part) this.parts.push(part);
    const upstream = httpRequest(
      { host: "127.0.0.1", port: this.target, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (answer) => {
        if (part) part.status = answer.statusCode;
        if (res.destroyed || res.writableEnded) return void answer.resume();
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent && !res.destroyed) res.writeHead(502).end();
    });
    req.on("data", (chunk: Buffer) => {
      if (this.down) return; // the drop came while this chunk was on its way: it does not reach the server
      if (part) {
        part.bytes += chunk.length;
        this.onForwarded?.(part);
      }
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once("drain", () => req.resume());
      }
    });
    req.on("end", () => {
      if (part) part.whole = true;
      upstream.end();
    });
    res.on("close", () => {
      if (part && part.status === undefined) part.cut = true;
      // The browser went away with the body half-sent: the server is left waiting, as over a real network.
      if (!req.complete) this.hanging.add(upstream);
    });
  }

  /** The connection drops: every browser connection dies, new ones are refused. */
  drop(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** The connection is back; bodies cut by the drop are given up on now (the server stores nothing of them). */
  restore(): void {
    for (const upstream of this.hanging) upstream.destroy();
    this.hanging.clear();
    this.down = false;
  }

  async close(): Promise<void> {
    this.drop();
    this.restore();
    this.agent.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
