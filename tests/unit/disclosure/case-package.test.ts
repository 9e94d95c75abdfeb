/**
 * Case package: built from two real encrypted, signed items (a photo and a video-sized file) with
 * their key register and audit extracts; read by Python's zipfile and sha512sum; verified whole
 * and item by item by the library and `npm run verify`; tampered with, and the verifier names
 * exactly what is wrong (and accepts what is only a readable summary being changed).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decryptExpectations, decryptParts, encryptBlob, encryptMetadata, generateUserKeys, importFileKey, importPrivateKey, signManifest, verifyManifest,
  type EncryptedPart, type KeyPairJwk,
} from "../../../shared/crypto";
import { generateLogKey, MemoryLog } from "../../../shared/audit/memory-log";
import { registerExport } from "../../support/signer-register";
import { ZipWriter } from "../../../shared/crypto/zip";
import { CASE_ENTRY, casePackageStream, planCasePackage, type CasePackageInput } from "../../../shared/disclosure/case-package";
import { CASE_CHECKS, DERIVED_CHECK, ITEM_CHECKS, verifyCasePackage } from "../../../shared/disclosure/verify-case-package";
import { encryptDetails } from "../../../shared/crypto/details";
import type { DetailsVersionInput } from "../../../shared/disclosure/details-history";

const root = resolve(import.meta.dirname, "../../..");
const node = resolve(root, "node_modules/.bin/node");
const python = process.env.PYTHON3_PATH ?? "/usr/bin/python3";
const CASE_ID = "c".repeat(32);
const EXPORTED_AT = "2026-05-04T03:02:01.000Z";

let work: string;
let signing: KeyPairJwk;
/** The package input of the items chosen (indexes into the specs; the photo and the video unless told). */
let input: (chosen?: number[]) => Promise<CasePackageInput>;
let zip: Uint8Array;
const plains: Uint8Array<ArrayBuffer>[] = [];
const detailsVersions: DetailsVersionInput[] = [];

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(out.subarray(at, at + 65_536));
  return out;
}

