/**
 * `npm run start:deno`: build the PWA and serve the app and the API with Deno (the `deno`
 * package in devDependencies, no global install) on http://localhost:8787 (PORT overrides),
 * everything kept in one data folder (CUSTODY_STATE_DIR, default .deno-state): SQLite for
 * what D1 holds, a folder for what R2 holds, one SQLite file per Durable Object. The database
 * migrations are applied at start. Ctrl-C stops it; the data stays. See docs/deploy.md.
 *
 * Deno runs with only the permissions it needs: network, the environment, reading the project,
 * and writing the data folder alone.
 *
 * Flags: --no-build (serve the existing dist/).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const stateDir = resolve(root, process.env.CUSTODY_STATE_DIR ?? ".deno-state");
const bin = (name: string) => resolve(root, "node_modules/.bin", name);

/**
 * The Deno executable itself (from the `deno` package's platform package), not the Node
 * wrapper `node_modules/.bin/deno` may be: a signal sent to the server must reach Deno.
 */
export function denoExecutable(): string {
  const install = createRequire(import.meta.url)("deno/install_api.cjs") as { runInstall(): string };
  return install.runInstall();
}

/** The arguments that run the Deno server (deno/main.ts, or another entry) with the data folder `stateDir`. */
export function denoArgs(stateDir: string, entry = resolve(root, "deno/main.ts")): string[] {
  return [
    "run",
    "--config", resolve(root, "deno/deno.json"),
    "--allow-net",
    "--allow-env",
    "--allow-sys",
    `--allow-read=${root},${stateDir}`,
    `--allow-write=${stateDir}`,
    entry,
  ];
}

/** Deno's environment: no update check (there may be no network) and never a permission prompt. */
export function denoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", ...extra };
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit" });
    child.on("error", fail);
    child.on("exit", (code, signal) => (code === 0 ? done() : fail(new Error(`${command} ${args.join(" ")} exited with ${signal ?? code}`))));
  });
}

async function main(): Promise<void> {
  if (!process.argv.includes("--no-build") || !existsSync(resolve(root, "dist/index.html"))) {
    console.log("Building the web app…");
    await run(bin("vite"), ["build", "--logLevel", "warn"]);
  }
  mkdirSync(stateDir, { recursive: true });
  const server = spawn(denoExecutable(), denoArgs(stateDir), { cwd: root, env: denoEnv({ CUSTODY_STATE_DIR: stateDir }), stdio: "inherit" });
  const stop = (signal: NodeJS.Signals) => {
    if (server.exitCode === null) server.kill(signal);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  server.on("exit", (code, signal) => process.exit(signal === "SIGINT" || signal === "SIGTERM" ? 0 : (code ?? 0)));
}

if (import.meta.filename === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
