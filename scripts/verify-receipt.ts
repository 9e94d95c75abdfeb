/**
 * `npm run verify -- receipt.jws`: check a disclosure receipt (docs/evidence-format.md §11) offline:
 * its ES512 signature by the key it names, its format, and, when `receipt.jws.tsr` lies beside it
 * (and `receipt.jws.tsa.pem`, the TSA's CA, optionally), the RFC 3161 timestamp over its signature.
 * Exit status: 0 every check passed; 1 a check failed.
 */
import { existsSync, readFileSync } from "node:fs";

export async function verifyReceiptFile(file: string, shown: string): Promise<number> {
  const { verifyReceipt } = await import("../shared/crypto/share.ts");
  const { fromBase64url } = await import("../shared/crypto/encoding.ts");
  const { responseToToken, verifyTimestampToken } = await import("../shared/timestamp/rfc3161.ts");
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  const jws = readFileSync(file, "utf8").trim();
  let summary: Awaited<ReturnType<typeof verifyReceipt>> | undefined;
  try {
    summary = await verifyReceipt(jws);
    checks.push({ name: "receipt signature", ok: true, detail: `ES512 by key ${summary.kid} (named in the receipt)` });
  } catch (error) {
    checks.push({ name: "receipt signature", ok: false, detail: (error as Error).message });
  }
  const tsr = `${file}.tsr`;
  if (existsSync(tsr)) {
    const caFile = `${file}.tsa.pem`;
    try {
      const token = responseToToken(new Uint8Array(readFileSync(tsr)));
      const signature = fromBase64url(jws.split(".")[2] ?? "");
      const info = await verifyTimestampToken(token, signature, { trustedPem: existsSync(caFile) ? readFileSync(caFile, "utf8") : null });
      checks.push({ name: "trusted timestamp", ok: true, detail: `${info.tsaName} at ${info.genTime}${existsSync(caFile) ? " (chains to the given CA)" : " (signature only: no CA given)"}` });
    } catch (error) {
      checks.push({ name: "trusted timestamp", ok: false, detail: (error as Error).message });
    }
  }
  const out = [`Receipt ${shown}`, ""];
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const check of checks) out.push(`  ${check.ok ? "✓" : "✗"} ${check.name.padEnd(width)}  ${check.detail}`);
  if (summary) {
    const r = summary.receipt;
    out.push("", `  Share        ${r.shareId}`, `  Received by  ${r.recipient.name} (${r.recipient.type === "guest" ? `guest ${r.recipient.userId}` : "link recipient"})`, `  Received at  ${r.receivedAt} (the recipient's clock)`, `  Items        ${r.items.length}`);
    for (const item of r.items) out.push(`    ${item.id}  SHA-512 ${item.sha512}`);
  }
  const ok = checks.every((c) => c.ok);
  out.push("", ok ? "All checks passed." : "A check FAILED: do not rely on this receipt.");
  process.stdout.write(`${out.join("\n")}\n`);
  return ok ? 0 : 1;
}
