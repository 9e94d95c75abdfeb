/**
 * `npm run verify -- <package.zip>`: check a court export package offline (no network, no
 * account) with the same code the app uses (shared/crypto/verify-package.ts). Prints every
 * check with ✓ or ✗ and a summary of the evidence.
 *
 * Exit status: 0 every check passed; 1 a check failed (named in the output); 2 usage error
 * or the file cannot be read.
 */
import { createHash } from "node:crypto";
import { accessSync, constants, openAsBlob, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";

import "./shared-loader.ts";

const usage = "usage: npm run verify -- [--checkpoint <kept audit.json or checkpoint .jws>] <package.zip>\n       npm run verify -- <receipt.jws>   (a disclosure receipt; receipt.jws.tsr beside it is its timestamp)\n       node scripts/verify.ts <package.zip>";

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
    // A disclosure receipt (docs/evidence-format.md §10), not a package.
    const { verifyReceiptFile } = await import("./verify-receipt.ts");
    process.exit(await verifyReceiptFile(file, args[0]!));
  }
  const { verifyCourtPackage } = await import("../shared/crypto/verify-package.ts");
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
  // openAsBlob reads the file piecewise on demand: the original is streamed, never loaded whole.
  const blob = (await openAsBlob(file)) as unknown as Blob;
  // Node's native SHA-512 for the original (several times the speed of the portable one).
  const createHasher = () => {
    const hash = createHash("sha512");
    return { update: (bytes: Uint8Array) => void hash.update(bytes), digestHex: () => hash.digest("hex") };
  };
  const report = await verifyCourtPackage(blob, { createHasher, ...(kept ? { kept } : {}) });

  const out: string[] = [`Court package ${args[0]}`, ""];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) out.push(`  ${check.ok ? "✓" : "✗"} ${check.name.padEnd(width)}  ${check.detail}`);
  const s = report.summary;
  const rows: [string, string | number | undefined][] = [
    ["File", s.fileName],
    ["Media type", s.mediaType],
    ["Size", s.byteSize === undefined ? undefined : `${s.byteSize} bytes`],
    ["SHA-512", s.sha512],
    ["Evidence", s.evidenceId === undefined ? undefined : `${s.evidenceId} (case ${s.caseId})`],
    ["Captured at", s.capturedAt !== undefined ? `${s.capturedAt}${s.captureTimeSource ? ` (${s.captureTimeSource})` : ""}` : s.capturedAtLocal !== undefined ? `${s.capturedAtLocal} camera's local time, zone unknown (${s.captureTimeSource ?? "exif-local"})` : undefined],
    ["Signer kid", s.signerKid],
    ["Signed at", s.signedAt === undefined ? undefined : `${s.signedAt} (the signer's clock)`],
    ["Signer", s.signer?.holder],
    ["Key valid", s.signer ? `from ${s.signer.validFrom}${s.signer.retiredAt ? ` until ${s.signer.retiredAt}` : ", not retired"}${s.signer.backfilledAt ? ` (entry backfilled ${s.signer.backfilledAt})` : ""}` : undefined],
    ["Audit key", s.signer?.auditKid],
    ["Timestamp", s.timestamp ? `${s.timestamp.genTime} by ${s.timestamp.tsaName}, serial ${s.timestamp.serial}` : s.signedAt === undefined ? undefined : "none in this package"],
    ["TSA CA", s.timestamp?.caFingerprint === undefined ? undefined : `SHA-256 ${s.timestamp.caFingerprint}`],
  ];
  const known = rows.filter(([, value]) => value !== undefined);
  if (known.length) out.push("", ...known.map(([label, value]) => `  ${`${label}:`.padEnd(13)}${value}`));
  out.push("");
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

main().catch((error: unknown) => fail(`verify: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, 2));
