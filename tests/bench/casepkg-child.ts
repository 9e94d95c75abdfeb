/**
 * One case package build for the bench (casepkg.ts runs this in a fresh Node process per size,
 * so each peak is its own): `node casepkg-child.ts <items> <bytes per item> <out.zip>`.
 * Synthetic items: generated plaintext (1 MiB chunks, each a new buffer as decryption yields
 * them), a real signed manifest over its SHA-512, a real key register and audit extract; the
 * ciphertext part hashes are placeholders, as the package never decrypts here. The package is
 * built with the same shared code as the browser's worker and streamed to `out.zip`. Prints
 * one JSON line: time, bytes written, and peak memory sampled every 20 ms.
 */
import "../../scripts/shared-loader.ts";
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

const [itemsArg, sizeArg, out] = process.argv.slice(2);
const items = Number(itemsArg);
const size = Number(sizeArg);
const MiB = 1024 * 1024;

const crypto_ = await import("../../shared/crypto/index.ts");
const { partCount } = await import("../../shared/crypto/stream.ts");
const { planCasePackage } = await import("../../shared/disclosure/case-package.ts");
const { generateLogKey, MemoryLog } = await import("../../shared/audit/memory-log.ts");
const { registerExport } = await import("../support/signer-register.ts");

const peak = { rss: 0, heapUsed: 0, arrayBuffers: 0, external: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  peak.external = Math.max(peak.external, m.external);
};

/** Item `n`'s plaintext: 1 MiB chunks, each newly allocated, different in every chunk and item. */
const seed = new Uint8Array(MiB);
for (let at = 0; at < MiB; at += 65_536) crypto.getRandomValues(seed.subarray(at, at + 65_536));
function* plaintext(n: number): Generator<Uint8Array> {
  for (let at = 0, i = 0; at < size; at += MiB, i++) {
    const chunk = seed.slice(0, Math.min(MiB, size - at));
    new DataView(chunk.buffer).setUint32(0, i);
    new DataView(chunk.buffer).setUint32(4, n);
    yield chunk;
  }
}

const nativeHasher = () => {
  const hash = createHash("sha512");
  return { update: (bytes: Uint8Array) => void hash.update(bytes), digestHex: () => hash.digest("hex") };
};

const user = await crypto_.generateUserKeys();
const signer = await crypto_.importPrivateKey(user.signing.privateJwk, "sign");
const log = new MemoryLog("o".repeat(32), await generateLogKey());
const register = await registerExport(user.signing.publicJwk, "2020-01-01T00:00:00.000Z", log);
const caseId = "c".repeat(32);
const made = [];
for (let n = 0; n < items; n++) {
  const evidenceId = n.toString(16).padStart(32, "a");
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const fileKey = await crypto_.importFileKey(raw);
  const hash = createHash("sha512");
  for (const chunk of plaintext(n)) hash.update(chunk);
  const metadata = await crypto_.encryptMetadata({ fileName: `synthetic-${n + 1}.bin`, mediaType: "application/octet-stream" }, fileKey);
  const stream = { byteSize: size, sha512: hash.digest("hex"), noncePrefix: crypto.getRandomValues(new Uint8Array(7)), partSha512: Array.from({ length: partCount(size) }, () => "0".repeat(128)) };
  const manifestJws = await crypto_.signManifest({ evidenceId, caseId, uploaderId: "u".repeat(32), metadata, stream }, signer);
  await log.append({
    id: crypto.randomUUID().replaceAll("-", ""), at: "2026-01-01T00:00:00.000Z", actor: { type: "user", id: "u".repeat(32), label: "bench@example.org" }, action: "evidence.upload_complete",
    target: { type: "evidence", id: evidenceId }, ip: null, userAgent: null, outcome: "success", details: { caseId, evidenceId },
  });
  made.push({ evidenceId, manifestJws, raw });
}
await log.checkpoint("2026-01-02T00:00:00.000Z");
const inputs = [];
for (const m of made) {
  inputs.push({ manifestJws: m.manifestJws, signerPublicJwk: user.signing.publicJwk, signerRegister: register, fileKey: m.raw, auditExtract: `${(await log.exportLines({ evidenceId: m.evidenceId }, "2026-01-02T00:00:00.000Z")).join("\n")}\n` });
}

globalThis.gc?.();
sample();
const before = { ...peak };
const timer = setInterval(sample, 20);
const started = performance.now();
const plan = await planCasePackage({
  case: { id: caseId, number: "BENCH-1", title: "Synthetic case" }, exportedAt: new Date().toISOString(), exportedBy: "Bench <bench@example.org>",
  items: inputs, original: (i) => plaintext(i), createHasher: nativeHasher,
});
const file = await open(out!, "w");
let written = 0;
for await (const chunk of plan.chunks()) {
  await file.write(chunk);
  written += chunk.length;
}
await file.close();
const ms = performance.now() - started;
clearInterval(timer);
sample();
process.stdout.write(`${JSON.stringify({ items, size, written, ms, before, peak, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
