/**
 * The few `Deno` APIs the host uses, typed here so `tsc -b` checks deno/ with the worker's
 * binding types (the full Deno declarations clash with the Workers runtime's).
 */
declare namespace Deno {
  interface NetAddr {
    transport: "tcp" | "udp";
    hostname: string;
    port: number;
  }
  interface ServeHandlerInfo {
    remoteAddr: NetAddr;
  }
  interface HttpServer {
    readonly addr: NetAddr;
    shutdown(): Promise<void>;
    readonly finished: Promise<void>;
  }
  function serve(
    options: { port?: number; hostname?: string; onListen?: (addr: NetAddr) => void; onError?: (error: unknown) => Response | Promise<Response> },
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): HttpServer;
  const env: { get(name: string): string | undefined };
  function exit(code?: number): never;
  function addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  function unrefTimer(id: number): void;
  /** The server side of an upgraded connection (the browser's WebSocket API). */
  interface ServerWebSocket {
    readonly readyState: number;
    binaryType: "arraybuffer" | "blob";
    send(data: string | ArrayBuffer): void;
    close(code?: number, reason?: string): void;
    onopen: (() => void) | null;
    onmessage: ((event: { data: string | ArrayBuffer }) => void) | null;
    onclose: ((event: { code: number; reason: string }) => void) | null;
    onerror: (() => void) | null;
  }
  function upgradeWebSocket(request: Request): { socket: ServerWebSocket; response: Response };
  /** A TCP (or TLS) connection (deno/cloudflare-sockets.ts). */
  interface Conn {
    read(buffer: Uint8Array): Promise<number | null>;
    write(bytes: Uint8Array): Promise<number>;
    close(): void;
  }
  function connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<Conn>;
  function connectTls(options: { hostname: string; port: number }): Promise<Conn>;
  function startTls(conn: Conn, options: { hostname: string }): Promise<Conn>;
}
