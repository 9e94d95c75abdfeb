/**
 * `npm run agent -- --config site.json [--once]`: the on-site connector (docs/agent.md).
 * `npm run agent -- --config site.json send --camera ID (--from T --to T | --snapshot --at T) (--link URL | --request ID)`:
 * sends a clip or a still on the site's own initiative through a submission link, or holds a
 * request's clip for the owner's decision (agent/send.ts).
 *
 *   Node 22+:  node agent/main.ts --config site.json
 *   Deno:      deno run --sloppy-imports --allow-read --allow-write --allow-net --allow-run --allow-env agent/main.ts --config site.json
 *
 * Runs until stopped (Ctrl-C, SIGTERM); with --once, does the work there is now and exits.
 * Exit status: 0 stopped or done; 1 it failed (the reason on stderr); 2 usage.
 */
const usage = "usage: npm run agent -- --config <site.json> [--once]\n       npm run agent -- --config <site.json> send --camera <archiveId> (--from <time> --to <time> | --snapshot --at <time>) (--link <submission link> | --request <request id>)";

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
    const { send, sendToRequest, parseSendArgs, UsageError, SEND_USAGE } = await import("./send.ts");
    let options;
    try {
      options = parseSendArgs(args.slice(args.indexOf("send") + 1));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      proc.stderr.write(`${err.message}\n${SEND_USAGE}\n`);
      return 2;
    }
    if (options.request) {
      const held = await sendToRequest(config, { ...options, request: options.request }, log);
      proc.stdout.write(`${JSON.stringify({ held })}\n`);
    } else {
      const receipt = await send(config, { ...options, link: options.link! }, log);
      proc.stdout.write(`${JSON.stringify({ sent: receipt })}\n`);
    }
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
