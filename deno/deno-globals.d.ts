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
    options: { port?: number; hostname?: string; onListen?: (addr: NetAddr) => void },
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): HttpServer;
  const env: { get(name: string): string | undefined };
  function exit(code?: number): never;
  function addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  function unrefTimer(id: number): void;
}
