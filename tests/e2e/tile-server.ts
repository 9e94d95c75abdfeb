/** A slippy-map tile server on 127.0.0.1 for the end-to-end tests (the Cameras map). */
import { createServer, type Server } from "node:http";
import { crc32, deflateSync } from "node:zlib";
import { freePort } from "./harness";

/** A 256 × 256 PNG of one colour (8-bit RGB, no interlace). */
function solidPng(rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(256, 0);
  header.writeUInt32BE(256, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(256 * 3, Buffer.from(rgb))]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: 256 }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0))]);
}

/** A tile server on 127.0.0.1: every /tiles/z/x/y.png answers a PNG, or 503 once `failing`. */
export class TileServer {
  failing = false;
  readonly served: string[] = [];
  readonly refused: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<TileServer> {
    const png = solidPng([0xcf, 0xe3, 0xc8]);
    const port = await freePort();
    let self: TileServer;
    const server = createServer((req, res) => {
      const path = req.url ?? "";
      if (self.failing || !/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(path)) {
        self.refused.push(path);
        res.writeHead(503, { "Cache-Control": "no-store" }).end();
        return;
      }
      self.served.push(path);
      // no-store: a failing server is seen as failing, not hidden by the browser's cache.
      res.writeHead(200, { "Content-Type": "image/png", "Cache-Control": "no-store" }).end(png);
    });
    self = new TileServer(server, port);
    await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
    return self;
  }

  get template(): string {
    return `http://127.0.0.1:${this.port}/tiles/{z}/{x}/{y}.png`;
  }

  close(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}
