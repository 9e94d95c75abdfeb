/**
 * `npm run agent -- --config site.json [--once]`: the on-site connector (docs/agent.md).
 * `npm run agent -- --config site.json send --camera ID (--from T --to T | --snapshot --at T) --link URL`:
 * sends a clip or a still on the site's own initiative through a submission link (agent/send.ts).
 *
 *   Node 22+:  node agent/main.ts --config site.json
 *   Deno:      deno run --sloppy-imports --allow-read --allow-write --allow-net --allow-run --allow-env agent/main.ts --config site.json
 *
 * Runs until stopped (Ctrl-C, SIGTERM); with --once, does the work there is now and exits.
 * Exit status: 0 stopped or done; 1 it failed (the reason on stderr); 2 usage.
 */
const usage = "usage: npm run agent -- --config <site.json> [--once]\n       npm run agent -- --config <site.json> send --camera <archiveId> (--from <time> --to <time> | --snapshot --at <time>) --link <submission link>";

// Node loads the project's TypeScript through the same hooks as the other scripts (extensionless
// imports in shared/); Deno runs TypeScript itself (with --sloppy-imports for those imports).
if (!("Deno" in globalThis)) await import("../scripts/shared-loader.ts");
const { proc, onStop, resolve } = await import("./platform.ts");
const { loadConfig } = await import("./config.ts");
const { Agent } = await import("./agent.ts");

const log = (line: string) => proc.stdout.write(`${new Date().toISOString()} ${line}\n`);

async function main(): Promise<number> {
  const args = proc.argv.slice(2).filter((a: string) => a !== "--");
  const at = args.indexOf("--config");
  const path = at >= 0 ? args[at + 1] : undefined;
  if (args.includes("-h") || args.includes("--help")) {
    proc.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!path) {
    proc.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = await loadConfig(resolve(proc.env.INIT_CWD ?? proc.cwd(), path));
  if (args.includes("send")) {
    const { send, parseSendArgs, UsageError } = await import("./send.ts");
    let options;
    try {
      options = parseSendArgs(args.slice(args.indexOf("send") + 1));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      proc.stderr.write(`${err.message}\n${usage}\n`);
      return 2;
    }
    const receipt = await send(config, options, log);
    proc.stdout.write(`${JSON.stringify({ sent: receipt })}\n`);
    return 0;
  }
  const agent = new Agent(config, log);
  if (args.includes("--once")) {
    await agent.runOnce();
    log("done");
    return 0;
  }
  await agent.run();
  await new Promise<void>((stopped) =>
    onStop(() => {
      log("stopping…");
      void agent.stop().then(() => stopped());
    }),
  );
  return 0;
}

main().then(
  (code) => proc.exit(code),
  (err: unknown) => {
    proc.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    proc.exit(1);
  },
);

export {};