/** Unzip, edit, zip again exactly as the package writer does (CRCs recomputed), as someone editing a package would. */
function repack(edit: (files: Record<string, Uint8Array>) => void, from: Uint8Array = zip): Uint8Array {
  const files = unzipSync(from);
  edit(files);
  const writer = new ZipWriter(new Date(EXPORTED_AT));
  const out: Uint8Array[] = [];
  for (const [name, data] of Object.entries(files)) {
    if (!name.includes("/original/")) {
      out.push(...writer.add(name, data));
      continue;
    }
    out.push(writer.stream(name, data.length));
    writer.update(data);
    out.push(data, writer.end());
  }
  out.push(...writer.finish());
  const bytes = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of out) bytes.set(c, (at += c.length) - c.length);
  return bytes;
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const utf8 = (value: string) => new TextEncoder().encode(value);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "custody-case-package-"));
  const user = await generateUserKeys();
  signing = user.signing;
  const signer = await importPrivateKey(user.signing.privateJwk, "sign");
  const log = new MemoryLog("o".repeat(32), await generateLogKey());
  const signerRegister = await registerExport(user.signing.publicJwk, "2020-01-01T00:00:00.000Z", log);

  const specs = [
    { id: "a".repeat(32), name: "scene photo.jpg", type: "image/jpeg", size: 300_000 },
    { id: "b".repeat(32), name: "interview.mp4", type: "video/mp4", size: 2 * 1024 * 1024 + 777 },
    // Only in the packages of the derived-copy test: a redacted copy of the photo, and one naming the photo with another SHA-512.
    { id: "d".repeat(32), name: "Redacted copy of scene photo.jpg", type: "image/jpeg", size: 90_000, derived: "photo" },
    { id: "f".repeat(32), name: "Redacted copy of scene photo (2).jpg", type: "image/jpeg", size: 90_000, derived: "other file" },
  ];
  const items: { jws: string; parts: EncryptedPart[]; fileKey: CryptoKey; raw: Uint8Array }[] = [];
  for (const spec of specs) {
    const plain = randomBytes(spec.size);
    plains.push(plain);
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const fileKey = await importFileKey(raw);
    const enc = encryptBlob(new Blob([plain]), fileKey);
    const parts: EncryptedPart[] = [];
    for await (const p of enc) parts.push(p);
    const metadata = await encryptMetadata({ fileName: spec.name, mediaType: spec.type, capturedAt: "2026-05-01T10:15:00.000Z", device: { captureTimeSource: "exif" } }, fileKey);
    const derivedFrom = spec.derived && {
      evidenceId: specs[0]!.id,
      sha512: createHash("sha512").update(spec.derived === "photo" ? plains[0]! : plain).digest("hex"),
      operations: [{ type: "redact" as const, shape: "ellipse" as const, effect: "blur" as const, keys: [{ t: 0, x: 0.4, y: 0.2, w: 0.1, h: 0.15 }] }],
    };
    const jws = await signManifest({ evidenceId: spec.id, caseId: CASE_ID, uploaderId: "u".repeat(32), metadata, stream: enc.summary(), ...(derivedFrom ? { derivedFrom } : {}) }, signer);
    for (const action of ["evidence.upload_start", "evidence.upload_complete", "evidence.view"]) {
      await log.append({
        id: crypto.randomUUID().replaceAll("-", ""), at: "2026-05-02T09:00:00.000Z", actor: { type: "user", id: "u".repeat(32), label: "jane@example.org" }, action,
        target: { type: "evidence", id: spec.id }, ip: "192.0.2.7", userAgent: null, outcome: "success", details: { caseId: CASE_ID, evidenceId: spec.id },
      });
    }
    items.push({ jws, parts, fileKey, raw });
  }
  // The photo's details, edited twice by two people: each edit recorded with its version.
  const editors = [{ id: "u".repeat(32), name: "Jane Doe", label: "jane@example.org" }, { id: "e".repeat(32), name: "Sam Reed", label: "sam@example.org" }];
  const edits = [
    { title: "Front door", description: "", tags: ["entry"] },
    { title: "Forced front door", description: "Pry marks at lock height.", tags: ["entry", "tool marks"] },
  ];
  for (const [i, edit] of edits.entries()) {
    const editor = editors[i]!;
    const at = `2026-05-02T10:0${i}:00.000Z`;
    detailsVersions.push({ version: i + 1, jwe: await encryptDetails(edit, items[0]!.raw), editedBy: { id: editor.id, name: editor.name }, editedAt: at });
    await log.append({
      id: crypto.randomUUID().replaceAll("-", ""), at, actor: { type: "user", id: editor.id, label: editor.label }, action: "evidence.details_edit",
      target: { type: "evidence", id: specs[0]!.id }, ip: "192.0.2.8", userAgent: null, outcome: "success", details: { caseId: CASE_ID, evidenceId: specs[0]!.id, version: i + 1 },
    });
  }
  await log.checkpoint("2026-05-03T00:00:00.000Z");
  const extracts = await Promise.all(specs.map(async (spec) => `${(await log.exportLines({ evidenceId: spec.id }, "2026-05-03T00:00:00.000Z")).join("\n")}\n`));

  input = async (chosen = [0, 1]) => ({
    case: { id: CASE_ID, number: "2026-0042", title: "Harbour break-in" },
    exportedAt: EXPORTED_AT,
    exportedBy: "Jane Doe <jane@example.org>",
    items: chosen.map((i) => ({
      manifestJws: items[i]!.jws, signerPublicJwk: user.signing.publicJwk, signerRegister, fileKey: items[i]!.raw.slice(), auditExtract: extracts[i]!,
      ...(i === 0 ? { detailsVersions } : {}),
    })),
    original: (at: number) => {
      const item = items[chosen[at]!]!;
      return (async function* () {
        const manifest = await verifyManifest(item.jws, user.signing.publicJwk);
        yield* decryptParts(item.parts.map((p) => p.bytes), item.fileKey, decryptExpectations(manifest));
      })();
    },
  });
  zip = await collect(casePackageStream(await planCasePackage(await input())));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function runCli(bytes: Uint8Array, name = "case-package.zip") {
  const path = join(work, name);
  writeFileSync(path, bytes);
  const out = spawnSync(node, [join(root, "scripts/verify.ts"), path], { cwd: root, encoding: "utf8" });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

const FOLDER_1 = `items/001-${"a".repeat(8)}/`;
const FOLDER_2 = `items/002-${"b".repeat(8)}/`;
const ITEM_FILES = ["VERIFY.txt", "manifest.jws", "manifest.json", "manifest.signing-input", "manifest.sig.der", "manifest.sig", "signer.jwk.json", "signer.pem", "metadata.json", "signer-register.jsonl", "file-key.jwk.json", "audit.jsonl"];

describe("case package", () => {
  it("lays out the top files, then a court package folder per item with its audit extract, the original last", () => {
    const names = Object.keys(unzipSync(zip));
    expect(names).toEqual([
      "VERIFY.txt", "case.json", "SHA512SUMS", "chain-of-custody.pdf",
      ...ITEM_FILES.map((n) => FOLDER_1 + n), `${FOLDER_1}details.json`, `${FOLDER_1}original/scene photo.jpg`,
      ...ITEM_FILES.map((n) => FOLDER_2 + n), `${FOLDER_2}original/interview.mp4`,
    ]);
    const files = unzipSync(zip);
    expect(files[`${FOLDER_1}original/scene photo.jpg`]).toEqual(plains[0]);
    expect(files[`${FOLDER_2}original/interview.mp4`]).toEqual(plains[1]);
    const index = JSON.parse(text(files["case.json"]));
    expect(index).toMatchObject({ typ: "custody-case-package", v: 1, case: { number: "2026-0042" }, items: [{ evidenceId: "a".repeat(32), sha512: createHash("sha512").update(plains[0]!).digest("hex") }, { fileName: "interview.mp4" }] });
    expect(text(files["chain-of-custody.pdf"]!.subarray(0, 5))).toBe("%PDF-");
    // The edited details travel: the latest in case.json, every version with its editor in details.json.
    expect(index.items[0].details).toEqual({ version: 2, title: "Forced front door", description: "Pry marks at lock height.", tags: ["entry", "tool marks"] });
    expect(index.items[1].details).toBeUndefined();
    const history = JSON.parse(text(files[`${FOLDER_1}details.json`]));
    expect(history).toMatchObject({
      typ: "custody-details-history",
      evidenceId: "a".repeat(32),
      versions: [
        { version: 1, title: "Front door", editedBy: { name: "Jane Doe" }, editedAt: "2026-05-02T10:00:00.000Z" },
        { version: 2, title: "Forced front door", tags: ["entry", "tool marks"], editedBy: { name: "Sam Reed" } },
      ],
    });
    expect(text(files["VERIFY.txt"])).toContain(`"Forced front door" (details version 2; every version in details.json)`);
  });

  it("writes a chain-of-custody report naming per item the case, file, SHA-512, signer, upload and capture times and its events", async () => {
    const { inflateSync } = await import("node:zlib");
    const pdf = Buffer.from(unzipSync(zip)["chain-of-custody.pdf"]!);
    // The text drawn on the pages: pdf-lib writes each line as a hex string shown with Tj, in (possibly deflated) content streams.
    let drawn = "";
    const raw = pdf.toString("latin1");
    for (const match of raw.matchAll(/stream\r?\n/g)) {
      const start = match.index! + match[0].length;
      const end = raw.indexOf("endstream", start);
      const bytes = pdf.subarray(start, end);
      let content: string;
      try {
        content = inflateSync(bytes).toString("latin1");
      } catch {
        content = bytes.toString("latin1");
      }
      for (const hex of content.matchAll(/<([0-9A-Fa-f]*)> Tj/g)) drawn += `${Buffer.from(hex[1]!, "hex").toString("latin1")}\n`;
    }
    const flat = drawn.replace(/\n/g, "");
    // Wrapped lines lose the space at the wrap: compare long texts without spaces.
    const bare = (value: string) => value.replace(/\s/g, "");
    expect(drawn).toContain("Chain of custody");
    expect(drawn).toContain("2026-0042: Harbour break-in");
    expect(drawn).toContain("Item 1: Forced front door"); // the edited title
    expect(drawn).toContain("scene photo.jpg"); // and its file name
    expect(drawn).toContain("Item 2: interview.mp4");
    expect(flat).toContain(createHash("sha512").update(plains[1]!).digest("hex"));
    expect(drawn).toContain("Jane Doe <jane@example.org>, key registered");
    expect(drawn).toContain("2026-05-02 09:00:00 UTC by jane@example.org"); // uploaded
    expect(drawn).toContain("2026-05-01 10:15:00 UTC (from exif)"); // captured
    expect(bare(flat)).toContain(bare('2: "Forced front door" by Sam Reed, 2026-05-02 10:01:00 UTC'));
    // Events in plain words, naming people the package knows; ids only in the details column.
    expect(drawn).toContain("added interview.mp4");
    expect(bare(flat)).toContain(bare("edited the details of Forced front door (version 2)"));
    expect(drawn).toContain("Sam Reed (sam@example.org)");
    expect(drawn).not.toContain("evidence.upload_complete");
    expect(flat).toContain("IP 192.0.2.7");
    expect(bare(flat)).toContain(bare(`evidence ${"b".repeat(32)}; signing key ${signing.kid}`));
  });

  it("reads with Python's zipfile and checks with sha512sum -c; the report names the case, files, hashes and events", () => {
    const path = join(work, "read.zip");
    writeFileSync(path, zip);
    const py = spawnSync(python, ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))", path], { encoding: "utf8" });
    expect(py.stderr).toBe("");
    expect(py.stdout.trim()).toBe(String(4 + 2 * (ITEM_FILES.length + 1) + 1)); // + the photo's details.json
    const dir = join(work, "unzipped");
    for (const [name, data] of Object.entries(unzipSync(zip))) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    const sums = spawnSync("sha512sum", ["-c", "SHA512SUMS"], { cwd: dir, encoding: "utf8" });
    expect(sums.status).toBe(0);
    expect(sums.stdout).toBe(`${FOLDER_1}original/scene photo.jpg: OK\n${FOLDER_2}original/interview.mp4: OK\n`);
    expect(text(unzipSync(zip)["VERIFY.txt"])).toContain(`     ${FOLDER_2}original/interview.mp4: OK`);
  });

  it("checks a redacted copy against its original when both are in the package, and says so when the original is not", async () => {
    const both = await verifyCasePackage(await collect(casePackageStream(await planCasePackage(await input([0, 2])))));
    expect(both.ok).toBe(true);
    expect(both.items[0]!.checks.map((c) => c.name)).toEqual([...ITEM_CHECKS]); // the original has no such check
    expect(both.items[1]!.checks.map((c) => c.name)).toEqual([...ITEM_CHECKS, DERIVED_CHECK]);
    expect(both.items[1]!.checks.at(-1)!.detail).toContain("item 1 (scene photo.jpg), verified in this package, is the original");

    const alone = await verifyCasePackage(await collect(casePackageStream(await planCasePackage(await input([2])))));
    expect(alone.ok).toBe(true);
    expect(alone.items[0]!.checks.at(-1)).toMatchObject({ name: DERIVED_CHECK, ok: true });
    expect(alone.items[0]!.checks.at(-1)!.detail).toContain(`original ${"a".repeat(32)} is not in this package: compare SHA-512 ${createHash("sha512").update(plains[0]!).digest("hex")}`);

    // A copy whose signed manifest names the photo's id with another file's SHA-512: it was not made from this photo.
    const other = await collect(casePackageStream(await planCasePackage(await input([0, 3]))));
    const wrong = await verifyCasePackage(other);
    expect(wrong.ok).toBe(false);
    expect(wrong.items.map((i) => i.ok)).toEqual([true, false]);
    expect(wrong.items[1]!.failed).toBe(DERIVED_CHECK);
    expect(wrong.items[1]!.checks.at(-1)!.detail).toContain("the copy was not made from the original in this package");
    const cli = runCli(other, "wrong-copy.zip");
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain(`✗ ${DERIVED_CHECK}`);
    expect(cli.stdout).toContain(`FAILED: 1 of 2 item(s) did not verify: items/002-${"f".repeat(8)}/ (${DERIVED_CHECK})`);
  });

  it("verifies whole and item by item, from memory, a Blob and with ZIP64 records", async () => {
    const zip64 = await collect(casePackageStream(await planCasePackage({ ...(await input()), zip64: true })));
    for (const source of [zip, new Blob([zip as Uint8Array<ArrayBuffer>]), zip64]) {
      const report = await verifyCasePackage(source);
      expect(report.checks.map((c) => c.name)).toEqual([...CASE_CHECKS]);
      expect(report.items.map((i) => i.ok)).toEqual([true, true]);
      expect(report.items[0]!.checks.map((c) => c.name)).toEqual([...ITEM_CHECKS]);
      expect(report.items[1]!.summary).toMatchObject({ fileName: "original/interview.mp4", signerKid: signing.kid, byteSize: plains[1]!.length });
      expect(report.items[1]!.audit).toMatchObject({ events: 3 });
      expect(report.ok).toBe(true);
    }
  });

  it("is the same bytes for the same inputs", async () => {
    expect(await collect(casePackageStream(await planCasePackage(await input())))).toEqual(zip);
  });

  it("npm run verify checks it whole and per item", () => {
    const out = runCli(zip);
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("Case package");
    expect(out.stdout).toContain(`Item 2 of 2: ${FOLDER_2} (interview.mp4)`);
    expect(out.stdout).toContain("OK: the package and all 2 item(s) passed every check.");
  });

  /** The failing checks of the package and its items: "case:<check>" or "<folder>:<check>", with details. */
  async function failures(bytes: Uint8Array): Promise<{ where: string; detail: string }[]> {
    const report = await verifyCasePackage(bytes);
    const out = report.failed ? [{ where: `case:${report.failed}`, detail: report.checks.at(-1)!.detail }] : [];
    for (const item of report.items) if (!item.ok) out.push({ where: `${item.folder}:${item.failed}`, detail: item.checks.at(-1)!.detail });
    expect(report.ok).toBe(out.length === 0);
    return out;
  }

  it("names the item and check when an original's byte changed, and still verifies the other item", async () => {
    const bytes = zip.slice();
    const files = unzipSync(zip);
    // The photo's first bytes sit right after its local header: find them in the package and flip one.
    const needle = files[`${FOLDER_1}original/scene photo.jpg`]!.subarray(0, 64);
    let at = -1;
    for (let i = 0; i < bytes.length - 64 && at < 0; i++) if (bytes[i] === needle[0] && bytes.subarray(i, i + 64).every((b, j) => b === needle[j])) at = i;
    bytes[at + 100]! ^= 0x01;
    const found = await failures(bytes);
    expect(found.map((f) => f.where)).toEqual([`${FOLDER_1}:original sha512`]);
    expect(found[0]!.detail).toContain("original/scene photo.jpg has SHA-512");
    const cli = runCli(bytes, "flipped.zip");
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain(`FAILED: 1 of 2 item(s) did not verify: ${FOLDER_1} (original sha512).`);
  });

  it("refuses a details version whose stated text or editor is not what was saved and recorded", async () => {
    const edit = (change: (history: { versions: { title: string; editedBy: { id: string; name: string } }[] }) => void) =>
      failures(repack((files) => {
        const history = JSON.parse(text(files[`${FOLDER_1}details.json`]));
        change(history);
        files[`${FOLDER_1}details.json`] = utf8(`${JSON.stringify(history, null, 2)}\n`);
      }));
    expect(await edit((h) => (h.versions[0]!.title = "Back door"))).toEqual([
      { where: `${FOLDER_1}:details history`, detail: "details.json: version 1 states other details than its encrypted copy holds" },
    ]);
    expect(await edit((h) => (h.versions[1]!.editedBy = { id: "f".repeat(32), name: "Someone Else" }))).toEqual([
      { where: `${FOLDER_1}:details history`, detail: "details.json: version 2 by Someone Else has no matching edit in the audit extract" },
    ]);
    const dropped = await failures(repack((files) => delete files[`${FOLDER_1}details.json`]));
    expect(dropped).toEqual([{ where: `${FOLDER_1}:case.json entry`, detail: "case.json's item 1 differs from what its folder proves in details" }]);
  });

  it("names a removed file", async () => {
    const found = await failures(repack((files) => delete files[`${FOLDER_2}manifest.sig`]));
    expect(found).toEqual([{ where: `${FOLDER_2}:item entries`, detail: `${FOLDER_2}: missing manifest.sig` }]);
  });

  it("accepts an altered report (a readable summary, not evidence), refuses a changed manifest", async () => {
    const report = await verifyCasePackage(repack((files) => (files[CASE_ENTRY.report] = utf8("%PDF-1.7 something else entirely"))));
    expect(report.ok).toBe(true);
    expect(report.checks.at(-1)!.detail).toContain("not signed, so not checked");

    const changedJson = await failures(repack((files) => {
      const manifest = JSON.parse(text(files[`${FOLDER_1}manifest.json`]));
      files[`${FOLDER_1}manifest.json`] = utf8(JSON.stringify({ ...manifest, byteSize: manifest.byteSize + 1 }));
    }));
    expect(changedJson).toEqual([{ where: `${FOLDER_1}:manifest.json`, detail: "manifest.json differs from the signed payload in manifest.jws" }]);

    const changedJws = await failures(repack((files) => {
      const [h, p, s] = text(files[`${FOLDER_2}manifest.jws`]).split(".") as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, "base64url").toString());
      files[`${FOLDER_2}manifest.jws`] = utf8(`${h}.${Buffer.from(JSON.stringify({ ...payload, caseId: "d".repeat(32) })).toString("base64url")}.${s}`);
    }));
    expect(changedJws.map((f) => f.where)).toEqual([`${FOLDER_2}:manifest signature`]);
  });

  it("refuses an audit extract with an event removed, and a case.json that misdescribes an item", async () => {
    const cut = await failures(repack((files) => {
      const lines = text(files[`${FOLDER_1}audit.jsonl`]).split("\n");
      files[`${FOLDER_1}audit.jsonl`] = utf8(lines.filter((_, i) => i !== 2).join("\n"));
    }));
    expect(cut.map((f) => f.where)).toEqual([`${FOLDER_1}:audit extract`]);

    // case.json, SHA512SUMS and VERIFY.txt rewritten together to claim another media type for item 2.
    const { caseVerifyInstructions, sha512SumsText } = await import("../../../shared/disclosure/case-package");
    const lying = await failures(repack((files) => {
      const index = JSON.parse(text(files["case.json"]));
      index.items[1].mediaType = "image/png";
      files["case.json"] = utf8(`${JSON.stringify(index, null, 2)}\n`);
      files["SHA512SUMS"] = utf8(sha512SumsText(index));
      files["VERIFY.txt"] = utf8(caseVerifyInstructions(index));
    }));
    expect(lying).toEqual([{ where: `${FOLDER_2}:case.json entry`, detail: "case.json's item 2 differs from what its folder proves in mediaType" }]);

    const sums = await failures(repack((files) => (files["SHA512SUMS"] = utf8(text(files["SHA512SUMS"]).replace(/^./, (c) => (c === "0" ? "1" : "0"))))));
    expect(sums.map((f) => f.where)).toEqual(["case:SHA512SUMS"]);
  });

  it("refuses bytes appended, an item moved to another folder, and an original that is not what was signed", async () => {
    expect((await failures(Uint8Array.from([...zip, 0]))).map((f) => f.where)).toEqual(["case:zip structure"]);
    const moved = await failures(repack((files) => {
      for (const name of Object.keys(files)) if (name.startsWith(FOLDER_2)) {
        files[name.replace(FOLDER_2, `items/002-${"c".repeat(8)}/`)] = files[name]!;
        delete files[name];
      }
    }));
    expect(moved.map((f) => f.where)).toEqual(["case:case.json"]);

    const wrong = await input();
    const plan = await planCasePackage({ ...wrong, original: (i) => (i === 0 ? [plains[1]!.subarray(0, plains[0]!.length)] : wrong.original(i)) });
    await expect(collect(casePackageStream(plan))).rejects.toThrow(/SHA-512/);
    await expect(planCasePackage({ ...wrong, case: { ...wrong.case, id: "d".repeat(32) } })).rejects.toThrow(/another case/);
  });
});
