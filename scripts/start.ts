/**
 * `npm start`: build the PWA, apply the D1 migrations to the local database, and serve the
 * app and the API with `wrangler dev` on http://localhost:8787 (PORT overrides), with D1, R2
 * and Durable Objects persisted on disk (CUSTODY_STATE_DIR, default .wrangler/state).
 * No Cloudflare account and no network needed. Ctrl-C stops it; the data stays.
 *
 * A new state folder starts from a copy of an empty database with every migration applied, made
 * once per set of migrations (and wrangler version) under node_modules/.cache/custody-d1:
 * applying the migrations one by one takes wrangler about 17 s, copying the result well under one.
 *
 * Flags: --no-build (serve the existing dist/).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { resolve } from "node:path";

import { localDataKey } from "../deno/data-key.ts";

const root = resolve(import.meta.dirname, "..");
const port = process.env.PORT ?? "8787";
const stateDir = resolve(root, process.env.CUSTODY_STATE_DIR ?? ".wrangler/state");
const bin = (name: string) => resolve(root, "node_modules/.bin", name);
// No network: no metrics, and no fetch of the `Request.cf` placeholder from workers.cloudflare.com (miniflare uses its built-in one).
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: process.env.CI ?? "1" };

function run(command: string, args: string[], options: { quiet?: boolean } = {}): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: root, env, stdio: options.quiet ? ["ignore", "pipe", "inherit"] : "inherit" });
    // Quiet: the output is read (a pipe nobody reads fills, and the child then blocks writing to
    // it: wrangler's migration log is over 150 kB) and shown only if the command fails.
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    });
    child.on("error", fail);
    child.on("exit", (code, signal) => {
      if (code === 0) return done();
      if (output) process.stderr.write(output);
      fail(new Error(`${command} ${args.join(" ")} exited with ${signal ?? code}`));
    });
  });
}

async function main(): Promise<void> {
  if (!process.argv.includes("--no-build") || !existsSync(resolve(root, "dist/index.html"))) {
    console.log("Building the web app…");
    await run(bin("vite"), ["build", "--logLevel", "warn"]);
  }
  console.log(`Applying database migrations (${stateDir})…`);
  await migrate(stateDir);

  // The data key (the DATA_KEY secret on Cloudflare): made once in the state folder; a DATA_KEY in
  // .dev.vars (read after it) wins. wrangler reads .dev.vars itself only when no --env-file is given.
  mkdirSync(stateDir, { recursive: true });
  const envFiles = [localDataKey(stateDir).path, ...(existsSync(resolve(root, ".dev.vars")) ? [resolve(root, ".dev.vars")] : [])];

  console.log(`Starting Custody on http://localhost:${port}`);
  const server = spawn(
    bin("wrangler"),
    [
      "dev", "--port", port, "--persist-to", stateDir, ...envFiles.flatMap((file) => ["--env-file", file]),
      "--show-interactive-dev-session=false", "--log-level", process.env.WRANGLER_LOG ?? "info",
      // This local server's own address, and the development setting that lets it use an identity provider on this machine.
      "--var", `PUBLIC_URL:http://localhost:${port}`, "--var", "OIDC_ALLOW_LOOPBACK:1",
    ],
    { cwd: root, env, stdio: "inherit" },
  );
  const stop = (signal: NodeJS.Signals) => {
    if (server.exitCode === null) server.kill(signal);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  server.on("exit", (code, signal) => {
    process.exit(signal === "SIGINT" || signal === "SIGTERM" ? 0 : (code ?? 0));
  });
}

/** The local D1 database of a state folder: the only part of it the migrations touch. */
const d1Of = (dir: string) => resolve(dir, "v3", "d1");

/**
 * Brings the state folder's database up to date. A folder without a database gets a copy of the
 * migrated empty database (made on first use); one with a database has wrangler apply whatever
 * migrations it has not yet had.
 */
async function migrate(dir: string): Promise<void> {
  const apply = (to: string) => run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", to], { quiet: true });
  if (existsSync(d1Of(dir))) return apply(dir);
  const template = resolve(root, "node_modules/.cache/custody-d1", migrationsFingerprint());
  if (!existsSync(d1Of(template))) {
    // Made aside and renamed into place, so a start running alongside never copies half of one.
    mkdirSync(resolve(template, ".."), { recursive: true });
    const making = mkdtempSync(`${template}.making-`);
    try {
      await apply(making);
      try {
        renameSync(making, template);
      } catch (error) {
        if (!existsSync(d1Of(template))) throw error; // another start finished first: use theirs
      }
    } finally {
      rmSync(making, { recursive: true, force: true });
    }
  }
  cpSync(d1Of(template), d1Of(dir), { recursive: true });
}

/** Names the migrated empty database: the migration files' names and contents, and the wrangler that applied them. */
function migrationsFingerprint(): string {
  const hash = createHash("sha256");
  hash.update(readFileSync(resolve(root, "node_modules/wrangler/package.json")));
  const folder = resolve(root, "migrations");
  for (const name of readdirSync(folder).filter((file) => file.endsWith(".sql")).sort()) {
    hash.update(`\0${name}\0`).update(readFileSync(resolve(folder, name)));
  }
  return hash.digest("hex").slice(0, 32);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
