/**
 * Custody on Deno: the same worker (worker/src/index.ts, its Hono app and its Durable Object
 * classes), given bindings backed by this machine's disk instead of Cloudflare's:
 * D1 → SQLite (`d1/<binding>.sqlite`), R2 → a folder (`r2/<binding>/`), Durable Objects →
 * in-process objects with a SQLite file each (`do/<class>/<id>.sqlite`), and the built web app
 * served from dist/ as Workers Static Assets serve it.
 */
import { join, resolve } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import * as custody from "../worker/src/index";
import { ALLOWED_METHODS, REFUSED_METHODS } from "../worker/src/app";
import { ApiError, toErrorResponse } from "../worker/src/lib/errors";
import { Assets } from "./assets";
import { readBindings, type Bindings } from "./config";
import { LocalD1Database, openSqlite } from "./d1";
import { LocalDurableObjectNamespace, type DurableObjectConstructor } from "./durable-objects";
import { localDataKey } from "./data-key";
import { ensureDir } from "./files";
import { applyMigrations } from "./migrations";
import { LocalR2Bucket } from "./r2";
import { installWorkersWebSockets, join as joinSocket, upgradeOf } from "./websockets";

export interface ServerOptions {
  /** The project folder: wrangler.toml, migrations/ and dist/ are read from it. */
  root: string;
  /** Where everything is kept (CUSTODY_STATE_DIR). */
  stateDir: string;
  /** The public origin the app is reached at, when behind a reverse proxy (CUSTODY_PUBLIC_URL): the worker builds its URLs, cookies and passkey origin from it. */
  publicUrl?: string;
  /**
   * The server is reached only through a reverse proxy that sets X-Forwarded-For, -Proto and
   * -Host (CUSTODY_TRUST_PROXY=1): the client's address and the public URL are taken from them.
   * Otherwise the client's address is the TCP peer's, and any such header a client sent is
   * ignored, so nobody can write a false address into the audit trail.
   */
  trustProxy?: boolean;
  /** The worker module to serve (its default export's `fetch` and its Durable Object classes); worker/src/index.ts unless given (tests give their own). */
  worker?: WorkerModule;
  /** The bindings; those wrangler.toml declares unless given. */
  bindings?: Bindings;
  /** Secret bindings (name → value), as `wrangler secret put` gives them on Cloudflare. */
  secrets?: Record<string, string>;
  /** Plain-text variables (name → value) over wrangler.toml's `[vars]`, as `wrangler dev --var` gives them. */
  vars?: Record<string, string>;
}

export interface WorkerModule {
  default: {
    fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
    scheduled?(controller: ScheduledController, env: Env, ctx: ExecutionContext): void | Promise<void>;
  };
  [exported: string]: unknown;
}

export interface Host {
  env: Env;
  fetch(request: Request, peer: string): Promise<Response>;
  /** Runs the worker's `scheduled` handler for `cron` at `scheduledTime` (ms), as a Cron Trigger does, and waits for all it started. */
  scheduled(cron: string, scheduledTime: number): Promise<void>;
  /** wrangler.toml's `[triggers] crons`. */
  crons: string[];
  close(): void;
  migrationsApplied: string[];
}

/** Headers the worker reads the client's address from; only the host sets them. */
const CLIENT_IP_HEADERS = ["CF-Connecting-IP", "X-Real-IP"];

/** The last entry of a comma-separated forwarding header: the one the trusted proxy itself added. */
function lastHop(value: string | null): string | null {
  const hop = value?.split(",").at(-1)?.trim();
  return hop ? hop : null;
}

/** The URL and client address the worker should see for `incoming`. */
function view(incoming: Request, peer: string, options: ServerOptions, publicOrigin: string | null): { url: URL; client: string } {
  const url = new URL(incoming.url);
  let client = peer;
  if (options.trustProxy) {
    client = lastHop(incoming.headers.get("X-Forwarded-For")) ?? peer;
    const proto = lastHop(incoming.headers.get("X-Forwarded-Proto"));
    const host = lastHop(incoming.headers.get("X-Forwarded-Host")) ?? url.host;
    const origin = `${proto === "http" || proto === "https" ? proto : url.protocol.slice(0, -1)}://${host}`;
    if (!publicOrigin && URL.canParse(origin)) return { url: new URL(url.pathname + url.search, origin), client };
  }
  return { url: publicOrigin ? new URL(url.pathname + url.search, publicOrigin) : url, client };
}

/** An answer in the worker's error shape (`{ error: { code, message } }`), for what the host refuses itself. */
export function errorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  const { status, body } = toErrorResponse(error);
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

