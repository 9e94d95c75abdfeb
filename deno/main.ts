/**
 * `npm run start:deno` runs this (see scripts/start-deno.ts): Custody served by Deno on this
 * machine, with everything kept in one data folder. Settings come from the environment:
 * PORT (8787), HOST (127.0.0.1), CUSTODY_STATE_DIR (.deno-state), and behind a reverse proxy CUSTODY_PUBLIC_URL
 * and CUSTODY_TRUST_PROXY; the worker's secrets, such as OIDC_CLIENT_SECRET (see docs/deploy.md).
 */
import { resolve } from "node:path";
import { SECRET_NAMES, SETTING_NAMES } from "./config";
import { scheduleCrons } from "./scheduler";
import { createHost, errorResponse } from "./server";

const root = resolve(import.meta.dirname!, "..");
const env = (name: string) => Deno.env.get(name) || undefined;
const port = Number(env("PORT") ?? 8787);
const hostname = env("HOST") ?? "127.0.0.1";
const stateDir = resolve(root, env("CUSTODY_STATE_DIR") ?? ".deno-state");
const quiet = env("CUSTODY_LOG") === "quiet";

// As in the Workers runtime, an error nobody awaited is logged and the server goes on.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error("Unhandled rejection:", event.reason);
});

export const host = createHost({ root, stateDir, publicUrl: env("CUSTODY_PUBLIC_URL"), trustProxy: env("CUSTODY_TRUST_PROXY") === "1" || env("CUSTODY_TRUST_PROXY") === "true",
  secrets: Object.fromEntries(SECRET_NAMES.flatMap((name) => (env(name) ? [[name, env(name)!]] : []))),
  vars: {
    ...Object.fromEntries(SETTING_NAMES.flatMap((name) => (env(name) ? [[name, env(name)!]] : []))),
    // Without CUSTODY_PUBLIC_URL, this machine's own address on the chosen port (wrangler.toml's default is port 8787).
    ...(port !== 0 ? { PUBLIC_URL: `http://localhost:${port}` } : {}),
  }, });
if (host.migrationsApplied.length > 0) console.log(`Applied migrations: ${host.migrationsApplied.join(", ")}`);

// What escapes the host (a request it cannot even hand on) is a 500 in the error shape, logged here, never Deno's plain text.
const onError = (error: unknown) => {
  console.error("Request failed:", error);
  return errorResponse(error);
};
const server = Deno.serve({ port, hostname, onListen: () => undefined, onError }, async (request, info) => {
  const started = performance.now();
  const response = await host.fetch(request, info.remoteAddr.hostname);
  const path = new URL(request.url).pathname; // never the query: a part-upload URL's signature stays out of the log
  if (!quiet && path.startsWith("/api/")) console.log(`${request.method} ${path} ${response.status} (${Math.round(performance.now() - started)} ms)`);
  return response;
});
console.log(`Custody on Deno: http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${server.addr.port} (data in ${stateDir})`);

// The Cron Triggers of wrangler.toml (the daily retention job), run by this process.
const stopCrons = scheduleCrons(host.crons, (cron, scheduledTime) => host.scheduled(cron, scheduledTime));

const stop = async () => {
  stopCrons();
  await server.shutdown();
  host.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
