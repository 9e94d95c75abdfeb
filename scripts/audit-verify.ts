/**
 * `npm run audit:verify -- [--checkpoint kept.jws] [--tsa-ca tsa-ca.pem] <export.jsonl>`: check an audit export offline
 * with the same code the server signs with (shared/audit/export.ts), following docs/audit.md §6:
 * the signed statement, every event's hash and inclusion proof, the chain of a full export, every
 * checkpoint and its consistency proof, and, given a checkpoint kept elsewhere (a checkpoint JWS,
 * or a copy of /.well-known/custody/audit.json), that this export extends it; each checkpoint's
 * RFC 3161 timestamp, when it has one (chained to `--tsa-ca` when given).
 *
 * Exit status: 0 the export verifies; 1 it does not (the first bad line and event are named);
 * 2 usage error or a file cannot be read.
 */
import { createReadStream, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import "./shared-loader.ts";

const usage = "usage: npm run audit:verify -- [--checkpoint <kept checkpoint .jws or audit.json>] [--tsa-ca <TSA CA certificate .pem>] <export.jsonl>";

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function readable(arg: string): string {
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), arg);
  try {
    if (!statSync(file).isFile()) fail(`audit:verify: ${arg} is not a file`, 2);
  } catch (error) {
    fail(`audit:verify: cannot read ${arg}: ${(error as Error).message}`, 2);
  }
  return file;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  let keptArg: string | undefined;
  const at = args.indexOf("--checkpoint");
  if (at >= 0) {
    keptArg = args[at + 1];
    if (!keptArg) fail(usage, 2);
    args.splice(at, 2);
  }
  let caArg: string | undefined;
  const ca = args.indexOf("--tsa-ca");
  if (ca >= 0) {
    caArg = args[ca + 1];
    if (!caArg) fail(usage, 2);
    args.splice(ca, 2);
  }
  if (args.length !== 1 || args[0]!.startsWith("-")) fail(usage, 2);
  const file = readable(args[0]!);
  const { verifyExport, parseKeptCheckpoint } = await import("../shared/audit/export.ts");
  let kept;
  if (keptArg) {
    const parsed = parseKeptCheckpoint(readFileSync(readable(keptArg), "utf8"));
    if (typeof parsed === "string") fail(`audit:verify: ${keptArg}: ${parsed}`, 2);
    kept = parsed;
  }
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  const tsaCaPem = caArg ? readFileSync(readable(caArg), "utf8") : undefined;
  const report = await verifyExport(lines, { kept, ...(tsaCaPem ? { tsaCaPem } : {}) });
  if (!report.ok) {
    const error = report.error!;
    const where = error.line === 0 ? keptArg! : `line ${error.line}${error.seq !== undefined ? ` (event ${error.seq})` : ""}`;
    process.stdout.write(`✗ ${args[0]}: ${where}: ${error.message}\n`);
    process.exit(1);
  }
  const range = report.firstSeq === null ? "no events" : `events ${report.firstSeq} to ${report.lastSeq}`;
  const filter = Object.entries(report.filter).map(([k, v]) => `${k}=${v}`).join(", ");
  process.stdout.write(
    `✓ ${args[0]}: ${report.events} events (${range}), ${report.checkpoints} signed checkpoint(s) verified, tree size ${report.treeSize}, root ${report.rootHash}.\n` +
      (report.kind === "full"
        ? "  Full export: every event from 1 to the tree size, each linked to the one before, making the signed root; it ends with the checkpoint of its last event.\n"
        : `  Filtered export (${filter}): exactly the events the signed statement counts, each matching its filter and proven in the signed tree. Events it does not hold are not shown, by design.\n`) +
      `  Signed by audit key(s) ${report.signers.join(", ")}${report.kept ? "." : ": compare with the organisation's published key (/.well-known/custody/audit.json), or pass a kept copy with --checkpoint."}\n` +
      (report.kept ? `  Extends the kept checkpoint of tree size ${report.kept.treeSize} (signed ${report.kept.at}): nothing before it was removed or rewritten.\n` : "") +
      report.timestamps
        .map((t) => `  Checkpoint of tree size ${t.treeSize} timestamped by ${t.tsaName} at ${t.genTime} (RFC 3161${t.chainVerified ? ", chained to the given TSA CA" : "; pass --tsa-ca to check the authority's certificate"}).\n`)
        .join("") +
      (report.timestamps.length === 0 ? "  No checkpoint in this export carries a timestamp.\n" : ""),
  );
}

main().catch((error: unknown) => fail(`audit:verify: ${(error as Error).message}`, 2));
