/**
 * What the worker imports from `cloudflare:sockets`, for the Deno host (deno.json maps the module
 * here): `connect()` over Deno.connect / Deno.connectTls, with `startTls()` over Deno.startTls, the
 * same shape as Cloudflare's Socket (readable, writable, opened, closed, close, startTls).
 */
interface Address {
  hostname: string;
  port: number;
}
interface Options {
  secureTransport?: "off" | "on" | "starttls";
  allowHalfOpen?: boolean;
}

class DenoSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<{ remoteAddress?: string }>;
  readonly closed: Promise<void>;
  private conn: Promise<Deno.Conn>;
  private closeClosed!: () => void;

  constructor(conn: Promise<Deno.Conn>, private readonly address: Address) {
    this.conn = conn;
    this.opened = conn.then(() => ({}));
    this.closed = new Promise((resolve) => (this.closeClosed = resolve));
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const c = await conn;
        const buffer = new Uint8Array(16 * 1024);
        const n = await c.read(buffer).catch(() => null);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        const c = await conn;
        for (let at = 0; at < chunk.length; ) at += await c.write(chunk.subarray(at));
      },
    });
  }

  startTls(): DenoSocket {
    return new DenoSocket(this.conn.then((c) => Deno.startTls(c, { hostname: this.address.hostname })), this.address);
  }

  async close(): Promise<void> {
    try {
      (await this.conn).close();
    } catch {
      // already closed
    }
    this.closeClosed();
  }
}

export function connect(address: Address | string, options: Options = {}): DenoSocket {
  const target = typeof address === "string" ? { hostname: address.slice(0, address.lastIndexOf(":")), port: Number(address.slice(address.lastIndexOf(":") + 1)) } : address;
  const conn = options.secureTransport === "on" ? Deno.connectTls({ hostname: target.hostname, port: target.port }) : Deno.connect({ hostname: target.hostname, port: target.port, transport: "tcp" });
  return new DenoSocket(conn, target);
}
