/**
 * The built web app (dist/), served as Workers Static Assets serve it with this project's
 * wrangler.toml: a file when one matches the path (`/x` also finds `/x.html` and
 * `/x/index.html`), with a strong ETag and revalidation; and, for a page navigation to any
 * other path, `index.html` (not_found_handling = "single-page-application"). Anything else
 * falls through to the worker, which answers 404.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, extname, join, normalize, sep } from "node:path";
import { APP_HEADERS } from "../worker/src/lib/security-headers";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

interface Asset {
  bytes: Uint8Array;
  etag: string;
  type: string;
}

export class Assets {
  private readonly cache = new Map<string, { mtimeMs: number; asset: Asset }>();

  constructor(private readonly root: string) {}

  private async load(relative: string): Promise<Asset | null> {
    const path = normalize(join(this.root, relative));
    if (path !== this.root && !path.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep)) return null;
    let info;
    try {
      info = await stat(path);
    } catch {
      return null;
    }
    // Rules for the host, never served (as on Cloudflare); their headers are APP_HEADERS below.
    if (!info.isFile() || basename(path) === "_headers" || basename(path) === "_redirects") return null;
    const cached = this.cache.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs) return cached.asset;
    const bytes = new Uint8Array(await readFile(path));
    const asset = { bytes, etag: `"${createHash("sha256").update(bytes).digest("hex").slice(0, 32)}"`, type: TYPES[extname(path)] ?? "application/octet-stream" };
    this.cache.set(path, { mtimeMs: info.mtimeMs, asset });
    return asset;
  }

  /** The file for `pathname`, trying what Workers' html_handling tries. */
  private async find(pathname: string): Promise<Asset | null> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (decoded.includes("\0")) return null;
    const candidates = decoded.endsWith("/") ? [`${decoded}index.html`] : [decoded, `${decoded}.html`, `${decoded}/index.html`];
    for (const candidate of candidates) {
      const asset = await this.load(candidate);
      if (asset) return asset;
    }
    return null;
  }

  /** The response for `request`, or null when no asset answers it (the worker does). */
  async serve(request: Request): Promise<Response | null> {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const url = new URL(request.url);
    let asset = await this.find(url.pathname);
    if (!asset) {
      const navigation = request.headers.get("Sec-Fetch-Mode") === "navigate" || (request.headers.get("Accept") ?? "").includes("text/html");
      if (!navigation) return null;
      asset = await this.load("index.html");
      if (!asset) return null;
    }
    // The security headers Cloudflare adds from dist/_headers (worker/src/lib/security-headers.ts).
    const headers = new Headers({ "Content-Type": asset.type, ETag: asset.etag, "Cache-Control": "public, max-age=0, must-revalidate", ...APP_HEADERS });
    const matches = (request.headers.get("If-None-Match") ?? "").split(",").some((tag) => tag.trim() === asset.etag);
    if (matches) return new Response(null, { status: 304, headers });
    headers.set("Content-Length", String(asset.bytes.byteLength));
    return new Response(request.method === "HEAD" ? null : (asset.bytes as Uint8Array<ArrayBuffer>), { status: 200, headers });
  }
}
