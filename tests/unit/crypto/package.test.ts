/**
 * Court export package: build one from a real encrypted, signed upload; verify it with the
 * library and the `npm run verify` CLI; tamper with it in every way a court would care about;
 * and run every command VERIFY.txt gives with the real sha512sum and openssl.
 */
import { spawnSync } from "node:child_process";
import { createHash, verify as nodeVerify } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IntegrityError,
  decryptExpectations,
  decryptMetadata,
  decryptParts,
  encryptBlob,
  encryptMetadata,
  generateFileKey,
  generateUserKeys,
  importPrivateKey,
  signManifest,
  toBase64url,
  verifyManifest,
  type EncryptedPart,
  type EvidenceMetadata,
  type KeyPairJwk,
} from "../../../shared/crypto";
import { courtPackageStream, es512SignatureToDer, packageFileName, prettyJson, publicJwkToPem, publicSigningJwk, type CourtPackageInput } from "../../../shared/crypto/package";
import { PACKAGE_CHECKS, verifyCourtPackage } from "../../../shared/crypto/verify-package";
import { generateLogKey, MemoryLog } from "../../../shared/audit/memory-log";
import { registerExport } from "../../support/signer-register";
import { keyId } from "../../../shared/crypto/keys";
import { CompactSign, importJWK, type JWK } from "jose";
import { StoredZipWriter } from "../../../shared/crypto/zip";

const root = resolve(import.meta.dirname, "../../..");
const node = resolve(root, "node_modules/.bin/node"); // Node 24, as `npm run verify` uses
const FILE_NAME = "scene: IMG 0001's (København).jpg";
const ENTRY = "original/scene_ IMG 0001's (København).jpg";

let work: string;
let signing: KeyPairJwk;
let plain: Uint8Array<ArrayBuffer>;
let input: () => Promise<CourtPackageInput>;
let zip: Uint8Array;

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

let auditLog: MemoryLog;
let signerRegister: string;
let signerRegisterLater: string;

