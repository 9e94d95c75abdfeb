/**
 * `npm run verify -- <package.zip>`: check a court export package or a case package offline (no
 * network, no account) with the same code the app uses (shared/crypto/verify-package.ts,
 * shared/disclosure/verify-case-package.ts). Prints every check with ✓ or ✗ and a summary of
 * the evidence; for a case package, the whole first, then every item.
 *
 * Exit status: 0 every check passed; 1 a check failed (named in the output); 2 usage error
 * or the file cannot be read.
 */
import { createHash } from "node:crypto";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { resolve } from "node:path";

import "./shared-loader.ts";

const usage = "usage: npm run verify -- [--checkpoint <kept audit.json or checkpoint .jws>] <package.zip | case-package.zip>\n       npm run verify -- <receipt.jws>   (a disclosure receipt; receipt.jws.tsr beside it is its timestamp)\n       node scripts/verify.ts <package.zip>";

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  if (args.length === 1 && (args[0] === "-h" || args[0] === "--help")) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  let keptArg: string | undefined;
  const at = args.indexOf("--checkpoint");
  if (at >= 0) {
    keptArg = args[at + 1];
    if (!keptArg) fail(usage, 2);
    args.splice(at, 2);
  }
  if (args.length !== 1 || args[0]!.startsWith("-")) fail(usage, 2);
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), args[0]!);
  try {
    if (!statSync(file).isFile()) fail(`verify: ${args[0]} is not a file`, 2);
    accessSync(file, constants.R_OK);
  } catch (error) {
    fail(`verify: cannot read ${args[0]}: ${(error as Error).message}`, 2);
  }

  if (file.endsWith(".jws") && !keptArg) {
    // A disclosure receipt (docs/evidence-format.md §11), not a package.
    const { verifyReceiptFile } = await import("./verify-receipt.ts");
    process.exit(await verifyReceiptFile(file, args[0]!));
  }
  const { verifyCourtPackage } = await import("../shared/crypto/verify-package.ts");
  ({ describeOperation } = await import("../shared/crypto/manifest.ts"));
  const { parseKeptCheckpoint } = await import("../shared/audit/export.ts");
  let kept;
  if (keptArg) {
    let text: string;
    try {
      text = readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), keptArg), "utf8");
    } catch (error) {
      fail(`verify: cannot read ${keptArg}: ${(error as Error).message}`, 2);
    }
    const parsed = parseKeptCheckpoint(text);
    if (typeof parsed === "string") fail(`verify: ${keptArg}: ${parsed}`, 2);
    kept = parsed;
  }
  // Read piecewise on demand: the original is streamed, never loaded whole. (Not fs.openAsBlob:
  // Node reports the size of a file of 4 GiB or more modulo 2^32.)
  const blob = await fileReader(file);
  // Node's native SHA-512 for the original (several times the speed of the portable one).
  const createHasher = () => {
    const hash = createHash("sha512");
    return { update: (bytes: Uint8Array) => void hash.update(bytes), digestHex: () => hash.digest("hex") };
  };
  const { looksLikeCasePackage } = await import("../shared/disclosure/verify-case-package.ts");
  if (await looksLikeCasePackage(blob)) return verifyCase(args[0]!, blob, createHasher, kept);
  const report = await verifyCourtPackage(blob, { createHasher, ...(kept ? { kept } : {}) });

  const out: string[] = [`Court package ${args[0]}`, ""];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) out.push(`  ${check.ok ? "✓" : "✗"} ${check.name.padEnd(width)}  ${check.detail}`);
  out.push(...summaryRows(report.summary, ""));
  out.push("");
  const s = report.summary;
  if (report.ok) {
    out.push(`OK: all ${report.checks.length} checks passed.`);
    const validity = s.signer ? `registered ${s.signer.validFrom}${s.signer.retiredAt ? `, retired ${s.signer.retiredAt}` : ", not retired"}` : "";
    out.push(`Signed by ${s.signer?.holder}, with their registered key (${validity}).`);
    if (s.signer?.backfilledAt) out.push(`The key is older than the register: its entry was recorded on ${s.signer.backfilledAt}, from the server's key table.`);
    out.push(
      s.timestamp
        ? `The signature existed at ${s.timestamp.genTime}, by the clock of ${s.timestamp.tsaName} (RFC 3161 timestamp, serial ${s.timestamp.serial}).`
        : `No trusted timestamp: the signing time ${s.signedAt} is the signer's own clock.`,
    );
    out.push(
      kept
        ? "The register is proven under the kept audit checkpoint."
        : `Check that audit key ${s.signer?.auditKid} is the organisation's (/.well-known/custody/audit.json), or pass a kept copy with --checkpoint.`,
    );
    if (s.timestamp?.caFingerprint) out.push(`Check that the TSA CA fingerprint above is the one your time-stamping authority publishes.`);
    process.stdout.write(`${out.join("\n")}\n`);
    return;
  }
  out.push(`FAILED: check "${report.failed}" did not pass; the package is not verified.`);
  process.stdout.write(`${out.join("\n")}\n`);
  process.exitCode = 1;
}

type Summary = import("../shared/crypto/verify-package.ts").PackageSummary;
/** Set once the shared code is loaded (after ./shared-loader.ts): a derived item's operations, in words. */
let describeOperation: typeof import("../shared/crypto/manifest.ts").describeOperation;
/** Operations listed one by one before "and N more". */
const OPERATIONS_SHOWN = 20;

