/**
 * `npm run audit:verify -- <export.jsonl>`: check an audit export offline with the same code
 * the server chains with (shared/audit/chain.ts): every event's hash, the links between
 * events and the absence of gaps (for a full export), and every signed checkpoint.
 *
 * Exit status: 0 the export verifies; 1 it does not (the first bad line and event are named);
 * 2 usage error or the file cannot be read.
 */
import { createReadStream, statSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import "./shared-loader.ts";

const usage = "usage: npm run audit:verify -- <export.jsonl>";

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  if (args.length !== 1 || args[0]!.startsWith("-")) fail(usage, 2);
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), args[0]!);
  try {
    if (!statSync(file).isFile()) fail(`audit:verify: ${args[0]} is not a file`, 2);
  } catch (error) {
    fail(`audit:verify: cannot read ${args[0]}: ${(error as Error).message}`, 2);
  }
  const { verifyExport } = await import("../shared/audit/chain.ts");
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  const report = await verifyExport(lines);
  const range = report.firstSeq === null ? "no events" : `events ${report.firstSeq} to ${report.lastSeq}`;
  if (!report.ok) {
    const where = `line ${report.error!.line}${report.error!.seq !== undefined ? ` (event ${report.error!.seq})` : ""}`;
    process.stdout.write(`✗ ${args[0]}: ${where}: ${report.error!.message}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `✓ ${args[0]}: ${report.events} events (${range}), ${report.checkpoints} signed checkpoint(s) verified.\n` +
      (report.contiguous
        ? "  Full export: every event links to the one before it, with no gaps, up to the last signed checkpoint.\n"
        : "  Filtered export: each event's own hash and the checkpoints verified; completeness cannot be proven for a filtered export.\n"),
  );
}

main().catch((error: unknown) => fail(`audit:verify: ${(error as Error).message}`, 2));
