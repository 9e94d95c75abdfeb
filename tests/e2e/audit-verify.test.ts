import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRecoveryKeyPair } from "../../shared/crypto";
import { enrolTotpByApi } from "./flows";
import { CustodyServer } from "./harness";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

/** Runs `npm run audit:verify -- file`; resolves with exit code and output, never throws. */
async function auditVerify(file: string, options: string[] = []): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("npm", ["run", "--silent", "audit:verify", "--", ...options, file], { cwd: root });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe("npm run audit:verify on an export of the real server", () => {
  let server: CustodyServer;
  let lines: string[];
  let cookie: string;
  let post: (path: string, body: unknown, cookie?: string) => Promise<Response>;
  const dir = mkdtempSync(join(tmpdir(), "custody-audit-"));

  beforeAll(async () => {
    server = await CustodyServer.start();
    post = (path: string, body: unknown, cookie = "") =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json", Origin: server.url, Cookie: cookie }, body: JSON.stringify(body) });
    const setup = await post("/api/setup", {
      organisation: { name: "Northshire Police" },
      admin: { email: "ada@example.org", name: "Ada", password: "correct horse battery staple" },
      recoveryKey: (await generateRecoveryKeyPair()).publicJwk,
    });
    expect(setup.status).toBe(201);
    // MFA is required by default: the new administrator enrols TOTP before anything else.
    cookie = await enrolTotpByApi(server.url, /custody_session=[^;]+/.exec(setup.headers.get("Set-Cookie") ?? "")![0]);
    for (let i = 0; i < 4; i++) await post("/api/users", { email: `u${i}@example.org`, name: `User ${i}`, role: "investigator" }, cookie);
    await post("/api/auth/sign-in", { email: "ada@example.org", password: "a wrong password" });
    const exported = await fetch(`${server.url}/api/audit/export?format=jsonl`, { headers: { Cookie: cookie } });
    expect(exported.status).toBe(200);
    lines = (await exported.text()).split("\n").filter(Boolean);
  });

  afterAll(async () => {
    await server?.dispose();
  });

  const write = (name: string, content: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, `${content.join("\n")}\n`);
    return file;
  };

  it("exits 0 with a summary on the untouched export", async () => {
    server.attachLogOnFailure();
    const { code, out } = await auditVerify(write("good.jsonl", lines));
    expect(code).toBe(0);
    expect(out).toMatch(/✓ .*good\.jsonl: \d+ events \(events 1 to \d+\), [1-9]\d* signed checkpoint/);
  });

  it("exits 1 naming the first bad line after an edit, a deletion, an insertion or a reordering", async () => {
    const events = lines.map((line, index) => ({ line, index })).filter(({ line }) => line.startsWith('{"type":"event"'));
    const target = events[2]!;
    const edited = [...lines];
    edited[target.index] = target.line.replace('"ip":null', '"ip":"10.0.0.1"').replace(/"action":"[a-z._]+"/, '"action":"user.delete"');
    const deleted = lines.filter((_, i) => i !== target.index);
    const inserted = [...lines.slice(0, target.index), events[1]!.line, ...lines.slice(target.index)];
    const reordered = [...lines];
    [reordered[target.index], reordered[target.index + 1]] = [reordered[target.index + 1]!, reordered[target.index]!];
    for (const [name, content, pattern] of [
      ["edited", edited, new RegExp(`line ${target.index + 1} \\(event \\d+\\): the event's hash does not match`)],
      ["deleted", deleted, /missing events/],
      ["inserted", inserted, /out of order|does not link|missing/],
      ["reordered", reordered, /out of order|does not link|missing/],
    ] as const) {
      const { code, out } = await auditVerify(write(`${name}.jsonl`, [...content]));
      expect(code, `${name}: ${out}`).toBe(1);
      expect(out, name).toMatch(pattern);
    }
  });

  it("exits 1 on a header edit (a deletion passed off as a filtered export) and on a removed final checkpoint", async () => {
    const header = JSON.parse(lines[0]!) as { statement: string };
    const [h, payload, signature] = header.statement.split(".") as [string, string, string];
    const statement = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    expect(statement.kind).toBe("full");
    const forged = Buffer.from(JSON.stringify({ ...statement, kind: "filtered", filter: { action: "user.invite" } })).toString("base64url");
    const headerEdited = [JSON.stringify({ ...header, statement: `${h}.${forged}.${signature}` }), ...lines.slice(1)];
    const lastEvent = lines.findLastIndex((line) => line.startsWith('{"type":"event"'));
    for (const [name, content, pattern] of [
      ["header-edited", headerEdited, /line 1: the export statement: the signature does not verify/],
      ["checkpoint-removed", lines.slice(0, -1), /does not end with its final checkpoint/],
      ["cut-and-checkpoint-removed", [...lines.slice(0, lastEvent - 1), ...lines.slice(lastEvent + 1, -1)], /events the signed statement counts are missing|does not end with its final checkpoint/],
    ] as const) {
      const { code, out } = await auditVerify(write(`${name}.jsonl`, [...content]));
      expect(code, `${name}: ${out}`).toBe(1);
      expect(out, name).toMatch(pattern);
    }
  });

  it("with --checkpoint, accepts a later export that extends a kept public document, and refuses a rewritten one", async () => {
    server.attachLogOnFailure();
    const kept = await (await fetch(`${server.url}/.well-known/custody/audit.json`)).text();
    const keptFile = join(dir, "kept-audit.json");
    writeFileSync(keptFile, kept);
    const keptSize = (JSON.parse(kept) as { treeSize: number }).treeSize;
    for (let i = 0; i < 2; i++) await post("/api/users", { email: `later${i}@example.org`, name: `Later ${i}`, role: "investigator" }, cookie);
    const later = (await (await fetch(`${server.url}/api/audit/export?format=jsonl`, { headers: { Cookie: cookie } })).text()).split("\n").filter(Boolean);
    const good = await auditVerify(write("later.jsonl", later), ["--checkpoint", keptFile]);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toContain(`Extends the kept checkpoint of tree size ${keptSize}`);
    // A rewritten event before the kept checkpoint is refused against it.
    const index = later.findIndex((line) => line.startsWith('{"type":"event"'));
    const rewritten = [...later];
    rewritten[index] = later[index]!.replace(/"ip":(null|"[^"]*")/, '"ip":"192.0.2.1"');
    const bad = await auditVerify(write("rewritten.jsonl", rewritten), ["--checkpoint", keptFile]);
    expect(bad.code, bad.out).toBe(1);
  });

  it("exits 2 on a missing file", async () => {
    expect((await auditVerify(join(dir, "nope.jsonl"))).code).toBe(2);
  });
});
