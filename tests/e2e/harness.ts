/**
 * End-to-end harness: runs the real server exactly as `npm start` does (in its own state
 * folder and port), and Debian's Chromium through playwright-core. The server's log is kept
 * and printed when a test fails. With CUSTODY_E2E_RUNTIME=deno the server is the Deno one,
 * as `npm run start:deno` runs it (the e2e-deno project sets it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { onTestFailed } from "vitest";

const root = resolve(import.meta.dirname, "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Which server the tests run against: "workers" (`npm start`, wrangler dev) or "deno" (`npm run start:deno`). */
export const RUNTIME = process.env.CUSTODY_E2E_RUNTIME === "deno" ? "deno" : "workers";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? done(address.port) : fail(new Error("no port"))));
    });
  });
}

/** Signals the process group `pid` leads; a group already gone (stopped twice, or exited meanwhile) is not an error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

export class CustodyServer {
  readonly log: string[] = [];
  private child: ChildProcess | null = null;
  exitCode: number | null = null;

  private constructor(
    readonly port: number,
    readonly stateDir: string,
  ) {}

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  /** Starts `npm start` (or `npm run start:deno`) on a free port with a fresh state folder (or the one given). */
  static async start(options: { stateDir?: string; build?: boolean } = {}): Promise<CustodyServer> {
    const server = new CustodyServer(await freePort(), options.stateDir ?? mkdtempSync(join(tmpdir(), "custody-e2e-")));
    await server.boot(options.build ?? false);
    return server;
  }

  private async boot(build: boolean): Promise<void> {
    const script = RUNTIME === "deno" ? ["run", "start:deno"] : ["start"];
    const args = [...script, "--silent", ...(build ? [] : ["--", "--no-build"])];
    const child = spawn("npm", args, {
      cwd: root,
      env: { ...process.env, PORT: String(this.port), CUSTODY_STATE_DIR: this.stateDir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.exitCode = null;
    const collect = (chunk: Buffer) => this.log.push(chunk.toString());
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.on("exit", (code) => (this.exitCode = code));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`server exited with ${this.exitCode}:\n${this.log.join("")}`);
      try {
        const response = await fetch(`${this.url}/api/health`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`server did not answer /api/health within 120 s:\n${this.log.join("")}`);
  }

  /** Stops the server as Ctrl-C would; resolves with its exit code. */
  async stop(signal: NodeJS.Signals = "SIGINT"): Promise<number | null> {
    const child = this.child;
    if (!child?.pid || this.exitCode !== null) return this.exitCode;
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const pid = child.pid;
    killGroup(pid, signal);
    const timeout = setTimeout(() => killGroup(pid, "SIGKILL"), 15_000);
    const code = await exited;
    clearTimeout(timeout);
    return code;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.boot(false);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Prints the server log when the current test fails. Call inside each test. */
  attachLogOnFailure(): void {
    onTestFailed(() => {
      console.error(`--- server log (${this.url}) ---\n${this.log.join("").slice(-20_000)}\n--- end of server log ---`);
    });
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A phone-sized browser context (360 × 740, touch), the app's primary target. */
export function phoneContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  return browser.newContext({ baseURL, viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
}

/**
 * A phone-sized browser on an on-disk profile (`dir`), as an installed app has: unlike
 * `phoneContext`'s off-the-record context, Chromium considers the app installable here, and the
 * service worker, IndexedDB and OPFS live on disk across pages.
 */
export function phoneProfile(dir: string, baseURL: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    baseURL,
    viewport: { width: 360, height: 740 },
    hasTouch: true,
    isMobile: true,
    deviceScaleFactor: 2,
  });
}