function operationsText(operations: Parameters<typeof describeOperation>[0][]): string {
  const shown = operations.slice(0, OPERATIONS_SHOWN).map(describeOperation).join("; ");
  return operations.length > OPERATIONS_SHOWN ? `${shown}; and ${operations.length - OPERATIONS_SHOWN} more` : shown;
}

/** The evidence a (court or item) report proved, as "Label: value" lines indented by `indent`. */
function summaryRows(s: Summary, indent: string): string[] {
  const rows: [string, string | number | undefined][] = [
    ["File", s.fileName],
    ["Media type", s.mediaType],
    ["Size", s.byteSize === undefined ? undefined : `${s.byteSize} bytes`],
    ["SHA-512", s.sha512],
    ["Evidence", s.evidenceId === undefined ? undefined : `${s.evidenceId} (case ${s.caseId})`],
    ["Captured at", s.capturedAt !== undefined ? `${s.capturedAt}${s.captureTimeSource ? ` (${s.captureTimeSource})` : ""}` : s.capturedAtLocal !== undefined ? `${s.capturedAtLocal} camera's local time, zone unknown (${s.captureTimeSource ?? "exif-local"})` : undefined],
    ["Derived from", s.derivedFrom ? `${s.derivedFrom.evidenceId} (SHA-512 ${s.derivedFrom.sha512}), ${operationsText(s.derivedFrom.operations)}` : undefined],
    ["Signer kid", s.signerKid],
    ["Signed at", s.signedAt === undefined ? undefined : `${s.signedAt} (the signer's clock)`],
    ["Signer", s.signer?.holder],
    ["Key valid", s.signer ? `from ${s.signer.validFrom}${s.signer.retiredAt ? ` until ${s.signer.retiredAt}` : ", not retired"}${s.signer.backfilledAt ? ` (entry backfilled ${s.signer.backfilledAt})` : ""}` : undefined],
    ["Audit key", s.signer?.auditKid],
    ["Timestamp", s.timestamp ? `${s.timestamp.genTime} by ${s.timestamp.tsaName}, serial ${s.timestamp.serial}` : s.signedAt === undefined ? undefined : "none in this package"],
    ["TSA CA", s.timestamp?.caFingerprint === undefined ? undefined : `SHA-256 ${s.timestamp.caFingerprint}`],
  ];
  const known = rows.filter(([, value]) => value !== undefined);
  return known.length ? ["", ...known.map(([label, value]) => `${indent}  ${`${label}:`.padEnd(14)}${value}`)] : [];
}

type Reader = import("../shared/crypto/verify-package.ts").Reader;

/** Random access to a file with positional reads (sizes and offsets past 4 GiB included). */
async function fileReader(path: string): Promise<Reader> {
  const handle = await open(path, "r");
  const size = (await handle.stat()).size;
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
    for (let at = 0; at < out.length; ) {
      const { bytesRead } = await handle.read(out, at, out.length - at, offset + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return out;
  };
  return {
    size,
    read,
    async *chunks(offset: number, length: number) {
      for (let at = offset; at < offset + length; at += 4 * 1024 * 1024) yield await read(at, Math.min(4 * 1024 * 1024, offset + length - at));
    },
  };
}

type Hasher = () => { update: (bytes: Uint8Array) => void; digestHex: () => string };

type Kept = import("../shared/audit/export.ts").KeptCheckpoint;

async function verifyCase(name: string, blob: Reader, createHasher: Hasher, kept: Kept | undefined): Promise<void> {
  const { verifyCasePackage } = await import("../shared/disclosure/verify-case-package.ts");
  const report = await verifyCasePackage(blob, { createHasher, ...(kept ? { kept } : {}) });
  const out: string[] = [`Case package ${name}`, ""];
  const line = (check: { ok: boolean; name: string; detail: string }, width: number, indent: string) => `${indent}  ${check.ok ? "✓" : "✗"} ${check.name.padEnd(width)}  ${check.detail}`;
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) out.push(line(check, width, ""));
  if (report.failed) {
    out.push("", `FAILED: check "${report.failed}" of the package did not pass; nothing in it is verified.`);
    process.stdout.write(`${out.join("\n")}\n`);
    process.exitCode = 1;
    return;
  }
  for (const [i, item] of report.items.entries()) {
    const entry = report.index!.items[i]!;
    out.push("", `Item ${i + 1} of ${report.items.length}: ${item.folder} (${entry.fileName})`);
    const w = Math.max(...item.checks.map((c) => c.name.length));
    for (const check of item.checks) out.push(line(check, w, "  "));
    if (item.ok) out.push(...summaryRows(item.summary, "  "));
    else out.push(`    FAILED: check "${item.failed}" did not pass; this item is not verified.`);
  }
  const failed = report.items.filter((item) => !item.ok);
  const auditKeys = [...new Set(report.items.flatMap((item) => [item.audit?.auditKid, item.summary.signer?.auditKid]).filter((k): k is string => !!k))];
  out.push("");
  if (failed.length === 0) {
    out.push(`OK: the package and all ${report.items.length} item(s) passed every check.`);
    out.push(
      kept
        ? "Every item's register and audit extract is proven under the kept audit checkpoint."
        : `Check that audit key ${auditKeys.join(", ")} is the organisation's (/.well-known/custody/audit.json), or pass a kept copy with --checkpoint.`,
    );
    process.stdout.write(`${out.join("\n")}\n`);
    return;
  }
  out.push(`FAILED: ${failed.length} of ${report.items.length} item(s) did not verify: ${failed.map((item) => `${item.folder} (${item.failed})`).join(", ")}.`);
  process.stdout.write(`${out.join("\n")}\n`);
  process.exitCode = 1;
}

main().catch((error: unknown) => fail(`verify: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, 2));