/** Re-signs the package's manifest with a new key and replaces every signer file, as a forger would; with `forgeRegister`, also a register export for it signed by a new audit key. */
async function resignedByUnregistered(forgeRegister: boolean): Promise<Uint8Array> {
  const other = await generateUserKeys();
  const kid = await keyId(other.signing.publicJwk);
  const files = unzipSync(zip);
  const [h, p] = new TextDecoder().decode(files["manifest.jws"]).split(".") as [string, string];
  const header = JSON.parse(atob(h.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
  const manifest = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(p.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
  const payload = new TextEncoder().encode(JSON.stringify({ ...manifest, signerKid: kid }));
  const jws = await new CompactSign(payload).setProtectedHeader({ ...header, kid } as unknown as { alg: string }).sign(await importJWK(other.signing.privateJwk, "ES512"));
  const [nh, np, ns] = jws.split(".") as [string, string, string];
  files["manifest.jws"] = new TextEncoder().encode(jws);
  files["manifest.json"] = payload;
  files["manifest.signing-input"] = new TextEncoder().encode(`${nh}.${np}`);
  const rawSignature = Uint8Array.from(atob(ns.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  files["manifest.sig.der"] = new Uint8Array(es512SignatureToDer(rawSignature));
  files["manifest.sig"] = rawSignature;
  files["signer.jwk.json"] = new TextEncoder().encode(prettyJson(publicSigningJwk(other.signing.publicJwk)));
  files["signer.pem"] = new TextEncoder().encode(await publicJwkToPem(other.signing.publicJwk));
  if (forgeRegister) files["signer-register.jsonl"] = new TextEncoder().encode(await registerExport(other.signing.publicJwk, "2020-01-01T00:00:00.000Z"));
  return writeZip(files, new Date(manifest.signedAt as string));
}

/** Bytes of a stored ZIP of `files` (in key order, the last one streamed) as the package writer lays one out. */
function writeZip(files: Record<string, Uint8Array>, mtime: Date, options: { zip64?: boolean } = {}): Uint8Array {
  const writer = new StoredZipWriter(mtime, options);
  const names = Object.keys(files);
  const out: Uint8Array[] = [];
  names.forEach((name, i) => {
    if (i < names.length - 1) return void out.push(...writer.add(name, files[name]!));
    out.push(writer.stream(name, files[name]!.length));
    writer.update(files[name]!);
    out.push(files[name]!);
  });
  out.push(...writer.finish());
  return concat(out);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

/** Unzip, change the entries, zip again exactly as the package writer would (CRCs recomputed), as someone editing a package would. */
function repack(edit: (files: Record<string, Uint8Array>) => void, from: Uint8Array = zip): Uint8Array {
  const files = unzipSync(from);
  const signedAt = (JSON.parse(new TextDecoder().decode(files["manifest.json"])) as { signedAt: string }).signedAt;
  edit(files);
  return writeZip(files, new Date(signedAt));
}

function writeTemp(name: string, content: string | Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

function runCli(bytes: Uint8Array | null, name = "package.zip") {
  const path = join(work, name);
  if (bytes) writeFileSync(path, bytes);
  const out = spawnSync(node, [join(root, "scripts/verify.ts"), path], { cwd: root, encoding: "utf8" });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

function extract(bytes: Uint8Array, dir: string): void {
  for (const [name, data] of Object.entries(unzipSync(bytes))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "custody-package-"));
  const user = await generateUserKeys();
  signing = user.signing;
  const signer = await importPrivateKey(user.signing.privateJwk, "sign");
  const fileKey = await generateFileKey();

  // 3 MiB + a bit of random bytes, with ZIP signatures inside, as a .docx or a video may have.
  plain = new Uint8Array(3 * 1024 * 1024 + 12_345);
  for (let at = 0; at < plain.length; at += 65_536) crypto.getRandomValues(plain.subarray(at, at + 65_536));
  for (const [at, sig] of [[1000, 0x04034b50], [2_000_000, 0x08074b50], [3_000_000, 0x02014b50]] as const) new DataView(plain.buffer).setUint32(at, sig, true);

  const enc = encryptBlob(new Blob([plain]), fileKey);
  const parts: EncryptedPart[] = [];
  for await (const p of enc) parts.push(p);
  const metadataJwe = await encryptMetadata({ fileName: FILE_NAME, mediaType: "image/jpeg", capturedAt: "2025-03-01T10:15:00+01:00", device: { model: "Pixel 8" } }, fileKey);
  const jws = await signManifest({ evidenceId: "e".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata: metadataJwe, stream: enc.summary() }, signer);

  // The key register as the server keeps it: the signer's registration in the audit log, exported with its proof.
  auditLog = new MemoryLog("o".repeat(32), await generateLogKey());
  signerRegister = await registerExport(user.signing.publicJwk, "2020-01-01T00:00:00.000Z", auditLog);
  signerRegisterLater = await registerExport(user.signing.publicJwk, "2999-01-01T00:00:00.000Z");

  // What the app does on export: verify, decrypt the parts as a stream, decrypt the metadata.
  input = async () => {
    const manifest = await verifyManifest(jws, user.signing.publicJwk);
    return {
      original: decryptParts(parts.map((p) => p.bytes), fileKey, decryptExpectations(manifest)),
      manifestJws: jws,
      signerPublicJwk: user.signing.publicJwk,
      signerRegister,
      metadata: await decryptMetadata(manifest.metadata, fileKey),
    };
  };
  zip = await collect(courtPackageStream(await input()));
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("court package", () => {
  it("holds the original unmodified and the documented files, and verifies", async () => {
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(
      [ENTRY, "VERIFY.txt", "manifest.jws", "manifest.json", "manifest.sig", "manifest.sig.der", "manifest.signing-input", "metadata.json", "signer-register.jsonl", "signer.jwk.json", "signer.pem"].sort(),
    );
    expect(files[ENTRY]).toEqual(plain);
    const { manifestJws } = await input();
    const [h, p] = manifestJws.split(".");
    expect(new TextDecoder().decode(files["manifest.jws"])).toBe(manifestJws);
    expect(new TextDecoder().decode(files["manifest.signing-input"])).toBe(`${h}.${p}`);
    expect(JSON.parse(new TextDecoder().decode(files["manifest.json"]))).toMatchObject({ sha512: createHash("sha512").update(plain).digest("hex"), byteSize: plain.length });
    const jwk = JSON.parse(new TextDecoder().decode(files["signer.jwk.json"]));
    expect(jwk).toEqual(signing.publicJwk);
    expect(jwk).not.toHaveProperty("d");
    expect(new TextDecoder().decode(files["signer.pem"])).toBe(await publicJwkToPem(signing.publicJwk));
    expect(JSON.parse(new TextDecoder().decode(files["metadata.json"]))).toMatchObject<Partial<EvidenceMetadata>>({ fileName: FILE_NAME, mediaType: "image/jpeg" });

    for (const source of [zip, new Blob([zip as Uint8Array<ArrayBuffer>])]) {
      const report = await verifyCourtPackage(source);
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name)).toEqual([...PACKAGE_CHECKS]);
      expect(report.ok).toBe(true);
      expect(report.summary).toMatchObject({ fileName: ENTRY, byteSize: plain.length, signerKid: signing.kid, mediaType: "image/jpeg" });
    }
  });

  it("is the same bytes for the same inputs", async () => {
    expect(await collect(courtPackageStream(await input()))).toEqual(zip);
  });

  it("refuses to complete a package whose original does not match the signed manifest", async () => {
    const flipped = plain.slice();
    flipped[12_345]! ^= 1;
    const wrongBytes = { ...(await input()), original: [flipped.subarray(0, 1 << 20), flipped.subarray(1 << 20)] };
    await expect(collect(courtPackageStream(wrongBytes))).rejects.toMatchObject({ name: "IntegrityError", what: "file sha512" });
    const short = { ...(await input()), original: [plain.subarray(0, plain.length - 1)] };
    await expect(collect(courtPackageStream(short))).rejects.toMatchObject({ name: "IntegrityError", what: "file size" });
    const other = await generateUserKeys();
    const wrongSigner = { ...(await input()), signerPublicJwk: other.signing.publicJwk };
    await expect(collect(courtPackageStream(wrongSigner))).rejects.toBeInstanceOf(IntegrityError);
  });

  it("writes ES512 signatures as the DER that OpenSSL and Node read, and sanitises file names", async () => {
    const raw = new Uint8Array(132);
    raw[0] = 0x01; // r: all 66 bytes significant, so the SEQUENCE needs a long-form length
    raw[67] = 0x80; // s = 0x80 << 512: leading zero stripped, a 0x00 sign byte added
    const der = es512SignatureToDer(raw);
    expect(Array.from(der.subarray(0, 6))).toEqual([0x30, 0x81, 68 + 68, 0x02, 66, 0x01]);
    expect(Array.from(der.subarray(71, 75))).toEqual([0x02, 66, 0x00, 0x80]);
    expect(Array.from(es512SignatureToDer(new Uint8Array(132).fill(1, 131)).subarray(0, 4))).toEqual([0x30, 6, 0x02, 0x01]);

    // Real signatures of every shape (r and s with and without leading zeros) verify as DER in Node's OpenSSL.
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey));
    for (let i = 0; i < 32; i++) {
      const data = new TextEncoder().encode(`message ${i}`);
      const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-512" }, pair.privateKey, data));
      expect(nodeVerify("sha512", data, { key: spki, format: "der", type: "spki" }, es512SignatureToDer(sig))).toBe(true);
    }

    expect(packageFileName("../../etc/passwd")).toBe("passwd");
    expect(packageFileName("C:\\Users\\x\\photo.jpg")).toBe("photo.jpg");
    expect(packageFileName("photo\u202egpj.exe")).toBe("photo_gpj.exe");
    expect(packageFileName("CON.txt")).toBe("_CON.txt");
    expect(packageFileName(".bashrc")).toBe("_bashrc");
    expect(packageFileName("..")).toBe("original");
    expect(new TextEncoder().encode(packageFileName(`${"é".repeat(300)}.mp4`)).length).toBeLessThanOrEqual(200);
    expect(packageFileName(`${"é".repeat(300)}.mp4`)).toMatch(/^é+\.mp4$/);
  });
});

describe("npm run verify", () => {
  it("exits 0 and prints every check and the summary for a good package", () => {
    const { status, stdout } = runCli(zip);
    expect(status).toBe(0);
    for (const name of PACKAGE_CHECKS) expect(stdout).toContain(`✓ ${name}`);
    expect(stdout).toContain(ENTRY);
    expect(stdout).toContain(`${plain.length} bytes`);
    expect(stdout).toContain(createHash("sha512").update(plain).digest("hex"));
    expect(stdout).toContain(signing.kid);
    expect(stdout).toContain(`OK: all ${PACKAGE_CHECKS.length} checks passed.`);
  });

  const tampered: [string, string, () => Promise<Uint8Array>][] = [
    ["one flipped byte in the original", "original sha512", async () => {
      const bad = zip.slice();
      bad[indexOf(bad, plain.subarray(2_500_000, 2_500_064)) + 7]! ^= 0x01;
      return bad;
    }],
    ["manifest.json edited", "manifest.json", async () =>
      repack((f) => {
        const m = JSON.parse(new TextDecoder().decode(f["manifest.json"]));
        f["manifest.json"] = new TextEncoder().encode(JSON.stringify({ ...m, signedAt: "2020-01-01T00:00:00.000Z" }));
      })],
    ["manifest.jws payload edited", "manifest signature", async () =>
      repack((f) => {
        const [h, p, s] = new TextDecoder().decode(f["manifest.jws"]).split(".") as [string, string, string];
        const m = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(p.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
        const edited = toBase64url(new TextEncoder().encode(JSON.stringify({ ...m, caseId: "d".repeat(32) })));
        f["manifest.jws"] = new TextEncoder().encode(`${h}.${edited}.${s}`);
      })],
    ["signer key swapped for another key (JWK and PEM)", "signer key id", async () => {
      const other = (await generateUserKeys()).signing.publicJwk;
      const pem = await publicJwkToPem(other);
      return repack((f) => {
        f["signer.jwk.json"] = new TextEncoder().encode(JSON.stringify(other, null, 2));
        f["signer.pem"] = new TextEncoder().encode(pem);
      });
    }],
    ["the manifest re-signed by a key that is not in the register (JWS, JWK, PEM and signature files all consistent)", "signer register", async () => resignedByUnregistered(false)],
    ["the register entry replaced by one of a key registered after signing", "signer register", async () =>
      repack((f) => void (f["signer-register.jsonl"] = new TextEncoder().encode(signerRegisterLater)))],
    ["only signer.pem swapped", "signer.pem", async () => {
      const pem = await publicJwkToPem((await generateUserKeys()).signing.publicJwk);
      return repack((f) => void (f["signer.pem"] = new TextEncoder().encode(pem)));
    }],
    ["an extra file added", "zip entries", async () => repack((f) => void (f["notes.txt"] = new TextEncoder().encode("hello")))],
    ["the original removed", "zip entries", async () => repack((f) => void delete f[ENTRY])],
    ["the ZIP truncated", "zip structure", async () => zip.subarray(0, zip.length - 100)],
  ];

  it.each(tampered)("fails on %s, naming %s", async (_, check, make) => {
    const bad = await make();
    const report = await verifyCourtPackage(bad);
    expect(report.ok).toBe(false);
    expect(report.failed).toBe(check);
    expect(report.checks.at(-1)).toMatchObject({ name: check, ok: false });

    const { status, stdout } = runCli(bad, "tampered.zip");
    expect(status).toBe(1);
    expect(stdout).toContain(`✗ ${check}`);
    expect(stdout).toContain(`FAILED: check "${check}" did not pass`);
  });

  it("names the key's registered holder, and refuses a forged register when the organisation's audit key is pinned", async () => {
    const good = await verifyCourtPackage(zip);
    expect(good.summary.signer).toMatchObject({ holder: expect.stringContaining("Jane Doe <jane@example.org>"), validFrom: "2020-01-01T00:00:00.000Z", retiredAt: null });
    const pinned = { jws: auditLog.checkpoints.at(-1)!.jws, signingKeys: [auditLog.key.publicJwk] };
    expect((await verifyCourtPackage(zip, { kept: pinned })).ok).toBe(true);
    const forged = await resignedByUnregistered(true);
    // Self-consistent, but under an audit key that is not the organisation's: visible, and refused once pinned.
    const unpinned = await verifyCourtPackage(forged);
    expect(unpinned.summary.signer?.auditKid).not.toBe(auditLog.key.publicJwk.kid);
    const report = await verifyCourtPackage(forged, { kept: pinned });
    expect(report).toMatchObject({ ok: false, failed: "signer register" });
    const { status, stdout } = spawnSync(node, [join(root, "scripts/verify.ts"), "--checkpoint", writeTemp("kept.json", JSON.stringify({ type: "custody-audit-public", v: 1, checkpoint: pinned.jws, signingKeys: pinned.signingKeys })), writeTemp("forged.zip", forged)], { cwd: root, encoding: "utf8" });
    expect(status, stdout).toBe(1);
    expect(stdout).toContain("✗ signer register");
  });

  it("prints a redacted copy's original and each operation in words after Derived from (evidence-format §6.3)", async () => {
    const signer = await importPrivateKey(signing.privateJwk, "sign");
    const fileKey = await generateFileKey();
    const copy = new TextEncoder().encode("a redacted copy's bytes");
    const enc = encryptBlob(new Blob([copy]), fileKey);
    const parts: EncryptedPart[] = [];
    for await (const p of enc) parts.push(p);
    const original = createHash("sha512").update(plain).digest("hex");
    const derivedFrom = {
      evidenceId: "e".repeat(32),
      sha512: original,
      operations: [
        { type: "rasterize" as const, dpi: 150 },
        { type: "redact" as const, shape: "rect" as const, effect: "fill" as const, page: 1, keys: [{ t: 0, x: 0.1, y: 0.1, w: 0.5, h: 0.1 }] },
      ],
    };
    const metadata = await encryptMetadata({ fileName: "Redacted copy of statement.pdf", mediaType: "application/pdf" }, fileKey);
    const jws = await signManifest({ evidenceId: "f".repeat(32), caseId: "c".repeat(32), uploaderId: "u".repeat(32), metadata, stream: enc.summary(), derivedFrom }, signer);
    const manifest = await verifyManifest(jws, signing.publicJwk);
    const copyZip = await collect(
      courtPackageStream({
        original: decryptParts(parts.map((p) => p.bytes), fileKey, decryptExpectations(manifest)),
        manifestJws: jws,
        signerPublicJwk: signing.publicJwk,
        signerRegister,
        metadata: await decryptMetadata(manifest.metadata, fileKey),
      }),
    );
    const { status, stdout } = runCli(copyZip, "redacted.zip");
    expect(status, stdout).toBe(0);
    expect(stdout).toContain(`Derived from: ${"e".repeat(32)} (SHA-512 ${original}), pages redrawn as images at 150 dpi; fill rect page 1 (1 key)`);
  });

  it("exits 2 on a usage error or an unreadable file", () => {
    const usage = spawnSync(node, [join(root, "scripts/verify.ts")], { cwd: root, encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("usage: npm run verify -- [--checkpoint <kept audit.json or checkpoint .jws>] <package.zip | case-package.zip>");
    const missing = runCli(null, "does-not-exist.zip");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("cannot read");
  });
});

describe("VERIFY.txt", () => {
  /** The transcript blocks of VERIFY.txt: consecutive "$ " lines, then the lines they must print. */
  function transcripts(text: string): { script: string; output: string }[] {
    const blocks: { script: string; output: string }[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith("     $ ")) continue;
      const script: string[] = [];
      while (lines[i]?.startsWith("     $ ")) script.push(lines[i++]!.slice(7));
      const output: string[] = [];
      while (lines[i]?.startsWith("     ") && !lines[i]!.startsWith("     $ ")) output.push(lines[i++]!.slice(5));
      blocks.push({ script: script.join("\n"), output: output.join("\n") });
    }
    return blocks;
  }

  it("gives commands that print exactly what it says, with the real sha512sum and openssl", () => {
    const dir = mkdtempSync(join(work, "extracted-"));
    extract(zip, dir);
    const text = new TextDecoder().decode(unzipSync(zip)["VERIFY.txt"]);
    const blocks = transcripts(text);
    expect(blocks.map((b) => b.script.split(" ")[0])).toEqual(["sha512sum", "wc", "openssl", "test", "x=$(openssl"]);

    // What each must print, worked out independently of the package code.
    const sha512 = createHash("sha512").update(plain).digest("hex");
    expect(blocks.map((b) => b.output)).toEqual([`${sha512}  ${ENTRY}`, `${plain.length}`, "Verified OK", "manifest.json is the signed payload", signing.kid]);

    for (const { script, output } of blocks) {
      const run = spawnSync("sh", ["-c", script], { cwd: dir, encoding: "utf8" });
      expect({ script, stdout: run.stdout, status: run.status }).toEqual({ script, stdout: `${output}\n`, status: 0 });
    }
  });

  it("makes openssl report a tampered manifest", () => {
    const dir = mkdtempSync(join(work, "tampered-"));
    extract(zip, dir);
    const input = new TextDecoder().decode(unzipSync(zip)["manifest.signing-input"]);
    writeFileSync(join(dir, "manifest.signing-input"), input.slice(0, -2) + (input.endsWith("A") ? "B" : "A") + input.slice(-1));
    const run = spawnSync("openssl", ["dgst", "-sha512", "-verify", "signer.pem", "-signature", "manifest.sig.der", "manifest.signing-input"], { cwd: dir, encoding: "utf8" });
    expect(run.stdout).toContain("Verification failure");
    expect(run.status).not.toBe(0);
  });
});