export function createHost(options: ServerOptions): Host {
  installWorkersWebSockets();
  const root = resolve(options.root);
  const stateDir = ensureDir(resolve(options.stateDir));
  const bindings = options.bindings ?? readBindings(join(root, "wrangler.toml"));
  const workerModule = options.worker ?? (custody as unknown as WorkerModule);
  const env: Record<string, unknown> = { ...bindings.vars, ...options.vars, ...options.secrets };
  // No DATA_KEY in the environment: the one in the data folder (made on the first start).
  if (!env.DATA_KEY) env.DATA_KEY = localDataKey(stateDir).key;
  // The public URL the worker builds its OpenID redirect URI from: CUSTODY_PUBLIC_URL when set, else wrangler.toml's PUBLIC_URL.
  if (options.publicUrl) env.PUBLIC_URL = new URL(options.publicUrl).origin;
  const databases: DatabaseSync[] = [];
  const migrationsApplied: string[] = [];

  ensureDir(join(stateDir, "d1"));
  bindings.d1.forEach(({ binding }, n) => {
    const sqlite = openSqlite(join(stateDir, "d1", `${binding}.sqlite`));
    databases.push(sqlite);
    // The first database gets the migrations, as wrangler.toml's migrations_dir applies to it.
    if (n === 0) migrationsApplied.push(...applyMigrations(sqlite, join(root, "migrations")));
    env[binding] = new LocalD1Database(sqlite);
  });
  for (const { binding } of bindings.r2) {
    const bucket = new LocalR2Bucket(join(stateDir, "r2", binding));
    databases.push(bucket.db);
    env[binding] = bucket;
  }
  const namespaces: LocalDurableObjectNamespace[] = [];
  for (const { name, className } of bindings.durableObjects) {
    const Class = workerModule[className];
    if (typeof Class !== "function") throw new Error(`wrangler.toml binds ${name} to ${className}, which the worker does not export`);
    const namespace = new LocalDurableObjectNamespace(className, Class as DurableObjectConstructor, join(stateDir, "do"), () => env);
    namespaces.push(namespace);
    env[name] = namespace;
  }
  // The host sets CF-Connecting-IP on every request itself (below: the TCP peer's address, or the
  // trusted proxy's X-Forwarded-For), as Cloudflare's edge does, so the worker may believe it.
  env.TRUST_CF_CONNECTING_IP = "true";
  const assets = new Assets(join(root, "dist"));
  env.ASSETS = { fetch: async (input: RequestInfo, init?: RequestInit) => (await assets.serve(new Request(input, init))) ?? new Response("Not found", { status: 404 }) };
  for (const namespace of namespaces) namespace.resumeAlarms();

  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : null;

  return {
    env: env as unknown as Env,
    migrationsApplied,
    crons: bindings.crons,
    async scheduled(cron: string, scheduledTime: number): Promise<void> {
      const handler = workerModule.default.scheduled;
      if (!handler) return;
      const pending: Promise<unknown>[] = [];
      const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise), passThroughOnException: () => undefined, props: {} };
      const controller = { cron, scheduledTime, type: "scheduled", noRetry: () => undefined };
      await handler.call(workerModule.default, controller as unknown as ScheduledController, env as unknown as Env, ctx as unknown as ExecutionContext);
      await Promise.all(pending);
    },
    async fetch(incoming: Request, peer: string): Promise<Response> {
      // The worker refuses these too, but fetch's Request cannot carry them (TRACE, TRACK and
      // CONNECT are forbidden methods): refused here, in the worker's error shape, on every path.
      if (REFUSED_METHODS.has(incoming.method.toUpperCase())) {
        return errorResponse(new ApiError(405, "method_not_allowed", `${incoming.method} is not allowed.`), { Allow: ALLOWED_METHODS });
      }
      const { url, client } = view(incoming, peer, options, publicOrigin);
      const headers = new Headers(incoming.headers);
      for (const name of CLIENT_IP_HEADERS) headers.delete(name);
      headers.set("CF-Connecting-IP", client);
      const request = new Request(url, {
        method: incoming.method,
        headers,
        body: incoming.body,
        redirect: "manual",
        // @ts-expect-error: Deno and workerd need it to stream a request body through.
        duplex: "half",
      });
      if (!url.pathname.startsWith("/api/") && !url.pathname.startsWith("/.well-known/custody/")) {
        const asset = await assets.serve(request);
        if (asset) return asset;
      }
      const ctx = {
        // The process outlives the request, so work handed to waitUntil simply runs on.
        waitUntil: (promise: Promise<unknown>) => void promise.catch((err: unknown) => console.error("waitUntil failed:", err)),
        passThroughOnException: () => undefined,
        props: {},
      };
      const response = await workerModule.default.fetch(request, env as unknown as Env, ctx as unknown as ExecutionContext);
      const pairEnd = upgradeOf(response);
      if (!pairEnd) return response;
      // The worker accepted a WebSocket: upgrade the real connection and join it to the pair.
      const { socket, response: upgraded } = Deno.upgradeWebSocket(incoming);
      joinSocket(socket, pairEnd);
      return upgraded;
    },
    close() {
      for (const namespace of namespaces) namespace.close();
      for (const db of databases) db.close();
    },
  };
}
