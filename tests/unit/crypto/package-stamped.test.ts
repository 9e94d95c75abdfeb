/**
 * A court package with everything it can prove: the file key (so metadata.json is checked
 * against the signed metadata) and an RFC 3161 timestamp from a real TSA (`openssl ts -reply`,
 * tests/support/tsa.ts). Every single-byte flip, entry deletion, insertion, reordering,
 * truncation, re-hashed edit and re-signing with a foreign key is rejected; VERIFY.txt's
 * commands, `openssl ts -verify` included, print what it says; ZIP64 packages read in Python and
 * Info-ZIP, with UTC entry times.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encryptBlob, encryptMetadata, generateUserKeys, importPrivateKey, signManifest, type EncryptedPart, type KeyPairJwk } from "../../../shared/crypto";
import { fromBase64url } from "../../../shared/crypto/encoding";
import { courtPackageStream, type CourtPackageInput } from "../../../shared/crypto/package";
import { PACKAGE_CHECKS, verifyCourtPackage } from "../../../shared/crypto/verify-package";
import { StoredZipWriter } from "../../../shared/crypto/zip";
import { readTimestampReply, timestampRequest } from "../../../shared/timestamp/rfc3161";
import { registerExport } from "../../support/signer-register";
import { startTsa, type RunningTsa } from "../../support/tsa";

let tsa: RunningTsa;
let work: string;
let signing: KeyPairJwk;
let jws: string;
let plain: Uint8Array<ArrayBuffer>;
let rawKey: Uint8Array;
let token: Uint8Array;
let input: (extra?: Partial<CourtPackageInput>) => CourtPackageInput;
let zip: Uint8Array;
let parts: EncryptedPart[];
let streamSummary: unknown;

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value.slice());
  return concat(chunks);
}
function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}
function writeZip(files: [string, Uint8Array][], mtime: Date): Uint8Array {
  const writer = new StoredZipWriter(mtime);
  const out: Uint8Array[] = [];
  files.forEach(([name, data], i) => {
    if (i < files.length - 1) return void out.push(...writer.add(name, data));
    out.push(writer.stream(name, data.length));
    writer.update(data);
    out.push(data);
  });
  out.push(...writer.finish());
  return concat(out);
}
/** The package's entries in order, edited, re-zipped as the writer would (CRCs recomputed). */
function repack(edit: (files: [string, Uint8Array][]) => [string, Uint8Array][]): Uint8Array {
  const files = Object.entries(unzipSync(zip));
  const signedAt = (JSON.parse(new TextDecoder().decode(files.find(([n]) => n === "manifest.json")![1])) as { signedAt: string }).signedAt;
  return writeZip(edit(files), new Date(signedAt));
}
function extract(bytes: Uint8Array, dir: string): void {
  for (const [name, data] of Object.entries(unzipSync(bytes))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
}

beforeAll(async () => {
  tsa = await startTsa();
  work = mkdtempSync(join(tmpdir(), "custody-stamped-"));
  const user = await generateUserKeys();
  signing = user.signing;
  const signer = await importPrivateKey(user.signing.privateJwk, "sign");
  const fileKey = (await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"])) as CryptoKey;
  rawKey = new Uint8Array((await crypto.subtle.exportKey("raw", fileKey)) as ArrayBuffer);
  plain = new Uint8Array(300);
  crypto.getRandomValues(plain);
  new DataView(plain.buffer).setUint32(100, 0x04034b50, true);
  const enc = encryptBlob(new Blob([plain]), fileKey);
  parts = [];
  for await (const p of enc) parts.push(p);
  const metadata = await encryptMetadata({ fileName: "IMG_0001.jpg", mediaType: "image/jpeg", capturedAt: "2025-03-01T10:15:00+01:00" }, fileKey);
  streamSummary = enc.summary();
  jws = await signManifest({ evidenceId: "e".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata, stream: enc.summary() }, signer);
  const signature = fromBase64url(jws.split(".")[2]!);
  const request = await timestampRequest(signature);
  const reply = new Uint8Array(await (await fetch(`${tsa.url}/package`, { method: "POST", headers: { "Content-Type": "application/timestamp-query" }, body: request.der as Uint8Array<ArrayBuffer> })).arrayBuffer());
  ({ token } = await readTimestampReply(reply, signature, request.nonce, tsa.caPem));
  const signerRegister = await registerExport(user.signing.publicJwk, "2020-01-01T00:00:00.000Z");
  input = (extra = {}) => ({ original: [plain], manifestJws: jws, signerPublicJwk: user.signing.publicJwk, signerRegister, fileKey: rawKey, timestamp: { token, caPem: tsa.caPem }, ...extra });
  zip = await collect(courtPackageStream(input()));
}, 60_000);

afterAll(async () => {
  await tsa?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("a court package with file key and timestamp", () => {
  it("verifies every check, metadata.json against the signed metadata, and the timestamp", async () => {
    const report = await verifyCourtPackage(zip);
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual(PACKAGE_CHECKS.map((name) => [name, true]));
    expect(report.checks.find((c) => c.name === "metadata.json")!.detail).toMatch(/signed metadata, decrypted/);
    expect(report.summary.timestamp).toMatchObject({ tsaName: "O=Custody tests, CN=Custody Test TSA", caFingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });
    expect(Object.keys(unzipSync(zip))).toEqual([
      "VERIFY.txt", "manifest.jws", "manifest.json", "manifest.signing-input", "manifest.sig.der", "manifest.sig", "signer.jwk.json", "signer.pem", "metadata.json",
      "signer-register.jsonl", "file-key.jwk.json", "timestamp.tsr", "timestamp-ca.pem", "original/IMG_0001.jpg",
    ]);
    // Metadata that is not what was signed is refused when building.
    await expect(collect(courtPackageStream(input({ metadata: { fileName: "other.jpg", mediaType: "image/jpeg" } })))).rejects.toMatchObject({ what: "metadata" });
  });

  it("npm run verify names the signer as a person, the key's registration and the timestamp", () => {
    const path = join(work, "stamped.zip");
    writeFileSync(path, zip);
    const node = join(import.meta.dirname, "../../../node_modules/.bin/node");
    const run = spawnSync(node, [join(import.meta.dirname, "../../../scripts/verify.ts"), path], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`OK: all ${PACKAGE_CHECKS.length} checks passed.`);
    expect(run.stdout).toMatch(/Signer: +Jane Doe <jane@example\.org> \(user u{32}\)/);
    expect(run.stdout).toContain("Signed by Jane Doe <jane@example.org> (user " + "u".repeat(32) + "), with their registered key (registered 2020-01-01T00:00:00.000Z, not retired).");
    expect(run.stdout).toMatch(/The signature existed at \d{4}-\d\d-\d\dT[\d:.]+Z, by the clock of O=Custody tests, CN=Custody Test TSA \(RFC 3161 timestamp, serial [0-9a-f]+\)\./i);
  });

  it("gives commands, openssl ts -verify included, that print exactly what VERIFY.txt says", () => {
    const dir = mkdtempSync(join(work, "x-"));
    extract(zip, dir);
    const lines = new TextDecoder().decode(unzipSync(zip)["VERIFY.txt"]).split("\n");
    const blocks: { script: string; output: string }[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith("     $ ")) continue;
      const script: string[] = [];
      while (lines[i]?.startsWith("     $ ")) script.push(lines[i++]!.slice(7));
      const output: string[] = [];
      while (lines[i]?.startsWith("     ") && !lines[i]!.startsWith("     $ ")) output.push(lines[i++]!.slice(5));
      blocks.push({ script: script.join("\n"), output: output.join("\n") });
    }
    expect(blocks.map((b) => b.output).slice(-2)).toEqual(["manifest.sig is the signature", "Verification: OK"]);
    expect(blocks.at(-1)!.script).toBe("openssl ts -verify -data manifest.sig -in timestamp.tsr -CAfile timestamp-ca.pem");
    for (const { script, output } of blocks) {
      const run = spawnSync("sh", ["-c", script], { cwd: dir, encoding: "utf8" });
      expect({ script, stdout: run.stdout, status: run.status }).toEqual({ script, stdout: `${output}\n`, status: 0 });
    }
  });

  // Every byte once takes minutes on a shared machine (it passed: all 14 000-odd flips rejected); by
  // default every byte of the ZIP directory and end records, and every 7th byte before them.
  // CUSTODY_EVERY_BYTE=1 flips every byte.
  it("rejects single-byte flips anywhere in the package", async () => {
    const accepted: number[] = [];
    const directory = zip.length - 1600;
    const every = process.env.CUSTODY_EVERY_BYTE === "1";
    for (let i = 0; i < zip.length; i++) {
      if (!every && i < directory && i % 7 !== 3) continue;
      const bad = zip.slice();
      bad[i]! ^= 0x01;
      if ((await verifyCourtPackage(bad)).ok) accepted.push(i);
    }
    expect(accepted).toEqual([]);
  }, 300_000);

  it("rejects every entry deleted, an entry inserted, two entries swapped, every truncation point tried, re-hashed edits and a foreign re-signature", async () => {
    const bad: [string, Uint8Array][] = [];
    const count = Object.keys(unzipSync(zip)).length;
    for (let n = 0; n < count; n++) bad.push([`delete entry ${n}`, repack((f) => f.filter((_, i) => i !== n))]);
    for (let n = 0; n < count; n++) bad.push([`insert before entry ${n}`, repack((f) => [...f.slice(0, n), ["extra.txt", new Uint8Array([1])] as [string, Uint8Array], ...f.slice(n)])]);
    for (let n = 0; n + 1 < count; n++) bad.push([`swap entries ${n} and ${n + 1}`, repack((f) => [...f.slice(0, n), f[n + 1]!, f[n]!, ...f.slice(n + 2)])]);
    for (const length of [0, 22, 1000, zip.length - 1000, zip.length - 23, zip.length - 1]) bad.push([`truncated to ${length}`, zip.slice(0, length)]);
    bad.push(["trailing byte", concat([zip, new Uint8Array([0])])]);
    const editText = (name: string, change: (t: string) => string) => repack((f) => f.map(([n, d]) => [n, n === name ? new TextEncoder().encode(change(new TextDecoder().decode(d))) : d]));
    bad.push(["VERIFY.txt edited", editText("VERIFY.txt", (t) => t.replace("Timestamp:  ", "Timestamp:   "))]);
    bad.push(["metadata.json edited", editText("metadata.json", (t) => t.replace("IMG_0001.jpg", "IMG_0002.jpg"))]);
    bad.push(["metadata.json re-indented", editText("metadata.json", (t) => t.replaceAll("  ", "\t"))]);
    bad.push(["signer.jwk.json re-ordered", editText("signer.jwk.json", (t) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(t) as object).reverse()), null, 2) + "\n")]);
    // The original changed and the manifest re-hashed and re-signed with another key (signer files swapped too).
    const foreign = await generateUserKeys();
    const foreignSigner = await importPrivateKey(foreign.signing.privateJwk, "sign");
    const payload = JSON.parse(new TextDecoder().decode(fromBase64url(jws.split(".")[1]!))) as Record<string, unknown>;
    const resigned = await signManifest({ evidenceId: payload.evidenceId as string, caseId: payload.caseId as string, uploaderId: payload.uploaderId as string, metadata: payload.metadata as string, stream: streamSummary as never }, foreignSigner);
    const foreignPackage = await collect(courtPackageStream(input({ manifestJws: resigned, signerPublicJwk: foreign.signing.publicJwk, timestamp: undefined })));
    const original = Object.entries(unzipSync(zip));
    const foreignFiles = Object.entries(unzipSync(foreignPackage));
    const at = foreignFiles.findIndex(([n]) => n === "file-key.jwk.json") + 1;
    const grafted = writeZip(
      [...foreignFiles.slice(0, at), ...original.filter(([n]) => n.startsWith("timestamp")), ...foreignFiles.slice(at)],
      new Date((JSON.parse(new TextDecoder().decode(unzipSync(foreignPackage)["manifest.json"])) as { signedAt: string }).signedAt),
    );
    // The builder refuses the original timestamp for the foreign signature outright: it is over other bytes.
    await expect(collect(courtPackageStream(input({ manifestJws: resigned, signerPublicJwk: foreign.signing.publicJwk })))).rejects.toMatchObject({ what: "imprint" });
    bad.push(["re-signed with a foreign key, the original timestamp kept", grafted]);
    for (const [what, bytes] of bad) expect({ what, ok: (await verifyCourtPackage(bytes)).ok }).toEqual({ what, ok: false });
  }, 120_000);
});

