/**
 * The Deno server (deno/main.ts) as a child process of the tests, on a data folder of their
 * choosing and a free port, started the way `npm run start:deno` starts it (same permissions).
 * It can be stopped, killed (SIGKILL, for the durability tests) and started again on the same data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { denoArgs, denoEnv, denoExecutable } from "../../scripts/start-deno";

const root = resolve(import.meta.dirname, "../..");

export class DenoServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Everything the server wrote to stdout and stderr, interleaved, since it was first started. */
  output = "";
  /** What it wrote to stderr (errors) since it was first started. */
  errors = "";
  /** http://127.0.0.1:port of the running server. */
  url = "";

  constructor(
    readonly stateDir: string,
    /** Environment variables for the server (settings, secrets); may change between restarts. */
    public env: Record<string, string> = {},
    /** The entry to run: the server (deno/main.ts) unless given. */
    private readonly entry?: string,
  ) {}

  /** Starts the server and resolves once it listens. */
  async start(): Promise<void> {
    if (this.child) throw new Error("the Deno server is already running");
    const child = spawn(denoExecutable(), denoArgs(this.stateDir, this.entry), {
      cwd: root,
      env: denoEnv({ NO_COLOR: "1", PORT: "0", HOST: "127.0.0.1", CUSTODY_STATE_DIR: this.stateDir, ...this.env }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.exited = new Promise((done) => child.once("exit", () => done()));
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      this.output += text;
      this.errors += text;
    });
    const listening = new Promise<string>((done, fail) => {
      let seen = "";
      child.stdout!.setEncoding("utf8").on("data", (text: string) => {
        this.output += text;
        seen += text;
        const match = /Custody on Deno: (http:\/\/[\d.]+:\d+)/.exec(seen);
        if (match) done(match[1]!);
      });
      child.once("exit", (code, signal) => fail(new Error(`the Deno server exited (${signal ?? code}) before listening:\n${this.output}`)));
    });
    this.url = await listening;
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
  }

  /** Stops the server as Ctrl-C would. */
  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill("SIGTERM");
    await this.exited;
    this.child = null;
  }

  /** Kills the server at once (SIGKILL): no shutdown code runs, as in a crash or power cut. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill("SIGKILL");
    await this.exited;
    this.child = null;
  }

  get running(): boolean {
    return this.child !== null;
  }
}