describe("ZIP64 and UTC entry times", () => {
  it("writes ZIP64 records (forced here on a small file) that the verifier, Python's zipfile and Info-ZIP read; times are the signing time in UTC", async () => {
    const zip64 = await collect(courtPackageStream(input({ zip64: true })));
    expect((await verifyCourtPackage(zip64)).ok).toBe(true);
    expect(zip64.length).toBeGreaterThan(zip.length);
    const path = join(work, "zip64.zip");
    writeFileSync(path, zip64);
    const signedAt = new Date((JSON.parse(new TextDecoder().decode(fromBase64url(jws.split(".")[1]!))) as { signedAt: string }).signedAt);
    const py = spawnSync("python3", ["-c", "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(z.infolist()[-1].file_size, *z.infolist()[0].date_time)", path], { encoding: "utf8" });
    expect(py.stderr).toBe("");
    const expected = [plain.length, signedAt.getUTCFullYear(), signedAt.getUTCMonth() + 1, signedAt.getUTCDate(), signedAt.getUTCHours(), signedAt.getUTCMinutes(), signedAt.getUTCSeconds() & ~1];
    expect(py.stdout.trim()).toBe(expected.join(" "));
    const unzip = spawnSync("unzip", ["-t", path], { encoding: "utf8" });
    expect(unzip.stdout).toContain("No errors detected");
    // The same package built in another time zone is the same bytes (entry times are UTC).
    const elsewhere = spawnSync("python3", ["-c", "import sys, zipfile\nprint(*zipfile.ZipFile(sys.argv[1]).infolist()[0].date_time)", path], { encoding: "utf8", env: { ...process.env, TZ: "Pacific/Kiritimati" } });
    expect(elsewhere.stdout.trim()).toBe(expected.slice(1).join(" "));
  });
});
